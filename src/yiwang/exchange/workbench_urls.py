"""Workbench pages of the exchange, mounted at /workbench/exchange/."""

from django.urls import path

from yiwang.exchange import views

app_name = "exchange_workbench"
urlpatterns = [
    path("", views.workbench_home, name="home"),
    path("requests/new/", views.request_new, name="request_new"),
    path("requests/<int:request_id>/", views.request_detail, name="request"),
    path("grants/<int:grant_id>/revoke/", views.grant_revoke, name="grant_revoke"),
    path("systems/new/", views.system_create, name="system_create"),
    path("systems/<int:system_id>/revoke/", views.system_revoke, name="system_revoke"),
    path("systems/<int:system_id>/certificate/", views.system_certificate, name="system_certificate"),
    path("disputes/<int:dispute_id>/", views.dispute_detail, name="dispute"),
]
