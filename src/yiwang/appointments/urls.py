"""Appointment pages of the portal, mounted at /appointments/."""

from django.urls import path

from yiwang.appointments import views

app_name = "appointments"
urlpatterns = [
    path("", views.index, name="index"),
    path("book/", views.book, name="book"),
    path("mine/", views.mine, name="mine"),
    path("mine/<str:number>/", views.slip, name="slip"),
    path("mine/<str:number>/cancel/", views.cancel, name="cancel"),
    path("mine/<str:number>/change/", views.change, name="change"),
    path("halls/<int:hall_id>/screen/", views.screen, name="screen"),
    path("halls/<int:hall_id>/screen/board/", views.screen_board, name="screen_board"),
]
