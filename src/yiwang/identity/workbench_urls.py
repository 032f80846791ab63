"""Identity's workbench pages, mounted at /workbench/identity/: the window clerk's 帮办."""

from django.urls import path

from yiwang.identity import delegation_views

app_name = "identity_workbench"
urlpatterns = [
    path("assist/", delegation_views.assist_window_view, name="assist"),
]
