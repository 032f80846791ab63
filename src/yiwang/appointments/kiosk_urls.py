"""The self-service kiosk (自助端), mounted at /kiosk/."""

from django.urls import path

from yiwang.appointments import views

app_name = "kiosk"
urlpatterns = [
    path("", views.kiosk_home, name="home"),
    path("activate/", views.kiosk_activate, name="activate"),
    path("poll/", views.kiosk_poll, name="poll"),
    path("scan/<str:token>/", views.kiosk_scan, name="scan"),
    path("sms/", views.kiosk_sms, name="sms"),
    path("logout/", views.kiosk_logout, name="logout"),
    path("bookings/", views.kiosk_bookings, name="bookings"),
]
