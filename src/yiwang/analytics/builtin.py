"""The panels of the apps that were on the platform when analytics was written.

Each block reads one app through its selectors (grouped figures, see ``registry``) and
registers only when that app is installed. A later app adds its panels in its own
``yiwang.<app>.panels`` module instead (``registry.autodiscover``).
"""

from __future__ import annotations

import datetime

from django.apps import apps
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yiwang.analytics.registry import Indicator, Panel, register_collector, register_indicator, register_panel


def _aware(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _fact(indicator, row, day, numerator, denominator=None, dimension="") -> dict:
    return {
        "indicator": indicator,
        "dimension": dimension,
        "department_id": row.get("department_id"),
        "region_code": row.get("region_code") or "",
        "day": day,
        "numerator": numerator,
        "denominator": denominator,
    }


# --- cases --------------------------------------------------------------------------------------

SLA_LIGHTS = {"normal": "cases.sla.green", "paused": "cases.sla.green", "warning": "cases.sla.yellow"}
SLA_LIGHTS["overdue"] = "cases.sla.red"


def collect_cases(*, since, until, today):
    from yiwang.cases import selectors

    for row in selectors.case_daily_figures(since=_aware(since), until=_aware(until)):
        day = row["day"]
        yield _fact("cases.submitted", row, day, row["submitted"])
        yield _fact("cases.immediate_rate", row, day, row["immediate"], row["concluded"])
        yield _fact("cases.full_online_rate", row, day, row["full_online"], row["concluded"])
    for row in selectors.case_state_figures():
        yield _fact("cases.state", row, today, row["count"], dimension=row["state"])
        light = SLA_LIGHTS.get(row["sla_status"])
        if light:
            yield _fact(light, row, today, row["count"])


def _case_states() -> dict:
    from yiwang.cases import selectors

    return {value: label for value, label in selectors.CaseState.choices}


def collect_licenses(*, since, until, today):
    from yiwang.licenses import selectors

    for row in selectors.license_daily_figures(since=since, until=until):
        yield _fact("licenses.issued", row, row["day"], row["issued"])
        yield _fact("licenses.verified", row, row["day"], row["verified"])


def collect_evaluation(*, since, until, today):
    from yiwang.evaluation import selectors

    for row in selectors.rating_daily_figures(since=_aware(since), until=_aware(until)):
        yield _fact("evaluation.rated", row, row["day"], row["rated"])
        yield _fact("evaluation.good_rate", row, row["day"], row["good"], row["rated"])


def collect_hotline(*, since, until, today):
    from yiwang.hotline import selectors

    for row in selectors.ticket_daily_figures(since=_aware(since), until=_aware(until)):
        yield _fact("hotline.received", row, row["day"], row["received"])
        yield _fact("hotline.satisfaction_rate", row, row["day"], row["satisfied"], row["rated"])
    for row in selectors.hotspot_figures():
        yield _fact("hotline.hotspots", row, today, row["count"], dimension=row["category"] or str(_("未分类")))


def collect_supervision(*, since, until, today):
    from yiwang.supervision import selectors

    figures = selectors.supervision_figures()
    for row in figures["coverage"]:
        yield _fact("supervision.coverage", row, today, row["inspected"], row["drawn"])
    for row in figures["grades"]:
        yield _fact("supervision.grade", {}, today, row["count"], dimension=row["grade"])


def collect_exchange(*, since, until, today):
    from yiwang.exchange import selectors

    for row in selectors.exchange_daily_figures(since=_aware(since), until=_aware(until)):
        yield _fact("exchange.reads", row, row["day"], row["reads"])


def _link(name: str, args: tuple = (), query: dict | None = None) -> tuple:
    return (name, args, query or {})


BUILTIN = {
    "cases": (
        collect_cases,
        [
            Indicator("cases.submitted", _("办件量"), _("件")),
            Indicator("cases.immediate_rate", _("即办件比例"), "%", rate=True),
            Indicator("cases.full_online_rate", _("全程网办率"), "%", rate=True),
            Indicator("cases.state", _("办件状态"), _("件"), snapshot=True),
            Indicator("cases.sla.green", _("时限正常"), _("件"), snapshot=True),
            Indicator("cases.sla.yellow", _("临近超期"), _("件"), snapshot=True, lower_is_better=True),
            Indicator("cases.sla.red", _("已超期"), _("件"), snapshot=True, lower_is_better=True),
        ],
        [
            Panel(
                "cases_volume",
                _("办件量(近30日)"),
                ("cases.submitted",),
                "line",
                "day",
                _link("cases_workbench:index"),
                order=10,
            ),
            Panel(
                "cases_states",
                _("办件状态"),
                ("cases.state",),
                "pie",
                "snapshot",
                _link("cases_workbench:index"),
                by_dimension=True,
                order=11,
            ),
            Panel(
                "cases_sla",
                _("办理时限红黄绿灯"),
                ("cases.sla.green", "cases.sla.yellow", "cases.sla.red"),
                "bar",
                "snapshot",
                _link("cases_workbench:index", query={"sla": "overdue"}),
                order=12,
            ),
            Panel(
                "cases_rates",
                _("即办件比例与全程网办率"),
                ("cases.immediate_rate", "cases.full_online_rate"),
                "line",
                "month",
                _link("evaluation_workbench:metrics"),
                order=13,
            ),
        ],
    ),
    "licenses": (
        collect_licenses,
        [
            Indicator("licenses.issued", _("证照签发量"), _("张")),
            Indicator("licenses.verified", _("亮证核验量"), _("次")),
        ],
        [
            Panel(
                "licenses",
                _("电子证照签发与核验"),
                ("licenses.issued", "licenses.verified"),
                "bar",
                "day",
                _link("licenses_workbench:list"),
                order=20,
            ),
        ],
    ),
    "evaluation": (
        collect_evaluation,
        [
            Indicator("evaluation.rated", _("评价数"), _("件")),
            Indicator("evaluation.good_rate", _("好评率"), "%", rate=True),
        ],
        [
            Panel(
                "evaluation",
                _("好差评好评率"),
                ("evaluation.good_rate",),
                "line",
                "month",
                _link("evaluation_workbench:index"),
                order=30,
            ),
        ],
    ),
    "hotline": (
        collect_hotline,
        [
            Indicator("hotline.received", _("12345 工单量"), _("件")),
            Indicator("hotline.satisfaction_rate", _("12345 满意率"), "%", rate=True),
            Indicator("hotline.hotspots", _("热点预警"), _("个"), snapshot=True, lower_is_better=True),
        ],
        [
            Panel(
                "hotline_volume",
                _("12345 工单量(近30日)"),
                ("hotline.received",),
                "line",
                "day",
                _link("hotline:queue", ("all",)),
                order=40,
            ),
            Panel(
                "hotline_hotspots",
                _("12345 热点"),
                ("hotline.hotspots",),
                "bar",
                "snapshot",
                _link("hotline:hotspots"),
                by_dimension=True,
                order=41,
            ),
            Panel(
                "hotline_satisfaction",
                _("12345 满意率"),
                ("hotline.satisfaction_rate",),
                "line",
                "month",
                _link("hotline:ranking"),
                order=42,
            ),
        ],
    ),
    "supervision": (
        collect_supervision,
        [
            Indicator("supervision.coverage", _("双随机检查完成率"), "%", rate=True, snapshot=True),
            Indicator("supervision.grade", _("信用等级分布"), _("户"), snapshot=True),
        ],
        [
            Panel(
                "supervision_coverage",
                _("双随机检查完成率"),
                ("supervision.coverage",),
                "gauge",
                "snapshot",
                _link("supervision:results"),
                order=50,
            ),
            Panel(
                "credit_grades",
                _("信用等级分布"),
                ("supervision.grade",),
                "pie",
                "snapshot",
                _link("supervision:index"),
                by_dimension=True,
                order=51,
            ),
        ],
    ),
    "exchange": (
        collect_exchange,
        [Indicator("exchange.reads", _("共享数据调用量"), _("次"))],
        [
            Panel(
                "exchange_reads",
                _("数据共享调用(近30日)"),
                ("exchange.reads",),
                "bar",
                "day",
                _link("exchange_workbench:home"),
                order=60,
            ),
        ],
    ),
}


def register() -> None:
    for app, (collect, indicators, panels) in BUILTIN.items():
        if not apps.is_installed(f"yiwang.{app}"):
            continue
        for item in indicators:
            register_indicator(Indicator(**{**item.__dict__, "app": app}))
        for item in panels:
            data = {**item.__dict__, "app": app}
            if item.code == "cases_states":
                data["dimension_labels"] = _case_states
            register_panel(Panel(**data))
        register_collector(app, collect)
