"""Periodic jobs of the appointments app: slots from the templates, the day-before reminders,
and no-shows."""

from django.utils.translation import gettext_lazy as _
from django_tasks import task

from yiwang.appointments import services
from yiwang.core.schedule import every


@every(hours=6, name="appointments.slots_generate", description=_("预约:按号源模板生成未来工作日的时段"))
@task()
def slots_generate() -> dict:
    return {"created": services.slots_generate(actor=services.TASK_ACTOR)}


@every(hours=1, name="appointments.reminders", description=_("预约:向次一工作日的预约人发送提醒"))
@task()
def reminders() -> dict:
    return {"sent": services.booking_reminders_send()}


@every(minutes=15, name="appointments.no_shows", description=_("预约:时段结束仍未签到的记为爽约"))
@task()
def no_shows() -> dict:
    return {"marked": services.booking_mark_no_shows()}
