"""Citizens' pages of the hotline, mounted at /hotline/."""

from django.urls import path

from yiwang.hotline import views

app_name = "hotline_portal"
urlpatterns = [
    path("", views.portal_index, name="index"),
    path("mine/", views.portal_mine, name="mine"),
    path("track/", views.portal_track, name="track"),
    path("tickets/<int:ticket_id>/", views.portal_detail, name="detail"),
    path("tickets/<int:ticket_id>/rate/", views.portal_rate, name="rate"),
]
