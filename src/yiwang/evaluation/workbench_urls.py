"""好差评 and service-metric pages of the workbench, mounted at /workbench/evaluation/."""

from django.urls import path

from yiwang.evaluation import views

app_name = "evaluation_workbench"
urlpatterns = [
    path("", views.workbench, name="index"),
    path("ratings/<int:rating_id>/", views.rating_detail, name="rating"),
    path("ratings/<int:rating_id>/<str:action>/", views.rating_action, name="rating_action"),
    path("export.xlsx", views.export, name="export"),
    path("metrics/", views.metrics, name="metrics"),
    path("cases/<int:case_id>/qr/", views.case_qr, name="case_qr"),
]
