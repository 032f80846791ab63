"""The dashboards in the workbench, mounted at /workbench/dashboards/."""

from django.urls import path

from yiwang.analytics import views

app_name = "analytics"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("screen/", views.screen, name="screen"),
    path("thresholds/", views.thresholds, name="thresholds"),
    path("panels/<str:code>.xlsx", views.panel_xlsx, name="panel_xlsx"),
    path("scopes/", views.scope_search, name="scopes"),
    path("duty/", views.duty, name="duty"),
]
