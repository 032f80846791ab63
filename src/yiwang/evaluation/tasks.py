"""Periodic job of the evaluation app: reminders and escalation of rectifications."""

from django.utils.translation import gettext_lazy as _
from django_tasks import task

from yiwang.core.schedule import every
from yiwang.evaluation import services


@every(hours=6, name="evaluation.rectification_sweep", description=_("差评整改:到期前提醒,超期标记并督办"))
@task()
def rectification_sweep() -> dict:
    return services.rectification_sweep()
