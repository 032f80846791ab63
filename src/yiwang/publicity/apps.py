from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PublicityConfig(AppConfig):
    name = "yiwang.publicity"
    label = "publicity"
    verbose_name = _("政务公开与政民互动")
