from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "yiwang.analytics"
    label = "analytics"
    verbose_name = _("数据看板")

    def ready(self) -> None:
        # Panels contributed by other apps (``yiwang.<app>.panels``) register at start-up.
        from yiwang.analytics import registry

        registry.autodiscover()
