"""Concurrent batches on real connections (row locks on PostgreSQL, IMMEDIATE transactions on
SQLite): no lost update, no half-written batch, a clash on a new key is a 409 and not a 500."""

import pytest

from yiwang.cases.tests.test_concurrency import run_together
from yiwang.core.errors import Conflict
from yiwang.registries import services
from yiwang.registries.models import Person, RecordChange
from yiwang.registries.services import UpsertResult
from yiwang.registries.tests.factories import build_world, person_row

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_concurrent_updates_of_one_record_keep_every_change_in_history():
    world = build_world()
    services.records_upsert(actor=world.police_clerk, registry="population", rows=[person_row()])
    phones = ["13900000001", "13900000002", "13900000003"]
    results = run_together(
        [
            lambda phone=phone: services.records_upsert(
                actor=world.police_clerk, registry="population", rows=[person_row(phone=phone)]
            )
            for phone in phones
        ]
    )
    assert all(isinstance(r, UpsertResult) and r.updated == 1 for r in results), results
    changes = list(RecordChange.objects.filter(field="phone").order_by("id"))
    # Each update saw the previous one's value: the history is one unbroken chain of values.
    assert changes[0].old_value == "13812345678"
    assert [c.old_value for c in changes[1:]] == [c.new_value for c in changes[:-1]]
    assert Person.objects.get().phone == changes[-1].new_value


def test_concurrent_creates_of_one_key_create_it_once():
    world = build_world()
    results = run_together(
        [lambda: services.records_upsert(actor=world.police_clerk, registry="population", rows=[person_row()])] * 2
    )
    created = [r for r in results if isinstance(r, UpsertResult) and r.created == 1]
    others = [r for r in results if r not in created]
    assert len(created) == 1, results
    # The other batch either waited and found the record (unchanged), or lost the race on the key (409).
    assert all(isinstance(r, Conflict) or (isinstance(r, UpsertResult) and r.unchanged == 1) for r in others), results
    assert Person.objects.count() == 1
