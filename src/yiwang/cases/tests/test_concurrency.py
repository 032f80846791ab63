"""Concurrency on real connections: numbers, idempotency keys and two staff acting at once.

Run on PostgreSQL (row locks) and on SQLite (IMMEDIATE transactions serialize writers).
"""

import pytest

from yiwang.cases import services
from yiwang.cases.models import Case, CaseState
from yiwang.cases.tests.factories import FORM, attach_required, build_world
from yiwang.core.errors import Conflict
from yiwang.core.tests.concurrency import run_together

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return build_world()


def test_concurrent_submissions_get_unique_consecutive_numbers(world):
    def submit():
        return services.case_submit(actor=world.applicant, item=world.market_item, form_data=FORM)[0].number

    numbers = run_together([submit] * 8)
    assert all(isinstance(n, str) for n in numbers), numbers
    assert sorted(int(n[-6:]) for n in numbers) == list(range(1, 9))


def test_concurrent_retries_with_one_key_make_one_case(world):
    def submit():
        case, _created = services.case_submit(
            actor=world.applicant, item=world.market_item, form_data=FORM, idempotency_key="double-click"
        )
        return case.pk

    results = run_together([submit] * 6)
    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == 1 and Case.objects.count() == 1


def test_two_staff_act_at_once_one_wins(world):
    case = attach_required(services.case_submit(actor=world.applicant, item=world.market_item, form_data=FORM)[0])
    seen = case.version
    results = run_together(
        [
            lambda: services.case_accept(actor=world.clerk, case_id=case.pk, expected_version=seen),
            lambda: services.case_refuse(
                actor=world.reviewer, case_id=case.pk, reason="材料不实", expected_version=seen
            ),
        ]
    )
    conflicts = [r for r in results if isinstance(r, Conflict)]
    winners = [r for r in results if isinstance(r, Case)]
    assert len(conflicts) == 1 and len(winners) == 1, results
    assert case.number in str(conflicts[0].message)
    case.refresh_from_db()
    assert case.state == winners[0].state and case.state in (CaseState.ACCEPTED, CaseState.REFUSED)
    assert case.version == seen + 1


def test_one_draft_submitted_at_once_from_several_tabs_becomes_one_case(world):
    draft = services.case_draft_save(actor=world.applicant, item=world.market_item, form_data=FORM)
    other = services.case_submit(actor=world.applicant, item=world.market_item, form_data=FORM)[0]  # number 1

    def submit(index):
        return lambda: services.case_draft_submit(actor=world.applicant, draft_id=draft.pk, idempotency_key=f"t{index}")

    results = run_together([submit(i) for i in range(4)])
    assert all(isinstance(r, tuple) for r in results), results
    assert [created for _case, created in results].count(True) == 1
    assert {case.pk for case, _created in results} == {draft.pk}
    draft.refresh_from_db()
    assert draft.state == CaseState.SUBMITTED and draft.number[-6:] == "000002" and other.number[-6:] == "000001"
    assert Case.objects.count() == 2
