"""Routing, returns, issue with the seal, acknowledgement and reminders, through the services."""

import datetime

import pytest
from django.utils import timezone

from yiwang.core.audit import canonical_json
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.gm import sm2_verify
from yiwang.core.models import AuditEvent
from yiwang.documents import selectors, services
from yiwang.documents.models import Circulation, Document, Receipt
from yiwang.documents.tests.factories import ROUTE, draft, pending_step, route_to_issue
from yiwang.identity.models import Role
from yiwang.identity.services import role_grant_revoke
from yiwang.messaging.models import Message

pytestmark = pytest.mark.django_db


def _reminders(user) -> int:
    return Message.objects.filter(recipient=user, template_code="documents.ack_reminder", channel="in_app").count()


def test_route_runs_through_every_step_and_countersign_waits_for_all_departments(office):
    document = draft(office)
    services.document_submit(actor=office["drafter"], document=document)
    document.refresh_from_db()
    assert document.state == Document.State.ROUTING and document.position == 1
    assert Message.objects.filter(recipient=office["reviewer"], template_code="documents.step_pending").exists()
    services.step_approve(actor=office["reviewer"], step_id=pending_step(document).pk, comment="同意")
    document.refresh_from_db()
    assert document.position == 2
    countersign = list(document.steps.filter(state="pending"))
    assert {s.department for s in countersign} == {office.police, office.data}
    services.step_approve(actor=office["police_head"], step_id=pending_step(document, office.police).pk)
    document.refresh_from_db()
    assert document.position == 2, "the countersign waits for the second department"
    services.step_approve(actor=office["data_head"], step_id=pending_step(document, office.data).pk)
    document.refresh_from_db()
    assert document.position == 3
    assert list(selectors.steps_todo(actor=office["head"])) == [pending_step(document)]
    assert not selectors.steps_todo(actor=office["reviewer"]).exists()


def test_a_step_is_done_only_by_its_role_in_its_department(office):
    document = draft(office)
    services.document_submit(actor=office["drafter"], document=document)
    step = pending_step(document)
    with pytest.raises(Forbidden):
        services.step_approve(actor=office["head"], step_id=step.pk)  # sees it (sign-off), other role
    with pytest.raises(NotFound):
        services.step_approve(actor=office["police_clerk"], step_id=step.pk)  # not on the route
    with pytest.raises(NotFound):
        services.step_approve(actor=office["citizen"], step_id=step.pk)


def test_issue_numbers_signs_seals_and_distributes(office):
    document = route_to_issue(office)
    assert document.state == Document.State.ISSUED
    assert document.number == f"测市监发〔{timezone.localtime(document.issued_at).year}〕1号"
    assert bytes(document.pdf).startswith(b"%PDF")
    from yiwang.licenses.models import Seal

    key = Seal.objects.get(department=office.market).keys.get(version=document.seal_key_version)
    message = canonical_json(services.signed_content(document)).encode()
    assert sm2_verify(key.sm2_public_key, message, document.signature)
    receipts = selectors.document_receipts(document=document)
    assert {(r.department, r.user) for r in receipts} == {
        (office.police, None),
        (office.data, None),
        (None, office["reviewer"]),
    }
    assert Message.objects.filter(recipient=office["police_head"], template_code="documents.received").exists()
    actions = set(
        AuditEvent.objects.filter(object_type="documents.document", object_id=str(document.pk)).values_list(
            "action", flat=True
        )
    )
    assert {"documents.drafted", "documents.submitted", "documents.step_approved", "documents.issued"} <= actions
    second = route_to_issue(office, draft(office, title="第二份通知"))
    assert second.number.endswith("〕2号")


def test_return_goes_back_to_the_drafter_and_the_next_round_starts_afresh(office):
    document = draft(office)
    services.document_submit(actor=office["drafter"], document=document)
    services.step_approve(actor=office["reviewer"], step_id=pending_step(document).pk)
    with pytest.raises(ValidationFailed) as exc:
        services.step_return(actor=office["police_head"], step_id=pending_step(document, office.police).pk, reason=" ")
    assert "reason" in exc.value.fields
    services.step_return(
        actor=office["police_head"], step_id=pending_step(document, office.police).pk, reason="请补充执法依据"
    )
    document.refresh_from_db()
    assert document.state == Document.State.RETURNED
    assert not document.steps.filter(state__in=["pending", "waiting"]).exists()
    assert document.steps.filter(state="cancelled", department=office.data).exists()
    assert Message.objects.filter(recipient=office["drafter"], template_code="documents.returned").exists()
    with pytest.raises(Forbidden):
        services.document_update(actor=office["reviewer"], document=document, title="改", body="改")
    services.document_update(
        actor=office["drafter"],
        document=document,
        title=document.title,
        body="各单位:\n依据《条例》第十条,请按时完成年报。",
        recipient_department_ids=[office.police.pk],
    )
    services.document_submit(actor=office["drafter"], document=document)
    document.refresh_from_db()
    assert document.round == 2 and document.state == Document.State.ROUTING
    history = selectors.document_route(document=document)
    assert [s.round for s in history].count(1) == 5 and history[-1].round == 2


def test_a_step_without_a_role_holder_is_refused_and_nothing_is_saved(office):
    grant = office["data_head"].role_grants.get()
    role_grant_revoke(actor=office.root, grant=grant)
    document = draft(office)
    with pytest.raises(ValidationFailed) as exc:
        services.document_submit(actor=office["drafter"], document=document)
    assert exc.value.code == "step_without_holder"
    assert "测试市大数据局" in exc.value.message and "部门负责人" in exc.value.message
    document.refresh_from_db()
    assert document.state == Document.State.DRAFT and not Circulation.objects.exists()


def test_document_type_route_is_validated(office):
    bad = [
        [],
        [{"kind": "review", "role": "reviewer"}],  # no issue at the end
        [{"kind": "issue", "role": "nobody"}],
        [
            {"kind": "review", "role": "reviewer", "departments": ["T-GAJ", "T-SJJ"]},
            {"kind": "issue", "role": "reviewer"},
        ],
        [{"kind": "countersign", "role": "reviewer", "departments": ["NOPE"]}, {"kind": "issue", "role": "reviewer"}],
        "not a list",
    ]
    for steps in bad:
        with pytest.raises(ValidationFailed) as exc:
            services.document_type_save(actor=office.root, code="x", name="x", steps=steps)
        assert "steps" in exc.value.fields
    with pytest.raises(Forbidden):
        services.document_type_save(actor=office["head"], code="x", name="x", steps=ROUTE)
    changed = services.document_type_save(
        actor=office.root, code="notice", name="通知(修订)", steps=ROUTE[-1:], number_prefix="测市监发"
    )
    assert changed.steps == [{"kind": "issue", "role": "department_admin", "departments": []}]


def test_only_route_people_and_recipients_see_a_document(office):
    document = draft(office)
    assert list(selectors.documents_visible(actor=office["drafter"])) == [document]
    assert not selectors.documents_visible(actor=office["reviewer"]).exists(), "a draft is the drafter's"
    services.document_submit(actor=office["drafter"], document=document)
    for name in ("reviewer", "head", "admin", "police_head", "data_head"):
        assert selectors.documents_visible(actor=office[name]).filter(pk=document.pk).exists(), name
    for name in ("police_clerk", "data_clerk", "citizen"):
        with pytest.raises(NotFound):
            selectors.document_get(actor=office[name], id=document.pk)
    route_to_issue_rest(office, document)
    assert selectors.document_get(actor=office["police_clerk"], id=document.pk) == document  # recipient department


def route_to_issue_rest(office, document):
    services.step_approve(actor=office["reviewer"], step_id=pending_step(document).pk)
    services.step_approve(actor=office["police_head"], step_id=pending_step(document, office.police).pk)
    services.step_approve(actor=office["data_head"], step_id=pending_step(document, office.data).pk)
    services.step_approve(actor=office["head"], step_id=pending_step(document).pk)
    services.step_approve(actor=office["admin"], step_id=pending_step(document).pk)


def test_acknowledge_and_the_sender_sees_who_has_not(office):
    document = route_to_issue(office)
    with pytest.raises(NotFound):
        services.document_acknowledge(actor=office["citizen"], document_id=document.pk)
    services.document_acknowledge(actor=office["police_clerk"], document_id=document.pk)
    with pytest.raises(Conflict):
        services.document_acknowledge(actor=office["police_head"], document_id=document.pk)
    with pytest.raises(Forbidden):
        services.document_acknowledge(actor=office["head"], document_id=document.pk)  # the sender
    receipts = {r.department or r.user: r for r in selectors.document_receipts(document=document)}
    assert receipts[office.police].acknowledged_by == office["police_clerk"]
    assert receipts[office.data].acknowledged_at is None
    assert receipts[office["reviewer"]].acknowledged_at is None
    with pytest.raises(Forbidden):
        services.document_remind(actor=office["police_clerk"], document_id=document.pk)
    assert services.document_remind(actor=office["drafter"], document_id=document.pk) == 2
    assert (
        Message.objects.filter(
            recipient=office["data_head"], template_code="documents.ack_reminder", channel="in_app"
        ).count()
        == 1
    )


def test_scheduled_reminders_after_the_configured_hours_once_per_period(office, settings):
    settings.YIWANG_DOCUMENTS_ACK_HOURS = 24
    document = route_to_issue(office)
    services.document_acknowledge(actor=office["police_head"], document_id=document.pk)
    assert services.receipts_remind_due() == 0  # too early
    later = timezone.now() + datetime.timedelta(hours=25)
    assert services.receipts_remind_due(now=later) == 2  # the data department and the reviewer
    assert services.receipts_remind_due(now=later + datetime.timedelta(hours=1)) == 0
    assert services.receipts_remind_due(now=later + datetime.timedelta(hours=26)) == 2
    assert Receipt.objects.filter(reminder_count=2).count() == 2
    assert (
        Message.objects.filter(
            recipient=office["reviewer"], template_code="documents.ack_reminder", channel="in_app"
        ).count()
        == 2
    )


def test_drafting_needs_a_role_in_the_department_and_valid_content(office):
    with pytest.raises(NotFound):
        services.document_create(
            actor=office["police_clerk"], document_type=office.doc_type, department=office.market, title="t", body="b"
        )
    with pytest.raises(ValidationFailed) as exc:
        services.document_create(
            actor=office["drafter"],
            document_type=office.doc_type,
            department=office.market,
            title="",
            body="",
            recipient_user_ids=[office["citizen"].pk],
        )
    assert {"title", "body"} <= set(exc.value.fields)
    assert not Document.objects.exists()


def test_role_holder_check_reads_descendant_grants(office):
    # The reviewer role granted above the market (with descendants) counts as a holder.
    from yiwang.identity.services import role_grant_create

    role_grant_create(
        actor=office.root,
        user=office["police_clerk"],
        role=Role.REVIEWER,
        department=office.city,
        include_descendants=True,
    )
    role_grant_revoke(actor=office.root, grant=office["reviewer"].role_grants.get())
    document = draft(office)
    services.document_submit(actor=office["drafter"], document=document)
    assert list(selectors.steps_todo(actor=office["police_clerk"])) == [pending_step(document)]
