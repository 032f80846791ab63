"""Workbench pages of the licenses app, mounted at /workbench/licenses/ (staff of issuing departments)."""

from django.urls import path

from yiwang.licenses import workbench_views as views

app_name = "licenses_workbench"
urlpatterns = [
    path("", views.license_list, name="list"),
    path("import/", views.license_import_page, name="import"),
    path("template/<str:code>.xlsx", views.license_template, name="template"),
    path("<int:license_id>/", views.license_detail, name="detail"),
    path("<int:license_id>/<str:action>/", views.license_action, name="action"),
]
