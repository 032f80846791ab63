"""Demo dashboards: three 三色预警 thresholds set by the city's operator (``city_admin``) and the
rollup of the demo's history, so that the dashboards and the big screen show the demo city's
data at once (``yiwang demo`` loads this last: analytics comes after the other apps).
Idempotent: thresholds are set (not added) and the rollup replaces its rows."""

from __future__ import annotations

import datetime

from django.utils import timezone

HISTORY_DAYS = 400

THRESHOLDS = (
    # indicator, scope, direction, yellow, red
    ("cases.sla.red", "city", "above", 1, 3),
    ("hotline.satisfaction_rate", "city", "below", 90, 80),
    ("hotline.received", "city", "above", 8, 30),
)


class Summary(dict):
    def summary(self) -> str:
        return (
            f"指标汇总 {self.get('rows', 0)} 行,预警阈值 {self.get('thresholds', 0)} 项,预警 {self.get('alerts', 0)} 条"
        )


def load(actor=None) -> Summary:
    from yiwang.analytics import services
    from yiwang.identity.models import User

    summary = Summary()
    today = timezone.localdate()
    result = services.indicator_rollup(
        actor=actor or "system:demo", since=today - datetime.timedelta(days=HISTORY_DAYS), today=today, check=False
    )
    summary["rows"] = result["day_rows"] + result["month_rows"]
    operator = User.objects.filter(username="city_admin", is_active=True).first()
    if operator is None:
        return summary  # no demo city
    for indicator, scope, direction, yellow, red in THRESHOLDS:
        services.threshold_save(
            actor=operator, indicator=indicator, scope=scope, direction=direction, yellow=yellow, red=red
        )
    summary["thresholds"] = len(THRESHOLDS)
    summary["alerts"] = services.threshold_check(today=today)
    return summary
