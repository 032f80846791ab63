from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsConfig(AppConfig):
    name = "yiwang.channels"
    label = "channels"
    verbose_name = _("服务渠道")

    def ready(self) -> None:
        # Cross-region forwards follow the cases' events (the cases app knows nothing of them).
        from yiwang.channels import subscribers  # noqa: F401
