"""Periodic job of key-task oversight: reminders before deadlines and escalation of red tasks."""

from django.utils.translation import gettext_lazy as _
from django_tasks import task

from yiwang.core.schedule import every
from yiwang.oversight import services


@every(
    hours=24, name="oversight.sweep", description=_("督办任务:节点临近时限提醒牵头部门,超期(红灯)报部门负责人和市领导")
)
@task()
def oversight_sweep() -> dict:
    return services.oversight_sweep()
