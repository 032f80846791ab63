from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "yiwang.documents"
    label = "documents"
    verbose_name = _("公文流转与政务值班")
