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


def _scope(request: HttpRequest, city=None, scopes=None):
    try:
        return selectors.scope_resolve(
            actor=request.user, key=request.GET.get("scope") or None, city=city, scopes=scopes
        )
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


SCOPE_SELECT_MAX = 40  # above this many scopes the picker lists the wide ones and searches the rest


def _context(request: HttpRequest) -> dict:
    city = selectors.city_structure()
    scopes = selectors.dashboard_scopes(actor=request.user, city=city)
    scope = _scope(request, city, scopes)
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
    # A city has hundreds of departments: the page lists the city and its districts (and the
    # scope shown) and finds a department by search (``scope_search``), not a 300-row select.
    searchable = len(scopes) > SCOPE_SELECT_MAX
    choices = [s for s in scopes if not searchable or s.kind != "department" or s.key == scope.key]
    return {
        "scope": scope,
        "scopes": choices,
        "scope_search": searchable,
        "all_scopes": scopes,
        "panels": panels,
        "map_indicators": selectors.map_indicators(),
        "map_api": reverse("api:analytics_panel", kwargs={"code": "district_map"}),
        "duty_url": f"{reverse('analytics:duty')}?{urlencode({'scope': scope.key})}",
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
    context["alerts"] = selectors.alert_list(actor=request.user, limit=10, scopes=context.pop("all_scopes"))
    context["may_configure"] = selectors.may_configure_thresholds(actor=request.user)
    return render(request, "analytics/dashboard.html", context)


@login_required
@require_GET
def screen(request: HttpRequest) -> HttpResponse:
    """The big screen (一屏掌控, 1920×1080, dark): the same panels, refreshed every minute."""
    context = _context(request)
    context.pop("all_scopes")
    context["now"] = timezone.localtime()
    return render(request, "analytics/screen.html", context)


@login_required
@require_GET
def scope_search(request: HttpRequest) -> HttpResponse:
    """The scopes whose name or code contains ``q`` (at most 20): the dashboard's department
    picker asks here as one types (htmx), instead of listing every department in the page."""
    scopes = selectors.dashboard_scopes(actor=request.user)
    if not scopes:
        raise Http404(_("页面不存在。"))
    words = (request.GET.get("q") or "").strip()[:50].lower()
    found = [s for s in scopes if words and (words in s.name.lower() or words in s.code.lower())][:20]
    template = "analytics/_scope_results.html" if request.htmx else "analytics/scope_search.html"
    return render(request, template, {"found": found, "q": words, "screen": request.GET.get("screen") == "1"})


@login_required
@require_GET
def duty(request: HttpRequest) -> HttpResponse:
    """Who is on duty now in the scope (政务值班, phones masked): a fragment the dashboard and the
    big screen fetch after the page and every minute."""
    scope = _scope(request)
    return render(request, "analytics/_duty.html", {"shifts": selectors.duty_contacts(scope=scope), "scope": scope})


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
