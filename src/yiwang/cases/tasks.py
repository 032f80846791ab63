"""Background tasks of the cases app (Django's task API); periodic ones are registered with ``every``."""

from django.utils.translation import gettext_lazy as _
from django_tasks import task

from yiwang.cases import services
from yiwang.core.schedule import every


@every(hours=1, name="cases.sweep", description=_("五个工作日未处理视为受理(行政许可法第三十二条);刷新办理时限状态"))
@task()
def case_sweep() -> dict:
    """The five-working-day rule (deemed acceptance) and the SLA status of running cases."""
    return services.case_sweep()


@every(days=1, name="cases.purge_orphan_materials", description=_("清理未提交成功的申请材料文件"))
@task()
def case_material_orphans_purge() -> dict:
    """Remove material files left by transactions that rolled back."""
    result = services.case_material_orphans_purge()
    return {"scanned": result["scanned"], "removed": len(result["removed"])}
