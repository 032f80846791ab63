"""Background tasks of messaging (Django's task API)."""

from django.utils.translation import gettext_lazy as _
from django_tasks import task

from yiwang.core.schedule import every
from yiwang.messaging import services


@task()
def deliver_message(message_id: int) -> str:
    """One delivery attempt of an e-mail or SMS message; retries enqueue themselves."""
    message = services.message_deliver(message_id=message_id)
    return message.state if message is not None else "missing"


@every(minutes=15, name="messaging.redeliver", description=_("重新投递因工作进程中断而滞留的消息"))
@task()
def redeliver_stale_messages() -> int:
    """Every 15 minutes (``@every`` above): enqueue again the messages a dead worker left queued."""
    return services.message_redeliver_stale()


@every(minutes=15, name="messaging.escalate_instructions", description=_("督办逾期未确认的工作指令"))
@task()
def escalate_instructions() -> int:
    """Every 15 minutes: receipts of work instructions not acknowledged by their deadline go to
    the recipients' department heads (once each)."""
    return services.instruction_escalate_overdue()
