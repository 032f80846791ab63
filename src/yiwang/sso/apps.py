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
        _unregister_toolkit_admin()


def _unregister_toolkit_admin() -> None:
    """django-oauth-toolkit registers its models (clients, tokens, grants) in the admin site,
    where the superuser flag would manage relying parties and read tokens past the security
    admin (三员分立). Clients are managed on /workbench/sso/ by the security admin alone."""
    from django.contrib import admin
    from oauth2_provider.models import (
        get_access_token_model,
        get_application_model,
        get_grant_model,
        get_id_token_model,
        get_refresh_token_model,
    )

    for model in (
        get_application_model(),
        get_access_token_model(),
        get_grant_model(),
        get_id_token_model(),
        get_refresh_token_model(),
    ):
        if admin.site.is_registered(model):
            admin.site.unregister(model)
