"""Periodic jobs of the payments app: the timeout sweep (query orders whose callback has not come)
and the daily reconciliation of yesterday's payments with the channel's statement."""

import datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tasks import task

from yiwang.core.errors import YiwangError
from yiwang.core.schedule import every
from yiwang.payments import services


@every(minutes=5, name="payments.query_pending", description=_("查询超时未回调的支付订单"))
@task()
def payments_query_pending() -> dict:
    return services.payments_query_pending()


@every(days=1, name="payments.reconcile", description=_("与支付渠道对账(前一日)"))
@task()
def payments_reconcile() -> dict:
    day = timezone.localdate() - datetime.timedelta(days=1)
    try:
        report = services.reconciliation_run(actor="task:payments.reconcile", day=day)
    except YiwangError as exc:
        return {"day": day.isoformat(), "error": exc.code}
    return {"day": day.isoformat(), "mismatches": len(report.mismatches)}
