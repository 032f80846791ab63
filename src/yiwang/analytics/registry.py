"""The registry of indicators, panels and collectors (指标与看板注册表).

An app contributes to the dashboards by shipping a module ``yiwang.<app>.panels`` with up to
three plain attributes — no import of analytics needed, so the app keeps its own layer:

* ``INDICATORS``: dicts ``{"code", "label", "unit", "rate": bool, "snapshot": bool,
  "lower_is_better": bool}`` (``rate``: the value is numerator ÷ denominator; ``snapshot``: a
  figure of "now", kept per day only, the latest one read);
* ``PANELS``: dicts ``{"code", "title", "indicators": [...], "chart": "line"|"bar"|"pie"|
  "gauge", "period": "day"|"month"|"snapshot", "drill": (url_name, args, query),
  "by_dimension": bool, "order": int}``;
* ``collect(*, since, until, today)``: returns facts, each a dict ``{"indicator",
  "dimension", "department_id", "region_code", "day", "numerator", "denominator"}`` read
  through the app's own selectors (grouped queries, never a row per case).

``autodiscover`` (run by ``AnalyticsConfig.ready``) imports every installed app's ``panels``
module once; the panels of the apps on the platform when analytics was written (cases,
licenses, evaluation, hotline, supervision, exchange) live in ``analytics/builtin.py`` and
register the same way, each only when its app is installed.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.apps import apps


@dataclass(frozen=True)
class Indicator:
    code: str
    label: str
    unit: str = ""
    rate: bool = False
    snapshot: bool = False
    lower_is_better: bool = False
    app: str = ""


@dataclass(frozen=True)
class Panel:
    code: str
    title: str
    indicators: tuple[str, ...]
    chart: str = "line"
    period: str = "day"
    drill: tuple = ()
    by_dimension: bool = False
    order: int = 100
    app: str = ""
    dimension_labels: dict = field(default_factory=dict)


Collector = Callable[..., Iterable[dict]]

_indicators: dict[str, Indicator] = {}
_panels: dict[str, Panel] = {}
_collectors: dict[str, Collector] = {}
_discovered = False


def register_indicator(indicator: Indicator | dict, *, app: str = "") -> Indicator:
    if isinstance(indicator, dict):
        indicator = Indicator(app=app, **indicator)
    _indicators[indicator.code] = indicator
    return indicator


def register_panel(panel: Panel | dict, *, app: str = "") -> Panel:
    if isinstance(panel, dict):
        data = dict(panel)
        data["indicators"] = tuple(data.get("indicators", ()))
        data["drill"] = tuple(data.get("drill", ()))
        panel = Panel(app=app, **data)
    _panels[panel.code] = panel
    return panel


def register_collector(app: str, collect: Collector) -> None:
    _collectors[app] = collect


def autodiscover() -> None:
    """Register the built-in panels and every installed app's ``panels`` module (once)."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    from yiwang.analytics import builtin

    builtin.register()
    for config in apps.get_app_configs():
        if not config.name.startswith("yiwang.") or config.label == "analytics":
            continue
        name = f"{config.name}.panels"
        if importlib.util.find_spec(name) is None:
            continue
        module = importlib.import_module(name)
        for item in getattr(module, "INDICATORS", ()):
            register_indicator(item, app=config.label)
        for item in getattr(module, "PANELS", ()):
            register_panel(item, app=config.label)
        if callable(getattr(module, "collect", None)):
            register_collector(config.label, module.collect)


def indicators() -> dict[str, Indicator]:
    autodiscover()
    return _indicators


def indicator(code: str) -> Indicator | None:
    return indicators().get(code)


def panels() -> list[Panel]:
    autodiscover()
    return sorted(_panels.values(), key=lambda p: (p.order, p.code))


def panel(code: str) -> Panel | None:
    autodiscover()
    return _panels.get(code)


def collectors() -> dict[str, Collector]:
    autodiscover()
    return dict(_collectors)
