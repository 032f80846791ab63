"""Periodic job of the dashboards: keep the rollups (and the 三色预警 lights) current."""

from django.utils.translation import gettext_lazy as _
from django_tasks import task

from yiwang.analytics import services
from yiwang.core.schedule import every


@every(minutes=15, name="analytics.rollup", description=_("看板指标汇总:重算昨日、今日及本月指标,检查三色预警"))
@task()
def rollup() -> dict:
    return services.indicator_rollup()
