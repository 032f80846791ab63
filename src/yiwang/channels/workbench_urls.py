"""Channel pages of the workbench, mounted at /workbench/channels/."""

from django.urls import path

from yiwang.channels import views

app_name = "channels_workbench"
urlpatterns = [
    path("", views.workbench, name="index"),
    path("cases/<int:case_id>/forward/", views.forward, name="forward"),
    path("forwards/<int:forward_id>/receive/", views.forward_receive, name="forward_receive"),
    path("postal/<int:delivery_id>/dispatch/", views.dispatch, name="dispatch"),
    path("postal/<int:delivery_id>/refresh/", views.refresh, name="refresh"),
    path("peers/", views.peers, name="peers"),
    path("peers/new/", views.peer_edit, name="peer_new"),
    path("peers/<int:peer_id>/", views.peer_edit, name="peer_edit"),
]
