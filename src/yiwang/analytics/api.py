"""Dashboard endpoints, mounted at /api/v1/analytics/: the scopes and panels a leader may see,
each panel's data (the charts read these), and the 三色预警 thresholds. Thin: reads are
selectors, writes are services; a scope the caller may not see is 404."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.responses import Status as Respond

from yiwang.analytics import selectors, services
from yiwang.core.api_errors import ErrorOut
from yiwang.identity.auth import api_auth

router = Router(tags=["analytics"], auth=api_auth)

READ_ERRORS = {401: ErrorOut, 404: ErrorOut}
WRITE_ERRORS = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class ScopeOut(Schema):
    key: str
    kind: str
    code: str
    name: str


class PanelOut(Schema):
    code: str
    title: str
    chart: str
    period: str
    indicators: list[str]
    drill: str


class ThresholdOut(Schema):
    id: int
    indicator: str
    scope_kind: str
    scope_code: str
    direction: str
    yellow: float
    red: float
    owner_id: int
    active: bool
    level: str
    last_value: float | None


class ThresholdIn(Schema):
    indicator: str
    scope: str = "city"
    direction: str
    yellow: float | str
    red: float | str
    active: bool = True


@router.get("/scopes", response={200: list[ScopeOut], **READ_ERRORS})
def analytics_scopes(request: HttpRequest):
    """The scopes the caller may look at, widest first (404 when none: no dashboard)."""
    found = selectors.dashboard_scopes(actor=request.auth)
    if not found:
        selectors.scope_resolve(actor=request.auth)
    return [{"key": s.key, "kind": s.kind, "code": s.code, "name": s.name} for s in found]


@router.get("/panels", response={200: list[PanelOut], **READ_ERRORS})
def analytics_panels(request: HttpRequest):
    """The panels of the installed apps, with the list page behind each (drill-down)."""
    from yiwang.analytics.views import drill_url

    return [
        {
            "code": p.code,
            "title": str(p.title),
            "chart": p.chart,
            "period": p.period,
            "indicators": list(p.indicators),
            "drill": drill_url(p),
        }
        for p in selectors.panel_list(actor=request.auth)
    ]


@router.get("/panels/{code}", response={200: dict, **READ_ERRORS})
def analytics_panel(request: HttpRequest, code: str, scope: str = "", indicator: str = "cases.submitted"):
    """One panel's figures in ``scope`` (default: the caller's widest). ``district_map`` is the
    map: one ``indicator`` per district."""
    city = selectors.city_structure()
    resolved = selectors.scope_resolve(actor=request.auth, key=scope or None, city=city)
    if code == "district_map":
        return selectors.map_data(scope=resolved, indicator_code=indicator, city=city)
    return selectors.panel_data(scope=resolved, panel=selectors.panel_get(code=code))


@router.get("/thresholds", response={200: list[ThresholdOut], **READ_ERRORS})
def analytics_thresholds(request: HttpRequest):
    """The thresholds (三色预警) of the scopes the caller sees, with their current light."""
    return list(selectors.threshold_list(actor=request.auth))


@router.post("/thresholds", response={201: ThresholdOut, **WRITE_ERRORS})
def analytics_threshold_save(request: HttpRequest, payload: ThresholdIn):
    """Set an indicator's yellow and red bounds in a scope (the city's operator only). A bound
    that is not a number, or a yellow bound beyond the red one, is a 422 naming the field."""
    saved = services.threshold_save(
        actor=request.auth,
        indicator=payload.indicator,
        scope=payload.scope,
        direction=payload.direction,
        yellow=payload.yellow,
        red=payload.red,
        active=payload.active,
    )
    return Respond(201, saved)
