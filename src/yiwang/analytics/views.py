"""The dashboard pages (workbench): the leader's dashboard, the big screen (大屏), Excel export
of a panel, and the 三色预警 thresholds. Thin: reads are selectors, writes are services; the
charts fetch each panel's data from the JSON API (``/api/v1/analytics/panels/<code>``)."""

from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from yiwang.analytics import registry, selectors, services
from yiwang.analytics.models import Direction
from yiwang.core.errors import NotFound, ValidationFailed


def _scope(request: HttpRequest, city=None):
    try:
        return selectors.scope_resolve(actor=request.user, key=request.GET.get("scope") or None, city=city)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc


def drill_url(panel) -> str:
    """The list behind a panel (its app's own page, with the panel's filter)."""
    if not panel.drill:
        return ""
    name, args, query = panel.drill
    try:
        url = reverse(name, args=args)
    except NoReverseMatch:
        return ""
    return f"{url}?{urlencode(query)}" if query else url


def _context(request: HttpRequest) -> dict:
    city = selectors.city_structure()
    scope = _scope(request, city)
    levels = selectors.threshold_levels(scope=scope)
    rank = {"green": 0, "yellow": 1, "red": 2}
    panels = []
    for panel in registry.panels():
        lights = [levels[code] for code in panel.indicators if code in levels]
        panels.append(
            {
                "panel": panel,
                "drill": drill_url(panel),
                "api": reverse("api:analytics_panel", kwargs={"code": panel.code}),
                "light": max(lights, key=lambda level: rank.get(level, 0)) if lights else "",
            }
        )
    return {
        "scope": scope,
        "scopes": selectors.dashboard_scopes(actor=request.user, city=city),
        "panels": panels,
        "map_indicators": selectors.map_indicators(),
        "map_api": reverse("api:analytics_panel", kwargs={"code": "district_map"}),
        "config": {
            "scope": scope.key,
            "geojson": _geojson_url(),
            "refresh_seconds": 60,
            "labels": {"export_png": _("导出图片"), "no_data": _("暂无数据")},
        },
    }


def _geojson_url() -> str:
    from django.templatetags.static import static

    return static("hotline/demo_city.geojson")


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """The leader's dashboard: every panel as a chart, the district map, the alerts."""
    context = _context(request)
    context["alerts"] = selectors.alert_list(actor=request.user, limit=10)
    context["may_configure"] = selectors.may_configure_thresholds(actor=request.user)
    return render(request, "analytics/dashboard.html", context)


@login_required
@require_GET
def screen(request: HttpRequest) -> HttpResponse:
    """The big screen (一屏掌控, 1920×1080, dark): the same panels, refreshed every minute."""
    context = _context(request)
    context["now"] = timezone.localtime()
    return render(request, "analytics/screen.html", context)


@login_required
@require_GET
def panel_xlsx(request: HttpRequest, code: str) -> HttpResponse:
    """One panel's figures (in the scope asked for) as an Excel sheet."""
    from openpyxl import Workbook

    city = selectors.city_structure()
    scope = _scope(request, city)
    try:
        if code == "district_map":
            data = selectors.map_data(
                scope=scope, indicator_code=request.GET.get("indicator") or "cases.submitted", city=city
            )
        else:
            data = selectors.panel_data(scope=scope, panel=selectors.panel_get(code=code))
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    book = Workbook()
    sheet = book.active
    sheet.title = code[:31]
    sheet.append([data["title"], scope.name, timezone.localdate().isoformat()])
    if code == "district_map":
        sheet.append([_("区县"), _("区划代码"), data["indicator_label"]])
        for row in data["districts"]:
            sheet.append([row["name"], row["code"], row["value"] if row["visible"] else None])
    else:
        sheet.append([_("类别"), *[series["name"] for series in data["series"]]])
        for i, category in enumerate(data["categories"]):
            sheet.append([category, *[series["data"][i] for series in data["series"]]])
    if data.get("rate"):
        sheet.append([_("比率以小数表示(0.95 即 95%)")])
    out = io.BytesIO()
    book.save(out)
    response = HttpResponse(
        out.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{code}.xlsx"'
    return response


@login_required
def thresholds(request: HttpRequest) -> HttpResponse:
    """三色预警: the thresholds of the scopes the actor sees; the city's operator sets them."""
    try:
        items = selectors.threshold_list(actor=request.user)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    may_configure = selectors.may_configure_thresholds(actor=request.user)
    errors: dict = {}
    values = {}
    if request.method == "POST":
        if not may_configure:
            raise Http404(_("页面不存在。"))
        values = request.POST
        try:
            services.threshold_save(
                actor=request.user,
                indicator=request.POST.get("indicator", ""),
                scope=request.POST.get("scope", ""),
                direction=request.POST.get("direction", ""),
                yellow=request.POST.get("yellow", ""),
                red=request.POST.get("red", ""),
                active=request.POST.get("active", "on") == "on",
            )
        except ValidationFailed as exc:
            errors = {name: [str(text) for text in texts] for name, texts in exc.fields.items()}
        else:
            messages.success(request, _("预警阈值已保存。"))
            return redirect("analytics:thresholds")
    return render(
        request,
        "analytics/thresholds.html",
        {
            "thresholds": items,
            "may_configure": may_configure,
            "indicators": list(registry.indicators().values()),
            "scopes": selectors.dashboard_scopes(actor=request.user),
            "directions": Direction.choices,
            "errors": errors,
            "values": values,
            "alerts": selectors.alert_list(actor=request.user),
        },
        status=422 if errors else 200,
    )
