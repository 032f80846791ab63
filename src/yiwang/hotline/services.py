"""Every write of the hotline (接诉即办): intake, dispatch, return, co-handling, escalation,
reply, follow-up visit, reopening, the clock sweep, hotspots, sensors, knowledge and rules.

Each function runs in one transaction, locks the ticket row ``FOR NO KEY UPDATE``, checks who
may act, appends a ``TicketEvent`` to the timeline and writes ``core.audit.audit_record``.
Personal data (caller name and phone) is never written to the audit chain in clear.
"""

from __future__ import annotations

import datetime
import hashlib
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.core import db
from yiwang.core.audit import audit_record
from yiwang.core.codes import validate_region_code
from yiwang.core.crypto import blind_index
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.inputs import clean_text
from yiwang.core.masking import mask_phone
from yiwang.hotline import rules as hrules
from yiwang.hotline.models import (
    Category,
    DispatchRule,
    GridArea,
    Hotspot,
    KnowledgeEntry,
    Member,
    Patrol,
    SensorAlert,
    Ticket,
    TicketEvent,
)
from yiwang.identity.models import Department
from yiwang.identity.selectors import actor_has_role, departments_for_actor, users_with_role

MAX_PHOTO_BYTES = 5 * 1024 * 1024
PHOTO_TYPES = {"image/jpeg", "image/png", "image/webp"}
HANDLER_ROLES = ("reviewer", "department_head", "department_admin", "window_clerk")
CENTRE_ROLES = (Member.Role.AGENT, Member.Role.DISPATCHER, Member.Role.SUPERVISOR)
OPEN_STATUSES = (
    Ticket.Status.NEW,
    Ticket.Status.DISPATCHED,
    Ticket.Status.IN_PROGRESS,
    Ticket.Status.RETURN_REQUESTED,
    Ticket.Status.REPLIED,
    Ticket.Status.UNRESOLVED,
)
CLOCK_STATUSES = (Ticket.Status.DISPATCHED, Ticket.Status.IN_PROGRESS, Ticket.Status.RETURN_REQUESTED)
DUPLICATE_WINDOW = datetime.timedelta(days=3)


# --- who is who --------------------------------------------------------------------------------


def _signed_in(actor) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and getattr(actor, "is_active", False)


def member_roles(actor) -> frozenset[str]:
    """The actor's hotline-centre roles (remembered on the actor object for one request)."""
    if not _signed_in(actor):
        return frozenset()
    cached = getattr(actor, "_hotline_roles", None)
    if cached is None:
        cached = frozenset(Member.objects.filter(user=actor).values_list("role", flat=True))
        actor._hotline_roles = cached
    return cached


def has_role(actor, *roles: str) -> bool:
    if _signed_in(actor) and actor.is_superuser:
        return True
    return bool(member_roles(actor) & set(roles))


def is_centre(actor) -> bool:
    return has_role(actor, *CENTRE_ROLES)


def handles(actor, department: Department | None) -> bool:
    """A department handler: a staff role grant covering ``department``."""
    return department is not None and actor_has_role(actor, roles=HANDLER_ROLES, department=department)


def _require(ok: bool) -> None:
    if not ok:
        raise Forbidden()


def _event(ticket: Ticket, kind: str, *, actor=None, department=None, note: str = "", at=None) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket,
        kind=kind,
        actor=actor if _signed_in(actor) else None,
        department=department,
        note=note,
        created_at=at or timezone.now(),
    )


def _audit(actor, action: str, ticket: Ticket, **changes) -> None:
    audit_record(actor=actor, action=f"hotline.{action}", obj=ticket, object_repr=ticket.number, changes=changes)


def _locked(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update(no_key=True, of=("self",)).get(pk=ticket.pk)


_text = clean_text  # core.inputs: stripped, storable, required, bounded


def _text_into(errors: dict, value, *, field: str, **kwargs) -> str:
    """``_text``, its refusal added to ``errors`` (so a form shows every field's error at once)."""
    try:
        return _text(value, field=field, **kwargs)
    except ValidationFailed as exc:
        for name, messages in exc.fields.items():
            errors.setdefault(name, []).extend(messages)
        return ""


def _department(value, *, field: str = "department") -> Department:
    """An active department by id or code; a clear error for one that does not exist."""
    department = None
    if isinstance(value, Department):
        department = value
    elif value not in (None, ""):
        query = Department.objects.filter(is_active=True)
        key = str(value).strip()
        department = (query.filter(pk=int(key)).first() if key.isdigit() and len(key) < 18 else None) or query.filter(
            code=key
        ).first()
    if department is None or not department.is_active:
        raise ValidationFailed(
            _("承办部门不存在"), code="department_unknown", fields={field: [_("承办部门不存在或已停用")]}
        )
    return department


def _notify(*, actor, recipients, template: str, ticket: Ticket, dedupe: str = "", **context) -> None:
    from yiwang.messaging.services import Ref, message_send_many

    people = list(recipients)
    if not people:
        return
    message_send_many(
        actor=actor,
        recipients=people,
        template_code=template,
        context={"number": ticket.number, "title": ticket.title, **context},
        ref=Ref("hotline.ticket", ticket.pk, f"/workbench/hotline/tickets/{ticket.pk}/"),
        dedupe_key=f"{template}:{ticket.pk}:{dedupe}" if dedupe else "",
    )


def _department_people(department: Department | None):
    if department is None:
        return []
    people = {}
    for role in ("department_head", "reviewer"):
        for user in users_with_role(role=role, department=department):
            people[user.pk] = user
    return list(people.values())


def _centre_people(role: str):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(is_active=True, hotline_roles__role=role).distinct()


# --- intake ------------------------------------------------------------------------------------


@dataclass
class Suggestion:
    department: Department | None
    rule_id: int | None
    level: str  # "rule" | "territory" | ""


CHANNEL_ROLES = {
    Ticket.Channel.PHONE: (Member.Role.AGENT, Member.Role.DISPATCHER),
    Ticket.Channel.MAILBOX: None,  # citizens write to the leader mailbox from the portal
    Ticket.Channel.PORTAL: None,
    Ticket.Channel.API: None,
    Ticket.Channel.OPEN311: None,
    Ticket.Channel.GRID: (Member.Role.GRID_WORKER,),
    Ticket.Channel.SENSOR: (),  # only the platform (sensor_ingest)
}


def _check_photo(photo) -> None:
    if photo is None:
        return
    size = getattr(photo, "size", 0) or 0
    if size > MAX_PHOTO_BYTES:
        raise ValidationFailed(
            code="photo_too_large",
            fields={"photo": [_("照片不能超过 %(mb)d MB(当前 %(size).1f MB)") % {"mb": 5, "size": size / 1048576}]},
        )
    from PIL import Image, UnidentifiedImageError

    try:
        photo.seek(0)
        with Image.open(photo) as image:
            fmt = (image.format or "").lower()
            image.verify()
        photo.seek(0)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationFailed(
            code="photo_invalid", fields={"photo": [_("照片必须是 JPEG、PNG 或 WebP 图片")]}
        ) from None
    if fmt not in ("jpeg", "png", "webp"):
        raise ValidationFailed(code="photo_invalid", fields={"photo": [_("照片必须是 JPEG、PNG 或 WebP 图片")]})


def _location(*, region_code: str, latitude, longitude, errors: dict) -> tuple[str, object, object]:
    region = (region_code or "").strip()
    if region:
        try:
            region = validate_region_code(region)
        except DjangoValidationError as exc:
            errors["region_code"] = [str(m) for m in exc.messages]
    try:
        lat = hrules.parse_coordinate(latitude, kind="lat")
    except ValueError as exc:
        errors["latitude"] = [str(exc)]
        lat = None
    try:
        lon = hrules.parse_coordinate(longitude, kind="lon")
    except ValueError as exc:
        errors["longitude"] = [str(exc)]
        lon = None
    if (lat is None) != (lon is None) and "latitude" not in errors and "longitude" not in errors:
        errors["latitude" if lat is None else "longitude"] = [_("经纬度须同时填写")]
    return region, lat, lon


def category_get(code: str) -> Category | None:
    """An active category by its code (one statement, its SQL built once per process)."""
    if not code or len(code) > 40:
        return None
    category = db.get_one(Category, by="code", value=code)
    return category if category is not None and category.active else None


def ticket_create(
    *,
    actor,
    channel: str,
    kind: str,
    title: str = "",
    content: str,
    category_code: str = "",
    caller_name: str = "",
    caller_phone: str = "",
    recording_ref: str = "",
    region_code: str = "",
    grid_code: str = "",
    address: str = "",
    latitude=None,
    longitude=None,
    urgency: str = Ticket.Urgency.NORMAL,
    reporter_consent: bool = False,
    photo=None,
    knowledge_entry_id: int | None = None,
    duplicate_of: Ticket | None = None,
    external_id: str = "",
    require_location: bool = False,
    patrol: Patrol | None = None,
    now: datetime.datetime | None = None,
) -> Ticket:
    """Take in one ticket from any channel. Everything is checked before anything is written;
    a 咨询 answered from the knowledge base is closed at once (直接答复); a repeat of an open
    ticket (same caller, same category, within three days, or named by the agent) is linked to
    it and closed as a duplicate; otherwise the ticket waits for the dispatcher with a
    suggested department."""
    now = now or timezone.now()
    if channel not in Ticket.Channel.values:
        raise ValidationFailed(fields={"channel": [_("渠道无效")]})
    allowed = CHANNEL_ROLES[channel]
    if allowed is None:
        _require(_signed_in(actor))
    elif allowed:
        _require(has_role(actor, *allowed))
    else:
        _require(isinstance(actor, str))  # sensors: only the platform itself (sensor_ingest)
    errors: dict[str, list[str]] = {}
    if kind not in Ticket.Kind.values:
        errors["kind"] = [_("诉求类型无效")]
    if urgency not in Ticket.Urgency.values:
        errors["urgency"] = [_("紧急程度无效")]
    content = _text(content, field="content", required=True, max_length=4000)
    title = _text(title, field="title", max_length=200) or content[:40]
    caller_name = _text(caller_name, field="caller_name", max_length=50)
    recording_ref = _text(recording_ref, field="recording_ref", max_length=100)
    address = _text(address, field="address", max_length=200)
    external_id = _text(external_id, field="external_id", max_length=100)
    grid_code = _text(grid_code, field="grid_code", max_length=15)
    try:
        phone = hrules.normalize_phone(caller_phone)
    except ValueError as exc:
        errors["caller_phone"] = [str(exc)]
        phone = ""
    if channel == Ticket.Channel.PHONE and not phone and "caller_phone" not in errors:
        errors["caller_phone"] = [_("电话受理须记录来电号码")]
    region, lat, lon = _location(region_code=region_code, latitude=latitude, longitude=longitude, errors=errors)
    if require_location and not (region or lat is not None or address):
        errors["address"] = [_("请填写地址、区划或经纬度")]
    category = None
    if category_code:
        category = category_get(category_code)
        if category is None:
            errors["category"] = [_("诉求分类不存在")]
    if patrol is not None:
        # An issue found on a patrol: the patrol's own worker, while it runs, in its cell.
        patrol = Patrol.objects.filter(pk=patrol.pk).first() or patrol
        if channel != Ticket.Channel.GRID or patrol.worker_id != getattr(actor, "pk", None):
            raise NotFound()
        if patrol.status != Patrol.Status.ACTIVE:
            errors["patrol"] = [_("该巡查已结束,不能再上报问题")]
        grid_code = grid_code or patrol.grid_code
    if channel == Ticket.Channel.GRID and not grid_code:
        grid_code = (
            Member.objects.filter(user=actor, role=Member.Role.GRID_WORKER).values_list("grid_code", flat=True).first()
            or ""
        )
    entry = None
    if knowledge_entry_id:
        entry = KnowledgeEntry.objects.filter(pk=knowledge_entry_id, active=True).first()
        if entry is None or (entry.expires_on and entry.expires_on < timezone.localdate(now)):
            errors["knowledge_entry"] = [_("知识库条目不存在或已过期")]
        elif kind != Ticket.Kind.CONSULT:
            errors["knowledge_entry"] = [_("只有咨询类工单可以直接答复")]
    if errors:
        raise ValidationFailed(fields=errors)
    _check_photo(photo)

    ticket = Ticket(
        number=uuid.uuid4().hex[:24],
        kind=kind,
        channel=channel,
        urgency=urgency,
        category=category,
        title=title,
        content=content,
        caller_name=caller_name,
        caller_phone=phone,
        caller_phone_index=blind_index(phone) if phone else "",
        reporter_consent=bool(reporter_consent),
        recording_ref=recording_ref,
        citizen=actor if _signed_in(actor) and getattr(actor, "kind", "") != "staff" else None,
        created_by=actor if _signed_in(actor) else None,
        region_code=region,
        grid_code=grid_code,
        address=address,
        latitude=lat,
        longitude=lon,
        terms=" ".join(hrules.terms(f"{title} {content}"))[:400],
        external_id=external_id,
        patrol=patrol,
        created_at=now,
    )
    # Segmenting, the duplicate check and the rules are read-only and the slow part: done before
    # the transaction, so the write lock (SQLite takes it at BEGIN) is held only for the writes.
    original = duplicate_of if duplicate_of is not None else _find_duplicate(ticket)
    if original is not None and not original.is_open:
        original = None
    if original is None and entry is None:
        ticket.suggested_department = _suggested_department(ticket)
    with transaction.atomic():
        _ticket_write(
            ticket,
            actor=actor,
            channel=channel,
            kind=kind,
            phone=phone,
            photo=photo,
            original=original,
            entry=entry,
            now=now,
        )
    return ticket


def _ticket_write(ticket, *, actor, channel, kind, phone, photo, original, entry, now) -> None:
    if photo is not None:
        ticket.photo = photo
    if original is not None:
        ticket.duplicate_of = original
        ticket.status = Ticket.Status.CLOSED
        ticket.close_reason = Ticket.CloseReason.DUPLICATE
        ticket.closed_at = now
    elif entry is not None:
        ticket.knowledge_entry = entry
        ticket.reply = entry.answer
        ticket.status = Ticket.Status.CLOSED
        ticket.close_reason = Ticket.CloseReason.DIRECT_ANSWER
        ticket.responded_at = ticket.replied_at = ticket.closed_at = now
    ticket.save(force_insert=True)
    # The number carries the row id: set by one narrow UPDATE, not a second save of every
    # column (which re-encrypted the caller's name and phone).
    ticket.number = f"{timezone.localtime(now):%Y%m%d}{ticket.pk:08d}"
    db.update(ticket, ["number"])
    _event(ticket, TicketEvent.Kind.CREATED, actor=actor, note=Ticket.Channel(channel).label, at=now)
    if ticket.duplicate_of_id:
        _event(ticket, TicketEvent.Kind.LINKED, actor=actor, note=original.number, at=now)
        _event(original, TicketEvent.Kind.LINKED, actor=actor, note=_("重复来电:%(n)s") % {"n": ticket.number}, at=now)
    if entry is not None and ticket.close_reason == Ticket.CloseReason.DIRECT_ANSWER:
        _event(ticket, TicketEvent.Kind.ANSWERED, actor=actor, note=entry.title, at=now)
    _audit(
        actor,
        "ticket_create",
        ticket,
        channel=channel,
        kind=kind,
        caller_phone=mask_phone(phone),
        status=ticket.status,
        duplicate_of=original.number if ticket.duplicate_of_id else "",
    )


def _find_duplicate(ticket: Ticket) -> Ticket | None:
    """An open ticket of the same caller and category taken in the last three days."""
    if not ticket.caller_phone_index or ticket.category_id is None:
        return None
    return (
        Ticket.objects.filter(
            caller_phone_index=ticket.caller_phone_index,
            category_id=ticket.category_id,
            created_at__gte=ticket.created_at - DUPLICATE_WINDOW,
            duplicate_of__isnull=True,
            status__in=OPEN_STATUSES,
        )
        .exclude(pk=ticket.pk)
        .order_by("created_at")
        .first()
    )


# --- dispatch ----------------------------------------------------------------------------------

_rule_cache: dict = {"key": None, "rules": hrules.RuleIndex([])}


def _rules_version() -> tuple:
    """(max id, last change, count) of the active rules: one small statement, its SQL written
    once — every intake asks it, so the ORM's compile of an aggregate (which cost more than
    running it) is skipped."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT MAX(id), MAX(updated_at), COUNT(*) FROM hotline_dispatchrule WHERE active = %s", [True])
        return tuple(cursor.fetchone())


def _compiled_rules() -> hrules.RuleIndex:
    """Active rules, compiled and indexed by category once per change of the rule table (one
    small query to check)."""
    key = _rules_version()
    if _rule_cache["key"] != key:
        _rule_cache["rules"] = hrules.RuleIndex(
            [
                hrules.CompiledRule(
                    id=r.pk,
                    category_id=r.category_id,
                    keywords=tuple(r.keyword_list()),
                    region_prefix=r.region_prefix,
                    department_id=r.department_id,
                    priority=r.priority,
                )
                for r in DispatchRule.objects.filter(active=True, department__is_active=True)
            ]
        )
        _rule_cache["key"] = key
    return _rule_cache["rules"]


def territorial_department(region_code: str) -> Department | None:
    """属地: the government, street office or community whose region holds ``region_code`` —
    community → street → district, the most specific one found."""
    if not region_code:
        return None
    code = region_code
    candidates = list(dict.fromkeys([code, code[:9] + "000", code[:9], code[:6]] if len(code) > 6 else [code]))
    found = {
        d.region_code: d
        for d in Department.objects.filter(
            region_code__in=candidates, is_active=True, kind__in=("government", "subdistrict", "community")
        )
    }
    for candidate in candidates:
        if candidate in found:
            return found[candidate]
    return None


def _suggest(ticket: Ticket) -> tuple[int | None, int | None, Department | None]:
    """(rule id, department id) from the rules, else (None, None, the territorial department)."""
    text = f"{ticket.title} {ticket.content} {ticket.terms}"
    rule = hrules.best_rule(
        _compiled_rules(), category_id=ticket.category_id, text=text, region_code=ticket.region_code or ""
    )
    if rule is not None:
        return rule.id, rule.department_id, None
    return None, None, territorial_department(ticket.region_code)


def dispatch_suggest(*, ticket: Ticket) -> Suggestion:
    """The department the rules suggest (category, keywords, region), else the territorial one."""
    rule_id, department_id, territorial = _suggest(ticket)
    if rule_id is not None:
        return Suggestion(Department.objects.filter(pk=department_id).first(), rule_id, "rule")
    return Suggestion(territorial, None, "territory" if territorial else "")


def _suggested_department(ticket: Ticket) -> Department | None:
    """Intake's suggestion: the department row read by one prepared statement (the API answers
    with its name), not through the ORM's compile of a filter."""
    rule_id, department_id, territorial = _suggest(ticket)
    if rule_id is None:
        return territorial
    return db.get_one(Department, by="id", value=department_id)


def _start_clock(ticket: Ticket, now: datetime.datetime) -> None:
    ticket.dispatched_at = now
    ticket.response_due_at, ticket.resolve_due_at = hrules.deadlines(
        start=now, kind=ticket.kind, urgency=ticket.urgency
    )
    ticket.responded_at = None
    ticket.clock = Ticket.Clock.ON_TIME


@transaction.atomic
def ticket_dispatch(*, actor, ticket: Ticket, department=None, note: str = "", now=None) -> Ticket:
    """派单: the dispatcher confirms the suggested department or names another; the clock starts
    and the department's handlers are notified."""
    _require(has_role(actor, Member.Role.DISPATCHER, Member.Role.SUPERVISOR))
    now = now or timezone.now()
    ticket = _locked(ticket)
    if ticket.status != Ticket.Status.NEW:
        raise Conflict(_("只有待派单的工单可以派单"), code="ticket_state")
    if department in (None, "") and ticket.suggested_department_id:
        department = ticket.suggested_department
    target = _department(department)
    note = _text(note, field="note", max_length=1000)
    ticket.department = target
    ticket.status = Ticket.Status.DISPATCHED
    _start_clock(ticket, now)
    ticket.save()
    overridden = ticket.suggested_department_id not in (None, target.pk)
    _event(ticket, TicketEvent.Kind.DISPATCHED, actor=actor, department=target, note=note, at=now)
    _audit(actor, "ticket_dispatch", ticket, department=target.code, overridden=overridden)
    _notify(
        actor=actor,
        recipients=_department_people(target),
        template="hotline.dispatched",
        ticket=ticket,
        dedupe=f"d{ticket.events.count()}",
        department_name=target.name,
        due_date=f"{timezone.localtime(ticket.resolve_due_at):%Y-%m-%d %H:%M}",
    )
    return ticket


def _require_handler(actor, ticket: Ticket) -> None:
    if not handles(actor, ticket.department):
        raise NotFound()  # a ticket of another department looks missing


@transaction.atomic
def ticket_accept(*, actor, ticket: Ticket, now=None) -> Ticket:
    """签收: the department takes the ticket; the response time is met (or missed) now."""
    now = now or timezone.now()
    ticket = _locked(ticket)
    _require_handler(actor, ticket)
    if ticket.status != Ticket.Status.DISPATCHED:
        raise Conflict(_("只有待签收的工单可以签收"), code="ticket_state")
    ticket.status = Ticket.Status.IN_PROGRESS
    ticket.responded_at = now
    ticket.save()
    _event(ticket, TicketEvent.Kind.ACCEPTED, actor=actor, department=ticket.department, at=now)
    _audit(actor, "ticket_accept", ticket, department=ticket.department.code)
    return ticket


@transaction.atomic
def ticket_return(*, actor, ticket: Ticket, reason: str, now=None) -> Ticket:
    """退单: the department says the matter is not theirs; the reason is mandatory and the
    dispatcher must accept or refuse it. The clock keeps running meanwhile."""
    now = now or timezone.now()
    ticket = _locked(ticket)
    _require_handler(actor, ticket)
    reason = _text(reason, field="reason", max_length=1000)
    if len(reason) < 4:
        raise ValidationFailed(
            _("退单须说明理由"), code="reason_required", fields={"reason": [_("请写明退单理由(至少 4 个字)")]}
        )
    if ticket.status not in (Ticket.Status.DISPATCHED, Ticket.Status.IN_PROGRESS):
        raise Conflict(_("该工单当前不能退单"), code="ticket_state")
    ticket.status = Ticket.Status.RETURN_REQUESTED
    ticket.save()
    _event(ticket, TicketEvent.Kind.RETURN_REQUESTED, actor=actor, department=ticket.department, note=reason, at=now)
    _audit(actor, "ticket_return", ticket, department=ticket.department.code)
    return ticket


@transaction.atomic
def ticket_return_decide(*, actor, ticket: Ticket, accept: bool, note: str = "", now=None) -> Ticket:
    """The dispatcher accepts a return (the ticket goes back to the dispatch queue) or refuses it
    (the department keeps it, the reason for refusing written on the timeline)."""
    _require(has_role(actor, Member.Role.DISPATCHER, Member.Role.SUPERVISOR))
    now = now or timezone.now()
    ticket = _locked(ticket)
    if ticket.status != Ticket.Status.RETURN_REQUESTED:
        raise Conflict(_("该工单没有待审核的退单"), code="ticket_state")
    note = _text(note, field="note", max_length=1000)
    department = ticket.department
    if accept:
        ticket.status = Ticket.Status.NEW
        ticket.department = None
        ticket.dispatched_at = ticket.response_due_at = ticket.resolve_due_at = ticket.responded_at = None
        ticket.clock = Ticket.Clock.ON_TIME
        ticket.suggested_department = dispatch_suggest(ticket=ticket).department
        if ticket.suggested_department_id == department.pk:
            ticket.suggested_department = None
        kind = TicketEvent.Kind.RETURN_ACCEPTED
    else:
        if not note:
            raise ValidationFailed(fields={"note": [_("驳回退单须说明理由")]})
        ticket.status = Ticket.Status.IN_PROGRESS if ticket.responded_at else Ticket.Status.DISPATCHED
        kind = TicketEvent.Kind.RETURN_REFUSED
    ticket.save()
    _event(ticket, kind, actor=actor, department=department, note=note, at=now)
    _audit(actor, "ticket_return_decide", ticket, accepted=accept, department=department.code)
    return ticket


@transaction.atomic
def ticket_assist(*, actor, ticket: Ticket, departments: list, note: str = "", now=None) -> Ticket:
    """协办: other departments help the lead department (the one the ticket was sent to)."""
    _require(has_role(actor, Member.Role.DISPATCHER, Member.Role.SUPERVISOR))
    now = now or timezone.now()
    ticket = _locked(ticket)
    if ticket.department_id is None or ticket.status not in CLOCK_STATUSES:
        raise Conflict(_("须先派单给牵头部门,才能增加协办部门"), code="ticket_state")
    targets = [_department(d, field="departments") for d in departments]
    if not targets:
        raise ValidationFailed(fields={"departments": [_("请选择协办部门")]})
    if any(t.pk == ticket.department_id for t in targets):
        raise ValidationFailed(fields={"departments": [_("牵头部门不能同时作为协办部门")]})
    ticket.assist_departments.add(*targets)
    for target in targets:
        _event(ticket, TicketEvent.Kind.ASSIST, actor=actor, department=target, note=note, at=now)
        _notify(
            actor=actor,
            recipients=_department_people(target),
            template="hotline.dispatched",
            ticket=ticket,
            dedupe=f"a{target.pk}",
            department_name=target.name,
            due_date=f"{timezone.localtime(ticket.resolve_due_at):%Y-%m-%d %H:%M}",
        )
    _audit(actor, "ticket_assist", ticket, departments=[t.code for t in targets])
    return ticket


@transaction.atomic
def ticket_note(*, actor, ticket: Ticket, note: str, now=None) -> Ticket:
    """办理意见 from the lead or a co-handling department."""
    now = now or timezone.now()
    ticket = _locked(ticket)
    assisting = ticket.assist_departments.filter(pk__in=departments_for_actor(actor=actor)).first()
    if not handles(actor, ticket.department) and assisting is None and not is_centre(actor):
        raise NotFound()
    note = _text(note, field="note", required=True, max_length=2000)
    _event(ticket, TicketEvent.Kind.NOTE, actor=actor, department=assisting or ticket.department, note=note, at=now)
    _audit(actor, "ticket_note", ticket)
    return ticket


@transaction.atomic
def ticket_supervise(*, actor, ticket: Ticket, note: str, now=None) -> Ticket:
    """督办: the hotline centre presses the department; its head is notified."""
    _require(has_role(actor, Member.Role.SUPERVISOR, Member.Role.DISPATCHER))
    now = now or timezone.now()
    ticket = _locked(ticket)
    if ticket.department_id is None or ticket.status not in (*CLOCK_STATUSES, Ticket.Status.UNRESOLVED):
        raise Conflict(_("只有办理中的工单可以督办"), code="ticket_state")
    note = _text(note, field="note", required=True, max_length=1000)
    ticket.supervised_at = now
    ticket.save(update_fields=["supervised_at", "updated_at"])
    _event(ticket, TicketEvent.Kind.SUPERVISED, actor=actor, department=ticket.department, note=note, at=now)
    _audit(actor, "ticket_supervise", ticket, department=ticket.department.code)
    _notify(
        actor=actor,
        recipients=users_with_role(role="department_head", department=ticket.department),
        template="hotline.supervised",
        ticket=ticket,
        dedupe=f"s{now:%Y%m%d%H%M%S}",
        department_name=ticket.department.name,
        note=note,
    )
    return ticket


@transaction.atomic
def ticket_reply(*, actor, ticket: Ticket, reply: str, now=None) -> Ticket:
    """答复: the lead department says what it did; the ticket waits for the follow-up visit."""
    now = now or timezone.now()
    ticket = _locked(ticket)
    _require_handler(actor, ticket)
    reply = _text(reply, field="reply", max_length=4000)
    if len(reply) < 4:
        raise ValidationFailed(fields={"reply": [_("请写明办理结果(至少 4 个字)")]})
    if ticket.status not in (Ticket.Status.DISPATCHED, Ticket.Status.IN_PROGRESS):
        raise Conflict(_("该工单当前不能答复"), code="ticket_state")
    ticket.reply = reply
    ticket.responded_at = ticket.responded_at or now
    ticket.replied_at = now
    ticket.status = Ticket.Status.REPLIED
    ticket.save()
    _event(ticket, TicketEvent.Kind.REPLIED, actor=actor, department=ticket.department, note=reply, at=now)
    _audit(actor, "ticket_reply", ticket, department=ticket.department.code, on_time=now <= ticket.resolve_due_at)
    if ticket.citizen_id:
        _notify(actor=actor, recipients=[ticket.citizen], template="hotline.replied", ticket=ticket, dedupe="r")
    return ticket


@transaction.atomic
def _record_verdict(*, actor, ticket: Ticket, satisfaction, resolved, note, now, event, action: str, choose) -> Ticket:
    """The verdict on a replied ticket, by the centre's 回访 or by the citizen's own rating (one
    record, whichever comes first): satisfaction and whether resolved. Resolved → 办结; not
    resolved → 未解决, waiting for the dispatcher to reopen or close."""
    try:
        satisfaction = int(satisfaction)
    except (TypeError, ValueError):
        satisfaction = 0
    if satisfaction not in Ticket.Satisfaction.values:
        raise ValidationFailed(fields={"satisfaction": [choose]})
    note = _text(note, field="note", max_length=1000)
    ticket.satisfaction = satisfaction
    ticket.resolved = bool(resolved)
    if ticket.resolved:
        ticket.status = Ticket.Status.CLOSED
        ticket.close_reason = Ticket.CloseReason.VISITED
        ticket.closed_at = now
    else:
        ticket.status = Ticket.Status.UNRESOLVED
    ticket.save()
    label = f"{Ticket.Satisfaction(satisfaction).label} · {_('已解决') if resolved else _('未解决')}"
    _event(ticket, event, actor=actor, note=f"{label} {note}".strip(), at=now)
    if ticket.resolved:
        _event(ticket, TicketEvent.Kind.CLOSED, actor=actor, at=now)
    _audit(actor, action, ticket, satisfaction=satisfaction, resolved=ticket.resolved)
    return ticket


def ticket_visit(*, actor, ticket: Ticket, satisfaction: int, resolved: bool, note: str = "", now=None) -> Ticket:
    """回访: the hotline calls the citizen back and records satisfaction and whether the matter
    was resolved. Resolved → 办结; not resolved → waits for the dispatcher to reopen or close."""
    _require(has_role(actor, *CENTRE_ROLES))
    now = now or timezone.now()
    ticket = _locked(ticket)
    if ticket.status != Ticket.Status.REPLIED:
        raise Conflict(_("只有已答复的工单可以回访"), code="ticket_state")
    return _record_verdict(
        actor=actor,
        ticket=ticket,
        satisfaction=satisfaction,
        resolved=resolved,
        note=note,
        now=now,
        event=TicketEvent.Kind.VISITED,
        action="ticket_visit",
        choose=_("满意度须为 满意、基本满意 或 不满意"),
    )


@transaction.atomic
def ticket_reopen(*, actor, ticket: Ticket, note: str, now=None) -> Ticket:
    """重办: an unresolved (or wrongly closed) ticket goes back to its department with a new clock."""
    _require(has_role(actor, Member.Role.DISPATCHER, Member.Role.SUPERVISOR))
    now = now or timezone.now()
    ticket = _locked(ticket)
    if ticket.status not in (Ticket.Status.UNRESOLVED, Ticket.Status.CLOSED) or ticket.department_id is None:
        raise Conflict(_("只有回访未解决或已办结的派单工单可以重办"), code="ticket_state")
    note = _text(note, field="note", required=True, max_length=1000)
    ticket.status = Ticket.Status.DISPATCHED
    ticket.reopen_count += 1
    ticket.satisfaction = ticket.resolved = None
    ticket.close_reason = ""
    ticket.closed_at = ticket.replied_at = None
    _start_clock(ticket, now)
    ticket.save()
    _event(ticket, TicketEvent.Kind.REOPENED, actor=actor, department=ticket.department, note=note, at=now)
    _audit(actor, "ticket_reopen", ticket, reopen_count=ticket.reopen_count)
    _notify(
        actor=actor,
        recipients=_department_people(ticket.department),
        template="hotline.dispatched",
        ticket=ticket,
        dedupe=f"re{ticket.reopen_count}",
        department_name=ticket.department.name,
        due_date=f"{timezone.localtime(ticket.resolve_due_at):%Y-%m-%d %H:%M}",
    )
    return ticket


@transaction.atomic
def ticket_close(*, actor, ticket: Ticket, note: str, now=None) -> Ticket:
    """The centre closes a ticket without a (further) department round: an unresolved one whose
    demand cannot be met, or a new one that needs no department (表扬 passed on, say)."""
    _require(has_role(actor, Member.Role.DISPATCHER, Member.Role.SUPERVISOR))
    now = now or timezone.now()
    ticket = _locked(ticket)
    if ticket.status not in (Ticket.Status.UNRESOLVED, Ticket.Status.NEW):
        raise Conflict(_("该工单当前不能由热线中心办结"), code="ticket_state")
    note = _text(note, field="note", required=True, max_length=1000)
    ticket.status = Ticket.Status.CLOSED
    ticket.close_reason = Ticket.CloseReason.CENTRE if ticket.satisfaction is None else Ticket.CloseReason.VISITED
    ticket.closed_at = now
    ticket.save()
    _event(ticket, TicketEvent.Kind.CLOSED, actor=actor, note=note, at=now)
    _audit(actor, "ticket_close", ticket)
    return ticket


@transaction.atomic
def ticket_link_duplicate(*, actor, ticket: Ticket, original: Ticket, now=None) -> Ticket:
    """The dispatcher links a new ticket to the open one it repeats; it is not handled again."""
    _require(has_role(actor, Member.Role.DISPATCHER, Member.Role.AGENT, Member.Role.SUPERVISOR))
    now = now or timezone.now()
    ticket = _locked(ticket)
    if ticket.status != Ticket.Status.NEW or ticket.pk == original.pk or not original.is_open:
        raise Conflict(_("只能把待派单工单关联到另一张未办结的工单"), code="ticket_state")
    ticket.duplicate_of = original
    ticket.status = Ticket.Status.CLOSED
    ticket.close_reason = Ticket.CloseReason.DUPLICATE
    ticket.closed_at = now
    ticket.save()
    _event(ticket, TicketEvent.Kind.LINKED, actor=actor, note=original.number, at=now)
    _event(original, TicketEvent.Kind.LINKED, actor=actor, note=_("重复来电:%(n)s") % {"n": ticket.number}, at=now)
    _audit(actor, "ticket_link_duplicate", ticket, original=original.number)
    return ticket


# --- the clock ---------------------------------------------------------------------------------


def ticket_sweep(*, now: datetime.datetime | None = None) -> dict:
    """Scheduler job: move running tickets to 临近超期 / 已超期 and notify once per change.
    Idempotent: a ticket whose state did not change is not touched."""
    now = now or timezone.now()
    changed = Counter()
    candidates = Ticket.objects.filter(status__in=CLOCK_STATUSES, resolve_due_at__isnull=False).exclude(
        clock=Ticket.Clock.OVERDUE
    )
    for pk in candidates.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update(no_key=True, of=("self",)).select_related("department").get(pk=pk)
            if ticket.status not in CLOCK_STATUSES:
                continue
            state = hrules.clock_state(
                start=ticket.dispatched_at,
                due=ticket.resolve_due_at,
                now=now,
                response_due=ticket.response_due_at,
                responded=ticket.responded_at is not None,
            )
            if state == ticket.clock or (state == Ticket.Clock.ON_TIME):
                continue
            ticket.clock = state
            ticket.save(update_fields=["clock", "updated_at"])
            kind = TicketEvent.Kind.OVERDUE if state == Ticket.Clock.OVERDUE else TicketEvent.Kind.WARNING
            _event(ticket, kind, department=ticket.department, at=now)
            _audit("task:hotline.sweep", "ticket_clock", ticket, clock=state)
            recipients = _department_people(ticket.department)
            if state == Ticket.Clock.OVERDUE:
                recipients += list(_centre_people(Member.Role.SUPERVISOR))
            _notify(
                actor="task:hotline.sweep",
                recipients=recipients,
                template=f"hotline.{state}",
                ticket=ticket,
                dedupe=f"{state}{ticket.reopen_count}",
                department_name=ticket.department.name,
                due_date=f"{timezone.localtime(ticket.resolve_due_at):%Y-%m-%d %H:%M}",
            )
            changed[state] += 1
    return {"warning": changed["warning"], "overdue": changed["overdue"]}


# --- hotspots (未诉先办) --------------------------------------------------------------------------


def hotspots_detect(*, now: datetime.datetime | None = None, window_hours: int = 72, min_count: int = 3) -> dict:
    """Scheduler job: tickets of the last ``window_hours`` grouped by category and place (grid,
    else street-level region), then by a jieba term shared by at least ``min_count`` of them.
    Each cluster becomes (or updates) one ``Hotspot`` for the department most of its tickets
    went to (else the one the rules suggest) and that department's heads are notified once."""
    now = now or timezone.now()
    start = now - datetime.timedelta(hours=window_hours)
    rows = (
        Ticket.objects.filter(created_at__gte=start, created_at__lte=now, duplicate_of__isnull=True)
        .exclude(channel=Ticket.Channel.SENSOR)
        .values_list(
            "pk", "category_id", "region_code", "grid_code", "terms", "department_id", "suggested_department_id"
        )
    )
    groups: dict[tuple, list] = defaultdict(list)
    for row in rows.iterator(chunk_size=5000):
        pk, category_id, region, grid, terms, dept, suggested = row
        place = grid or (region[:9] if region else "")
        if category_id is None or not place:
            continue
        groups[(category_id, place)].append((pk, set(terms.split()), dept or suggested))
    created = updated = 0
    for (category_id, place), members in groups.items():
        if len(members) < min_count:
            continue
        counts = Counter(term for _pk, terms, _d in members for term in terms)
        # Deterministic whatever the hash seed: most frequent first, then longer, then by text.
        shared = sorted((t for t, n in counts.items() if n >= min_count), key=lambda t: (-counts[t], -len(t), t))[:5]
        if not shared:
            continue
        top = shared[0]
        cluster = [m for m in members if top in m[1]]
        departments = Counter(d for _pk, _t, d in cluster if d)
        department_id = departments.most_common(1)[0][0] if departments else None
        fingerprint = hashlib.sha256(f"{category_id}|{place}|{top}|{start:%Y%m%d}".encode()).hexdigest()
        with transaction.atomic():
            hotspot = Hotspot.objects.select_for_update(no_key=True).filter(fingerprint=fingerprint).first()
            ids = sorted(m[0] for m in cluster)
            if hotspot is None:
                hotspot = Hotspot.objects.create(
                    fingerprint=fingerprint,
                    category_id=category_id,
                    region_code=place if len(place) in (6, 9, 12) and place.isdigit() else "",
                    grid_code="" if place.isdigit() else place,
                    terms=" ".join(shared),
                    ticket_count=len(ids),
                    ticket_ids=ids[-500:],
                    window_start=start,
                    window_end=now,
                    department_id=department_id,
                )
                audit_record(
                    actor="task:hotline.hotspots",
                    action="hotline.hotspot_raise",
                    obj=hotspot,
                    object_repr=hotspot.terms,
                    changes={"tickets": len(ids)},
                )
                department = Department.objects.filter(pk=department_id).first()
                if department is not None:
                    from yiwang.messaging.services import Ref, message_send_many

                    message_send_many(
                        actor="task:hotline.hotspots",
                        recipients=_department_people(department),
                        template_code="hotline.hotspot",
                        context={"terms": hotspot.terms, "count": len(ids), "department_name": department.name},
                        ref=Ref("hotline.hotspot", hotspot.pk, "/workbench/hotline/hotspots/"),
                        dedupe_key=f"hotline.hotspot:{hotspot.pk}",
                    )
                created += 1
            elif hotspot.ticket_count != len(ids):
                hotspot.ticket_count = len(ids)
                hotspot.ticket_ids = ids[-500:]
                hotspot.window_end = now
                hotspot.save(update_fields=["ticket_count", "ticket_ids", "window_end"])
                updated += 1
    return {"groups": len(groups), "created": created, "updated": updated}


@transaction.atomic
def hotspot_acknowledge(*, actor, hotspot: Hotspot, note: str) -> Hotspot:
    """The department (or the centre) records what it did about a hotspot."""
    hotspot = Hotspot.objects.select_for_update(no_key=True).get(pk=hotspot.pk)
    if not (is_centre(actor) or handles(actor, hotspot.department)):
        raise NotFound()
    hotspot.note = _text(note, field="note", required=True, max_length=1000)
    hotspot.status = Hotspot.Status.ACKNOWLEDGED
    hotspot.save(update_fields=["note", "status"])
    audit_record(actor=actor, action="hotline.hotspot_acknowledge", obj=hotspot, object_repr=hotspot.terms)
    return hotspot


# --- sensors (物联感知) ---------------------------------------------------------------------------


@transaction.atomic
def sensor_ingest(
    *,
    actor,
    device_id: str,
    metric: str,
    value: float,
    threshold: float,
    place: str = "",
    region_code: str = "",
    now=None,
) -> tuple[SensorAlert | None, bool]:
    """One reading from an IoT device. Over the threshold: the first reading opens an alert and
    an urgent ticket; repeats only count on the open alert (deduplicated). Back under the
    threshold: the open alert is closed. Returns (alert, whether a ticket was opened)."""
    _require(is_centre(actor) or actor_has_role(actor, roles=("city_admin", "department_admin")))
    now = now or timezone.now()
    device_id = _text(device_id, field="device_id", required=True, max_length=64)
    metric = _text(metric, field="metric", required=True, max_length=40)
    place = _text(place, field="place", max_length=200)
    errors: dict = {}
    try:
        value, threshold = float(value), float(threshold)
        if value != value or threshold != threshold or abs(value) > 1e12 or abs(threshold) > 1e12:
            raise ValueError
    except (TypeError, ValueError):
        errors["value"] = [_("读数和阈值必须是有限的数字")]
    region = ""
    if region_code:
        try:
            region = validate_region_code(region_code)
        except DjangoValidationError as exc:
            errors["region_code"] = [str(m) for m in exc.messages]
    if errors:
        raise ValidationFailed(fields=errors)
    alert = (
        SensorAlert.objects.select_for_update(no_key=True).filter(device_id=device_id, metric=metric, open=True).first()
    )
    if value < threshold:
        if alert is not None:
            alert.open = False
            alert.last_seen = now
            alert.value = value
            alert.save()
            audit_record(actor=actor, action="hotline.sensor_clear", obj=alert, object_repr=device_id)
        return alert, False
    if alert is not None:
        alert.count += 1
        alert.value = value
        alert.last_seen = now
        alert.save(update_fields=["count", "value", "last_seen"])
        return alert, False
    alert = SensorAlert.objects.create(
        device_id=device_id,
        metric=metric,
        value=value,
        threshold=threshold,
        place=place,
        region_code=region,
        first_seen=now,
        last_seen=now,
    )
    ticket = ticket_create(
        actor="system:sensor",
        channel=Ticket.Channel.SENSOR,
        kind=Ticket.Kind.HELP,
        title=_("设备告警:%(device)s %(metric)s 超过阈值") % {"device": device_id, "metric": metric},
        content=_("设备 %(device)s 的 %(metric)s 读数 %(value)s 超过阈值 %(threshold)s。位置:%(place)s")
        % {"device": device_id, "metric": metric, "value": value, "threshold": threshold, "place": place or "-"},
        region_code=region,
        address=place,
        urgency=Ticket.Urgency.URGENT if value >= 2 * threshold and threshold > 0 else Ticket.Urgency.NORMAL,
        now=now,
    )
    alert.ticket = ticket
    alert.save(update_fields=["ticket"])
    audit_record(
        actor=actor, action="hotline.sensor_alert", obj=alert, object_repr=device_id, changes={"ticket": ticket.number}
    )
    return alert, True


# --- knowledge base and rules ------------------------------------------------------------------


@transaction.atomic
def knowledge_save(
    *,
    actor,
    entry: KnowledgeEntry | None = None,
    title: str,
    answer: str,
    keywords: str = "",
    department,
    expires_on: datetime.date | None = None,
    active: bool | None = None,
) -> KnowledgeEntry:
    """Create or change a knowledge entry; only its owner department's staff or the centre."""
    department = _department(department)
    _require(is_centre(actor) or handles(actor, department))
    if entry is not None:
        entry = KnowledgeEntry.objects.select_for_update(no_key=True).get(pk=entry.pk)
        _require(is_centre(actor) or handles(actor, entry.department))
    else:
        entry = KnowledgeEntry()
    errors: dict[str, list[str]] = {}
    entry.title = _text_into(errors, title, field="title", required=True, max_length=200)
    entry.answer = _text_into(errors, answer, field="answer", required=True, max_length=4000)
    entry.keywords = _text_into(errors, keywords, field="keywords", max_length=300)
    if errors:
        raise ValidationFailed(fields=errors)
    entry.department = department
    entry.expires_on = expires_on
    if active is not None:
        entry.active = bool(active)
    entry.terms = " ".join(hrules.terms(f"{entry.title} {entry.keywords}"))[:600]
    created = entry.pk is None
    entry.save()
    audit_record(
        actor=actor,
        action="hotline.knowledge_save",
        obj=entry,
        object_repr=entry.title,
        changes={"created": created, "department": department.code, "active": entry.active},
    )
    return entry


@transaction.atomic
def rule_save(
    *,
    actor,
    rule: DispatchRule | None = None,
    name: str,
    department,
    category_code: str = "",
    keywords: str = "",
    region_prefix: str = "",
    priority: int = 0,
    active: bool = True,
) -> DispatchRule:
    """Create or change a dispatch rule (dispatchers and the centre supervisor)."""
    _require(has_role(actor, Member.Role.DISPATCHER, Member.Role.SUPERVISOR))
    errors: dict[str, list[str]] = {}
    name = _text_into(errors, name, field="name", required=True, max_length=100)
    keywords = _text_into(errors, keywords, field="keywords", max_length=400)
    region_prefix = (region_prefix or "").strip()
    if region_prefix and (not region_prefix.isdigit() or len(region_prefix) > 12):
        errors["region_prefix"] = [_("区划代码前缀只能是 1 到 12 位数字")]
    category = None
    if category_code:
        category = category_get(category_code)
        if category is None:
            errors["category"] = [_("诉求分类不存在")]
    if not (category or keywords or region_prefix) and not errors:
        errors["keywords"] = [_("规则至少要有分类、关键词或区划之一")]
    try:
        department = _department(department)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed(fields=errors)
    rule = DispatchRule.objects.select_for_update(no_key=True).get(pk=rule.pk) if rule is not None else DispatchRule()
    rule.name, rule.department, rule.category = name, department, category
    rule.keywords, rule.region_prefix, rule.priority, rule.active = keywords, region_prefix, int(priority), bool(active)
    created = rule.pk is None
    rule.save()
    audit_record(
        actor=actor,
        action="hotline.rule_save",
        obj=rule,
        object_repr=rule.name,
        changes={"created": created, "department": department.code},
    )
    return rule


def rule_test(*, rule: DispatchRule, limit: int = 500) -> dict:
    """How a rule would have done on past dispatched tickets: how many it matches, and of those
    how many were in fact handled by its department (read only)."""
    compiled = hrules.CompiledRule(
        rule.pk or 0,
        rule.category_id,
        tuple(rule.keyword_list()),
        rule.region_prefix,
        rule.department_id,
        rule.priority,
    )
    matched = agreed = 0
    examples = []
    tickets = Ticket.objects.filter(department__isnull=False).order_by("-created_at")[:limit]
    for t in tickets.only("pk", "number", "title", "content", "terms", "category_id", "region_code", "department_id"):
        if compiled.score(
            category_id=t.category_id, text=f"{t.title} {t.content} {t.terms}", region_code=t.region_code
        ):
            matched += 1
            agreed += t.department_id == rule.department_id
            if len(examples) < 10:
                examples.append(t)
    return {"tested": len(tickets), "matched": matched, "agreed": agreed, "examples": examples}


@transaction.atomic
def member_set(*, actor, user, role: str, grid_code: str = "") -> Member:
    """Give a user a hotline-centre role (city administrators, superusers, or the platform itself
    — a system actor such as the demo loader)."""
    _require(isinstance(actor, str) or actor_has_role(actor, roles=("city_admin",)))
    if role not in Member.Role.values:
        raise ValidationFailed(fields={"role": [_("角色无效")]})
    member, _created = Member.objects.update_or_create(user=user, role=role, defaults={"grid_code": grid_code})
    audit_record(
        actor=actor,
        action="hotline.member_set",
        obj=member,
        object_repr=user.username,
        changes={"role": role, "grid_code": grid_code},
    )
    return member


# --- citizens rate the reply ---------------------------------------------------------------------


@transaction.atomic
def ticket_rate(*, actor, ticket: Ticket, satisfaction, resolved: bool, note: str = "", now=None) -> Ticket:
    """群众评价: the citizen who filed the ticket reads the department's reply on the portal and
    rates it himself — the same record as the hotline's 回访 (satisfaction, resolved or not).
    Resolved → 办结; not resolved → back to the dispatcher (重办 or 办结), as after a visit."""
    now = now or timezone.now()
    ticket = _locked(ticket)
    if not _signed_in(actor) or ticket.citizen_id != actor.pk:
        raise NotFound()
    if ticket.status != Ticket.Status.REPLIED:
        raise Conflict(_("只有已答复、尚未评价的诉求可以评价"), code="ticket_state")
    return _record_verdict(
        actor=actor,
        ticket=ticket,
        satisfaction=satisfaction,
        resolved=resolved,
        note=note,
        now=now,
        event=TicketEvent.Kind.RATED,
        action="ticket_rate",
        choose=_("请选择 满意、基本满意 或 不满意"),
    )


# --- grids (网格化): cell polygons and patrols -----------------------------------------------------

GRID_IMPORT_MAX_BYTES = 20 * 1024 * 1024
GRID_IMPORT_MAX_FEATURES = 20000
GRID_CODE_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_")
PATROL_MAX_POINTS = 2000


def may_manage_grids(actor) -> bool:
    """Grid polygons are the city's: city administrators and the hotline centre's supervisors."""
    return has_role(actor, Member.Role.SUPERVISOR) or actor_has_role(actor, roles=("city_admin",))


def _feature_error(errors: dict, index: int, field: str, message: str) -> None:
    key = f"features[{index}].{field}"
    text = _("第 %(n)d 个网格(features[%(i)d])的 %(field)s:%(message)s") % {
        "n": index + 1,
        "i": index,
        "field": field,
        "message": message,
    }
    errors.setdefault(key, []).append(text)


def _ring_error(ring) -> str:
    """'' when ``ring`` is a closed linear ring of at least four [lon, lat] positions in China."""
    if not isinstance(ring, list) or len(ring) < 4:
        return _("每个环至少要有 4 个坐标点(首尾相同)")
    for position in ring:
        if not isinstance(position, list | tuple) or len(position) < 2:
            return _("坐标点应为 [经度, 纬度]")
        lon, lat = position[0], position[1]
        if (
            isinstance(lon, bool)
            or isinstance(lat, bool)
            or not isinstance(lon, int | float)
            or not isinstance(lat, int | float)
        ):
            return _("坐标必须是数字")
        try:
            hrules.parse_coordinate(lon, kind="lon")
            hrules.parse_coordinate(lat, kind="lat")
        except ValueError as exc:
            return f"{exc}({lon}, {lat})"
    if list(ring[0][:2]) != list(ring[-1][:2]):
        return _("环的首尾坐标必须相同(闭合)")
    return ""


def _geometry_error(geometry) -> str:
    if not isinstance(geometry, dict):
        return _("缺少 geometry")
    kind, coordinates = geometry.get("type"), geometry.get("coordinates")
    if kind == "Polygon":
        polygons = [coordinates]
    elif kind == "MultiPolygon":
        polygons = coordinates if isinstance(coordinates, list) else None
    else:
        return _("类型须为 Polygon 或 MultiPolygon(当前为 %(kind)s)") % {"kind": kind}
    if not polygons or not all(isinstance(p, list) and p for p in polygons):
        return _("coordinates 为空或格式不对")
    for polygon in polygons:
        for ring in polygon:
            problem = _ring_error(ring)
            if problem:
                return problem
    return ""


def grid_import(*, actor, data: bytes | str, now=None) -> dict:
    """Import grid cells from a GeoJSON FeatureCollection: each feature a Polygon or MultiPolygon
    with ``properties.code`` (grid code), ``properties.name`` and ``properties.region_code``.
    Every feature is checked before anything is written; one bad feature refuses the whole file,
    the errors naming the feature's index and field (``features[3].properties.region_code``).
    Cells are created or replaced by code, all in one transaction, and audited."""
    _require(isinstance(actor, str) or may_manage_grids(actor))  # or the platform (the demo loader)
    now = now or timezone.now()
    if isinstance(data, bytes):
        if len(data) > GRID_IMPORT_MAX_BYTES:
            raise ValidationFailed(fields={"file": [_("文件不能超过 20 MB")]})
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationFailed(fields={"file": [_("文件必须是 UTF-8 编码的 GeoJSON")]}) from None
    import json

    try:
        document = json.loads(data)
    except ValueError as exc:
        raise ValidationFailed(
            fields={
                "file": [
                    _("不是有效的 JSON:第 %(line)d 行第 %(col)d 列")
                    % {"line": getattr(exc, "lineno", 0), "col": getattr(exc, "colno", 0)}
                ]
            }
        ) from None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise ValidationFailed(fields={"file": [_("GeoJSON 顶层须为 FeatureCollection")]})
    features = document.get("features")
    if not isinstance(features, list) or not features:
        raise ValidationFailed(fields={"file": [_("FeatureCollection 中没有 features")]})
    if len(features) > GRID_IMPORT_MAX_FEATURES:
        raise ValidationFailed(fields={"file": [_("一次最多导入 %(n)d 个网格") % {"n": GRID_IMPORT_MAX_FEATURES}]})
    errors: dict[str, list[str]] = {}
    cells: dict[str, dict] = {}
    for index, feature in enumerate(features):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            _feature_error(errors, index, "type", _("须为 Feature"))
            continue
        properties = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
        code = str(properties.get("code") or "").strip().upper()
        name = str(properties.get("name") or "").strip()
        region = str(properties.get("region_code") or "").strip()
        if not code:
            _feature_error(errors, index, "properties.code", _("请填写网格编码"))
        elif len(code) > 15 or not set(code) <= GRID_CODE_CHARS:
            _feature_error(errors, index, "properties.code", _("网格编码只能是 15 位以内的字母、数字、- 或 _"))
        elif code in cells:
            _feature_error(
                errors,
                index,
                "properties.code",
                _("网格编码 %(code)s 与第 %(n)d 个重复") % {"code": code, "n": cells[code]["index"] + 1},
            )
        if not name:
            _feature_error(errors, index, "properties.name", _("请填写网格名称"))
        elif len(name) > 100:
            _feature_error(errors, index, "properties.name", _("网格名称不能超过 100 个字"))
        try:
            region = validate_region_code(region)
        except DjangoValidationError as exc:
            _feature_error(errors, index, "properties.region_code", " ".join(str(m) for m in exc.messages))
        problem = _geometry_error(feature.get("geometry"))
        if problem:
            _feature_error(errors, index, "geometry", problem)
        if code and code not in cells:
            cells[code] = {"index": index, "name": name, "region_code": region, "geometry": feature.get("geometry")}
    if errors:
        raise ValidationFailed(_("GeoJSON 有 %(n)d 处错误,未导入任何网格") % {"n": len(errors)}, fields=errors)
    with transaction.atomic():
        existing = {a.code: a for a in GridArea.objects.select_for_update().filter(code__in=list(cells))}
        created = []
        for code, cell in cells.items():
            geometry = {"type": cell["geometry"]["type"], "coordinates": cell["geometry"]["coordinates"]}
            area = existing.get(code)
            if area is None:
                created.append(
                    GridArea(
                        code=code,
                        name=cell["name"],
                        region_code=cell["region_code"],
                        geometry=geometry,
                        imported_at=now,
                    )
                )
            else:
                area.name, area.region_code, area.geometry, area.imported_at = (
                    cell["name"],
                    cell["region_code"],
                    geometry,
                    now,
                )
        GridArea.objects.bulk_create(created, batch_size=500)
        GridArea.objects.bulk_update(
            list(existing.values()), ["name", "region_code", "geometry", "imported_at"], batch_size=500
        )
        audit_record(
            actor=actor,
            action="hotline.grid_import",
            object_type="hotline.gridarea",
            object_repr=_("网格导入"),
            changes={"created": len(created), "updated": len(existing), "codes": sorted(cells)[:50]},
        )
    return {"created": len(created), "updated": len(existing)}


def _patrol_locked(actor, patrol: Patrol) -> Patrol:
    patrol = Patrol.objects.select_for_update(no_key=True).get(pk=patrol.pk)
    if patrol.worker_id != getattr(actor, "pk", None):
        raise NotFound()  # another worker's patrol looks missing
    if patrol.status != Patrol.Status.ACTIVE:
        raise Conflict(_("该巡查已结束"), code="patrol_finished")
    return patrol


@transaction.atomic
def patrol_start(*, actor, grid_code: str = "", note: str = "", now=None) -> Patrol:
    """A grid worker starts a patrol of his cell (or of the cell named); one at a time."""
    _require(has_role(actor, Member.Role.GRID_WORKER))
    now = now or timezone.now()
    assigned = list(
        Member.objects.filter(user=actor, role=Member.Role.GRID_WORKER)
        .exclude(grid_code="")
        .values_list("grid_code", flat=True)
    )
    grid_code = _text(grid_code, field="grid_code", max_length=15).upper() or (assigned[0] if assigned else "")
    if not grid_code:
        raise ValidationFailed(fields={"grid_code": [_("请填写巡查的网格编码")]})
    if assigned and grid_code not in assigned and not actor.is_superuser:
        raise ValidationFailed(fields={"grid_code": [_("只能巡查分配给您的网格")]})
    if Patrol.objects.select_for_update(no_key=True).filter(worker=actor, status=Patrol.Status.ACTIVE).exists():
        raise Conflict(_("您有一次巡查尚未结束,请先结束它"), code="patrol_active")
    patrol = Patrol.objects.create(
        worker=actor, grid_code=grid_code, note=_text(note, field="note", max_length=2000), started_at=now
    )
    audit_record(
        actor=actor, action="hotline.patrol_start", obj=patrol, object_repr=str(patrol), changes={"grid": grid_code}
    )
    return patrol


@transaction.atomic
def patrol_point_add(*, actor, patrol: Patrol, latitude, longitude, note: str = "", now=None) -> Patrol:
    """One point of the route: where the worker is now (the page's location button, or typed)."""
    now = now or timezone.now()
    patrol = _patrol_locked(actor, patrol)
    errors: dict = {}
    _region, lat, lon = _location(region_code="", latitude=latitude, longitude=longitude, errors=errors)
    if lat is None and "latitude" not in errors and "longitude" not in errors:
        errors["latitude"] = [_("请填写经纬度")]
    if len(patrol.route) >= PATROL_MAX_POINTS:
        errors["route"] = [_("一次巡查最多记录 %(n)d 个点") % {"n": PATROL_MAX_POINTS}]
    if errors:
        raise ValidationFailed(fields=errors)
    point = {"lat": str(lat), "lon": str(lon), "at": now.isoformat(), "note": _text(note, field="note", max_length=200)}
    patrol.route = [*patrol.route, point]
    patrol.save(update_fields=["route"])
    audit_record(
        actor=actor,
        action="hotline.patrol_point",
        obj=patrol,
        object_repr=str(patrol),
        changes={"points": len(patrol.route)},
    )
    return patrol


@transaction.atomic
def patrol_finish(*, actor, patrol: Patrol, note: str = "", now=None) -> Patrol:
    """The worker ends the patrol with what he saw (required when no issue was reported)."""
    now = now or timezone.now()
    patrol = _patrol_locked(actor, patrol)
    note = _text(note, field="note", max_length=2000)
    if not note and not patrol.findings.exists():
        raise ValidationFailed(fields={"note": [_("没有上报问题时,请写明巡查情况(如:未发现问题)")]})
    patrol.note = "\n".join(part for part in (patrol.note, note) if part)
    patrol.status = Patrol.Status.FINISHED
    patrol.finished_at = now
    patrol.save(update_fields=["note", "status", "finished_at"])
    audit_record(
        actor=actor,
        action="hotline.patrol_finish",
        obj=patrol,
        object_repr=str(patrol),
        changes={"points": len(patrol.route), "findings": patrol.findings.count()},
    )
    return patrol
