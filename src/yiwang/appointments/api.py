"""Appointment endpoints, mounted at /api/v1/appointments/.

Public reads (halls, their slots) need no sign-in; booking, changing and cancelling are the
signed-in citizen's own (``404 booking_not_found`` for anybody else's). Window operations
(today's queue, check-in, walk-in numbers, calling the next number) are the hall's staff's.
Thin: reads are selectors, writes are services.
"""

import datetime

from django.http import HttpRequest
from ninja import Field, Header, Router, Schema
from ninja.responses import Status as Respond

from yiwang.appointments import selectors, services
from yiwang.appointments.models import Booking, BookingState, QueueTicket, Slot, TicketKind, TicketState
from yiwang.core.api_errors import ErrorOut
from yiwang.identity.auth import api_auth

router = Router(tags=["appointments"], auth=api_auth)

READ_ERRORS = {401: ErrorOut, 404: ErrorOut}
WRITE_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 429: ErrorOut}


class HallOut(Schema):
    id: int
    name: str
    address: str
    items: list[dict] = Field(description='[{"code", "name"}] offered at the hall')


class SlotOut(Schema):
    id: int
    hall_id: int
    item_code: str
    item_name: str
    date: datetime.date
    start_time: str = Field(description="HH:MM, local time (Asia/Shanghai by default)")
    end_time: str = Field(description="HH:MM, local time")
    capacity: int
    remaining: int


class BookingOut(Schema):
    number: str
    state: BookingState
    state_label: str
    hall_id: int
    hall_name: str
    slot: SlotOut
    created_at: datetime.datetime
    changed_at: datetime.datetime | None
    cancelled_at: datetime.datetime | None
    checked_in_at: datetime.datetime | None


class BookingIn(Schema):
    slot_id: int
    idempotency_key: str = Field("", max_length=64, description="Or the Idempotency-Key header")


class ChangeIn(Schema):
    slot_id: int


class QueueTicketOut(Schema):
    code: str
    kind: TicketKind
    state: TicketState
    item_code: str
    item_name: str
    masked_name: str
    window_label: str
    booking_number: str | None


class CheckInIn(Schema):
    number: str = Field(..., max_length=20)


class WalkInIn(Schema):
    item_code: str = Field(..., max_length=64)
    name: str = Field("", max_length=40)


class CallIn(Schema):
    window_label: str = Field(..., max_length=20)


class TodayOut(Schema):
    hall_id: int
    date: datetime.date
    bookings: list[dict] = Field(description='[{"number", "time", "item_name", "masked_name", "state"}]')
    tickets: list[QueueTicketOut]


def _slot_out(slot: Slot) -> dict:
    return {
        "id": slot.pk,
        "hall_id": slot.hall_id,
        "item_code": slot.item_code,
        "item_name": slot.item_name,
        "date": slot.date,
        "start_time": f"{slot.start_time:%H:%M}",
        "end_time": f"{slot.end_time:%H:%M}",
        "capacity": slot.capacity,
        "remaining": slot.remaining,
    }


def _booking_out(booking: Booking) -> dict:
    return {
        "number": booking.number,
        "state": booking.state,
        "state_label": str(booking.get_state_display()),
        "hall_id": booking.slot.hall_id,
        "hall_name": booking.slot.hall.name,
        "slot": _slot_out(booking.slot),
        "created_at": booking.created_at,
        "changed_at": booking.changed_at,
        "cancelled_at": booking.cancelled_at,
        "checked_in_at": booking.checked_in_at,
    }


def _ticket_out(ticket: QueueTicket) -> dict:
    return {
        "code": ticket.code,
        "kind": ticket.kind,
        "state": ticket.state,
        "item_code": ticket.item_code,
        "item_name": ticket.item_name,
        "masked_name": ticket.masked_name,
        "window_label": ticket.window_label,
        "booking_number": ticket.booking.number if ticket.booking_id else None,
    }


# --- public ------------------------------------------------------------------------------------


@router.get("/halls", auth=None, response=list[HallOut], summary="Halls taking bookings")
def appointment_halls(request: HttpRequest):
    return [
        {
            "id": h.pk,
            "name": h.name,
            "address": h.address,
            "items": [{"code": c, "name": n} for c, n in selectors.hall_items(hall=h)],
        }
        for h in selectors.hall_list()
    ]


@router.get("/halls/{int:hall_id}/slots", auth=None, response={200: list[SlotOut], 404: ErrorOut}, summary="Slots")
def appointment_slots(request: HttpRequest, hall_id: int, item: str = "", date_from: datetime.date | None = None):
    """Future slots of the hall (optionally of one item), for two weeks from ``date_from``."""
    hall = selectors.hall_get(hall_id=hall_id)
    return [_slot_out(s) for s in selectors.slot_list(hall_id=hall.pk, item_code=item, date_from=date_from)]


# --- the citizen -------------------------------------------------------------------------------


@router.post("/bookings", response={201: BookingOut, **WRITE_ERRORS}, summary="Book a slot")
def appointment_book(
    request: HttpRequest, payload: BookingIn, idempotency_key: str = Header("", alias="Idempotency-Key")
):
    """``409 slot_full``; ``422 slot_past`` / ``slot_holiday`` / ``duplicate_booking`` (one booking of
    an item per day) / ``no_show_limited``. The same idempotency key returns the first booking."""
    booking = services.booking_create(
        actor=request.auth,
        slot_id=payload.slot_id,
        idempotency_key=idempotency_key or payload.idempotency_key,
        channel="api",
    )
    return Respond(201, _booking_out(selectors.booking_get_mine(actor=request.auth, number=booking.number)))


@router.get("/bookings/mine", response={200: list[BookingOut], 401: ErrorOut}, summary="My bookings")
def appointment_my_bookings(request: HttpRequest):
    return [_booking_out(b) for b in selectors.booking_list_mine(actor=request.auth)[:200]]


@router.get("/bookings/{number}", response={200: BookingOut, **READ_ERRORS}, summary="One of my bookings")
def appointment_detail(request: HttpRequest, number: str):
    return _booking_out(selectors.booking_get_mine(actor=request.auth, number=number))


@router.post("/bookings/{number}/cancel", response={200: BookingOut, **WRITE_ERRORS}, summary="Cancel my booking")
def appointment_cancel(request: HttpRequest, number: str):
    booking = services.booking_cancel(actor=request.auth, number=number)
    return _booking_out(selectors.booking_get_mine(actor=request.auth, number=booking.number))


@router.post("/bookings/{number}/change", response={200: BookingOut, **WRITE_ERRORS}, summary="Move my booking")
def appointment_change(request: HttpRequest, number: str, payload: ChangeIn):
    """To another slot of the same hall and item; the number stays."""
    booking = services.booking_change(actor=request.auth, number=number, slot_id=payload.slot_id)
    return _booking_out(selectors.booking_get_mine(actor=request.auth, number=booking.number))


# --- the window --------------------------------------------------------------------------------


@router.get("/halls/{int:hall_id}/today", response={200: TodayOut, **READ_ERRORS}, summary="Today's queue (staff)")
def appointment_hall_today(request: HttpRequest, hall_id: int):
    from yiwang.core.masking import mask_name

    today = selectors.hall_today(actor=request.auth, hall_id=hall_id)
    return {
        "hall_id": today["hall"].pk,
        "date": today["today"],
        "bookings": [
            {
                "number": b.number,
                "time": f"{b.slot.start_time:%H:%M}-{b.slot.end_time:%H:%M}",
                "item_name": b.slot.item_name,
                "masked_name": mask_name(b.citizen.real_name or ""),
                "state": b.state,
            }
            for b in today["bookings"]
        ],
        "tickets": [_ticket_out(t) for t in today["tickets"]],
    }


@router.post(
    "/halls/{int:hall_id}/check-in", response={201: QueueTicketOut, **WRITE_ERRORS}, summary="Check a booking in"
)
def appointment_check_in(request: HttpRequest, hall_id: int, payload: CheckInIn):
    ticket = services.booking_check_in(actor=request.auth, hall_id=hall_id, number=payload.number)
    return Respond(201, _ticket_out(ticket))


@router.post("/halls/{int:hall_id}/walk-in", response={201: QueueTicketOut, **WRITE_ERRORS}, summary="Walk-in number")
def appointment_walk_in(request: HttpRequest, hall_id: int, payload: WalkInIn):
    ticket = services.walk_in_issue(actor=request.auth, hall_id=hall_id, item_code=payload.item_code, name=payload.name)
    return Respond(201, _ticket_out(ticket))


@router.post(
    "/halls/{int:hall_id}/call-next", response={200: QueueTicketOut, 204: None, **WRITE_ERRORS}, summary="Call next"
)
def appointment_call_next(request: HttpRequest, hall_id: int, payload: CallIn):
    """The next waiting number (checked-in bookings first); ``204`` when nobody waits."""
    ticket = services.ticket_call_next(actor=request.auth, hall_id=hall_id, window_label=payload.window_label)
    if ticket is None:
        return Respond(204, None)
    return _ticket_out(ticket)
