from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "yiwang.catalog"
    label = "catalog"
    verbose_name = _("政务服务事项目录")

    def ready(self) -> None:
        # Subscribes the search index to the catalog's publish/retire events.
        from yiwang.catalog import search  # noqa: F401
