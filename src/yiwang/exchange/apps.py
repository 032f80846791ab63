from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    name = "yiwang.exchange"
    label = "exchange"
    verbose_name = _("数据共享交换")

    def ready(self) -> None:
        # The catalog follows the registries' fields; the gateway's caches follow the grants.
        from yiwang.exchange import subscribers  # noqa: F401
