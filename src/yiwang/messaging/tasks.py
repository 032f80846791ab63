"""Background tasks of messaging (Django's task API)."""

from django_tasks import task

from yiwang.messaging import services


@task()
def deliver_message(message_id: int) -> str:
    """One delivery attempt of an e-mail or SMS message; retries enqueue themselves."""
    message = services.message_deliver(message_id=message_id)
    return message.state if message is not None else "missing"


@task()
def redeliver_stale_messages() -> int:
    """Schedule e.g. hourly beside ``case_sweep``: picks up messages a dead worker left queued."""
    return services.message_redeliver_stale()
