"""Appointment and kiosk writes. Every function runs in one transaction and writes one audit event.

Capacity under concurrency: ``booking_create`` and ``booking_change`` take a place with one
statement, ``UPDATE slot SET booked = booked + 1 WHERE id = … AND booked < capacity``. The
database evaluates the condition on the row it locks for the update (PostgreSQL row lock; on
SQLite the IMMEDIATE transaction holds the write lock), so of N simultaneous requests for the
last place exactly one sees a row updated; the others get ``slot_full``. The check constraint
``booked <= capacity`` would turn any other path into an IntegrityError.

One active booking of an item per person per day is a partial unique constraint; a
double-clicked submission with the same ``idempotency_key`` returns the first booking.
"""

import datetime
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.appointments.models import (
    ACTIVE_BOOKING_STATES,
    Booking,
    BookingState,
    Hall,
    KioskDevice,
    KioskLogin,
    KioskLoginState,
    KioskSmsCode,
    QueueCounter,
    QueueTicket,
    Slot,
    SlotTemplate,
    TicketKind,
    TicketState,
)
from yiwang.appointments.selectors import (
    hall_get_for_staff,
    may_manage_hall,
    may_work_hall,
    no_show_count,
    slot_end_at,
    slot_start_at,
)
from yiwang.core import ratelimit
from yiwang.core.audit import audit_record
from yiwang.core.calendar import is_working_day, working_calendar
from yiwang.core.crypto import blind_index
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.masking import mask_name
from yiwang.identity.selectors import user_get_by_id_number
from yiwang.messaging.services import Ref, message_send

TASK_ACTOR = "task:appointments"


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _citizen_only(actor) -> None:
    if not getattr(actor, "is_authenticated", False):
        raise NotFound(code="slot_not_found")
    if getattr(actor, "kind", "") == "staff":
        raise Forbidden(_("工作人员账号不能网上预约,请使用个人账号"), code="citizen_only")


def _invalid(code: str, message: str, field: str = "slot") -> ValidationFailed:
    return ValidationFailed(message, code=code, fields={field: [message]})


# --- halls, templates and slots (configuration) ------------------------------------------------


@transaction.atomic
def hall_save(*, actor, department, name: str, address: str = "", is_active: bool = True) -> Hall:
    """Create or update the hall of ``department`` (one hall per department)."""
    if actor is not None and not may_manage_hall(actor=actor, department=department):
        raise NotFound(code="hall_not_found")
    name = (name or "").strip()
    if not name:
        raise _invalid("name_required", _("请填写大厅名称"), "name")
    hall, created = Hall.objects.update_or_create(
        department=department, defaults={"name": name[:100], "address": (address or "")[:200], "is_active": is_active}
    )
    audit_record(
        actor=actor,
        action="appointments.hall_create" if created else "appointments.hall_update",
        obj=hall,
        object_repr=hall.name,
        changes={"department": department.pk, "active": is_active},
    )
    return hall


@transaction.atomic
def slot_template_save(
    *,
    actor,
    hall: Hall,
    item_code: str,
    item_name: str,
    weekday: int,
    start_time: datetime.time,
    end_time: datetime.time,
    capacity: int,
) -> SlotTemplate:
    """Create or update one weekly template row (keyed by hall, item, weekday, start time)."""
    if actor is not None and not may_manage_hall(actor=actor, department=hall.department):
        raise NotFound(code="hall_not_found")
    fields = {}
    if not 0 <= int(weekday) <= 6:
        fields["weekday"] = [_("星期须为 0(星期一)至 6(星期日)")]
    if end_time <= start_time:
        fields["end_time"] = [_("结束时间须晚于开始时间")]
    if int(capacity) < 1:
        fields["capacity"] = [_("可约人数至少为 1")]
    if not (item_code or "").strip():
        fields["item_code"] = [_("请填写事项编码")]
    if fields:
        raise ValidationFailed(code="template_invalid", fields=fields)
    template, _created = SlotTemplate.objects.update_or_create(
        hall=hall,
        item_code=item_code.strip(),
        weekday=int(weekday),
        start_time=start_time,
        defaults={"item_name": item_name[:200], "end_time": end_time, "capacity": int(capacity), "is_active": True},
    )
    audit_record(
        actor=actor,
        action="appointments.template_save",
        obj=template,
        changes={"item": template.item_code, "weekday": template.weekday, "capacity": template.capacity},
    )
    return template


@transaction.atomic
def slots_generate(*, actor, days: int | None = None, today: datetime.date | None = None) -> int:
    """Create the slots of the next ``days`` working days (``YIWANG_APPOINTMENT_DAYS_AHEAD``,
    default 7) from the active templates of active halls. Existing slots are kept as they are
    (their bookings too); holidays and weekends get none. Idempotent. Returns how many were made."""
    days = _setting("YIWANG_APPOINTMENT_DAYS_AHEAD", 7) if days is None else days
    today = today or timezone.localdate()
    calendar = working_calendar()
    dates = []
    day = today
    while len(dates) < days:
        day = calendar.next_working_day(day)
        dates.append(day)
    if calendar.is_working_day(today):
        dates.insert(0, today)
    templates = list(SlotTemplate.objects.filter(is_active=True, hall__is_active=True))
    existing = set(Slot.objects.filter(date__in=dates).values_list("hall_id", "item_code", "date", "start_time"))
    new = [
        Slot(
            hall_id=t.hall_id,
            item_code=t.item_code,
            item_name=t.item_name,
            date=date,
            start_time=t.start_time,
            end_time=t.end_time,
            capacity=t.capacity,
        )
        for date in dates
        for t in templates
        if t.weekday == date.weekday() and (t.hall_id, t.item_code, date, t.start_time) not in existing
    ]
    Slot.objects.bulk_create(new, ignore_conflicts=True)
    if new:
        audit_record(
            actor=actor,
            action="appointments.slots_generate",
            object_type="appointments.slot",
            object_repr=f"{dates[0]}…{dates[-1]}",
            changes={"created": len(new), "days": len(dates)},
        )
    return len(new)


# --- bookings ---------------------------------------------------------------------------------


def _check_bookable(*, actor, slot: Slot, now) -> None:
    if slot_start_at(slot) <= now:
        raise _invalid("slot_past", _("该时段已经开始或已过去,不能预约,请选择以后的时段"))
    if not is_working_day(slot.date):
        raise _invalid("slot_holiday", _("%(date)s 为法定节假日或休息日,大厅不办理预约业务") % {"date": slot.date})
    if not slot.hall.is_active:
        raise _invalid("hall_closed", _("该大厅暂停接受预约"))
    limit = _setting("YIWANG_APPOINTMENT_NO_SHOW_LIMIT", 3)
    period = _setting("YIWANG_APPOINTMENT_NO_SHOW_DAYS", 90)
    if limit > 0 and no_show_count(citizen=actor, days=period) >= limit:
        message = _("您在最近 %(days)d 天内爽约 %(limit)d 次及以上,暂不能网上预约,可到大厅现场取号办理") % {
            "days": period,
            "limit": limit,
        }
        raise _invalid("no_show_limited", message)


def _take_place(slot_id: int) -> None:
    taken = Slot.objects.filter(pk=slot_id, booked__lt=F("capacity")).update(booked=F("booked") + 1)
    if not taken:
        raise Conflict(_("该时段已约满,请选择其他时段"), code="slot_full", fields={"slot": [_("该时段已约满")]})


def _release_place(slot_id: int) -> None:
    Slot.objects.filter(pk=slot_id, booked__gt=0).update(booked=F("booked") - 1)


def _duplicate(actor, slot: Slot, exclude: int | None = None) -> Booking | None:
    qs = Booking.objects.filter(
        citizen=actor, item_code=slot.item_code, date=slot.date, state__in=ACTIVE_BOOKING_STATES
    )
    if exclude:
        qs = qs.exclude(pk=exclude)
    return qs.first()


def _duplicate_error(existing: Booking) -> ValidationFailed:
    return _invalid(
        "duplicate_booking",
        _("您已预约同一天的同一事项(预约号 %(number)s),如需调整时间请改约") % {"number": existing.number},
    )


def _new_number(slot: Slot) -> str:
    return f"YY{slot.date:%y%m%d}{secrets.randbelow(10**8):08d}"


def _notify(*, actor, booking: Booking, template: str, dedupe: str) -> None:
    slot = booking.slot
    message_send(
        actor=actor,
        recipient=booking.citizen,
        template_code=template,
        context={
            "number": booking.number,
            "hall": slot.hall.name,
            "address": slot.hall.address,
            "item": slot.item_name,
            "date": slot.date.isoformat(),
            "time": f"{slot.start_time:%H:%M}-{slot.end_time:%H:%M}",
        },
        ref=Ref("appointment", booking.pk, "/appointments/mine/"),
        dedupe_key=f"appointment:{booking.pk}:{dedupe}",
    )


def booking_create(*, actor, slot_id: int, idempotency_key: str = "", channel: str = "portal") -> Booking:
    """Book one place of ``slot_id`` for the actor (a citizen or an enterprise's agent).

    Guarantees: never more bookings than the slot's capacity, whatever the concurrency;
    nothing in the past or on a day that is not a working day; one active booking per person,
    item and day; a citizen with too many no-shows is refused; a retry with the same
    ``idempotency_key`` returns the first booking. Sends the 预约成功 notice on commit."""
    _citizen_only(actor)
    key = (idempotency_key or "").strip()[:64]
    if key:
        earlier = Booking.objects.filter(citizen=actor, idempotency_key=key).select_related("slot__hall").first()
        if earlier is not None:
            return earlier
    try:
        with transaction.atomic():
            return _booking_create(actor=actor, slot_id=slot_id, key=key, channel=channel)
    except IntegrityError:
        # Lost a race: a parallel request with the same key, or of the same item and day.
        if key:
            earlier = Booking.objects.filter(citizen=actor, idempotency_key=key).select_related("slot__hall").first()
            if earlier is not None:
                return earlier
        slot = Slot.objects.filter(pk=slot_id).first()
        existing = _duplicate(actor, slot) if slot else None
        if existing is not None:
            raise _duplicate_error(existing) from None
        raise


def _booking_create(*, actor, slot_id: int, key: str, channel: str) -> Booking:
    slot = Slot.objects.select_related("hall").filter(pk=slot_id).first()
    if slot is None:
        raise NotFound(_("未找到该预约时段"), code="slot_not_found")
    _check_bookable(actor=actor, slot=slot, now=timezone.now())
    existing = _duplicate(actor, slot)
    if existing is not None:
        raise _duplicate_error(existing)
    _take_place(slot.pk)
    number = _new_number(slot)
    while Booking.objects.filter(number=number).exists():  # 10^8 numbers a day: rarely loops
        number = _new_number(slot)
    booking = Booking.objects.create(
        number=number,
        slot=slot,
        citizen=actor,
        item_code=slot.item_code,
        date=slot.date,
        channel=channel[:10],
        idempotency_key=key,
    )
    audit_record(
        actor=actor,
        action="appointments.booking_create",
        obj=booking,
        object_repr=booking.number,
        changes={"slot": slot.pk, "item": slot.item_code, "date": slot.date.isoformat(), "channel": booking.channel},
    )
    _notify(actor=actor, booking=booking, template="appointments.booked", dedupe="booked")
    return booking


def _own_booking(actor, number: str, *, lock: bool = True) -> Booking:
    qs = Booking.objects.select_related("slot__hall").filter(number=number, citizen_id=getattr(actor, "pk", None))
    if lock:
        qs = qs.select_for_update()
    booking = qs.first()
    if booking is None:
        raise NotFound(_("未找到该预约"), code="booking_not_found")
    return booking


@transaction.atomic
def booking_cancel(*, actor, number: str) -> Booking:
    """Cancel one's own booking before its slot starts; the place is given back."""
    booking = _own_booking(actor, number)
    if booking.state == BookingState.CANCELLED:
        return booking  # a second click: already done
    if booking.state != BookingState.BOOKED or slot_start_at(booking.slot) <= timezone.now():
        raise Conflict(_("该预约已签到或时段已开始,不能取消"), code="booking_not_cancellable")
    booking.state = BookingState.CANCELLED
    booking.cancelled_at = timezone.now()
    booking.save(update_fields=["state", "cancelled_at"])
    _release_place(booking.slot_id)
    audit_record(actor=actor, action="appointments.booking_cancel", obj=booking, object_repr=booking.number)
    return booking


@transaction.atomic
def booking_change(*, actor, number: str, slot_id: int) -> Booking:
    """Move one's own booking to another slot of the same hall and item (改约), keeping its
    number. Either both places move or neither does."""
    booking = _own_booking(actor, number)
    if booking.state != BookingState.BOOKED or slot_start_at(booking.slot) <= timezone.now():
        raise Conflict(_("该预约已签到、已取消或时段已开始,不能改约"), code="booking_not_changeable")
    slot = Slot.objects.select_related("hall").filter(pk=slot_id).first()
    if slot is None or slot.hall_id != booking.slot.hall_id or slot.item_code != booking.item_code:
        raise NotFound(_("未找到该预约时段(改约只能选择同一大厅、同一事项的时段)"), code="slot_not_found")
    if slot.pk == booking.slot_id:
        return booking
    _check_bookable(actor=actor, slot=slot, now=timezone.now())
    existing = _duplicate(actor, slot, exclude=booking.pk)
    if existing is not None:
        raise _duplicate_error(existing)
    _take_place(slot.pk)
    _release_place(booking.slot_id)
    before = booking.slot
    booking.slot = slot
    booking.date = slot.date
    booking.changed_at = timezone.now()
    booking.reminded_at = None
    booking.save(update_fields=["slot", "date", "changed_at", "reminded_at"])
    audit_record(
        actor=actor,
        action="appointments.booking_change",
        obj=booking,
        object_repr=booking.number,
        changes={"slot": [before.pk, slot.pk], "date": [before.date.isoformat(), slot.date.isoformat()]},
    )
    _notify(actor=actor, booking=booking, template="appointments.booked", dedupe=f"changed:{slot.pk}")
    return booking


def booking_reminders_send(*, now: datetime.datetime | None = None) -> int:
    """The day-before reminder: every active booking of the next working day (after today: a
    Friday reminds Monday's) not reminded yet gets the 预约提醒 (in-site and SMS). Idempotent
    (``reminded_at`` and the message dedupe key)."""
    now = now or timezone.now()
    tomorrow = working_calendar().next_working_day(timezone.localdate(now))
    sent = 0
    ids = list(
        Booking.objects.filter(state=BookingState.BOOKED, date__lte=tomorrow, date__gt=timezone.localdate(now))
        .filter(reminded_at__isnull=True)
        .values_list("pk", flat=True)
    )
    for pk in ids:
        with transaction.atomic():
            booking = Booking.objects.select_for_update().select_related("slot__hall", "citizen").get(pk=pk)
            if booking.reminded_at is not None or booking.state != BookingState.BOOKED:
                continue
            booking.reminded_at = now
            booking.save(update_fields=["reminded_at"])
            _notify(
                actor=TASK_ACTOR, booking=booking, template="appointments.reminder", dedupe=f"reminder:{booking.date}"
            )
            audit_record(
                actor=TASK_ACTOR, action="appointments.booking_remind", obj=booking, object_repr=booking.number
            )
            sent += 1
    return sent


@transaction.atomic
def booking_mark_no_shows(*, now: datetime.datetime | None = None) -> int:
    """Bookings still ``booked`` (not checked in) after their slot's end become ``no_show``."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    candidates = (
        Booking.objects.select_for_update().select_related("slot").filter(state=BookingState.BOOKED, date__lte=today)
    )
    marked = 0
    for booking in candidates:
        if slot_end_at(booking.slot) > now:
            continue
        booking.state = BookingState.NO_SHOW
        booking.no_show_at = now
        booking.save(update_fields=["state", "no_show_at"])
        audit_record(actor=TASK_ACTOR, action="appointments.booking_no_show", obj=booking, object_repr=booking.number)
        marked += 1
    return marked


# --- the window queue -------------------------------------------------------------------------


def _next_code(hall: Hall, date: datetime.date, prefix: str) -> str:
    QueueCounter.objects.get_or_create(hall=hall, date=date, prefix=prefix)
    QueueCounter.objects.filter(hall=hall, date=date, prefix=prefix).update(last=F("last") + 1)
    last = QueueCounter.objects.filter(hall=hall, date=date, prefix=prefix).values_list("last", flat=True).get()
    return f"{prefix}{last:03d}"


@transaction.atomic
def booking_check_in(*, actor, hall_id: int, number: str) -> QueueTicket:
    """The window (or the kiosk) checks a booking of today in: it gets an A-number in the queue.
    Checking in twice gives the same ticket."""
    hall = hall_get_for_staff(actor=actor, hall_id=hall_id)
    booking = (
        Booking.objects.select_for_update()
        .select_related("slot", "citizen")
        .filter(number=(number or "").strip().upper(), slot__hall=hall)
        .first()
    )
    if booking is None:
        raise NotFound(_("本大厅没有该预约号"), code="booking_not_found")
    return _check_in(actor=actor, booking=booking)


def _check_in(*, actor, booking: Booking) -> QueueTicket:
    existing = QueueTicket.objects.filter(booking=booking).first()
    if existing is not None:
        return existing
    today = timezone.localdate()
    if booking.date != today:
        raise Conflict(_("该预约不是今天的,不能签到(预约日期 %(date)s)") % {"date": booking.date}, code="not_today")
    if booking.state != BookingState.BOOKED:
        raise Conflict(_("该预约已取消或已记为爽约,请现场取号"), code="booking_not_active")
    booking.state = BookingState.CHECKED_IN
    booking.checked_in_at = timezone.now()
    booking.save(update_fields=["state", "checked_in_at"])
    ticket = QueueTicket.objects.create(
        hall=booking.slot.hall,
        date=today,
        code=_next_code(booking.slot.hall, today, "A"),
        kind=TicketKind.APPOINTMENT,
        booking=booking,
        item_code=booking.item_code,
        item_name=booking.slot.item_name,
        masked_name=mask_name(booking.citizen.real_name or ""),
    )
    audit_record(
        actor=actor,
        action="appointments.booking_check_in",
        obj=booking,
        object_repr=booking.number,
        changes={"ticket": ticket.code},
    )
    return ticket


@transaction.atomic
def booking_self_check_in(*, actor, number: str, device: KioskDevice) -> QueueTicket:
    """A citizen signed in at a kiosk checks in their own booking of that kiosk's hall today."""
    booking = _own_booking(actor, number)
    if booking.slot.hall_id != device.hall_id:
        raise NotFound(_("本大厅没有该预约号"), code="booking_not_found")
    return _check_in(actor=actor, booking=booking)


@transaction.atomic
def walk_in_issue(*, actor, hall_id: int, item_code: str, name: str = "") -> QueueTicket:
    """现场取号: a B-number for a walk-in of ``item_code`` (an item the hall offers)."""
    hall = hall_get_for_staff(actor=actor, hall_id=hall_id)
    template = SlotTemplate.objects.filter(hall=hall, item_code=(item_code or "").strip()).first()
    if template is None:
        raise _invalid("item_not_offered", _("本大厅不办理该事项"), "item_code")
    today = timezone.localdate()
    ticket = QueueTicket.objects.create(
        hall=hall,
        date=today,
        code=_next_code(hall, today, "B"),
        kind=TicketKind.WALK_IN,
        item_code=template.item_code,
        item_name=template.item_name,
        masked_name=mask_name((name or "").strip()[:40]) if name and name.strip() else "",
    )
    audit_record(actor=actor, action="appointments.walk_in_issue", obj=ticket, object_repr=ticket.code)
    return ticket


@transaction.atomic
def ticket_call_next(*, actor, hall_id: int, window_label: str) -> QueueTicket | None:
    """The window calls the next number: checked-in appointments first (预约优先), then walk-ins,
    each in the order they were issued. The ticket this window called before is marked done.
    Two windows calling at once never get the same ticket. None when nobody is waiting."""
    hall = hall_get_for_staff(actor=actor, hall_id=hall_id)
    if not may_work_hall(actor=actor, hall=hall):
        raise Forbidden(code="window_clerk_only")
    window_label = (window_label or "").strip()[:20]
    if not window_label:
        raise _invalid("window_required", _("请填写窗口号"), "window_label")
    today = timezone.localdate()
    now = timezone.now()
    QueueTicket.objects.filter(hall=hall, date=today, state=TicketState.CALLED, window_label=window_label).update(
        state=TicketState.DONE
    )
    waiting = QueueTicket.objects.filter(hall=hall, date=today, state=TicketState.WAITING)
    for kind in (TicketKind.APPOINTMENT, TicketKind.WALK_IN):
        candidates = waiting.filter(kind=kind).order_by("pk")
        if connection_supports_skip_locked():
            candidates = candidates.select_for_update(skip_locked=True)
        ticket = candidates.first()
        if ticket is not None:
            break
    else:
        return None
    claimed = QueueTicket.objects.filter(pk=ticket.pk, state=TicketState.WAITING).update(
        state=TicketState.CALLED, called_at=now, called_by=actor, window_label=window_label
    )
    if not claimed:  # pragma: no cover - guarded by the row lock / the write lock
        raise Conflict(code="ticket_taken")
    ticket.refresh_from_db()
    audit_record(
        actor=actor,
        action="appointments.ticket_call",
        obj=ticket,
        object_repr=ticket.code,
        changes={"window": window_label},
    )
    return ticket


def connection_supports_skip_locked() -> bool:
    from django.db import connection

    return connection.features.has_select_for_update_skip_locked


@transaction.atomic
def slot_template_set_active(*, actor, template_id, active: bool) -> SlotTemplate:
    """Stop (or resume) a weekly template row: slots already made keep their bookings; the next
    generation makes none (or again makes them) for it. The hall's administrators."""
    template = (
        SlotTemplate.objects.select_for_update().select_related("hall__department").filter(pk=template_id).first()
    )
    if template is None or (
        actor is not None and not may_manage_hall(actor=actor, department=template.hall.department)
    ):
        raise NotFound(code="template_not_found")
    if template.is_active != bool(active):
        template.is_active = bool(active)
        template.save(update_fields=["is_active"])
        audit_record(
            actor=actor,
            action="appointments.template_active",
            obj=template,
            changes={"item": template.item_code, "weekday": template.weekday, "active": template.is_active},
        )
    return template


@transaction.atomic
def kiosk_device_set_active(*, actor, device_id, active: bool) -> KioskDevice:
    """Switch a kiosk off (a stolen or replaced terminal: its cookie no longer works) or on again."""
    device = KioskDevice.objects.select_for_update().select_related("hall__department").filter(pk=device_id).first()
    if device is None or (actor is not None and not may_manage_hall(actor=actor, department=device.hall.department)):
        raise NotFound(code="kiosk_not_found")
    if device.is_active != bool(active):
        device.is_active = bool(active)
        device.save(update_fields=["is_active"])
        audit_record(
            actor=actor,
            action="appointments.kiosk_active",
            obj=device,
            object_repr=device.name,
            changes={"active": device.is_active},
        )
    return device


# --- kiosks -----------------------------------------------------------------------------------


@dataclass
class NewDevice:
    device: KioskDevice
    code: str  # shown once, to type on the terminal


@transaction.atomic
def kiosk_device_create(*, actor, hall: Hall, name: str, code: str = "") -> NewDevice:
    """Register a kiosk of ``hall``; returns its activation code (shown once; its digest is kept).
    ``code``: a given code instead of a random one (the demo's published one)."""
    if actor is not None and not may_manage_hall(actor=actor, department=hall.department):
        raise NotFound(code="hall_not_found")
    code = (code or "").strip().upper().replace(" ", "") or secrets.token_hex(8).upper()
    device = KioskDevice.objects.create(
        hall=hall, name=(name or "").strip()[:100] or _("自助终端"), code_digest=blind_index(code)
    )
    audit_record(actor=actor, action="appointments.kiosk_create", obj=device, object_repr=device.name)
    return NewDevice(device, code)


def kiosk_device_activate(*, code: str, ip: str) -> KioskDevice:
    """The device whose activation code this is (rate-limited per client IP)."""
    code = (code or "").strip().upper().replace(" ", "")
    with ratelimit.failure_limit("kiosk_activate_ip", ip):
        device = KioskDevice.objects.filter(code_digest=blind_index(code), is_active=True).first() if code else None
        if device is None:
            raise NotFound(_("激活码无效"), code="kiosk_code_invalid", fields={"code": [_("激活码无效")]})
    return device


@dataclass
class NewKioskLogin:
    login: KioskLogin
    token: str


@transaction.atomic
def kiosk_login_start(*, device: KioskDevice) -> NewKioskLogin:
    """A new one-time QR sign-in for the kiosk (valid ``YIWANG_KIOSK_QR_SECONDS``, default 120)."""
    token = secrets.token_urlsafe(24)
    login = KioskLogin.objects.create(
        device=device,
        token_digest=blind_index(token),
        expires_at=timezone.now() + datetime.timedelta(seconds=_setting("YIWANG_KIOSK_QR_SECONDS", 120)),
    )
    return NewKioskLogin(login, token)


def _pending_login(token: str) -> KioskLogin:
    login = (
        KioskLogin.objects.select_for_update()
        .select_related("device__hall")
        .filter(token_digest=blind_index(token or ""))
        .first()
    )
    if login is None or login.state != KioskLoginState.PENDING or login.expires_at <= timezone.now():
        raise NotFound(_("二维码已失效,请在自助终端上刷新二维码后重新扫码"), code="kiosk_qr_invalid")
    return login


def kiosk_login_peek(*, token: str) -> KioskLogin:
    """The pending QR sign-in of ``token`` (for the phone's confirmation page)."""
    with transaction.atomic():
        return _pending_login(token)


@transaction.atomic
def kiosk_login_confirm(*, actor, token: str) -> KioskLogin:
    """The citizen, signed in on the phone, confirms the kiosk's QR: the kiosk may sign in as them."""
    if not getattr(actor, "is_authenticated", False) or actor.kind == "staff":
        raise NotFound(_("二维码已失效,请在自助终端上刷新二维码后重新扫码"), code="kiosk_qr_invalid")
    login = _pending_login(token)
    login.state = KioskLoginState.CONFIRMED
    login.user = actor
    login.confirmed_at = timezone.now()
    login.save(update_fields=["state", "user", "confirmed_at"])
    audit_record(
        actor=actor,
        action="appointments.kiosk_qr_confirm",
        obj=login.device,
        object_repr=login.device.name,
        changes={"login": login.pk},
    )
    return login


@transaction.atomic
def kiosk_login_claim(*, login_id: int, device: KioskDevice):
    """The kiosk's poll: the confirmed user once (then the login is used), else None."""
    login = KioskLogin.objects.select_for_update().filter(pk=login_id, device=device).first()
    if login is None or login.state != KioskLoginState.CONFIRMED or login.user is None:
        return None
    login.state = KioskLoginState.USED
    login.used_at = timezone.now()
    login.save(update_fields=["state", "used_at"])
    audit_record(
        actor=login.user,
        action="appointments.kiosk_login",
        obj=device,
        object_repr=device.name,
        changes={"method": "qr"},
    )
    return login.user


def kiosk_sms_send(*, device: KioskDevice, id_number: str) -> None:
    """Send a six-digit sign-in code to the phone registered for ``id_number``. Rate-limited per
    ID number and per kiosk; answers the same whether or not the number has an account (no
    enumeration). The code expires after ``YIWANG_KIOSK_SMS_SECONDS`` (default 300).

    The SMS is sent at once through the messaging app's SMS gateway (``send_sms``) with the
    wording of the notice ``appointments.kiosk_code``, and is **not** stored in the message log:
    the code exists only as a keyed digest here and in the text that left for the gateway. The
    sending is logged on the code's row (masked number, receipt or error) and audited."""
    from yiwang.core.masking import mask_phone
    from yiwang.messaging.services import sms_send_unlogged

    id_number = (id_number or "").strip().upper()
    if len(id_number) != 18:
        raise _invalid("id_number_invalid", _("请输入 18 位居民身份证号码"), "id_number")
    if not (getattr(settings, "YIWANG_SMS_GATEWAY_URL", "") or "").strip():
        # Said to everyone alike, before the number is looked up: it tells nothing about accounts.
        raise Conflict(_("本终端暂不能发送短信验证码,请用手机扫码登录。"), code="sms_unavailable")
    ratelimit.consume("kiosk_sms_id", id_number)
    ratelimit.consume("kiosk_sms_device", str(device.pk))
    user = user_get_by_id_number(id_number=id_number)
    if user is None or not user.is_active or user.kind == "staff" or not user.phone:
        return
    code = f"{secrets.randbelow(10**6):06d}"
    minutes = _setting("YIWANG_KIOSK_SMS_SECONDS", 300) // 60
    with transaction.atomic():
        KioskSmsCode.objects.filter(user=user, device=device, used_at__isnull=True).update(used_at=timezone.now())
        row = KioskSmsCode.objects.create(
            device=device,
            user=user,
            code_digest=blind_index(f"{user.pk}:{code}"),
            expires_at=timezone.now() + datetime.timedelta(seconds=_setting("YIWANG_KIOSK_SMS_SECONDS", 300)),
        )
    try:
        sent = sms_send_unlogged(
            recipient=user,
            template_code="appointments.kiosk_code",
            context={"code": code, "hall": device.hall.name, "minutes": minutes},
            ref=f"kiosk-code-{row.pk}",
        )
    except Exception as exc:  # Skip or DeliveryError of the gateway (or a fault in it): the code is void
        row.error, row.used_at = str(exc)[:300], timezone.now()
    else:
        row.sent_at, row.phone_masked, row.provider_ref = timezone.now(), sent.address, sent.provider_ref[:100]
    del code
    with transaction.atomic():
        row.save(update_fields=["error", "used_at", "sent_at", "phone_masked", "provider_ref"])
        audit_record(
            actor=TASK_ACTOR,
            action="appointments.kiosk_code_sent" if row.sent_at else "appointments.kiosk_code_failed",
            obj=device,
            object_repr=device.name,
            changes={"user": user.pk, "phone": row.phone_masked or mask_phone(user.phone), "error": row.error[:100]},
        )


def kiosk_sms_verify(*, device: KioskDevice, id_number: str, code: str):
    """The user whose latest unused, unexpired code for this kiosk is ``code``; five wrong codes
    (per ID number, ``kiosk_sms_verify`` rate limit) lock further tries for the window."""
    id_number = (id_number or "").strip().upper()
    wrong = _invalid("sms_code_invalid", _("验证码错误或已过期,请重新获取"), "code")
    with ratelimit.failure_limit("kiosk_sms_verify", id_number, failures=(ValidationFailed,)), transaction.atomic():
        user = user_get_by_id_number(id_number=id_number)
        row = None
        if user is not None:
            row = (
                KioskSmsCode.objects.select_for_update()
                .filter(user=user, device=device, used_at__isnull=True, expires_at__gt=timezone.now())
                .order_by("-pk")
                .first()
            )
        if row is None or row.code_digest != blind_index(f"{user.pk}:{(code or '').strip()}"):
            raise wrong
        row.used_at = timezone.now()
        row.save(update_fields=["used_at"])
        audit_record(
            actor=user,
            action="appointments.kiosk_login",
            obj=device,
            object_repr=device.name,
            changes={"method": "sms"},
        )
    return user
