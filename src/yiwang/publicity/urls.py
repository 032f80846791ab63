"""政务公开 and 意见征集: portal pages under /publicity/, workbench pages under /workbench/publicity/."""

from django.urls import path

from yiwang.publicity import views

app_name = "publicity"
urlpatterns = [
    path("publicity/", views.index, name="index"),
    path("publicity/documents/<int:pk>/", views.document, name="document"),
    path("publicity/consultations/<int:pk>/", views.consultation, name="consultation"),
    path("publicity/consultations/<int:pk>/comment/", views.comment, name="comment"),
    path("workbench/publicity/", views.workbench, name="workbench"),
    path("workbench/publicity/consultations/new/", views.consultation_new, name="consultation_new"),
    path("workbench/publicity/consultations/<int:pk>/", views.moderation, name="moderation"),
    path("workbench/publicity/comments/<int:pk>/moderate/", views.moderate, name="moderate"),
    path("workbench/publicity/consultations/<int:pk>/summary/", views.summarize, name="summarize"),
]
