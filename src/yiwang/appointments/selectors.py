"""Appointment reads, scoped to the actor. A booking that is not the actor's, or a hall the
staff member does not work in, raises ``NotFound`` exactly like a missing one."""

import datetime

from django.db.models import QuerySet
from django.utils import timezone

from yiwang.appointments.models import (
    Booking,
    BookingState,
    Hall,
    KioskDevice,
    KioskLogin,
    KioskLoginState,
    QueueTicket,
    Slot,
    SlotTemplate,
    TicketState,
)
from yiwang.core.errors import NotFound
from yiwang.identity.models import Role
from yiwang.identity.selectors import actor_grants

HALL_STAFF_ROLES = (Role.WINDOW_CLERK, Role.DEPARTMENT_HEAD, Role.DEPARTMENT_ADMIN, Role.CITY_ADMIN)
HALL_ADMIN_ROLES = (Role.DEPARTMENT_ADMIN, Role.CITY_ADMIN)


def slot_start_at(slot: Slot) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(slot.date, slot.start_time))


def slot_end_at(slot: Slot) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(slot.date, slot.end_time))


def _covers(grant, department) -> bool:
    if grant.department_id == department.pk:
        return True
    return grant.include_descendants and department.path.startswith(grant.department.path)


def _has(actor, department, roles) -> bool:
    if not getattr(actor, "is_authenticated", False):
        return False
    if actor.is_superuser:
        return True
    return any(g.role in roles and _covers(g, department) for g in actor_grants(actor=actor))


def may_manage_hall(*, actor, department) -> bool:
    """City and department administrators of the hall's department (or above, with descendants)."""
    return _has(actor, department, HALL_ADMIN_ROLES)


def may_work_hall(*, actor, hall: Hall) -> bool:
    """Window clerks of the hall call numbers; superusers too."""
    return _has(actor, hall.department, (Role.WINDOW_CLERK,))


def hall_list() -> QuerySet[Hall]:
    """Halls taking bookings (public)."""
    return Hall.objects.filter(is_active=True).select_related("department").order_by("pk")


def hall_get(*, hall_id: int) -> Hall:
    hall = Hall.objects.filter(pk=hall_id, is_active=True).first()
    if hall is None:
        raise NotFound(code="hall_not_found")
    return hall


def halls_for_staff(*, actor) -> list[Hall]:
    """The halls whose queue the actor may see: window clerks, heads and admins of the hall."""
    halls = Hall.objects.select_related("department").order_by("pk")
    return [h for h in halls if _has(actor, h.department, HALL_STAFF_ROLES)]


def hall_get_for_staff(*, actor, hall_id: int) -> Hall:
    hall = Hall.objects.select_related("department").filter(pk=hall_id).first()
    if hall is None or not _has(actor, hall.department, HALL_STAFF_ROLES):
        raise NotFound(code="hall_not_found")
    return hall


def hall_items(*, hall: Hall) -> list[tuple[str, str]]:
    """(item code, item name) offered at the hall, from its active templates."""
    rows = SlotTemplate.objects.filter(hall=hall, is_active=True).values_list("item_code", "item_name").distinct()
    return sorted(set(rows))


def slot_list(
    *, hall_id: int, item_code: str = "", date_from: datetime.date | None = None, days: int = 14
) -> QuerySet[Slot]:
    """Future slots of a hall (and item), soonest first; past ones and holidays never bookable anyway."""
    today = timezone.localdate()
    date_from = max(date_from or today, today)
    slots = Slot.objects.filter(hall_id=hall_id, hall__is_active=True, date__gte=date_from)
    slots = slots.filter(date__lte=date_from + datetime.timedelta(days=days))
    if item_code:
        slots = slots.filter(item_code=item_code)
    return slots.select_related("hall").order_by("date", "start_time", "item_code")


def slot_get(*, slot_id: int) -> Slot:
    slot = Slot.objects.select_related("hall").filter(pk=slot_id).first()
    if slot is None:
        raise NotFound(code="slot_not_found")
    return slot


def booking_list_mine(*, actor) -> QuerySet[Booking]:
    if not getattr(actor, "is_authenticated", False):
        return Booking.objects.none()
    return Booking.objects.filter(citizen=actor).select_related("slot__hall").order_by("-date", "-pk")


def booking_get_mine(*, actor, number: str) -> Booking:
    booking = booking_list_mine(actor=actor).filter(number=(number or "").strip().upper()).first()
    if booking is None:
        raise NotFound(code="booking_not_found")
    return booking


def no_show_count(*, citizen, days: int) -> int:
    since = timezone.localdate() - datetime.timedelta(days=days)
    return Booking.objects.filter(citizen=citizen, state=BookingState.NO_SHOW, date__gte=since).count()


def hall_today(*, actor, hall_id: int) -> dict:
    """The window clerk's view: today's bookings and the queue of the hall."""
    hall = hall_get_for_staff(actor=actor, hall_id=hall_id)
    today = timezone.localdate()
    bookings = (
        Booking.objects.filter(slot__hall=hall, date=today)
        .select_related("slot", "citizen")
        .order_by("slot__start_time", "pk")
    )
    tickets = QueueTicket.objects.filter(hall=hall, date=today).order_by("pk")
    return {"hall": hall, "bookings": list(bookings), "tickets": list(tickets), "today": today}


def screen_board(*, hall_id: int, limit: int = 8) -> dict:
    """The hall screen (public): the latest called numbers with their windows, masked names only,
    and how many are waiting."""
    hall = hall_get(hall_id=hall_id)
    today = timezone.localdate()
    called = list(
        QueueTicket.objects.filter(hall=hall, date=today, called_at__isnull=False)
        .order_by("-called_at", "-pk")
        .values("code", "window_label", "masked_name", "item_name")[:limit]
    )
    waiting = QueueTicket.objects.filter(hall=hall, date=today, state=TicketState.WAITING).count()
    return {"hall": hall, "called": called, "waiting": waiting, "today": today}


def kiosk_device_get(*, device_id: int) -> KioskDevice:
    device = KioskDevice.objects.select_related("hall").filter(pk=device_id, is_active=True).first()
    if device is None:
        raise NotFound(code="kiosk_not_found")
    return device


def kiosk_login_expired(*, login_id: int) -> bool:
    """Whether the kiosk's QR sign-in is gone or past its time (the kiosk then shows a new QR)."""
    login = KioskLogin.objects.filter(pk=login_id).first()
    return login is None or (login.state == KioskLoginState.PENDING and login.expires_at <= timezone.now())


# --- configuration (halls, weekly templates, kiosks): the hall's administrators ------------------


def hall_departments_manageable(*, actor) -> list:
    """Departments where window clerks work (the candidates for a hall) that the actor administers."""
    from yiwang.identity.models import Department, RoleGrant

    ids = RoleGrant.objects.filter(role=Role.WINDOW_CLERK).values("department_id")
    departments = Department.objects.filter(pk__in=ids, is_active=True).order_by("path")
    return [d for d in departments if may_manage_hall(actor=actor, department=d)]


def halls_manageable(*, actor) -> list[Hall]:
    halls = Hall.objects.select_related("department").order_by("pk")
    return [h for h in halls if may_manage_hall(actor=actor, department=h.department)]


def hall_get_manageable(*, actor, hall_id) -> Hall:
    hall = Hall.objects.select_related("department").filter(pk=hall_id).first()
    if hall is None or not may_manage_hall(actor=actor, department=hall.department):
        raise NotFound(code="hall_not_found")
    return hall


def hall_setup(*, actor, hall_id) -> dict:
    """A hall's configuration for its administrator: its templates and kiosks."""
    hall = hall_get_manageable(actor=actor, hall_id=hall_id)
    return {
        "hall": hall,
        "templates": list(SlotTemplate.objects.filter(hall=hall).order_by("item_code", "weekday", "start_time")),
        "kiosks": list(KioskDevice.objects.filter(hall=hall).order_by("pk")),
    }
