"""Booking rules, the window queue and the jobs, through the services."""

import datetime

import pytest
from django.utils import timezone

from yiwang.appointments import selectors, services
from yiwang.appointments.models import Booking, BookingState, Slot, TicketState
from yiwang.appointments.tests.factories import ITEM, future_slot
from yiwang.core.audit import verify_chain
from yiwang.core.calendar import holiday_set, is_working_day, next_working_day
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.models import AuditEvent
from yiwang.messaging.models import Message

pytestmark = pytest.mark.django_db


def test_slots_are_generated_on_working_days_only(world):
    today = datetime.date(2026, 9, 28)  # Monday before 国庆 (Oct 1-8, 2026 off)
    created = services.slots_generate(actor=world.tree.root, days=5, today=today)
    dates = sorted(set(Slot.objects.values_list("date", flat=True)))
    assert created == len(dates) and all(is_working_day(d) for d in dates)
    assert datetime.date(2026, 10, 1) not in dates and datetime.date(2026, 10, 5) not in dates
    assert services.slots_generate(actor=world.tree.root, days=5, today=today) == 0  # idempotent


def test_book_notify_and_audit(world):
    slot = future_slot(world)
    booking = services.booking_create(actor=world.citizen, slot_id=slot.pk)
    slot.refresh_from_db()
    assert slot.booked == 1 and booking.number.startswith("YY") and booking.state == BookingState.BOOKED
    messages = Message.objects.filter(recipient=world.citizen, template_code="appointments.booked")
    assert {m.channel for m in messages} == {"in_app", "sms"}
    assert booking.number in messages.get(channel="in_app").body
    assert AuditEvent.objects.filter(action="appointments.booking_create", object_id=str(booking.pk)).exists()
    assert verify_chain() is None


def test_full_slot_refused_in_chinese(world):
    slot = future_slot(world, capacity=1)
    services.booking_create(actor=world.citizen, slot_id=slot.pk)
    with pytest.raises(Conflict) as refused:
        services.booking_create(actor=world.other, slot_id=slot.pk)
    assert refused.value.code == "slot_full" and "约满" in str(refused.value.message)
    slot.refresh_from_db()
    assert slot.booked == 1


def test_second_booking_same_item_same_day_refused(world):
    first = future_slot(world, start=9)
    second = future_slot(world, start=10)
    booking = services.booking_create(actor=world.citizen, slot_id=first.pk)
    with pytest.raises(ValidationFailed) as refused:
        services.booking_create(actor=world.citizen, slot_id=second.pk)
    assert refused.value.code == "duplicate_booking" and booking.number in str(refused.value.message)
    second.refresh_from_db()
    assert second.booked == 0  # nothing half-written


def test_past_and_holiday_slots_refused(world):
    past = Slot.objects.create(
        hall=world.hall,
        item_code=ITEM,
        item_name="x",
        date=timezone.localdate() - datetime.timedelta(days=1),
        start_time=datetime.time(9),
        end_time=datetime.time(10),
        capacity=5,
    )
    with pytest.raises(ValidationFailed) as refused:
        services.booking_create(actor=world.citizen, slot_id=past.pk)
    assert refused.value.code == "slot_past" and "过去" in str(refused.value.message)
    slot = future_slot(world)
    holiday_set(actor=world.tree.root, date=slot.date, kind="holiday", name="临时休息日")
    with pytest.raises(ValidationFailed) as refused:
        services.booking_create(actor=world.citizen, slot_id=slot.pk)
    assert refused.value.code == "slot_holiday" and "节假日" in str(refused.value.message)


def test_idempotent_double_click(world):
    slot = future_slot(world)
    a = services.booking_create(actor=world.citizen, slot_id=slot.pk, idempotency_key="k1")
    b = services.booking_create(actor=world.citizen, slot_id=slot.pk, idempotency_key="k1")
    assert a.pk == b.pk
    slot.refresh_from_db()
    assert slot.booked == 1


def test_staff_cannot_book(world):
    with pytest.raises(Forbidden):
        services.booking_create(actor=world.clerk, slot_id=future_slot(world).pk)


def test_change_moves_place_and_cancel_gives_it_back(world):
    first = future_slot(world, start=9)
    later = future_slot(world, days=4, start=14)
    booking = services.booking_create(actor=world.citizen, slot_id=first.pk)
    with pytest.raises(NotFound):  # somebody else's booking looks missing
        services.booking_change(actor=world.other, number=booking.number, slot_id=later.pk)
    services.booking_change(actor=world.citizen, number=booking.number, slot_id=later.pk)
    first.refresh_from_db()
    later.refresh_from_db()
    assert (first.booked, later.booked) == (0, 1)
    services.booking_cancel(actor=world.citizen, number=booking.number)
    services.booking_cancel(actor=world.citizen, number=booking.number)  # second click: no error
    later.refresh_from_db()
    assert later.booked == 0
    # The place is free again for someone else, and a new booking of the same day is allowed.
    services.booking_create(actor=world.citizen, slot_id=later.pk)


def test_change_to_full_slot_keeps_old_place(world):
    first = future_slot(world, start=9)
    full = future_slot(world, start=15, capacity=1)
    services.booking_create(actor=world.other, slot_id=full.pk)
    booking = services.booking_create(actor=world.citizen, slot_id=first.pk)
    with pytest.raises(Conflict):
        services.booking_change(actor=world.citizen, number=booking.number, slot_id=full.pk)
    booking.refresh_from_db()
    first.refresh_from_db()
    assert booking.slot_id == first.pk and first.booked == 1


def test_reminder_the_day_before(world):
    slot = future_slot(world, days=1)
    booking = services.booking_create(actor=world.citizen, slot_id=slot.pk)
    later = future_slot(world, days=3, start=11)
    services.booking_create(actor=world.other, slot_id=later.pk)
    assert services.booking_reminders_send() == 1
    assert services.booking_reminders_send() == 0
    reminders = Message.objects.filter(template_code="appointments.reminder")
    assert {m.recipient_id for m in reminders} == {world.citizen.pk}
    booking.refresh_from_db()
    assert booking.reminded_at is not None


def test_no_shows_marked_and_limit(world, settings):
    settings.YIWANG_APPOINTMENT_NO_SHOW_LIMIT = 2
    slots = [future_slot(world, days=d) for d in (1, 2)]
    for slot in slots:
        services.booking_create(actor=world.citizen, slot_id=slot.pk)
    after = timezone.make_aware(datetime.datetime.combine(slots[1].date, datetime.time(11)))
    assert services.booking_mark_no_shows(now=after) == 2
    Booking.objects.filter(citizen=world.citizen).update(date=timezone.localdate())  # within the period
    with pytest.raises(ValidationFailed) as refused:
        services.booking_create(actor=world.citizen, slot_id=future_slot(world, days=5).pk)
    assert refused.value.code == "no_show_limited" and "爽约" in str(refused.value.message)


def test_queue_check_in_walk_in_and_call_next(world):
    today = timezone.localdate()
    slot = Slot.objects.create(
        hall=world.hall,
        item_code=ITEM,
        item_name="个体工商户设立登记",
        date=today,
        start_time=datetime.time(23, 58),
        end_time=datetime.time(23, 59),
        capacity=2,
    )
    if not is_working_day(today):
        holiday_set(actor=world.tree.root, date=today, kind="workday", name="测试")
    booking = services.booking_create(actor=world.citizen, slot_id=slot.pk)
    walk = services.walk_in_issue(actor=world.clerk, hall_id=world.hall.pk, item_code=ITEM, name="王五")
    ticket = services.booking_check_in(actor=world.clerk, hall_id=world.hall.pk, number=booking.number)
    assert services.booking_check_in(actor=world.clerk, hall_id=world.hall.pk, number=booking.number).pk == ticket.pk
    assert (walk.code, ticket.code) == ("B001", "A001") and ticket.masked_name == "张*"
    first = services.ticket_call_next(actor=world.clerk, hall_id=world.hall.pk, window_label="3号窗口")
    assert first.pk == ticket.pk  # 预约优先
    second = services.ticket_call_next(actor=world.clerk, hall_id=world.hall.pk, window_label="3号窗口")
    assert second.pk == walk.pk
    ticket.refresh_from_db()
    assert ticket.state == TicketState.DONE
    assert services.ticket_call_next(actor=world.clerk, hall_id=world.hall.pk, window_label="3号窗口") is None
    board = selectors.screen_board(hall_id=world.hall.pk)
    assert [c["code"] for c in board["called"]] == ["B001", "A001"]
    with pytest.raises(NotFound):  # a citizen is no clerk: the hall looks missing
        services.ticket_call_next(actor=world.citizen, hall_id=world.hall.pk, window_label="1")
    with pytest.raises(ValidationFailed):
        services.walk_in_issue(actor=world.clerk, hall_id=world.hall.pk, item_code="NOPE")


def test_check_in_other_day_refused(world):
    booking = services.booking_create(actor=world.citizen, slot_id=future_slot(world).pk)
    with pytest.raises(Conflict) as refused:
        services.booking_check_in(actor=world.clerk, hall_id=world.hall.pk, number=booking.number)
    assert refused.value.code == "not_today"
    assert next_working_day(timezone.localdate()) <= booking.date
