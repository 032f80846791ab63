from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "yiwang.portal"
    label = "portal"

    def ready(self):
        from yiwang.portal import signals  # noqa: F401  (connects the receivers)
