"""Pages of the hotline: the agent's intake desk with knowledge search, the dispatcher's queue,
the department's queue, a ticket with its timeline and the actions the viewer may take, the
monthly ranking (with Excel export), knowledge, rules, hotspots and the map; and for citizens
the portal page to file and track. Thin: every step calls a service."""

from __future__ import annotations

import io
import json
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from yiwang.core.errors import NotFound, YiwangError
from yiwang.hotline import selectors, services
from yiwang.hotline.forms import IntakeForm
from yiwang.hotline.models import DispatchRule, Member, Ticket

MAP_FILE = Path(__file__).parent / "static" / "hotline" / "demo_city.geojson"


def _staff(request: HttpRequest) -> None:
    if getattr(request.user, "kind", "") != "staff":
        raise Http404


def _errors(exc: YiwangError) -> list[str]:
    messages = [f"{m}" for msgs in exc.fields.values() for m in msgs]
    return messages or [str(exc.message)]


def _roles(request) -> dict:
    user = request.user
    return {
        "is_agent": services.has_role(user, Member.Role.AGENT, Member.Role.DISPATCHER),
        "is_dispatcher": services.has_role(user, Member.Role.DISPATCHER, Member.Role.SUPERVISOR),
        "is_supervisor": services.has_role(user, Member.Role.SUPERVISOR),
        "is_centre": services.is_centre(user),
        "is_grid": services.has_role(user, Member.Role.GRID_WORKER),
    }


@login_required
def home(request: HttpRequest) -> HttpResponse:
    _staff(request)
    roles = _roles(request)
    context = {
        **roles,
        "dispatch_count": selectors.dispatch_queue(actor=request.user).count(),
        "visit_count": selectors.visit_queue(actor=request.user).count(),
        "department_count": selectors.department_queue(actor=request.user).count(),
        "hotspot_count": selectors.hotspot_list(actor=request.user).filter(status="open").count(),
        "on_duty": _on_duty(),
    }
    return render(request, "hotline/home.html", context)


def _on_duty() -> list[dict]:
    """Who is on duty now in each department (政务值班, the documents app), phones masked."""
    from yiwang.core.masking import mask_phone
    from yiwang.documents import selectors as duty

    return [
        {
            "department": s.department.name,
            "person": s.person.real_name or s.person.username,
            "phone": mask_phone(s.phone),
        }
        for s in duty.duty_on_now()[:50]
    ]


def _intake(request: HttpRequest, *, channel: str, template: str, require_location: bool = False):
    categories = list(selectors.categories())
    form = IntakeForm(request.POST or None, request.FILES or None, categories=categories)
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = services.ticket_create(
                actor=request.user,
                channel=channel if not (channel == "portal" and request.POST.get("mailbox")) else "mailbox",
                kind=data["kind"],
                title=data["title"],
                content=data["content"],
                category_code=data["category"],
                caller_name=data["caller_name"],
                caller_phone=data["caller_phone"],
                recording_ref=data["recording_ref"] if channel == "phone" else "",
                region_code=data["region_code"],
                address=data["address"],
                latitude=data["latitude"] or None,
                longitude=data["longitude"] or None,
                urgency=(data["urgency"] or "normal") if channel != "portal" else "normal",
                reporter_consent=data["reporter_consent"],
                knowledge_entry_id=data["knowledge_entry_id"],
                photo=data["photo"],
                require_location=require_location,
            )
        except YiwangError as exc:
            errors = _errors(exc)
            for field, msgs in exc.fields.items():
                if field in form.fields:
                    form.add_error(field, [str(m) for m in msgs])
        else:
            if channel == "portal":
                return redirect("hotline_portal:detail", ticket_id=ticket.pk)
            return redirect("hotline:detail", ticket_id=ticket.pk)
    elif request.method == "POST":
        errors = [_("提交的内容有误,请按提示修改。")]
    return render(request, template, {"form": form, "errors": errors, "channel": channel, **_roles(request)})


@login_required
@require_http_methods(["GET", "POST"])
def intake(request: HttpRequest) -> HttpResponse:
    """The agent's desk: the call's form beside the knowledge search."""
    _staff(request)
    if not services.has_role(request.user, Member.Role.AGENT, Member.Role.DISPATCHER):
        raise Http404
    return _intake(request, channel="phone", template="hotline/intake.html")


@login_required
@require_http_methods(["GET", "POST"])
def grid_report(request: HttpRequest) -> HttpResponse:
    """A grid worker reports from the field: photo and location required."""
    _staff(request)
    if not services.has_role(request.user, Member.Role.GRID_WORKER):
        raise Http404
    return _intake(request, channel="grid", template="hotline/grid_report.html", require_location=True)


@login_required
def knowledge_search(request: HttpRequest) -> HttpResponse:
    """The htmx panel of the intake desk (also a page of its own)."""
    _staff(request)
    query = request.GET.get("q", "")[:200]
    hits = selectors.knowledge_search(query=query) if query else []
    template = "hotline/_knowledge_hits.html" if request.htmx else "hotline/knowledge_search.html"
    return render(request, template, {"hits": hits, "q": query})


@login_required
def queue(request: HttpRequest, which: str) -> HttpResponse:
    _staff(request)
    if which == "dispatch":
        tickets, title = selectors.dispatch_queue(actor=request.user), _("派单队列")
    elif which == "visits":
        tickets, title = selectors.visit_queue(actor=request.user), _("待回访")
    elif which == "department":
        tickets, title = selectors.department_queue(actor=request.user), _("本部门工单")
    elif which == "all":
        tickets, title = selectors.ticket_list(actor=request.user), _("全部工单")
        status = request.GET.get("status", "")
        if status in Ticket.Status.values:
            tickets = tickets.filter(status=status)
    else:
        raise Http404
    return render(request, "hotline/queue.html", {"tickets": tickets[:200], "title": title, "which": which})


@login_required
def detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    _staff(request)
    try:
        ticket = selectors.ticket_get(actor=request.user, id=ticket_id)
    except NotFound:
        raise Http404 from None
    return _detail(request, ticket)


def _detail(request, ticket, errors=()):
    from yiwang.identity.models import Department

    roles = _roles(request)
    context = {
        "ticket": ticket,
        "caller": selectors.caller_view(actor=request.user, ticket=ticket),
        "events": ticket.events.select_related("actor", "department"),
        "assists": ticket.assist_departments.all(),
        "handler": selectors.may_handle(actor=request.user, ticket=ticket),
        "errors": errors,
        "departments": Department.objects.filter(is_active=True).order_by("path")[:500]
        if roles["is_dispatcher"]
        else [],
        "duplicates": ticket.duplicates.all(),
        **roles,
    }
    return render(request, "hotline/detail.html", context, status=422 if errors else 200)


ACTIONS = {
    "dispatch": lambda u, t, p: services.ticket_dispatch(
        actor=u, ticket=t, department=p.get("department") or None, note=p.get("note", "")
    ),
    "accept": lambda u, t, p: services.ticket_accept(actor=u, ticket=t),
    "return": lambda u, t, p: services.ticket_return(actor=u, ticket=t, reason=p.get("reason", "")),
    "return_decide": lambda u, t, p: services.ticket_return_decide(
        actor=u, ticket=t, accept=p.get("accept") == "1", note=p.get("note", "")
    ),
    "assist": lambda u, t, p: services.ticket_assist(
        actor=u, ticket=t, departments=p.getlist("departments"), note=p.get("note", "")
    ),
    "note": lambda u, t, p: services.ticket_note(actor=u, ticket=t, note=p.get("note", "")),
    "supervise": lambda u, t, p: services.ticket_supervise(actor=u, ticket=t, note=p.get("note", "")),
    "reply": lambda u, t, p: services.ticket_reply(actor=u, ticket=t, reply=p.get("reply", "")),
    "visit": lambda u, t, p: services.ticket_visit(
        actor=u, ticket=t, satisfaction=p.get("satisfaction"), resolved=p.get("resolved") == "1", note=p.get("note", "")
    ),
    "reopen": lambda u, t, p: services.ticket_reopen(actor=u, ticket=t, note=p.get("note", "")),
    "close": lambda u, t, p: services.ticket_close(actor=u, ticket=t, note=p.get("note", "")),
}


@login_required
@require_POST
def action(request: HttpRequest, ticket_id: int, name: str) -> HttpResponse:
    _staff(request)
    if name not in ACTIONS:
        raise Http404
    try:
        ticket = selectors.ticket_get(actor=request.user, id=ticket_id)
    except NotFound:
        raise Http404 from None
    try:
        ACTIONS[name](request.user, ticket, request.POST)
    except NotFound:
        raise Http404 from None
    except YiwangError as exc:
        ticket.refresh_from_db()
        return _detail(request, ticket, errors=_errors(exc))
    return redirect("hotline:detail", ticket_id=ticket.pk)


@login_required
def ranking(request: HttpRequest) -> HttpResponse:
    _staff(request)
    month, rows = selectors.department_ranking(month=request.GET.get("month"))
    return render(request, "hotline/ranking.html", {"month": month, "rows": rows})


@login_required
def ranking_xlsx(request: HttpRequest) -> HttpResponse:
    _staff(request)
    from openpyxl import Workbook

    month, rows = selectors.department_ranking(month=request.GET.get("month"))
    book = Workbook()
    sheet = book.active
    sheet.title = month
    sheet.append(
        [
            _("排名"),
            _("部门"),
            _("工单数"),
            _("按时响应"),
            _("已回访"),
            _("已解决"),
            _("满意"),
            _("响应率"),
            _("解决率"),
            _("满意率"),
            _("综合得分"),
        ]
    )
    for r in rows:
        sheet.append(
            [
                r.rank,
                r.department,
                r.tickets,
                r.responded_on_time,
                r.visited,
                r.resolved,
                r.satisfied,
                round(r.response_rate, 4),
                round(r.resolution_rate, 4),
                round(r.satisfaction_rate, 4),
                r.score,
            ]
        )
    out = io.BytesIO()
    book.save(out)
    response = HttpResponse(
        out.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="hotline-ranking-{month}.xlsx"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def knowledge(request: HttpRequest) -> HttpResponse:
    _staff(request)
    errors = []
    if request.method == "POST":
        try:
            services.knowledge_save(
                actor=request.user,
                title=request.POST.get("title", ""),
                answer=request.POST.get("answer", ""),
                keywords=request.POST.get("keywords", ""),
                department=request.POST.get("department", ""),
                expires_on=_date(request.POST.get("expires_on", "")),
            )
            return redirect("hotline:knowledge")
        except YiwangError as exc:
            errors = _errors(exc)
    from yiwang.identity.selectors import departments_for_actor

    return render(
        request,
        "hotline/knowledge.html",
        {
            "entries": selectors.knowledge_list(actor=request.user)[:300],
            "departments": departments_for_actor(actor=request.user).order_by("path")[:200],
            "errors": errors,
        },
        status=422 if errors else 200,
    )


def _date(value: str):
    import datetime

    try:
        return datetime.date.fromisoformat(value) if value else None
    except ValueError:
        from yiwang.core.errors import ValidationFailed

        raise ValidationFailed(fields={"expires_on": [_("日期格式应为 2026-12-31")]}) from None


@login_required
@require_http_methods(["GET", "POST"])
def rules(request: HttpRequest) -> HttpResponse:
    _staff(request)
    if not services.has_role(request.user, Member.Role.DISPATCHER, Member.Role.SUPERVISOR):
        raise Http404
    errors, tested = [], None
    if request.method == "POST":
        try:
            rule = None
            if request.POST.get("rule_id"):
                rule = DispatchRule.objects.filter(pk=int(request.POST["rule_id"])).first()
            if request.POST.get("test") and rule is not None:
                tested = (rule, services.rule_test(rule=rule))
            else:
                services.rule_save(
                    actor=request.user,
                    rule=rule,
                    name=request.POST.get("name", ""),
                    department=request.POST.get("department", ""),
                    category_code=request.POST.get("category", ""),
                    keywords=request.POST.get("keywords", ""),
                    region_prefix=request.POST.get("region_prefix", ""),
                    priority=int(request.POST.get("priority") or 0),
                    active=request.POST.get("active", "1") == "1",
                )
                return redirect("hotline:rules")
        except ValueError:
            errors = [_("优先级必须是整数")]
        except YiwangError as exc:
            errors = _errors(exc)
    return render(
        request,
        "hotline/rules.html",
        {
            "rules": DispatchRule.objects.select_related("department", "category")[:500],
            "categories": selectors.categories(),
            "errors": errors,
            "tested": tested,
        },
        status=422 if errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def hotspots(request: HttpRequest) -> HttpResponse:
    _staff(request)
    errors = []
    if request.method == "POST":
        try:
            hotspot = selectors.hotspot_get(actor=request.user, id=request.POST.get("hotspot_id", "0"))
            services.hotspot_acknowledge(actor=request.user, hotspot=hotspot, note=request.POST.get("note", ""))
            return redirect("hotline:hotspots")
        except NotFound:
            raise Http404 from None
        except YiwangError as exc:
            errors = _errors(exc)
    return render(
        request,
        "hotline/hotspots.html",
        {"hotspots": selectors.hotspot_list(actor=request.user)[:200], "errors": errors},
    )


def _project(features, width=640, height=480):
    """GeoJSON polygons → SVG paths in a box (plain equirectangular; the city is small)."""
    xs, ys = [], []
    for f in features:
        for ring in f["geometry"]["coordinates"]:
            for x, y in ring:
                xs.append(x)
                ys.append(y)
    min_x, max_x, min_y, max_y = min(xs), max(xs), min(ys), max(ys)
    scale = min(width / (max_x - min_x), height / (max_y - min_y))

    def point(x, y):
        return (x - min_x) * scale, (max_y - y) * scale

    shapes = []
    for f in features:
        ring = f["geometry"]["coordinates"][0]
        d = "M" + " L".join(f"{px:.1f},{py:.1f}" for px, py in (point(x, y) for x, y in ring)) + " Z"
        cx = sum(point(x, y)[0] for x, y in ring) / len(ring)
        cy = sum(point(x, y)[1] for x, y in ring) / len(ring)
        shapes.append({"d": d, "name": f["properties"]["name"], "code": f["properties"]["code"], "cx": cx, "cy": cy})
    return shapes, point


@login_required
def city_map(request: HttpRequest) -> HttpResponse:
    """Tickets on the demo city's districts, drawn as inline SVG from the GeoJSON the app ships."""
    _staff(request)
    features = json.loads(MAP_FILE.read_text(encoding="utf-8"))["features"]
    shapes, point = _project(features)
    tickets = selectors.ticket_list(actor=request.user).exclude(latitude__isnull=True)
    status = request.GET.get("status", "open")
    if status == "open":
        tickets = tickets.exclude(status=Ticket.Status.CLOSED)
    dots = []
    for t in tickets.select_related(None).only("pk", "latitude", "longitude", "clock", "title", "number")[:2000]:
        x, y = point(float(t.longitude), float(t.latitude))
        dots.append({"x": x, "y": y, "clock": t.clock, "title": t.title, "id": t.pk})
    counts = {}
    for t in tickets.values_list("region_code", flat=True)[:20000]:
        counts[t[:6]] = counts.get(t[:6], 0) + 1
    for s in shapes:
        s["count"] = counts.get(s["code"], 0)
    return render(request, "hotline/map.html", {"shapes": shapes, "dots": dots, "status": status})


# --- portal ------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def portal_index(request: HttpRequest) -> HttpResponse:
    """Citizens file (网上 12345, or the 领导信箱) and see their tickets."""
    response = _intake(request, channel="portal", template="hotline/portal_index.html")
    return response


@login_required
def portal_mine(request: HttpRequest) -> HttpResponse:
    tickets = selectors.ticket_list(actor=request.user).filter(citizen=request.user)[:100]
    return render(request, "hotline/portal_mine.html", {"tickets": tickets})


@login_required
def portal_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    try:
        ticket = selectors.ticket_get(actor=request.user, id=ticket_id)
    except NotFound:
        raise Http404 from None
    if ticket.citizen_id != request.user.pk:
        raise Http404
    return render(
        request,
        "hotline/portal_detail.html",
        {
            "ticket": ticket,
            "caller": selectors.caller_view(actor=request.user, ticket=ticket),
            "events": ticket.events.exclude(kind__in=("warning", "overdue", "note")),
        },
    )


@require_http_methods(["GET", "POST"])
def portal_track(request: HttpRequest) -> HttpResponse:
    """Anyone: a ticket's progress by its number and the phone it was filed with (POST keeps the
    phone number out of logs). Shows the status and the reply only, the phone masked."""
    ticket, error = None, ""
    if request.method == "POST":
        try:
            ticket = selectors.ticket_track(number=request.POST.get("number", ""), phone=request.POST.get("phone", ""))
        except NotFound:
            error = _("没有找到该工单:请核对工单编号和来电号码。")
    caller = selectors.caller_view(actor=None, ticket=ticket) if ticket else None
    return render(
        request,
        "hotline/portal_track.html",
        {"ticket": ticket, "error": error, "caller": caller},
        status=404 if error else 200,
    )
