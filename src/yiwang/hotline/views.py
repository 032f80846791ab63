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
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from yiwang.core.errors import Forbidden, NotFound, RateLimited, YiwangError
from yiwang.core.ratelimit import client_ip, consume, failure_limit
from yiwang.hotline import selectors, services
from yiwang.hotline.forms import IntakeForm
from yiwang.hotline.models import DispatchRule, Member, Patrol, Ticket

MAP_FILE = Path(__file__).parent / "static" / "hotline" / "demo_city.geojson"


def _staff(request: HttpRequest) -> None:
    if getattr(request.user, "kind", "") != "staff":
        raise Http404


def _errors(exc: YiwangError) -> list[str]:
    messages = [f"{m}" for msgs in exc.fields.values() for m in msgs]
    return messages or [str(exc.message)]


def _field_errors(exc: YiwangError) -> dict[str, list[str]]:
    """Errors per form field (the service's field names); those of no field under ``__all__``."""
    errors = {field: [str(m) for m in msgs] for field, msgs in exc.fields.items()}
    return errors or {"form": [str(exc.message)]}


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
        grid = request.GET.get("grid", "")[:15]
        if grid:  # from the grid map: the cell's open tickets
            tickets = tickets.filter(grid_code=grid).exclude(status=Ticket.Status.CLOSED)
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
    return _portal_detail(request, ticket)


def _portal_detail(request, ticket, *, field_errors=None, status=200):
    return render(
        request,
        "hotline/portal_detail.html",
        {
            "ticket": ticket,
            "caller": selectors.caller_view(actor=request.user, ticket=ticket),
            "events": ticket.events.exclude(kind__in=("warning", "overdue", "note")),
            "may_rate": ticket.status == Ticket.Status.REPLIED and ticket.citizen_id == request.user.pk,
            "satisfactions": Ticket.Satisfaction.choices,
            "field_errors": field_errors or {},
            "posted": request.POST if request.method == "POST" else {},
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def portal_track(request: HttpRequest) -> HttpResponse:
    """Anyone: a ticket's progress by its number and the phone it was filed with (POST keeps the
    phone number out of logs). Shows the status and the reply only, the phone masked.

    Rate limited (core.ratelimit): every lookup counts per client IP (``hotline_track_ip``) and
    failed lookups count per ticket number (``hotline_track_number``), so neither numbers nor
    phones can be guessed; a refusal is this page again with the wait, status 429."""
    ticket, error, status = None, "", 200
    if request.method == "POST":
        number = (request.POST.get("number", "") or "").strip()[:24]
        try:
            consume("hotline_track_ip", client_ip(request))
            if not number:
                raise NotFound()  # nothing to guess: not counted against any number
            with failure_limit("hotline_track_number", number):
                ticket = selectors.ticket_track(number=number, phone=request.POST.get("phone", ""))
        except RateLimited as exc:
            minutes = max(1, -(-int(exc.retry_after or 60) // 60))
            error = _("查询过于频繁:为保护群众信息,请 %(minutes)d 分钟后再查询。") % {"minutes": minutes}
            status = 429
            response = render(request, "hotline/portal_track.html", {"ticket": None, "error": error}, status=status)
            response["Retry-After"] = str(int(exc.retry_after or 60))
            return response
        except NotFound:
            error, status = _("没有找到该工单:请核对工单编号和来电号码。"), 404
    caller = selectors.caller_view(actor=None, ticket=ticket) if ticket else None
    return render(
        request, "hotline/portal_track.html", {"ticket": ticket, "error": error, "caller": caller}, status=status
    )


@login_required
@require_POST
def portal_rate(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The citizen rates the department's reply (满意度, resolved or not)."""
    try:
        ticket = selectors.ticket_get(actor=request.user, id=ticket_id)
        services.ticket_rate(
            actor=request.user,
            ticket=ticket,
            satisfaction=request.POST.get("satisfaction"),
            resolved=request.POST.get("resolved") == "1",
            note=request.POST.get("note", ""),
        )
    except NotFound:
        raise Http404 from None
    except YiwangError as exc:
        return _portal_detail(request, ticket, field_errors=_field_errors(exc), status=422)
    return redirect("hotline_portal:detail", ticket_id=ticket.pk)


# --- editing dispatch rules and knowledge entries ------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, rule_id: int | None = None) -> HttpResponse:
    """One dispatch rule's page: change (or create) it, errors under each field; ``rule_save``
    audits every change."""
    _staff(request)
    if not services.has_role(request.user, Member.Role.DISPATCHER, Member.Role.SUPERVISOR):
        raise Http404
    rule = None
    if rule_id is not None:
        rule = DispatchRule.objects.select_related("department", "category").filter(pk=rule_id).first()
        if rule is None:
            raise Http404
    errors: dict[str, list[str]] = {}
    values = {
        "name": rule.name if rule else "",
        "category": rule.category.code if rule and rule.category_id else "",
        "keywords": rule.keywords if rule else "",
        "region_prefix": rule.region_prefix if rule else "",
        "department": rule.department.code or str(rule.department_id) if rule else "",
        "priority": str(rule.priority) if rule else "0",
        "active": rule.active if rule else True,
    }
    if request.method == "POST":
        values = {key: request.POST.get(key, "").strip() for key in values}
        values["active"] = request.POST.get("active") == "1"
        try:
            priority = int(values["priority"] or 0)
            if not -1000 <= priority <= 1000:
                raise ValueError
        except ValueError:
            errors["priority"] = [_("优先级须为 -1000 到 1000 之间的整数")]
        if not errors:
            try:
                saved = services.rule_save(
                    actor=request.user,
                    rule=rule,
                    name=values["name"],
                    department=values["department"],
                    category_code=values["category"],
                    keywords=values["keywords"],
                    region_prefix=values["region_prefix"],
                    priority=priority,
                    active=values["active"],
                )
            except NotFound:
                raise Http404 from None
            except YiwangError as exc:
                errors = _field_errors(exc)
            else:
                return redirect(f"{reverse('hotline:rules')}#rule-{saved.pk}")
    return render(
        request,
        "hotline/rule_edit.html",
        {"rule": rule, "values": values, "field_errors": errors, "categories": selectors.categories()},
        status=422 if errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def knowledge_edit(request: HttpRequest, entry_id: int | None = None) -> HttpResponse:
    """One knowledge entry's page: its owner department (or the centre) changes the answer, the
    keywords, the expiry, or withdraws it; errors under each field; audited by ``knowledge_save``."""
    _staff(request)
    from yiwang.identity.selectors import departments_for_actor

    entry = None
    if entry_id is not None:
        try:
            entry = selectors.knowledge_get(actor=request.user, id=entry_id)
        except NotFound:
            raise Http404 from None
        if not (services.is_centre(request.user) or services.handles(request.user, entry.department)):
            raise Http404
    errors: dict[str, list[str]] = {}
    values = {
        "title": entry.title if entry else "",
        "answer": entry.answer if entry else "",
        "keywords": entry.keywords if entry else "",
        "department": str(entry.department_id) if entry else "",
        "expires_on": entry.expires_on.isoformat() if entry and entry.expires_on else "",
        "active": entry.active if entry else True,
    }
    if request.method == "POST":
        values = {key: request.POST.get(key, "").strip() for key in values}
        values["active"] = request.POST.get("active") == "1"
        try:
            saved = services.knowledge_save(
                actor=request.user,
                entry=entry,
                title=values["title"],
                answer=values["answer"],
                keywords=values["keywords"],
                department=values["department"],
                expires_on=_date(values["expires_on"]),
                active=values["active"],
            )
        except Forbidden:
            errors = {"department": [_("您只能维护本部门的答复口径")]}
        except YiwangError as exc:
            errors = _field_errors(exc)
        else:
            return redirect(f"{reverse('hotline:knowledge')}#entry-{saved.pk}")
    departments = departments_for_actor(actor=request.user).order_by("path")[:200]
    if services.is_centre(request.user):
        from yiwang.identity.models import Department

        departments = Department.objects.filter(is_active=True).order_by("path")[:500]
    return render(
        request,
        "hotline/knowledge_edit.html",
        {"entry": entry, "values": values, "field_errors": errors, "departments": departments},
        status=422 if errors else 200,
    )


# --- grids: the grid map, GeoJSON import, patrols ---------------------------------------------------


def _rings(geometry: dict) -> list:
    if geometry.get("type") == "Polygon":
        return [geometry["coordinates"]]
    return list(geometry.get("coordinates") or [])


def _grid_shapes(areas, counts: dict[str, int], width: int = 640, height: int = 480) -> list[dict]:
    """Grid polygons → SVG paths in a box (equirectangular: cells are small), coloured by the
    number of open tickets in each."""
    xs, ys = [], []
    for area in areas:
        for polygon in _rings(area.geometry):
            for ring in polygon:
                for position in ring:
                    xs.append(float(position[0]))
                    ys.append(float(position[1]))
    if not xs:
        return []
    min_x, max_x, min_y, max_y = min(xs), max(xs), min(ys), max(ys)
    scale = min(width / ((max_x - min_x) or 1e-6), height / ((max_y - min_y) or 1e-6))
    top = max(counts.values(), default=0)
    shapes = []
    for area in areas:
        parts, px, py = [], [], []
        for polygon in _rings(area.geometry):
            for ring in polygon:
                points = [((float(p[0]) - min_x) * scale, (max_y - float(p[1])) * scale) for p in ring]
                parts.append("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in points) + " Z")
                if not px:
                    px, py = [x for x, _y in points], [y for _x, y in points]
        count = counts.get(area.code, 0)
        level = 0 if not count else 1 + min(3, int(3 * count / top)) if top else 0
        shapes.append(
            {
                "d": " ".join(parts),
                "code": area.code,
                "name": area.name,
                "region_code": area.region_code,
                "count": count,
                "level": level,
                "cx": sum(px) / len(px) if px else 0,
                "cy": sum(py) / len(py) if py else 0,
            }
        )
    return shapes


GRID_FILLS = ("#eef3f8", "#fde9c8", "#f9c784", "#f0913a", "#c0392b")


@login_required
def grid_map(request: HttpRequest) -> HttpResponse:
    """The grid cells (imported GeoJSON) as inline SVG, each with its open tickets; a table of
    the same figures beside it for screen readers and for cells too small to read."""
    _staff(request)
    areas = list(selectors.grid_areas(actor=request.user)[:5000])
    counts = selectors.open_tickets_by_grid(actor=request.user)
    shapes = _grid_shapes(areas, counts)
    for shape in shapes:
        shape["fill"] = GRID_FILLS[shape["level"]]
    known = {a.code for a in areas}
    unmapped = sorted(((code, n) for code, n in counts.items() if code not in known), key=lambda r: -r[1])
    return render(
        request,
        "hotline/grid_map.html",
        {
            "shapes": shapes,
            "rows": sorted(shapes, key=lambda s: (-s["count"], s["code"])),
            "unmapped": unmapped[:50],
            "may_import": services.may_manage_grids(request.user),
            "legend": list(enumerate(GRID_FILLS)),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def grid_import(request: HttpRequest) -> HttpResponse:
    """Upload a GeoJSON FeatureCollection of grid cells; all or nothing, errors per feature."""
    _staff(request)
    if not services.may_manage_grids(request.user):
        raise Http404
    errors: dict[str, list[str]] = {}
    message, result = "", None
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            errors = {"file": [_("请选择 GeoJSON 文件")]}
        elif upload.size > services.GRID_IMPORT_MAX_BYTES:
            errors = {"file": [_("文件不能超过 20 MB")]}
        else:
            try:
                result = services.grid_import(actor=request.user, data=upload.read())
            except YiwangError as exc:
                errors, message = _field_errors(exc), str(exc.message)
    return render(
        request,
        "hotline/grid_import.html",
        {"field_errors": errors, "message": message, "result": result},
        status=422 if errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def patrols(request: HttpRequest) -> HttpResponse:
    """巡查记录: a grid worker starts a patrol here and sees his past ones; the centre sees all."""
    _staff(request)
    is_grid = services.has_role(request.user, Member.Role.GRID_WORKER)
    patrol_qs = selectors.patrol_list(actor=request.user)
    if not is_grid and not patrol_qs.exists() and not services.is_centre(request.user):
        raise Http404
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            patrol = services.patrol_start(
                actor=request.user, grid_code=request.POST.get("grid_code", ""), note=request.POST.get("note", "")
            )
        except Forbidden:
            raise Http404 from None
        except YiwangError as exc:
            errors = _field_errors(exc)
        else:
            return redirect("hotline:patrol", patrol_id=patrol.pk)
    grids = list(
        Member.objects.filter(user=request.user, role=Member.Role.GRID_WORKER)
        .exclude(grid_code="")
        .values_list("grid_code", flat=True)
    )
    from django.db.models import Count

    return render(
        request,
        "hotline/patrols.html",
        {
            "patrols": patrol_qs.annotate(finding_count=Count("findings"))[:200],
            "is_grid": is_grid,
            "grids": grids,
            "field_errors": errors,
        },
        status=422 if errors else 200,
    )


PATROL_ACTIONS = ("point", "report", "finish")


@login_required
@require_http_methods(["GET", "POST"])
def patrol(request: HttpRequest, patrol_id: int, name: str = "") -> HttpResponse:
    """One patrol: its route, the issues reported on it (each a ticket) and, while it runs, the
    forms to add the current point, report an issue (photo and location required) and finish."""
    _staff(request)
    try:
        item = selectors.patrol_get(actor=request.user, id=patrol_id)
    except NotFound:
        raise Http404 from None
    if name and (name not in PATROL_ACTIONS or request.method != "POST"):
        raise Http404
    errors: dict[str, list[str]] = {}
    own = item.worker_id == request.user.pk and item.status == Patrol.Status.ACTIVE
    form = IntakeForm(
        request.POST if name == "report" else None,
        request.FILES if name == "report" else None,
        categories=list(selectors.categories()),
        initial={"kind": Ticket.Kind.HELP},
    )
    try:
        if name == "point":
            services.patrol_point_add(
                actor=request.user,
                patrol=item,
                latitude=request.POST.get("latitude"),
                longitude=request.POST.get("longitude"),
                note=request.POST.get("note", ""),
            )
            return redirect("hotline:patrol", patrol_id=item.pk)
        if name == "finish":
            services.patrol_finish(actor=request.user, patrol=item, note=request.POST.get("note", ""))
            return redirect("hotline:patrol", patrol_id=item.pk)
        if name == "report":
            if form.is_valid():
                data = form.cleaned_data
                services.ticket_create(
                    actor=request.user,
                    channel=Ticket.Channel.GRID,
                    kind=data["kind"],
                    title=data["title"],
                    content=data["content"],
                    category_code=data["category"],
                    region_code=data["region_code"],
                    address=data["address"],
                    latitude=data["latitude"] or None,
                    longitude=data["longitude"] or None,
                    urgency=data["urgency"] or "normal",
                    photo=data["photo"],
                    require_location=True,
                    patrol=item,
                )
                return redirect("hotline:patrol", patrol_id=item.pk)
            errors = {"form": [_("提交的内容有误,请按提示修改。")]}
    except (NotFound, Forbidden):
        raise Http404 from None
    except YiwangError as exc:
        errors = _field_errors(exc)
        if name == "report":
            for field, msgs in exc.fields.items():
                if field in form.fields:
                    form.add_error(field, msgs)
    item.refresh_from_db()
    return render(
        request,
        "hotline/patrol.html",
        {
            "patrol": item,
            "own": own and item.status == Patrol.Status.ACTIVE,
            "findings": item.findings.select_related("category").order_by("created_at"),
            "form": form,
            "channel": "grid",
            "field_errors": errors,
            "action": name,
        },
        status=422 if errors else 200,
    )
