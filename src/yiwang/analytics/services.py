"""Writes of the dashboards: the rollup (指标汇总), thresholds (三色预警) and their alerts."""

from __future__ import annotations

import datetime
import math
from collections import defaultdict

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.analytics import registry, selectors
from yiwang.analytics.models import Alert, Direction, IndicatorValue, Level, Period, ScopeKind, Threshold
from yiwang.core.audit import audit_record
from yiwang.core.errors import NotFound, ValidationFailed
from yiwang.identity.models import User

SYSTEM = "task:analytics.rollup"


def _month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _next_month(day: datetime.date) -> datetime.date:
    return (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def _value(indicator, numerator: float, denominator: float | None) -> float | None:
    if indicator is not None and indicator.rate:
        return numerator / denominator if denominator else None
    return numerator


def _scopes_of(fact: dict, city: selectors.City) -> list[tuple[str, str]]:
    """A fact counts for its department, its district and the whole city."""
    scopes = [(ScopeKind.CITY, city.code)]
    dept = city.departments.get(fact.get("department_id"))
    district = city.district_of(fact.get("region_code") or "") or (city.district_of(dept[2]) if dept else None)
    if district:
        scopes.append((ScopeKind.DISTRICT, district))
    if dept and dept[0]:
        scopes.append((ScopeKind.DEPARTMENT, dept[0]))
    return scopes


def indicator_rollup(
    *,
    actor=None,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
    today: datetime.date | None = None,
    check: bool = True,
) -> dict:
    """Recompute the rollup rows of the days ``[since, until)`` (default: yesterday and today),
    the months they fall in, and today's snapshots, from every registered collector.

    Guarantees: one transaction — a dashboard reads the old rows or the new ones, never half;
    idempotent (the rows of the window are replaced, not added to); each collector reads its
    app through grouped selectors; audited as ``analytics.rollup`` (counts only). Then the
    thresholds are checked (``threshold_check``) unless ``check`` is false.
    """
    today = today or timezone.localdate()
    until = until or today + datetime.timedelta(days=1)
    since = since or today - datetime.timedelta(days=1)
    if since >= until:
        raise ValidationFailed(fields={"since": [_("起始日期须早于截止日期")]})
    city = selectors.city_structure()
    defs = registry.indicators()
    days: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])  # num, den, has-den
    collected: set[str] = set()
    for collect in registry.collectors().values():
        for fact in collect(since=since, until=until, today=today):
            code = fact["indicator"]
            collected.add(code)
            day = fact["day"]
            ind = defs.get(code)
            if ind is not None and ind.snapshot:
                day = today
            elif not (since <= day < until):
                continue
            for kind, scope_code in _scopes_of(fact, city):
                entry = days[(code, fact.get("dimension") or "", kind, scope_code, day)]
                entry[0] += fact.get("numerator") or 0
                if fact.get("denominator") is not None:
                    entry[1] += fact["denominator"]
                    entry[2] = 1
    snapshot_codes = [c for c in defs if defs[c].snapshot]
    flow_codes = [c for c in defs if not defs[c].snapshot]
    months = set()
    day = _month_start(since)
    while day < until:
        months.add(day)
        day = _next_month(day)
    with transaction.atomic():
        IndicatorValue.objects.filter(
            indicator__in=flow_codes, period=Period.DAY, period_start__gte=since, period_start__lt=until
        ).delete()
        IndicatorValue.objects.filter(indicator__in=snapshot_codes, period=Period.DAY, period_start=today).delete()
        rows = [
            IndicatorValue(
                indicator=code,
                dimension=dim,
                scope_kind=kind,
                scope_code=scope_code,
                period=Period.DAY,
                period_start=day,
                numerator=num,
                denominator=den if has_den else None,
                value=_value(defs.get(code), num, den if has_den else None),
            )
            for (code, dim, kind, scope_code, day), (num, den, has_den) in days.items()
        ]
        IndicatorValue.objects.bulk_create(rows, batch_size=1000)
        month_rows = []
        for start in sorted(months):
            end = _next_month(start)
            IndicatorValue.objects.filter(indicator__in=flow_codes, period=Period.MONTH, period_start=start).delete()
            sums = (
                IndicatorValue.objects.filter(
                    indicator__in=flow_codes, period=Period.DAY, period_start__gte=start, period_start__lt=end
                )
                .values("indicator", "dimension", "scope_kind", "scope_code")
                .annotate(num=Sum("numerator"), den=Sum("denominator"))
                .order_by()
            )
            for row in sums:
                month_rows.append(
                    IndicatorValue(
                        indicator=row["indicator"],
                        dimension=row["dimension"],
                        scope_kind=row["scope_kind"],
                        scope_code=row["scope_code"],
                        period=Period.MONTH,
                        period_start=start,
                        numerator=row["num"] or 0,
                        denominator=row["den"],
                        value=_value(defs.get(row["indicator"]), row["num"] or 0, row["den"]),
                    )
                )
        IndicatorValue.objects.bulk_create(month_rows, batch_size=1000)
        audit_record(
            actor=actor if actor is not None else SYSTEM,
            action="analytics.rollup",
            object_type="analytics.IndicatorValue",
            object_repr=f"{since.isoformat()}..{until.isoformat()}",
            changes={
                "since": since.isoformat(),
                "until": until.isoformat(),
                "days": len(rows),
                "months": len(month_rows),
            },
        )
    result = {"day_rows": len(rows), "month_rows": len(month_rows), "indicators": sorted(collected)}
    if check:
        result["alerts"] = threshold_check(today=today)
    return result


# --- 三色预警 -------------------------------------------------------------------------------------


def _number(fields: dict, name: str, raw) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        fields.setdefault(name, []).append(_("请填写数值"))
        return None
    try:
        value = float(raw.strip() if isinstance(raw, str) else raw)
    except (TypeError, ValueError):
        fields.setdefault(name, []).append(_("请输入数字"))
        return None
    if not math.isfinite(value):
        fields.setdefault(name, []).append(_("请输入数字"))
        return None
    return value


def threshold_save(
    *,
    actor,
    indicator: str,
    scope: str,
    direction: str,
    yellow,
    red,
    owner: User | None = None,
    active: bool = True,
) -> Threshold:
    """Set (create or replace) the yellow and red bounds of ``indicator`` in ``scope`` (a scope
    key the actor may see). Bounds of a rate are percentages (0–100).

    Guarantees: only the city's operator (``city_admin``) or a superuser (else ``NotFound``);
    both bounds are numbers; with ``above`` yellow lies below red, with ``below`` above it (a
    yellow bound beyond the red one is refused); the owner is an active staff account (default:
    the actor); field errors name every bad field at once and nothing is saved; audited as
    ``analytics.threshold_save``. The light is computed again at once.
    """
    if not selectors.may_configure_thresholds(actor=actor):
        raise NotFound(_("页面不存在。"))
    fields: dict[str, list] = {}
    ind = registry.indicator(indicator or "")
    if ind is None:
        fields["indicator"] = [_("请选择指标")]
    try:
        resolved = selectors.scope_resolve(actor=actor, key=scope or "-")
    except NotFound:
        resolved = None
        fields["scope"] = [_("请选择范围")]
    if direction not in Direction.values:
        fields["direction"] = [_("请选择预警方向")]
    low = _number(fields, "yellow", yellow)
    high = _number(fields, "red", red)
    if low is not None and high is not None and direction in Direction.values:
        if direction == Direction.ABOVE and low >= high:
            fields["yellow"] = [_("“高于阈值预警”时,黄色阈值须小于红色阈值")]
        if direction == Direction.BELOW and low <= high:
            fields["yellow"] = [_("“低于阈值预警”时,黄色阈值须大于红色阈值")]
    if ind is not None and ind.rate:
        for name, value in (("yellow", low), ("red", high)):
            if value is not None and not (0 <= value <= 100) and name not in fields:
                fields[name] = [_("比率指标的阈值为 0–100 之间的百分数")]
    owner = owner or actor
    if owner is None or not owner.is_active or owner.kind != User.Kind.STAFF:
        fields["owner"] = [_("责任人须为在职工作人员")]
    if fields:
        raise ValidationFailed(fields=fields)
    with transaction.atomic():
        threshold, created = Threshold.objects.select_for_update().get_or_create(
            indicator=ind.code,
            scope_kind=resolved.kind,
            scope_code=resolved.code,
            defaults={
                "direction": direction,
                "yellow": low,
                "red": high,
                "owner": owner,
                "created_by": actor,
                "active": active,
            },
        )
        if not created:
            threshold.direction, threshold.yellow, threshold.red = direction, low, high
            threshold.owner, threshold.active = owner, active
            threshold.save()
        audit_record(
            actor=actor,
            action="analytics.threshold_save",
            obj=threshold,
            changes={
                "indicator": ind.code,
                "scope": resolved.key,
                "direction": direction,
                "yellow": low,
                "red": high,
                "owner_id": owner.pk,
                "active": active,
                "created": created,
            },
        )
    threshold_check(thresholds=[threshold])
    threshold.refresh_from_db()
    return threshold


def threshold_check(*, thresholds=None, today: datetime.date | None = None) -> int:
    """Compare each active threshold with the latest figure; a light that turns yellow or red
    raises an alert (once per threshold, period and level) sent to the owner through the
    message centre. Returns how many alerts were raised. Audited per alert."""
    from yiwang.messaging import services as messaging

    today = today or timezone.localdate()
    raised = 0
    items = thresholds if thresholds is not None else Threshold.objects.filter(active=True).select_related("owner")
    for threshold in items:
        if not threshold.active:
            continue
        ind = registry.indicator(threshold.indicator)
        if ind is None:
            continue
        value, start = selectors.current_value(
            indicator=ind, scope_kind=threshold.scope_kind, scope_code=threshold.scope_code, today=today
        )
        shown = value * 100 if (value is not None and ind.rate) else value
        level = selectors.level_of(
            value=shown, direction=threshold.direction, yellow=threshold.yellow, red=threshold.red
        )
        with transaction.atomic():
            Threshold.objects.filter(pk=threshold.pk).update(level=level, last_value=shown, checked_at=timezone.now())
            if level == Level.GREEN:
                continue
            alert, created = Alert.objects.get_or_create(
                threshold=threshold, period_start=start, level=level, defaults={"value": shown}
            )
            if not created:
                continue
            raised += 1
            audit_record(
                actor=SYSTEM,
                action="analytics.alert_raise",
                obj=alert,
                changes={"threshold_id": threshold.pk, "level": level, "value": shown},
            )
            messaging.message_send(
                actor=None,
                recipient=threshold.owner,
                template_code="analytics.threshold_crossed",
                context={
                    "indicator": str(ind.label),
                    "scope": _scope_name(threshold),
                    "level": str(Level(level).label),
                    "value": _format(shown, ind),
                    "yellow": _format(threshold.yellow, ind, percent=True),
                    "red": _format(threshold.red, ind, percent=True),
                },
                dedupe_key=f"analytics.alert:{alert.pk}",
            )
    return raised


def _format(value, ind, percent: bool = False) -> str:
    if value is None:
        return "—"
    if ind.rate:
        return f"{value:.1f}%"
    return f"{value:g}"


def _scope_name(threshold: Threshold) -> str:
    city = selectors.city_structure()
    if threshold.scope_kind == ScopeKind.CITY:
        return city.name
    if threshold.scope_kind == ScopeKind.DISTRICT:
        return city.districts.get(threshold.scope_code, threshold.scope_code)
    for code, name, _region in city.departments.values():
        if code == threshold.scope_code:
            return name
    return threshold.scope_code
