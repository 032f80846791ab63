from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdentityConfig(AppConfig):
    name = "yiwang.identity"
    label = "identity"
    verbose_name = _("统一身份认证")

    def ready(self) -> None:
        # 三员分立 in the admin site: after every app's admin module was loaded (the admin app's
        # autodiscover runs first). The site's gate re-applies it to any model registered later.
        from yiwang.identity.admin import separate_admin_duties

        separate_admin_duties()
