"""Periodic jobs of the hotline: the clock sweep and the hotspot finder (未诉先办)."""

from django.utils.translation import gettext_lazy as _
from django_tasks import task

from yiwang.core.schedule import every
from yiwang.hotline import services


@every(minutes=10, name="hotline.sweep", description=_("刷新热线工单的时限状态(临近超期、已超期)并提醒"))
@task()
def ticket_sweep() -> dict:
    return services.ticket_sweep()


@every(hours=1, name="hotline.hotspots", description=_("未诉先办:发现同类诉求聚集并预警责任部门"))
@task()
def hotspots_detect() -> dict:
    return services.hotspots_detect()
