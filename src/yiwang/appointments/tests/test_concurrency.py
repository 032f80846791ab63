"""Capacity under real concurrency: many threads, each on its own database connection, book the
last places of one slot at the same moment. Runs on SQLite (IMMEDIATE transactions) and, with
DATABASE_URL on PostgreSQL, on row locks (``-m postgres``)."""

import pytest

from yiwang.appointments import services
from yiwang.appointments.models import Booking, BookingState
from yiwang.appointments.tests.factories import future_slot, make_citizen
from yiwang.core.errors import Conflict
from yiwang.core.tests.concurrency import run_together

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def message_templates():
    """A transactional test starts from flushed tables: put the migration's notices back."""
    import importlib

    from django.apps import apps

    importlib.import_module("yiwang.appointments.migrations.0002_message_templates").seed(apps, None)


def _race(world, clients: int, capacity: int):
    slot = future_slot(world, capacity=capacity)
    people = [make_citizen(f"c{n:02d}", f"市民{n}", 100 + n) for n in range(clients)]
    results = run_together(
        [lambda person=person: services.booking_create(actor=person, slot_id=slot.pk) for person in people]
    )
    booked = [r for r in results if isinstance(r, Booking)]
    full = [r for r in results if isinstance(r, Conflict) and r.code == "slot_full"]
    assert len(booked) == capacity, results
    assert len(full) == clients - capacity, [r for r in results if not isinstance(r, Booking | Conflict)]
    slot.refresh_from_db()
    assert slot.booked == capacity == Booking.objects.filter(slot=slot, state=BookingState.BOOKED).count()
    return slot


def test_twelve_clients_three_places(world):
    _race(world, clients=12, capacity=3)


def test_one_person_double_submits_in_parallel(world):
    slot = future_slot(world, capacity=5)
    results = run_together([lambda: services.booking_create(actor=world.citizen, slot_id=slot.pk)] * 4)
    assert sum(isinstance(r, Booking) for r in results) == 1, results
    slot.refresh_from_db()
    assert slot.booked == 1


@pytest.mark.postgres
def test_twenty_clients_five_places_postgres(world):
    _race(world, clients=20, capacity=5)
