from django.urls import path

from yiwang.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("account/", views.account, name="account"),
    path("elder-mode/", views.elder_mode, name="elder_mode"),
]
