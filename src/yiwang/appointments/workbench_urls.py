"""The window clerk's queue, mounted at /workbench/appointments/."""

from django.urls import path

from yiwang.appointments import views

app_name = "appointments_workbench"
urlpatterns = [
    path("", views.workbench, name="index"),
    path("halls/<int:hall_id>/", views.queue, name="queue"),
    path("halls/<int:hall_id>/<str:action>/", views.queue_action, name="action"),
]
