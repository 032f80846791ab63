"""The security admin's pages for relying parties, mounted at /workbench/sso/."""

from django.urls import path

from yiwang.sso import views

app_name = "sso"
urlpatterns = [
    path("", views.client_list, name="client_list"),
    path("new/", views.client_new, name="client_new"),
    path("<int:client_id>/", views.client_edit, name="client_edit"),
]
