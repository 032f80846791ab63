from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpendataConfig(AppConfig):
    name = "yiwang.opendata"
    label = "opendata"
    verbose_name = _("公共数据开放")
