from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "yiwang.messaging"
    label = "messaging"
    verbose_name = _("消息中心")

    def ready(self) -> None:
        # Notifications on case events (the cases app publishes; it knows nothing of messaging).
        from yiwang.messaging import subscribers  # noqa: F401
