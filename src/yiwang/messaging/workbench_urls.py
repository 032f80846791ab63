"""The workbench's inbox (staff), mounted at /workbench/messages/."""

from django.urls import path

from yiwang.messaging import views

app_name = "messaging_workbench"
FRONT = {"front": "workbench"}
urlpatterns = [
    path("", views.inbox, FRONT, name="inbox"),
    path("preferences/", views.preferences, FRONT, name="preferences"),
    path("read-all/", views.mark_all_read, FRONT, name="read_all"),
    path("<int:message_id>/read/", views.mark_read, FRONT, name="read"),
]
