from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PoliciesConfig(AppConfig):
    name = "yiwang.policies"
    label = "policies"
    verbose_name = _("惠企政策")

    def ready(self) -> None:
        # Eligibility runs again when a registry record of an enterprise changes.
        from yiwang.policies import subscribers  # noqa: F401
