"""The hotline's demo data on the demo city: every state, ratings, a hotspot, a sensor alert, the
centre's accounts; a second run writes nothing."""

import pytest
from django.db import transaction

from yiwang.demo.services import demo_load
from yiwang.hotline import demo_data, selectors
from yiwang.hotline.models import Hotspot, Member, SensorAlert, Ticket, TicketEvent
from yiwang.registries import demo_data as registries_demo


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        demo_load()
        registries_demo.load()
        demo_data.load()
        counts = {m: m.objects.count() for m in (Ticket, TicketEvent, Member, Hotspot, SensorAlert)}
        demo_data.load()
        yield counts
        transaction.set_rollback(True)


@pytest.mark.django_db
@pytest.mark.slow
def test_every_state_ratings_hotspot_and_idempotent(loaded):
    assert {m: m.objects.count() for m in loaded} == loaded  # the second run wrote nothing
    assert loaded[Ticket] >= 240
    assert set(Ticket.objects.values_list("status", flat=True)) == set(Ticket.Status.values)
    assert Ticket.objects.filter(satisfaction__isnull=False).count() >= 100
    assert Ticket.objects.filter(close_reason="direct_answer").exists()
    assert Ticket.objects.filter(clock="overdue").exists()
    assert Hotspot.objects.filter(status="open").exists() and SensorAlert.objects.filter(open=True).exists()
    assert {r for r in Member.objects.values_list("role", flat=True)} == set(Member.Role.values)
    dispatched = Ticket.objects.filter(dispatched_at__isnull=False).order_by("dispatched_at").first()
    _month, rows = selectors.department_ranking(month=dispatched.dispatched_at.strftime("%Y-%m"))
    assert rows and rows[0].rank == 1
