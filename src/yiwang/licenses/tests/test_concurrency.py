"""Concurrent first issuances for one (type, issuer): both succeed, one seal, consecutive serials.

Real connections: row locks on PostgreSQL, IMMEDIATE transactions on SQLite.
"""

import pytest

from yiwang.cases.tests.test_concurrency import run_together
from yiwang.licenses.models import License, Seal
from yiwang.licenses.tests.factories import build_world, issue

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_concurrent_first_issuances_share_one_seal_and_number_consecutively():
    world = build_world()
    results = run_together([lambda: issue(world), lambda: issue(world), lambda: issue(world)])
    assert all(isinstance(r, License) for r in results), results
    assert sorted(r.identifier.split(".")[-3] for r in results) == ["00000001", "00000002", "00000003"]
    assert Seal.objects.count() == 1
