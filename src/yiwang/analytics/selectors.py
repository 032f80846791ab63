"""Reads of the dashboards, already scoped to the actor.

Who sees what (decided from identity's role grants): the dashboards are for leaders and
operators — ``department_head``, ``department_admin`` and ``city_admin``. A ``city_admin``
(the city's operator) or a leader whose grant is on the city government sees the whole
city, and may narrow to any district or department; a grant on a county/district government
gives that district (and the departments in it); a grant on an agency gives that department.
Anyone else — clerks, reviewers, auditors, citizens — gets ``NotFound``: the dashboards look
missing, as every forbidden object does.

Every panel reads rollup rows (``IndicatorValue``) — one query for a few dozen rows — never
the cases or tickets themselves.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.analytics import registry
from yiwang.analytics.models import Alert, IndicatorValue, Level, Period, ScopeKind, Threshold
from yiwang.analytics.registry import Indicator, Panel
from yiwang.core.errors import NotFound
from yiwang.identity.models import Department, Role
from yiwang.identity.selectors import actor_grants

__all__ = ["Indicator", "Panel"]  # for an app's ``panels`` module that wants the shapes

VIEWER_ROLES = (Role.DEPARTMENT_HEAD, Role.DEPARTMENT_ADMIN, Role.CITY_ADMIN)
DAYS = 30
MONTHS = 12


@dataclass(frozen=True)
class Scope:
    kind: str
    code: str
    name: str

    @property
    def key(self) -> str:
        return self.kind if self.kind == ScopeKind.CITY else f"{self.kind}:{self.code}"


@dataclass(frozen=True)
class City:
    """The city the platform serves: its government, its districts and its departments."""

    code: str
    name: str
    districts: dict  # region code → name
    departments: dict  # id → (code, name, region code)

    def district_of(self, region_code: str) -> str | None:
        code = (region_code or "")[:6]
        return code if code in self.districts else None


def city_structure() -> City:
    """The city government (the first active city-level government in the tree), the county
    and district governments below it, and every active department: one query."""
    rows = list(
        Department.objects.filter(is_active=True)
        .order_by("path")
        .values_list("pk", "code", "name", "short_name", "region_code", "level", "kind", "path")
    )
    city = next((row for row in rows if row[5] == Department.Level.CITY and row[6] == Department.Kind.GOVERNMENT), None)
    departments = {}
    districts = {}
    for pk, code, name, short, region, level, kind, path in rows:
        if city is not None and not path.startswith(city[7]):
            continue
        departments[pk] = (code, name, region)
        if level == Department.Level.COUNTY and kind == Department.Kind.GOVERNMENT:
            districts[region[:6]] = short or name
    if city is None:
        return City(code="", name=_("全市"), districts=districts, departments=departments)
    return City(code=city[4][:6], name=city[2], districts=districts, departments=departments)


def _city_scope(city: City) -> Scope:
    return Scope(ScopeKind.CITY, city.code, city.name)


def dashboard_scopes(*, actor, city: City | None = None) -> list[Scope]:
    """The scopes the actor may look at, widest first (empty: no dashboard at all)."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return []
    city = city or city_structure()
    grants = [g for g in actor_grants(actor=actor, remember=True) if g.role in VIEWER_ROLES]
    whole_city = actor.is_superuser or any(
        g.role == Role.CITY_ADMIN
        or (g.department.kind == Department.Kind.GOVERNMENT and g.department.level <= Department.Level.CITY)
        for g in grants
    )
    scopes: list[Scope] = []
    if whole_city:
        scopes.append(_city_scope(city))
        scopes += [Scope(ScopeKind.DISTRICT, code, name) for code, name in sorted(city.districts.items())]
        scopes += [
            Scope(ScopeKind.DEPARTMENT, code, name)
            for _pk, (code, name, _region) in sorted(city.departments.items())
            if code
        ]
        return scopes
    seen = set()
    for grant in grants:
        dept = grant.department
        if dept.kind == Department.Kind.GOVERNMENT and dept.level == Department.Level.COUNTY:
            district = dept.region_code[:6]
            if district not in seen:
                seen.add(district)
                scopes.append(Scope(ScopeKind.DISTRICT, district, city.districts.get(district, dept.name)))
                # the district's own departments
                for _pk, (code, name, region) in sorted(city.departments.items()):
                    if region[:6] == district and code != dept.code and code not in seen:
                        seen.add(code)
                        scopes.append(Scope(ScopeKind.DEPARTMENT, code, name))
        elif dept.code not in seen:
            seen.add(dept.code)
            scopes.append(Scope(ScopeKind.DEPARTMENT, dept.code, dept.name))
    return scopes


def has_dashboard(*, actor) -> bool:
    """Whether the actor sees any dashboard (for a link; no query beyond the role grants)."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return False
    return actor.is_superuser or any(g.role in VIEWER_ROLES for g in actor_grants(actor=actor, remember=True))


def scope_resolve(
    *, actor, key: str | None = None, city: City | None = None, scopes: list[Scope] | None = None
) -> Scope:
    """The scope ``key`` ("city", "district:610302", "department:SCJG") if the actor may see
    it, else their widest; ``NotFound`` when they may see none or not this one. ``scopes``:
    the actor's ``dashboard_scopes`` when the caller already has them."""
    scopes = dashboard_scopes(actor=actor, city=city) if scopes is None else scopes
    if not scopes:
        raise NotFound(_("页面不存在。"))
    if not key:
        return scopes[0]
    for scope in scopes:
        if scope.key == key:
            return scope
    raise NotFound(_("页面不存在。"))


def may_configure_thresholds(*, actor) -> bool:
    """The city's operator (``city_admin``) or a superuser sets the 三色预警 thresholds."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return False
    return actor.is_superuser or any(g.role == Role.CITY_ADMIN for g in actor_grants(actor=actor, remember=True))


def panel_list(*, actor) -> list[Panel]:
    """The panels of the installed apps (the actor must have a dashboard at all)."""
    if not dashboard_scopes(actor=actor):
        raise NotFound(_("页面不存在。"))
    return registry.panels()


def panel_get(*, code: str) -> Panel:
    panel = registry.panel(code)
    if panel is None:
        raise NotFound(_("看板不存在。"))
    return panel


def _month_start(day: datetime.date, back: int = 0) -> datetime.date:
    month = day.year * 12 + day.month - 1 - back
    return datetime.date(month // 12, month % 12 + 1, 1)


def _label(value) -> str:
    return str(value) if value is not None else ""


def _rows(scope: Scope, codes, period: str, since: datetime.date) -> QuerySet[IndicatorValue]:
    return IndicatorValue.objects.filter(
        scope_kind=scope.kind, scope_code=scope.code, indicator__in=list(codes), period=period, period_start__gte=since
    ).values_list("indicator", "dimension", "period_start", "numerator", "denominator", "value")


def panel_data(*, scope: Scope, panel: Panel, today: datetime.date | None = None) -> dict:
    """The figures of one panel in one (already authorized) scope: one query.

    ``{"code", "title", "chart", "period", "unit", "categories": [...], "series": [{"code",
    "name", "data": [...]}], "rate": bool}`` — categories are days, months or dimensions; a
    rate is a fraction (0–1) or null where nothing was counted.
    """
    today = today or timezone.localdate()
    defs = [registry.indicator(code) for code in panel.indicators]
    defs = [d for d in defs if d is not None]
    rate = any(d.rate for d in defs)
    out = {
        "code": panel.code,
        "title": str(panel.title),
        "chart": panel.chart,
        "period": panel.period,
        "unit": str(defs[0].unit) if defs else "",
        "rate": rate,
        "scope": {"kind": scope.kind, "code": scope.code, "name": scope.name, "key": scope.key},
        "categories": [],
        "series": [],
    }
    if panel.period == "snapshot":
        rows = list(_rows(scope, panel.indicators, Period.DAY, today - datetime.timedelta(days=7)))
        latest = max((row[2] for row in rows), default=None)
        rows = [row for row in rows if row[2] == latest]
        out["as_of"] = latest.isoformat() if latest else None
        if panel.by_dimension:
            labels = panel.dimension_labels() if callable(panel.dimension_labels) else panel.dimension_labels
            values: dict[str, float] = {}
            for _ind, dim, _day, num, _den, _value in rows:
                values[dim] = values.get(dim, 0) + num
            ordered = sorted(values.items(), key=lambda item: -item[1])
            out["categories"] = [_label(labels.get(dim, dim)) for dim, _v in ordered]
            out["dimensions"] = [dim for dim, _v in ordered]
            out["series"] = [{"code": defs[0].code, "name": str(defs[0].label), "data": [v for _d, v in ordered]}]
        else:
            sums: dict[str, list[float]] = {d.code: [0.0, 0.0] for d in defs}
            for ind, _dim, _day, num, den, _value in rows:
                sums[ind][0] += num
                sums[ind][1] += den or 0
            out["categories"] = [str(d.label) for d in defs]
            out["indicator_codes"] = [d.code for d in defs]
            data = [
                (round(sums[d.code][0] / sums[d.code][1], 4) if sums[d.code][1] else None)
                if d.rate
                else sums[d.code][0]
                for d in defs
            ]
            out["series"] = [{"code": panel.code, "name": str(panel.title), "data": data}]
        return out
    if panel.period == Period.MONTH:
        periods = [_month_start(today, back) for back in range(MONTHS - 1, -1, -1)]
        out["categories"] = [p.strftime("%Y-%m") for p in periods]
    else:
        periods = [today - datetime.timedelta(days=back) for back in range(DAYS - 1, -1, -1)]
        out["categories"] = [p.strftime("%m-%d") for p in periods]
    index = {p: i for i, p in enumerate(periods)}
    nums = {d.code: [0.0] * len(periods) for d in defs}
    dens = {d.code: [0.0] * len(periods) for d in defs}
    for ind, _dim, day, num, den, _value in _rows(scope, panel.indicators, panel.period, periods[0]):
        i = index.get(day)
        if i is not None and ind in nums:
            nums[ind][i] += num
            dens[ind][i] += den or 0
    for d in defs:
        if d.rate:
            data = [round(n / m, 4) if m else None for n, m in zip(nums[d.code], dens[d.code], strict=True)]
        else:
            data = nums[d.code]
        out["series"].append({"code": d.code, "name": str(d.label), "data": data})
    return out


def map_indicators() -> list[Indicator]:
    """The indicators a district map can be coloured by (those with figures per district)."""
    return [d for d in registry.indicators().values() if d.code not in ("supervision.grade",)]


def map_data(*, scope: Scope, indicator_code: str, city: City, today: datetime.date | None = None) -> dict:
    """One indicator per district for the map: this month's figure (a rate, or a count; the
    latest snapshot for a figure of "now"). A district viewer sees only their district
    coloured; a department viewer no district (their figures are not per district)."""
    today = today or timezone.localdate()
    ind = registry.indicator(indicator_code)
    if ind is None or ind not in map_indicators():
        raise NotFound(_("指标不存在。"))
    if scope.kind == ScopeKind.CITY:
        codes = list(city.districts)
    elif scope.kind == ScopeKind.DISTRICT:
        codes = [scope.code]
    else:
        codes = []
    rows = IndicatorValue.objects.filter(scope_kind=ScopeKind.DISTRICT, scope_code__in=codes, indicator=ind.code)
    if ind.snapshot:
        rows = rows.filter(period=Period.DAY, period_start__gte=today - datetime.timedelta(days=7))
    else:
        rows = rows.filter(period=Period.MONTH, period_start=_month_start(today))
    latest: dict[str, datetime.date] = {}
    sums: dict[str, list[float]] = {}
    for code, day, num, den in rows.values_list("scope_code", "period_start", "numerator", "denominator"):
        if ind.snapshot and latest.get(code) and day < latest[code]:
            continue
        if ind.snapshot and latest.get(code) != day:
            latest[code] = day
            sums[code] = [0.0, 0.0]
        entry = sums.setdefault(code, [0.0, 0.0])
        entry[0] += num
        entry[1] += den or 0
    data = []
    for code in sorted(city.districts):
        value = None
        if code in sums:
            num, den = sums[code]
            value = (round(num / den, 4) if den else None) if ind.rate else num
        data.append({"code": code, "name": city.districts[code], "value": value, "visible": code in codes})
    return {
        "code": "district_map",
        "title": str(_("区县分布")),
        "chart": "map",
        "indicator": ind.code,
        "indicator_label": str(ind.label),
        "unit": str(ind.unit),
        "rate": ind.rate,
        "scope": {"kind": scope.kind, "code": scope.code, "name": scope.name, "key": scope.key},
        "districts": data,
    }


def threshold_list(*, actor) -> QuerySet[Threshold]:
    """Thresholds in the scopes the actor may see (all of them for the city)."""
    scopes = dashboard_scopes(actor=actor)
    if not scopes:
        raise NotFound(_("页面不存在。"))
    keys = {(s.kind, s.code) for s in scopes}
    ids = [t.pk for t in Threshold.objects.all() if (t.scope_kind, t.scope_code) in keys]
    return Threshold.objects.filter(pk__in=ids).select_related("owner").order_by("indicator", "scope_kind")


def threshold_levels(*, scope: Scope) -> dict[str, str]:
    """Indicator code → light (green/yellow/red) of the thresholds set for this scope."""
    return dict(
        Threshold.objects.filter(scope_kind=scope.kind, scope_code=scope.code, active=True).values_list(
            "indicator", "level"
        )
    )


def alert_list(*, actor, limit: int = 20, scopes: list[Scope] | None = None) -> list[Alert]:
    scopes = dashboard_scopes(actor=actor) if scopes is None else scopes
    if not scopes:
        raise NotFound(_("页面不存在。"))
    keys = {(s.kind, s.code) for s in scopes}
    recent = Alert.objects.select_related("threshold").order_by("-raised_at")[: limit * 5]
    return [a for a in recent if (a.threshold.scope_kind, a.threshold.scope_code) in keys][:limit]


def level_of(*, value: float | None, direction: str, yellow: float, red: float) -> str:
    """The light of ``value`` under a threshold (green when nothing was counted)."""
    if value is None:
        return Level.GREEN
    if direction == "above":
        return Level.RED if value >= red else Level.YELLOW if value >= yellow else Level.GREEN
    return Level.RED if value <= red else Level.YELLOW if value <= yellow else Level.GREEN


def current_value(*, indicator: Indicator, scope_kind: str, scope_code: str, today: datetime.date) -> tuple:
    """(value, period start) of an indicator in a scope as a threshold compares it: the latest
    snapshot for a figure of "now", else this month's total (or rate)."""
    rows = IndicatorValue.objects.filter(indicator=indicator.code, scope_kind=scope_kind, scope_code=scope_code)
    if indicator.snapshot:
        latest = rows.filter(period=Period.DAY).order_by("-period_start").values_list("period_start", flat=True).first()
        if latest is None:
            return None, today
        rows, start = rows.filter(period=Period.DAY, period_start=latest), latest
    else:
        start = _month_start(today)
        rows = rows.filter(period=Period.MONTH, period_start=start)
    num = den = 0.0
    found = False
    for n, d in rows.values_list("numerator", "denominator"):
        found = True
        num += n
        den += d or 0
    if not found:
        return (None if indicator.rate else 0.0), start
    if indicator.rate:
        return (num / den if den else None), start
    return num, start


DUTY_LIMIT = 30


def duty_contacts(*, scope: Scope, limit: int = DUTY_LIMIT) -> list[dict]:
    """Who is on duty now (政务值班, the documents app's rosters) in an (already authorized)
    scope: the city's every department, a district's departments (by region code), or one
    department; phones masked here, never sent in clear. ``[]`` without the documents app."""
    from django.apps import apps

    if not apps.is_installed("yiwang.documents"):
        return []
    from yiwang.core.masking import mask_phone
    from yiwang.documents.selectors import duty_on_now

    shifts = duty_on_now()
    if scope.kind == ScopeKind.DEPARTMENT:
        shifts = shifts.filter(department__code=scope.code)
    elif scope.kind == ScopeKind.DISTRICT:
        shifts = shifts.filter(department__region_code__startswith=scope.code)
    return [
        {
            "department": shift.department.short_name or shift.department.name,
            "person": shift.person.real_name or shift.person.username,
            "phone": mask_phone(shift.phone),
            "until": shift.ends_at,
            "note": shift.note,
        }
        for shift in shifts[:limit]
    ]
