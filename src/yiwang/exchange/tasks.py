"""Periodic jobs of the exchange (registered with ``core.schedule.every``)."""

from django.utils.translation import gettext_lazy as _
from django_tasks import task

from yiwang.core.schedule import every
from yiwang.exchange import evidence, notify, services


@every(hours=1, name="exchange.sweep", description=_("共享申请与数据异议:临期提醒、超期督办"))
@task()
def exchange_sweep() -> dict:
    """Hourly: reminders two working days before a request's or dispute's deadline, escalation after it."""
    return notify.sweep()


@every(minutes=5, name="exchange.seal_log", description=_("以 SM2 签名封存交换日志链头"))
@task()
def exchange_seal_log() -> int:
    """Every 5 minutes: sign the evidence log's chain head (see ``evidence``); 0 when nothing new."""
    seal = evidence.log_seal()
    return seal.sequence if seal is not None else 0


@every(days=1, name="exchange.catalog_sync", description=_("按基础库字段更新数据资源目录"))
@task()
def exchange_catalog_sync() -> dict:
    """Daily: new registry fields enter the catalog; labels and source departments follow the registries."""
    return services.catalog_sync(actor="task:exchange_catalog_sync")
