"""Reads of the hotline, scoped to the actor: the centre (agents, dispatchers, supervisors) sees
every ticket; a department's staff the tickets sent to it or to which it is co-handling; a
citizen or grid worker the tickets they filed. A ticket one may not see is ``NotFound``,
exactly like a missing one. Caller identity is masked, and hidden from departments for a
举报 whose reporter did not agree to be known."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.core.errors import NotFound
from yiwang.core.masking import mask_name, mask_phone
from yiwang.hotline import rules as hrules
from yiwang.hotline.models import Category, GridArea, Hotspot, KnowledgeEntry, Member, Patrol, Ticket
from yiwang.hotline.services import _signed_in, handles, has_role, is_centre, may_manage_grids
from yiwang.identity.selectors import departments_for_actor


def ticket_list(*, actor) -> QuerySet[Ticket]:
    if not _signed_in(actor):
        return Ticket.objects.none()
    base = Ticket.objects.select_related("department", "category", "suggested_department")
    if is_centre(actor):
        return base
    scope = Q(citizen=actor) | Q(created_by=actor)
    if getattr(actor, "kind", "") == "staff":
        departments = departments_for_actor(actor=actor)
        scope |= Q(department__in=departments) | Q(assist_departments__in=departments)
    return base.filter(scope).distinct()


def ticket_get(*, actor, id: int | None = None, number: str | None = None) -> Ticket:
    query = ticket_list(actor=actor)
    try:
        if id is not None:
            if not 0 < int(id) < 2**63:
                raise NotFound()
            return query.get(pk=int(id))
        return query.get(number=str(number or ""))
    except (Ticket.DoesNotExist, ValueError, OverflowError):
        raise NotFound() from None


def ticket_track(*, number: str, phone: str) -> Ticket:
    """Anyone may look up a ticket by its number and the phone number it was filed with."""
    from yiwang.core.crypto import blind_index

    try:
        digits = hrules.normalize_phone(phone)
    except ValueError:
        raise NotFound() from None
    ticket = (
        Ticket.objects.select_related("department", "category")
        .filter(number=(number or "").strip()[:24], caller_phone_index=blind_index(digits) if digits else "-")
        .first()
    )
    if ticket is None:
        raise NotFound()
    return ticket


def identity_hidden(*, actor, ticket: Ticket) -> bool:
    """举报: the reporter's identity is hidden from everyone outside the centre unless they agreed."""
    if ticket.kind != Ticket.Kind.REPORT or ticket.reporter_consent:
        return False
    return not is_centre(actor) and ticket.citizen_id != getattr(actor, "pk", None)


def caller_view(*, actor, ticket: Ticket) -> dict:
    if identity_hidden(actor=actor, ticket=ticket):
        hidden = _("(举报人身份保密)")
        return {"name": hidden, "phone": hidden, "hidden": True}
    return {"name": mask_name(ticket.caller_name), "phone": mask_phone(ticket.caller_phone), "hidden": False}


def ticket_to_data(*, actor, ticket: Ticket) -> dict:
    caller = caller_view(actor=actor, ticket=ticket)
    return {
        "id": ticket.pk,
        "number": ticket.number,
        "kind": ticket.kind,
        "kind_label": ticket.get_kind_display(),
        "channel": ticket.channel,
        "status": ticket.status,
        "status_label": ticket.get_status_display(),
        "urgency": ticket.urgency,
        "category": ticket.category.code if ticket.category_id else "",
        "title": ticket.title,
        "content": ticket.content,
        "caller_name": caller["name"],
        "caller_phone": caller["phone"],
        "region_code": ticket.region_code,
        "grid_code": ticket.grid_code,
        "address": ticket.address,
        "latitude": float(ticket.latitude) if ticket.latitude is not None else None,
        "longitude": float(ticket.longitude) if ticket.longitude is not None else None,
        "department": ticket.department.name if ticket.department_id else "",
        "suggested_department": ticket.suggested_department.name if ticket.suggested_department_id else "",
        "duplicate_of": ticket.duplicate_of.number if ticket.duplicate_of_id else "",
        "clock": ticket.clock,
        "response_due_at": ticket.response_due_at,
        "resolve_due_at": ticket.resolve_due_at,
        "reply": ticket.reply,
        "satisfaction": ticket.satisfaction,
        "resolved": ticket.resolved,
        "created_at": ticket.created_at,
        "closed_at": ticket.closed_at,
    }


def dispatch_queue(*, actor) -> QuerySet[Ticket]:
    if not is_centre(actor):
        return Ticket.objects.none()
    return (
        ticket_list(actor=actor)
        .filter(status__in=(Ticket.Status.NEW, Ticket.Status.RETURN_REQUESTED, Ticket.Status.UNRESOLVED))
        .order_by("created_at")
    )


def visit_queue(*, actor) -> QuerySet[Ticket]:
    if not is_centre(actor):
        return Ticket.objects.none()
    return ticket_list(actor=actor).filter(status=Ticket.Status.REPLIED).order_by("replied_at")


def department_queue(*, actor) -> QuerySet[Ticket]:
    if not _signed_in(actor) or getattr(actor, "kind", "") != "staff":
        return Ticket.objects.none()
    departments = departments_for_actor(actor=actor)
    return (
        Ticket.objects.select_related("department", "category")
        .filter(Q(department__in=departments) | Q(assist_departments__in=departments))
        .filter(status__in=(Ticket.Status.DISPATCHED, Ticket.Status.IN_PROGRESS, Ticket.Status.RETURN_REQUESTED))
        .distinct()
        .order_by("resolve_due_at")
    )


def may_handle(*, actor, ticket: Ticket) -> bool:
    return handles(actor, ticket.department)


def categories() -> QuerySet[Category]:
    return Category.objects.filter(active=True)


# --- knowledge ---------------------------------------------------------------------------------


@dataclass
class KnowledgeHit:
    kind: str  # "entry" | "catalog"
    id: int | str
    title: str
    answer: str
    department: str
    score: int


def knowledge_search(*, query: str, limit: int = 8, today: datetime.date | None = None) -> list[KnowledgeHit]:
    """The knowledge base's live entries matching ``query`` (jieba terms), then the service
    catalog's guides from its Chinese search: what an agent reads while on the call."""
    query = (query or "").strip()[:200]
    if not query:
        return []
    today = today or timezone.localdate()
    words = hrules.terms(query, limit=10) or [query]
    condition = Q()
    for word in words:
        condition |= Q(title__icontains=word) | Q(keywords__icontains=word) | Q(terms__icontains=word)
    entries = (
        KnowledgeEntry.objects.filter(active=True)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=today))
        .filter(condition)
        .select_related("department")[:200]
    )
    hits = []
    for entry in entries:
        haystack = f"{entry.title} {entry.keywords} {entry.terms}"
        score = sum(3 if w in entry.title else 1 for w in words if w in haystack)
        hits.append(KnowledgeHit("entry", entry.pk, entry.title, entry.answer, entry.department.name, score))
    hits.sort(key=lambda h: -h.score)
    hits = hits[:limit]
    from yiwang.catalog.selectors import item_search

    for item in item_search(query=query, page_size=max(1, limit - len(hits)) if len(hits) < limit else 3):
        hits.append(KnowledgeHit("catalog", item.code, item.name, item.summary, item.department_name, item.score))
    return hits


def knowledge_list(*, actor) -> QuerySet[KnowledgeEntry]:
    if not _signed_in(actor) or getattr(actor, "kind", "") != "staff":
        return KnowledgeEntry.objects.none()
    return KnowledgeEntry.objects.select_related("department")


# --- hotspots ----------------------------------------------------------------------------------


def hotspot_list(*, actor) -> QuerySet[Hotspot]:
    if not _signed_in(actor):
        return Hotspot.objects.none()
    base = Hotspot.objects.select_related("category", "department")
    if is_centre(actor):
        return base
    return base.filter(department__in=departments_for_actor(actor=actor))


def hotspot_get(*, actor, id: int) -> Hotspot:
    try:
        if not 0 < int(id) < 2**63:
            raise NotFound()
        return hotspot_list(actor=actor).get(pk=int(id))
    except (Hotspot.DoesNotExist, ValueError, OverflowError):
        raise NotFound() from None


# --- 接诉即办 考核 ---------------------------------------------------------------------------------


@dataclass
class RankRow:
    department_id: int
    department: str
    tickets: int
    responded_on_time: int
    visited: int
    resolved: int
    satisfied: int
    response_rate: float
    resolution_rate: float
    satisfaction_rate: float
    score: float
    rank: int = 0


def month_bounds(month: str | None) -> tuple[datetime.datetime, datetime.datetime, str]:
    """(start, end, "YYYY-MM") of a month given as "YYYY-MM" (this month when empty or bad)."""
    today = timezone.localdate()
    try:
        year, mon = (int(p) for p in (month or "").split("-"))
        first = datetime.date(year, mon, 1)
    except (ValueError, TypeError):
        first = today.replace(day=1)
    nxt = (first.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    tz = timezone.get_current_timezone()
    return (
        datetime.datetime.combine(first, datetime.time.min, tzinfo=tz),
        datetime.datetime.combine(nxt, datetime.time.min, tzinfo=tz),
        f"{first:%Y-%m}",
    )


def department_ranking(*, month: str | None = None) -> tuple[str, list[RankRow]]:
    """响应率 (signed for in time), 解决率 (resolved at the visit) and 满意率 (满意 or 基本满意) of
    every department for tickets dispatched in ``month``; score = 0.2·响应 + 0.4·解决 + 0.4·满意,
    ranked best first (the weights of 接诉即办 考核)."""
    start, end, label = month_bounds(month)
    rows = (
        Ticket.objects.filter(dispatched_at__gte=start, dispatched_at__lt=end, department__isnull=False)
        .values_list("department_id", "department__name", "responded_at", "response_due_at", "satisfaction", "resolved")
        .iterator()
    )
    acc: dict[int, list] = {}
    for dept_id, name, responded, due, satisfaction, resolved in rows:
        a = acc.setdefault(dept_id, [name, 0, 0, 0, 0, 0])
        a[1] += 1
        a[2] += bool(responded and due and responded <= due)
        if satisfaction is not None:
            a[3] += 1
            a[4] += bool(resolved)
            a[5] += satisfaction >= Ticket.Satisfaction.BASIC
    result = []
    for dept_id, (name, n, on_time, visited, resolved, satisfied) in acc.items():
        rr = on_time / n if n else 0.0
        sr = resolved / visited if visited else 0.0
        mr = satisfied / visited if visited else 0.0
        result.append(
            RankRow(
                dept_id,
                name,
                n,
                on_time,
                visited,
                resolved,
                satisfied,
                rr,
                sr,
                mr,
                round(100 * (0.2 * rr + 0.4 * sr + 0.4 * mr), 2),
            )
        )
    result.sort(key=lambda r: (-r.score, -r.tickets, r.department))
    for i, row in enumerate(result, start=1):
        row.rank = i
    return label, result


def may_use_workbench(*, actor) -> bool:
    """Hotline centre members and staff holding any role (their department may get tickets)."""
    if not _signed_in(actor) or getattr(actor, "kind", "") != "staff":
        return False
    from yiwang.hotline.services import member_roles
    from yiwang.identity.selectors import actor_grants

    return actor.is_superuser or bool(member_roles(actor)) or bool(actor_grants(actor=actor))


# --- Figures for the dashboards' rollups (analytics) --------------------------------------------


def ticket_daily_figures(*, since, until) -> list[dict]:
    """Tickets per handling department, region and local intake day in ``[since, until)``: one
    grouped query for the analytics rollup. Keys: ``department_id, region_code, day, received,
    rated`` (with a follow-up satisfaction), ``satisfied`` (满意 or 基本满意). No personal data."""
    from django.db.models import Count
    from django.db.models.functions import TruncDate

    rows = (
        Ticket.objects.filter(created_at__gte=since, created_at__lt=until, duplicate_of__isnull=True)
        .annotate(day=TruncDate("created_at"))
        .values("department_id", "region_code", "day")
        .annotate(
            received=Count("id"),
            rated=Count("id", filter=Q(satisfaction__isnull=False)),
            satisfied=Count("id", filter=Q(satisfaction__gte=Ticket.Satisfaction.BASIC)),
        )
        .order_by()
    )
    return [dict(row, region_code=(row["region_code"] or "")[:6]) for row in rows]


def hotspot_figures() -> list[dict]:
    """Open hotspots (未诉先办) now, per region, department and category: one grouped query for
    the analytics rollup. Keys: ``department_id, region_code, category, count``."""
    from django.db.models import Count

    rows = (
        Hotspot.objects.filter(status=Hotspot.Status.OPEN)
        .values("department_id", "region_code", "category__name")
        .annotate(count=Count("id"))
        .order_by()
    )
    return [
        {
            "department_id": row["department_id"],
            "region_code": (row["region_code"] or "")[:6],
            "category": row["category__name"] or "",
            "count": row["count"],
        }
        for row in rows
    ]


# --- grids and patrols -------------------------------------------------------------------------


def grid_areas(*, actor) -> QuerySet[GridArea]:
    """The imported grid cells (staff only: the city's internal map)."""
    if not _signed_in(actor) or getattr(actor, "kind", "") != "staff":
        return GridArea.objects.none()
    return GridArea.objects.all()


def open_tickets_by_grid(*, actor) -> dict[str, int]:
    """Open tickets the actor may see, counted per grid code (one grouped query)."""
    from django.db.models import Count

    rows = (
        ticket_list(actor=actor)
        .exclude(status=Ticket.Status.CLOSED)
        .exclude(grid_code="")
        .order_by()
        .values("grid_code")
        .annotate(n=Count("pk", distinct=True))
    )
    return {row["grid_code"]: row["n"] for row in rows}


def patrol_list(*, actor) -> QuerySet[Patrol]:
    """A grid worker sees his own patrols; the centre (and grid managers) everyone's."""
    if not _signed_in(actor) or getattr(actor, "kind", "") != "staff":
        return Patrol.objects.none()
    base = Patrol.objects.select_related("worker")
    if is_centre(actor) or may_manage_grids(actor):
        return base
    if has_role(actor, Member.Role.GRID_WORKER):
        return base.filter(worker=actor)
    return Patrol.objects.none()


def patrol_get(*, actor, id) -> Patrol:
    try:
        if not 0 < int(id) < 2**63:
            raise NotFound()
        return patrol_list(actor=actor).get(pk=int(id))
    except (Patrol.DoesNotExist, ValueError, TypeError, OverflowError):
        raise NotFound() from None


def knowledge_get(*, actor, id) -> KnowledgeEntry:
    try:
        return knowledge_list(actor=actor).get(pk=int(id))
    except (KnowledgeEntry.DoesNotExist, ValueError, TypeError, OverflowError):
        raise NotFound() from None
