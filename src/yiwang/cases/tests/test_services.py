"""The case lifecycle through the services: roles, one-time supplement, idempotency, conflicts, events."""

import datetime

import pytest
from django.db import connection

from yiwang.cases import selectors, services
from yiwang.cases.models import Case, CaseState, CaseStep, Channel, SlaStatus, StepKind
from yiwang.cases.tests.factories import FORM, ID_NUMBER, attach_required
from yiwang.core import events
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.models import AuditEvent

RECEIVED: list[tuple[str, dict]] = []


@events.subscribe("case.approved")
@events.subscribe("case.submitted")
@events.subscribe("case.accepted")
@events.subscribe("case.delivered")
def _record(event: events.DomainEvent) -> None:
    RECEIVED.append((event.name, event.payload))


def submit(world, **extra):
    case, _created = services.case_submit(
        actor=extra.pop("actor", world.applicant), item=extra.pop("item", world.market_item), form_data=FORM, **extra
    )
    return attach_required(case)


def test_online_lifecycle_to_delivery(world, django_capture_on_commit_callbacks):
    RECEIVED.clear()
    with django_capture_on_commit_callbacks(execute=True):
        case = submit(world)
    assert case.state == CaseState.SUBMITTED
    assert case.number.startswith("320500") and len(case.number) == 20
    assert case.applicant_name == "张三" and case.applicant_id_number == ID_NUMBER
    with connection.cursor() as cursor:
        cursor.execute("SELECT applicant_id_number FROM cases_case WHERE id = %s", [case.pk])
        stored = cursor.fetchone()[0]
    assert stored.startswith("sm4gcm1:") and ID_NUMBER not in stored

    with django_capture_on_commit_callbacks(execute=True):
        case = services.case_accept(actor=world.clerk, case_id=case.pk, expected_version=case.version)
    assert case.state == CaseState.ACCEPTED and case.due_date is not None
    assert case.sla_status == SlaStatus.NORMAL

    case = services.case_claim(actor=world.reviewer, case_id=case.pk)
    services.case_record_opinion(actor=world.reviewer, case_id=case.pk, opinion="材料齐全,符合条件")
    with django_capture_on_commit_callbacks(execute=True):
        case = services.case_decide(actor=world.head, case_id=case.pk, decision="approve")
    assert case.state == CaseState.APPROVED
    with django_capture_on_commit_callbacks(execute=True):
        case = services.case_deliver(actor=world.clerk, case_id=case.pk, method="window")
    assert case.state == CaseState.DELIVERED

    assert [name for name, _ in RECEIVED] == ["case.submitted", "case.accepted", "case.approved", "case.delivered"]
    assert all(payload == {"case_id": case.pk} for _, payload in RECEIVED)
    actions = list(
        AuditEvent.objects.filter(object_id=str(case.pk), object_type="cases.case").values_list("action", flat=True)
    )
    assert actions == [
        "case.submit",
        "case.material_add",
        "case.accept",
        "case.claim",
        "case.opinion",
        "case.decide",
        "case.deliver",
    ]
    # The applicant's timeline hides the internal opinion; staff see it.
    public = [s.kind for s in selectors.case_timeline(actor=world.applicant, case=case)]
    staff = [s.kind for s in selectors.case_timeline(actor=world.head, case=case)]
    assert StepKind.OPINION not in public and StepKind.OPINION in staff
    assert public[0] == StepKind.SUBMITTED and public[-1] == StepKind.DELIVERED


def test_window_submission_for_a_walk_in_applicant(world):
    case = submit(world, actor=world.clerk, applicant=world.other_citizen, channel=Channel.WINDOW)
    assert case.channel == Channel.WINDOW and case.received_by == world.clerk and case.applicant == world.other_citizen
    with pytest.raises(Forbidden):
        submit(world, actor=world.reviewer, applicant=world.other_citizen, channel=Channel.WINDOW)


def test_idempotent_submission(world):
    first, created = services.case_submit(
        actor=world.applicant, item=world.market_item, form_data=FORM, idempotency_key="k-1"
    )
    again, created_again = services.case_submit(
        actor=world.applicant, item=world.market_item, form_data=FORM, idempotency_key="k-1"
    )
    assert created and not created_again and again.pk == first.pk
    assert Case.objects.count() == 1
    # Another applicant may use the same key; a different item under the same key is refused.
    services.case_submit(actor=world.other_citizen, item=world.market_item, form_data=FORM, idempotency_key="k-1")
    with pytest.raises(Conflict) as exc:
        services.case_submit(actor=world.applicant, item=world.police_item, form_data=FORM, idempotency_key="k-1")
    assert first.number in str(exc.value.message)


def test_form_is_validated_against_the_versions_schema(world):
    with pytest.raises(ValidationFailed) as exc:
        services.case_submit(actor=world.applicant, item=world.market_item, form_data={})
    assert exc.value.fields == {"form_data.business_name": ["请填写「个体工商户名称」"]}
    with pytest.raises(ValidationFailed) as exc:
        services.case_submit(actor=world.applicant, item=world.market_item, form_data={"business_name": 5})
    assert "个体工商户名称" in exc.value.fields["form_data.business_name"][0]
    assert Case.objects.count() == 0


def test_case_numbers_count_per_region_and_day(world):
    numbers = [submit(world).number for _ in range(3)]
    assert [n[-6:] for n in numbers] == ["000001", "000002", "000003"]
    assert len({n[:14] for n in numbers}) == 1


def test_supplement_is_requested_once_and_listed_in_full(world):
    case = submit(world)
    supplement = services.case_request_supplement(
        actor=world.clerk,
        case_id=case.pk,
        items=[
            {"material": "个体工商户登记申请书", "problem": "缺少签名"},
            {"material": "经营场所使用证明", "problem": "未提交"},
        ],
    )
    assert supplement.before_acceptance and len(supplement.items) == 2
    with pytest.raises(Conflict) as exc:
        services.case_request_supplement(
            actor=world.clerk, case_id=case.pk, items=[{"material": "其他", "problem": "漏了"}]
        )
    assert exc.value.code == "supplement_once"
    with pytest.raises(Forbidden):
        services.case_supplement_answer(actor=world.reviewer, case_id=case.pk)
    case = services.case_supplement_answer(actor=world.applicant, case_id=case.pk, note="已补齐")
    assert case.state == CaseState.SUBMITTED
    case = services.case_accept(actor=world.reviewer, case_id=case.pk)
    assert case.state == CaseState.ACCEPTED and not case.deemed_accepted


def test_supplement_needs_a_full_list(world):
    case = submit(world)
    with pytest.raises(ValidationFailed):
        services.case_request_supplement(actor=world.clerk, case_id=case.pk, items=[])
    with pytest.raises(ValidationFailed) as exc:
        services.case_request_supplement(actor=world.clerk, case_id=case.pk, items=[{"material": "申请书"}])
    assert "items.0" in exc.value.fields


def test_two_staff_at_once_one_wins_the_other_gets_a_conflict(world):
    case = submit(world)
    seen = case.version
    services.case_accept(actor=world.clerk, case_id=case.pk, expected_version=seen)
    with pytest.raises(Conflict) as exc:
        services.case_refuse(actor=world.reviewer, case_id=case.pk, reason="不属于本部门", expected_version=seen)
    assert case.number in str(exc.value.message) and "已受理" in str(exc.value.message)
    # Without a version the state check still refuses a second acceptance.
    with pytest.raises(Conflict):
        services.case_accept(actor=world.clerk, case_id=case.pk)
    assert Case.objects.get(pk=case.pk).state == CaseState.ACCEPTED


def test_claim_conflict_names_who_has_it(world):
    case = submit(world)
    services.case_accept(actor=world.clerk, case_id=case.pk)
    services.case_claim(actor=world.reviewer, case_id=case.pk)
    with pytest.raises(Conflict) as exc:
        services.case_claim(actor=world.reviewer2, case_id=case.pk)
    assert "审核老赵" in str(exc.value.message)
    # The head reassigns; the new assignee may then record the opinion.
    services.case_assign(actor=world.head, case_id=case.pk, assignee=world.reviewer2)
    step = services.case_record_opinion(actor=world.reviewer2, case_id=case.pk, opinion="同意")
    assert step.process_step_name == "审查"
    with pytest.raises(ValidationFailed):
        services.case_assign(actor=world.head, case_id=case.pk, assignee=world.police_reviewer)
    # No such assignee: the head is told; anyone else learns nothing about staff accounts (the
    # permission matrix found the assignee checked before the case on PostgreSQL).
    with pytest.raises(ValidationFailed) as exc:
        services.case_assign(actor=world.head, case_id=case.pk, assignee=None)
    assert exc.value.code == "assignee_not_found"
    with pytest.raises(NotFound):
        services.case_assign(actor=world.police_reviewer, case_id=case.pk, assignee=None)


def test_scoping_other_departments_get_not_found(world):
    case = submit(world)
    services.case_accept(actor=world.clerk, case_id=case.pk)
    for action in (
        lambda: services.case_claim(actor=world.police_reviewer, case_id=case.pk),
        lambda: selectors.case_get(actor=world.police_reviewer, case_id=case.pk),
        lambda: selectors.case_get(actor=world.other_citizen, case_id=case.pk),
    ):
        with pytest.raises(NotFound):
            action()
    assert selectors.case_get(actor=world.auditor, case_id=case.pk).pk == case.pk
    assert list(selectors.case_queue(actor=world.police_reviewer)) == []
    assert [c.pk for c in selectors.case_queue(actor=world.reviewer)] == [case.pk]


def test_decision_requires_the_review_step_and_the_head(world):
    case = submit(world)
    services.case_accept(actor=world.clerk, case_id=case.pk)
    with pytest.raises(Conflict) as exc:
        services.case_decide(actor=world.head, case_id=case.pk, decision="approve")
    assert "审查" in str(exc.value.message)
    services.case_record_opinion(actor=world.reviewer, case_id=case.pk, opinion="同意")
    with pytest.raises(Forbidden):
        services.case_decide(actor=world.reviewer, case_id=case.pk, decision="approve")


def test_rejection_states_reasons_and_the_right_to_remedy(world):
    case = submit(world)
    services.case_accept(actor=world.clerk, case_id=case.pk)
    services.case_record_opinion(actor=world.reviewer, case_id=case.pk, opinion="场所不符合要求", outcome="disagree")
    with pytest.raises(ValidationFailed) as exc:
        services.case_decide(actor=world.head, case_id=case.pk, decision="reject")
    assert "reasons" in exc.value.fields
    case = services.case_decide(actor=world.head, case_id=case.pk, decision="reject", reasons="经营场所不符合规定")
    assert case.state == CaseState.REJECTED
    assert "行政复议" in case.remedy_notice and "行政诉讼" in case.remedy_notice
    assert "苏州市人民政府" in case.remedy_notice  # the body above 市场监管局


def test_refusal_needs_a_reason(world):
    case = submit(world)
    with pytest.raises(ValidationFailed):
        services.case_refuse(actor=world.clerk, case_id=case.pk, reason=" ")
    case = services.case_refuse(actor=world.clerk, case_id=case.pk, reason="不属于本机关职权范围")
    assert case.state == CaseState.REFUSED and "行政复议" in case.remedy_notice


def test_withdraw_only_by_the_applicant_and_before_decision(world):
    case = submit(world)
    with pytest.raises(Forbidden):
        services.case_withdraw(actor=world.clerk, case_id=case.pk)
    case = services.case_withdraw(actor=world.applicant, case_id=case.pk, reason="不办了")
    assert case.state == CaseState.WITHDRAWN
    decided = submit(world)
    services.case_accept(actor=world.clerk, case_id=decided.pk)
    services.case_record_opinion(actor=world.reviewer, case_id=decided.pk, opinion="同意")
    services.case_decide(actor=world.head, case_id=decided.pk, decision="approve")
    with pytest.raises(Conflict):
        services.case_withdraw(actor=world.applicant, case_id=decided.pk)


def test_issuance_facts_for_licenses(world):
    case = submit(world)
    facts = selectors.case_issuance_facts(case_id=case.pk)
    assert facts["license_type_code"] == "business_license"
    assert facts["holder_kind"] == "natural_person" and facts["holder_name"] == "张三"
    assert facts["holder_id_number"] == ID_NUMBER and facts["issuer_department_id"] == world.tree.city_market.pk
    assert facts["form_data"] == FORM
    police_case = submit(world, item=world.police_item)
    assert selectors.case_issuance_facts(case_id=police_case.pk)["license_type_code"] is None
    with pytest.raises(NotFound):
        selectors.case_issuance_facts(case_id=999999)


def test_public_progress_reveals_only_progress(world):
    case = submit(world)
    progress = selectors.case_public_progress(number=case.number, last4=ID_NUMBER[-4:])
    assert progress.state == CaseState.SUBMITTED and progress.item_name == "个体工商户设立登记"
    assert "张" not in str(progress)
    assert selectors.case_public_progress(number=case.number, last4="5678").number == case.number  # phone
    for last4 in ("0000", "", "12345"):
        with pytest.raises(NotFound):
            selectors.case_public_progress(number=case.number, last4=last4)
    with pytest.raises(NotFound):
        selectors.case_public_progress(number="320500202501010000099", last4=ID_NUMBER[-4:])


def test_timeline_rows_are_written_per_transition(world):
    case = submit(world)
    services.case_accept(actor=world.clerk, case_id=case.pk)
    kinds = list(CaseStep.objects.filter(case=case).values_list("kind", flat=True))
    assert kinds == [StepKind.SUBMITTED, StepKind.EVIDENCE_VERIFIED, StepKind.MATERIAL_ADDED, StepKind.ACCEPTED]


def test_accept_after_the_intake_period_counts_from_submission(world, at):
    at(2025, 9, 30, 16)
    case = submit(world)
    at(2025, 10, 15, 9)  # 5 working days after 30 Sep 2025 end on 14 Oct (国庆 1–8 Oct, 11 Oct worked)
    case = services.case_accept(actor=world.clerk, case_id=case.pk)
    assert case.deemed_accepted and case.accepted_at == case.submitted_at
    assert case.due_date == datetime.date(2025, 10, 21)  # 10 working days after 30 Sep


def test_enterprise_agent_applies_for_the_enterprise(world):
    from yiwang.core.codes import make_uscc
    from yiwang.identity.tests.tree import make_staff

    uscc = make_uscc("91320505MA1XY8123")
    agent = make_staff(
        "agent", kind="enterprise_agent", real_name="王经办", enterprise_uscc=uscc, enterprise_name="苏州示例有限公司"
    )
    with pytest.raises(ValidationFailed) as exc:  # 个体工商户设立 is for natural persons only
        services.case_submit(actor=agent, item=world.market_item, form_data=FORM)
    assert exc.value.code == "applicant_kind"
    from yiwang.catalog.models import ServiceItemVersion

    ServiceItemVersion.objects.filter(pk=world.police_item.current_version_id).update(targets=["legal_person"])
    world.police_item.refresh_from_db()
    case = services.case_submit(actor=agent, item=world.police_item, form_data=FORM)[0]
    facts = selectors.case_issuance_facts(case_id=case.pk)
    assert facts["holder_kind"] == "legal_person" and facts["holder_name"] == "苏州示例有限公司"
    assert facts["holder_id_number"] == uscc


def test_sweep_runs_as_a_task(world, at):
    from yiwang.cases.tasks import case_sweep

    at(2025, 9, 30, 16)
    case = submit(world)
    at(2025, 10, 20, 9)
    result = case_sweep.enqueue()
    assert result.return_value == {"deemed_accepted": 1, "sla_changed": 0}
    case.refresh_from_db()
    assert case.deemed_accepted and case.sla_status == SlaStatus.WARNING  # 9 of 10 working days used


def test_form_errors_name_each_field_the_schema_does_not_declare():
    schema = {"type": "object", "additionalProperties": False, "properties": {"a": {"type": "string"}}}
    assert services.form_errors(schema, {"a": "x", "b": 1, "c": 2}) == {
        "form_data.b": ["申请表中有未定义的字段"],
        "form_data.c": ["申请表中有未定义的字段"],
    }
    assert services.form_errors(schema, {"a": "x"}) == {}
