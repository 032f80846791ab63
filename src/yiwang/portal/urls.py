from django.urls import path

from yiwang.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("account/", views.account, name="account"),
    path("elder-mode/", views.elder_mode, name="elder_mode"),
    path("signed-in/", views.after_login, name="after_login"),
    path("check/<str:kind>/", views.check_code, name="check_code"),
]
