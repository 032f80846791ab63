"""Background tasks of the registries (Django's task API); periodic ones registered with ``every``."""

from django.utils.translation import gettext_lazy as _
from django_tasks import task

from yiwang.core.schedule import every
from yiwang.registries import quality


@every(hours=6, name="registries.quality", description=_("重新计算各基础库和各数源部门的数据质量报告"))
@task()
def registries_quality_refresh() -> dict:
    """Recompute every quality report (the same as `yiwang registries quality`)."""
    reports = quality.quality_refresh()
    return {"reports": len(reports)}
