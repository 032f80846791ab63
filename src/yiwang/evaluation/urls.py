"""好差评 pages of the portal, mounted at /evaluation/."""

from django.urls import path

from yiwang.evaluation import views

app_name = "evaluation"
urlpatterns = [
    path("cases/<int:case_id>/rate/", views.rate, name="rate"),
    path("r/<str:token>/", views.qr_landing, name="qr"),
    path("public/", views.public, name="public"),
]
