"""Workbench pages of the registries, mounted at /workbench/registries/."""

from django.urls import path

from yiwang.registries import views

app_name = "registries"
urlpatterns = [
    path("", views.index, name="index"),
    path("quality/", views.quality, name="quality"),
    path("<str:registry>/", views.record_list, name="list"),
    path("<str:registry>/import/", views.record_import, name="import"),
    path("<str:registry>/template.xlsx", views.template, name="template"),
    path("<str:registry>/<int:record_id>/", views.record_detail, name="detail"),
]
