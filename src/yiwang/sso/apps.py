from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SsoConfig(AppConfig):
    name = "yiwang.sso"
    label = "sso"
    verbose_name = _("单点登录")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from yiwang.sso import services

        # Single logout: signing out of Yiwang (any way) ends every relying party's tokens.
        user_logged_out.connect(services.on_user_logged_out, dispatch_uid="yiwang.sso.single_logout")
