from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "yiwang.payments"
    label = "payments"
    verbose_name = _("缴费与电子票据")

    def ready(self) -> None:
        # A bill of a case that is withdrawn or refused is cancelled (cases knows nothing of bills).
        from yiwang.payments import subscribers  # noqa: F401
