"""Channel pages of the portal, mounted at /channels/."""

from django.urls import path

from yiwang.channels import views

app_name = "channels"
urlpatterns = [
    path("cases/<int:case_id>/post/", views.postal, name="postal"),
]
