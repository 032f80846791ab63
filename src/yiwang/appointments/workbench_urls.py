"""The window clerk's queue, mounted at /workbench/appointments/."""

from django.urls import path

from yiwang.appointments import views

app_name = "appointments_workbench"
urlpatterns = [
    path("", views.workbench, name="index"),
    path("setup/", views.setup, name="setup"),
    path("setup/halls/<int:hall_id>/", views.setup_hall, name="setup_hall"),
    path("halls/<int:hall_id>/", views.queue, name="queue"),
    path("halls/<int:hall_id>/<str:action>/", views.queue_action, name="action"),
]
