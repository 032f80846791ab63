"""The portal's inbox, mounted at /messages/."""

from django.urls import path

from yiwang.messaging import views

app_name = "messaging"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("preferences/", views.preferences, name="preferences"),
    path("read-all/", views.mark_all_read, name="read_all"),
    path("<int:message_id>/read/", views.mark_read, name="read"),
]
