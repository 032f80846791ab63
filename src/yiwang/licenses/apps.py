from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LicensesConfig(AppConfig):
    name = "yiwang.licenses"
    label = "licenses"
    verbose_name = _("电子证照与电子印章")

    def ready(self) -> None:
        # Auto-issuance on approved cases (the cases app publishes; it knows nothing of licenses).
        from yiwang.licenses import subscribers  # noqa: F401
