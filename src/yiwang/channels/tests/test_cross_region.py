"""异地代收 in one installation: 吴中区's window takes in 虎丘区's item on 虎丘区's own form, checks
identity and materials, forwards; 虎丘区 signs for it and decides; the result comes back to the
吴中区 window (or by post). Every step on the timeline and in the audit chain."""

import pytest

from yiwang.cases import selectors as case_selectors
from yiwang.cases import services as case_services
from yiwang.cases.models import CaseState, Channel
from yiwang.cases.tests.factories import FORM, attach_required
from yiwang.channels import services
from yiwang.channels.models import CrossRegionForward, ForwardState
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.models import AuditEvent


def taken_in(world):
    case, _ = case_services.case_submit(
        actor=world.wuzhong_clerk,
        item=world.county_item,
        form_data=FORM,
        applicant=world.base.applicant,
        channel=Channel.WINDOW,
        intake_department=world.base.tree.wuzhong,
    )
    return attach_required(case, actor=world.wuzhong_clerk)


def test_accepted_in_one_county_handled_in_another_result_back_at_the_window(world, django_capture_on_commit_callbacks):
    case = taken_in(world)
    assert case.intake_region == "320506" and case.department.region_code == "320505"
    with pytest.raises(ValidationFailed) as exc:
        services.forward_create(
            actor=world.wuzhong_clerk, case_id=case.pk, identity_checked=True, materials_checked=False
        )
    assert exc.value.code == "checks_missing" and set(exc.value.fields) == {"materials_checked"}

    with django_capture_on_commit_callbacks(execute=True):
        forward = services.forward_create(
            actor=world.wuzhong_clerk, case_id=case.pk, identity_checked=True, materials_checked=True
        )
    case.refresh_from_db()
    assert case.state == CaseState.ACCEPTED and forward.state == ForwardState.FORWARDED
    assert forward.receiving_region == "320506" and forward.handling_region == "320505"
    with pytest.raises(Conflict):
        services.forward_create(
            actor=world.wuzhong_clerk, case_id=case.pk, identity_checked=True, materials_checked=True
        )

    with pytest.raises(NotFound):  # another county's staff: the forward looks missing
        services.forward_receive(actor=world.base.reviewer, forward_id=forward.pk)
    forward = services.forward_receive(actor=world.huqiu_reviewer, forward_id=forward.pk)
    assert forward.state == ForwardState.HANDLING

    case_services.case_claim(actor=world.huqiu_reviewer, case_id=case.pk)
    case_services.case_record_opinion(actor=world.huqiu_reviewer, case_id=case.pk, opinion="符合条件")
    with django_capture_on_commit_callbacks(execute=True):
        case = case_services.case_decide(actor=world.huqiu_head, case_id=case.pk, decision="approve")
    forward.refresh_from_db()
    assert forward.state == ForwardState.RESULT_RETURNED

    # Back at 吴中区's window: the clerk who took it in hands the result over.
    with django_capture_on_commit_callbacks(execute=True):
        case_services.case_deliver(actor=world.wuzhong_clerk, case_id=case.pk, method="window")
    forward.refresh_from_db()
    assert forward.state == ForwardState.COMPLETED

    notes = [
        s.note for s in case_selectors.case_timeline(actor=world.base.applicant, case=case) if s.kind == "cross_region"
    ]
    assert len(notes) == 3
    assert "吴中区人民政府 已核验身份和材料" in notes[0] and "虎丘区市场监督管理局" in notes[0]
    assert "已签收" in notes[1] and "请到该窗口领取" in notes[2]
    actions = set(AuditEvent.objects.filter(object_type="channels.crossregionforward").values_list("action", flat=True))
    assert actions == {
        "channels.forward_create",
        "channels.forward_receive",
        "channels.forward_return",
        "channels.forward_complete",
    }


def test_a_case_of_the_windows_own_region_is_no_cross_region_case(world):
    w = world.base
    case, _ = case_services.case_submit(
        actor=w.clerk, item=w.market_item, form_data=FORM, applicant=w.applicant, channel=Channel.WINDOW
    )
    case = attach_required(case, actor=w.clerk)
    with pytest.raises(ValidationFailed) as exc:
        services.forward_create(actor=w.clerk, case_id=case.pk, identity_checked=True, materials_checked=True)
    assert exc.value.code == "not_cross_region"
    assert not CrossRegionForward.objects.exists()


def test_unknown_case_other_clerks_and_post_without_address(world):
    case = taken_in(world)
    with pytest.raises(NotFound):
        services.forward_create(
            actor=world.wuzhong_clerk, case_id=999999, identity_checked=True, materials_checked=True
        )
    with pytest.raises(Forbidden):  # the applicant is no window clerk
        services.forward_create(
            actor=world.base.applicant, case_id=case.pk, identity_checked=True, materials_checked=True
        )
    with pytest.raises(ValidationFailed) as exc:
        services.forward_create(
            actor=world.wuzhong_clerk,
            case_id=case.pk,
            identity_checked=True,
            materials_checked=True,
            return_method="post",
        )
    assert exc.value.code == "postal_missing"
    with pytest.raises(ValidationFailed) as exc:
        services.forward_create(
            actor=world.wuzhong_clerk,
            case_id=case.pk,
            identity_checked=True,
            materials_checked=True,
            return_method="fax",
        )
    assert set(exc.value.fields) == {"return_method"}
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED


def test_result_by_post_after_a_cross_region_forward(world, django_capture_on_commit_callbacks):
    case = taken_in(world)
    services.postal_request(
        actor=world.wuzhong_clerk,
        case_id=case.pk,
        recipient_phone="13812345678",
        address="江苏省苏州市吴中区东吴北路100号",
        region_code="320506",
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.forward_create(
            actor=world.wuzhong_clerk,
            case_id=case.pk,
            identity_checked=True,
            materials_checked=True,
            return_method="post",
        )
    with pytest.raises(Forbidden):  # the window clerk does not sign for the handling department
        services.forward_receive(actor=world.wuzhong_clerk, forward_id=CrossRegionForward.objects.get().pk)
    case_services.case_claim(actor=world.huqiu_reviewer, case_id=case.pk)
    case_services.case_record_opinion(actor=world.huqiu_reviewer, case_id=case.pk, opinion="符合条件")
    with django_capture_on_commit_callbacks(execute=True):
        case_services.case_decide(actor=world.huqiu_head, case_id=case.pk, decision="approve")
    forward = CrossRegionForward.objects.get()
    assert forward.state == ForwardState.RESULT_RETURNED
    notes = [s.note for s in case.steps.filter(kind="cross_region")]
    assert "将邮寄送达" in notes[-1]
