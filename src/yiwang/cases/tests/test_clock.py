"""The legal clock with the real calendar: 国庆 2025 (1–8 Oct off, Sun 28 Sep and Sat 11 Oct worked)."""

import datetime

import pytest

from yiwang.cases import selectors, services
from yiwang.cases.models import Case, CaseState, SlaStatus, StepKind
from yiwang.cases.tests.factories import FORM, attach_required
from yiwang.core.errors import Conflict, Forbidden, ValidationFailed

D = datetime.date


def submit(world):
    return attach_required(services.case_submit(actor=world.applicant, item=world.market_item, form_data=FORM)[0])


def test_five_day_rule_deems_the_case_accepted_on_submission(world, at):
    at(2025, 9, 30, 16)  # the last working day before 国庆
    case = submit(world)
    # 5 working days after 30 Sep: 9, 10, 11 (Saturday, worked), 13, 14 Oct.
    assert services.case_sweep(today=D(2025, 10, 14))["deemed_accepted"] == 0
    assert Case.objects.get(pk=case.pk).state == CaseState.SUBMITTED
    at(2025, 10, 15, 1)
    assert services.case_sweep(today=D(2025, 10, 15))["deemed_accepted"] == 1
    case.refresh_from_db()
    assert case.state == CaseState.ACCEPTED and case.deemed_accepted
    assert case.accepted_at == case.submitted_at
    # 10 working days from 30 Sep: 9, 10, 11, 13 … 21 Oct.
    assert case.due_date == D(2025, 10, 21)
    step = selectors.case_timeline(actor=world.applicant, case=case).last()
    assert step.kind == StepKind.DEEMED_ACCEPTED and "第三十二条" in step.note and "2025-09-30" in step.note
    assert services.case_sweep(today=D(2025, 10, 16))["deemed_accepted"] == 0  # idempotent


def test_a_notice_in_time_stops_the_five_day_rule(world, at):
    at(2025, 9, 30, 16)
    case = submit(world)
    at(2025, 10, 14, 17)  # the fifth working day: still in time
    services.case_request_supplement(
        actor=world.clerk, case_id=case.pk, items=[{"material": "申请书", "problem": "未签字"}]
    )
    assert services.case_sweep(today=D(2025, 10, 30))["deemed_accepted"] == 0
    assert Case.objects.get(pk=case.pk).state == CaseState.SUPPLEMENT_REQUESTED


def test_a_late_notice_is_refused(world, at):
    at(2025, 9, 30, 16)
    case = submit(world)
    at(2025, 10, 15, 9)
    with pytest.raises(ValidationFailed) as exc:
        services.case_request_supplement(
            actor=world.clerk, case_id=case.pk, items=[{"material": "申请书", "problem": "未签字"}]
        )
    assert exc.value.code == "intake_period_over" and "2025-10-14" in str(exc.value.message)


def test_supplement_after_acceptance_pauses_the_clock(world, at):
    at(2025, 9, 26, 10)  # Friday
    case = submit(world)
    case = services.case_accept(actor=world.clerk, case_id=case.pk)
    # 10 working days after 26 Sep: 28 (Sunday, worked), 29, 30 Sep, 9, 10, 11, 13, 14, 15, 16 Oct.
    assert case.due_date == D(2025, 10, 16)
    at(2025, 9, 30, 10)
    services.case_request_supplement(
        actor=world.reviewer, case_id=case.pk, items=[{"material": "场所证明", "problem": "租期已过"}]
    )
    case.refresh_from_db()
    assert case.sla_status == SlaStatus.PAUSED and case.paused_since == D(2025, 9, 30)
    # While paused the sweep leaves it alone, however late.
    services.case_sweep(today=D(2025, 10, 30))
    assert Case.objects.get(pk=case.pk).sla_status == SlaStatus.PAUSED
    at(2025, 10, 10, 10)  # answered: 9 and 10 Oct were paused
    case = services.case_supplement_answer(actor=world.applicant, case_id=case.pk)
    assert case.state == CaseState.UNDER_REVIEW and case.paused_days == 2 and case.paused_since is None
    assert case.due_date == D(2025, 10, 20)


def test_extension_once_with_the_heads_approval(world, at):
    at(2025, 10, 9, 10)
    case = submit(world)
    case = services.case_accept(actor=world.clerk, case_id=case.pk)
    assert case.due_date == D(2025, 10, 22)
    with pytest.raises(Forbidden):
        services.case_extend(actor=world.reviewer, case_id=case.pk, days=5, reason="需现场核查")
    with pytest.raises(ValidationFailed):
        services.case_extend(actor=world.head, case_id=case.pk, days=5, reason="")
    with pytest.raises(ValidationFailed):
        services.case_extend(actor=world.head, case_id=case.pk, days=11, reason="需现场核查")
    case = services.case_extend(actor=world.head, case_id=case.pk, days=5, reason="需现场核查")
    assert case.due_date == D(2025, 10, 29) and case.extension_approved_by == world.head
    with pytest.raises(Conflict) as exc:
        services.case_extend(actor=world.head, case_id=case.pk, days=1, reason="再延")
    assert exc.value.code == "extension_once"
    step = selectors.case_timeline(actor=world.applicant, case=case).last()
    assert step.kind == StepKind.EXTENDED and "2025-10-29" in step.note and "需现场核查" in step.note


def test_sla_status_normal_warning_overdue(world, at):
    at(2025, 10, 9, 10)
    case = submit(world)
    services.case_accept(actor=world.clerk, case_id=case.pk)  # due 22 Oct, 10 working days
    assert services.case_sweep(today=D(2025, 10, 17))["sla_changed"] == 0  # 7 of 10 used
    services.case_sweep(today=D(2025, 10, 20))  # 8 of 10: warning
    assert Case.objects.get(pk=case.pk).sla_status == SlaStatus.WARNING
    services.case_sweep(today=D(2025, 10, 22))  # due today: still warning
    assert Case.objects.get(pk=case.pk).sla_status == SlaStatus.WARNING
    services.case_sweep(today=D(2025, 10, 23))
    case.refresh_from_db()
    assert case.sla_status == SlaStatus.OVERDUE
    assert [c.pk for c in selectors.case_queue(actor=world.head, sla_status=SlaStatus.OVERDUE)] == [case.pk]


def test_queue_is_most_urgent_first(world, at):
    at(2025, 10, 9, 10)
    later = submit(world)
    services.case_accept(actor=world.clerk, case_id=later.pk)
    at(2025, 9, 26, 10)
    sooner = submit(world)
    services.case_accept(actor=world.clerk, case_id=sooner.pk)
    waiting = submit(world)  # not accepted: not in the back-office queue
    queue = [c.pk for c in selectors.case_queue(actor=world.reviewer)]
    assert queue == [sooner.pk, later.pk] and waiting.pk not in queue
    assert [c.pk for c in selectors.case_intake_queue(actor=world.clerk)] == [waiting.pk]
