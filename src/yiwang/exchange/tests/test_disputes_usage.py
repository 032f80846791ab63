"""Data disputes (who may raise, one open per field, reject with reasons, evidence files),
数据使用记录 for citizens and enterprise agents, reminders and escalation on the working-day clock."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from yiwang.core.calendar import add_working_days
from yiwang.core.errors import Conflict, NotFound, ValidationFailed
from yiwang.core.models import AuditEvent
from yiwang.exchange import gateway, notify, services
from yiwang.exchange.models import DataDispute, ShareRequest
from yiwang.exchange.tests.conftest import CITIZEN_ID, OTHER_ID, USCC, hrss_asks
from yiwang.messaging.models import Message

UNTIL = datetime.date.today() + datetime.timedelta(days=100)


def test_a_citizen_disputes_only_their_own_record_and_once_per_field(world):
    with pytest.raises(NotFound):  # someone else's record looks missing
        services.dispute_raise(actor=world.citizen, registry="population", key=OTHER_ID, field="phone", reason="错")
    evidence = SimpleUploadedFile("proof.pdf", b"%PDF-1.4 proof", content_type="application/pdf")
    dispute = services.dispute_raise(
        actor=world.citizen,
        registry="population",
        key=CITIZEN_ID,
        field="phone",
        reason="号码已停用",
        evidence=evidence,
    )
    assert dispute.evidence.name.endswith(".pdf") and dispute.source_department == world.police
    assert dispute.due_date == add_working_days(datetime.date.today(), 5)
    with pytest.raises(Conflict):
        services.dispute_raise(actor=world.citizen, registry="population", key=CITIZEN_ID, field="phone", reason="再提")
    with pytest.raises(ValidationFailed) as exc:
        services.dispute_raise(actor=world.citizen, registry="population", key=CITIZEN_ID, field="salary", reason="x")
    assert exc.value.code == "field_unknown"
    bad = SimpleUploadedFile("proof.exe", b"MZ", content_type="application/octet-stream")
    with pytest.raises(ValidationFailed) as exc:
        services.dispute_raise(
            actor=world.citizen, registry="population", key=CITIZEN_ID, field="name", reason="x", evidence=bad
        )
    assert "evidence" in exc.value.fields


def test_the_source_department_rejects_with_reasons_and_it_is_audited(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        dispute = services.dispute_raise(
            actor=world.citizen, registry="population", key=CITIZEN_ID, field="name", reason="名字写错"
        )
    # New dispute → the source department's verifiers are told.
    assert Message.objects.filter(recipient=world.police_reviewer, template_code="exchange.dispute_new").exists()
    with pytest.raises(NotFound):  # not the source department: looks missing
        services.dispute_reject(actor=world.hrss_head, dispute=dispute, reason="无")
    with pytest.raises(ValidationFailed):
        services.dispute_reject(actor=world.police_reviewer, dispute=dispute, reason="")
    with django_capture_on_commit_callbacks(execute=True):
        services.dispute_reject(actor=world.police_reviewer, dispute=dispute, reason="与户籍档案一致")
    dispute.refresh_from_db()
    assert dispute.status == DataDispute.Status.REJECTED
    assert AuditEvent.objects.filter(action="exchange.dispute_rejected", object_id=str(dispute.pk)).exists()
    assert Message.objects.filter(recipient=world.citizen, template_code="exchange.dispute_resolved").exists()
    assert gateway.current().disputed == {}


def test_an_enterprise_agent_sees_reads_of_the_enterprise_and_a_department_may_dispute(world):
    services.grant_for_app(
        actor=world.police_head,
        app="supervision",
        department=world.city,
        registry="legal_entity",
        fields=["name", "legal_representative"],
        purpose="双随机抽查",
        legal_basis="《市场监管领域双随机一公开》",
        valid_until=UNTIL,
    )
    services.registry_read(
        actor="task:draw", app="supervision", purpose="双随机抽查", registry="legal_entity", key=USCC, fields=["name"]
    )
    client = Client()
    client.force_login(world.agent)
    rows = client.get("/api/v1/exchange/usage").json()
    assert [(r["purpose"], r["fields"], r["consumer_kind"]) for r in rows] == [("双随机抽查", ["name"], "app")]
    page = client.get("/my/data-usage/").content.decode()
    assert "双随机抽查" in page
    # The agent disputes the legal representative of the enterprise.
    dispute = services.dispute_raise(
        actor=world.agent, registry="legal_entity", key=USCC, field="legal_representative", reason="已变更"
    )
    assert dispute.subject_index and dispute.raised_by_department is None
    # Staff of a department with a live grant of that field may dispute; others not.
    [request] = hrss_asks(world, ["name"])
    with pytest.raises(NotFound):
        services.dispute_raise(actor=world.hrss_head, registry="population", key=OTHER_ID, field="name", reason="错")
    services.share_request_approve(actor=world.police_head, request=request)
    staff_dispute = services.dispute_raise(
        actor=world.hrss_head, registry="population", key=OTHER_ID, field="name", reason="与社保登记不符"
    )
    assert staff_dispute.raised_by_department == world.hrss


def test_reminders_before_the_deadline_and_escalation_after_it(world):
    [request] = hrss_asks(world, ["name"])
    dispute = services.dispute_raise(
        actor=world.citizen, registry="population", key=CITIZEN_ID, field="name", reason="名字写错"
    )
    assert notify.sweep() == {
        "request_reminders": 0,
        "request_escalations": 0,
        "dispute_reminders": 0,
        "dispute_escalations": 0,
    }
    # Two working days before each deadline: a reminder, once.
    day_before_dispute = dispute.due_date - datetime.timedelta(days=1)
    counts = notify.sweep(today=day_before_dispute)
    assert counts["dispute_reminders"] == 1 and counts["dispute_escalations"] == 0
    assert notify.sweep(today=day_before_dispute)["dispute_reminders"] == 0
    assert Message.objects.filter(recipient=world.police_head, template_code="exchange.dispute_due").exists()
    # Past the deadline: escalated to the heads (and above), once; the request too.
    late = request.due_date + datetime.timedelta(days=1)
    counts = notify.sweep(today=late)
    assert counts["request_escalations"] == 1 and counts["dispute_escalations"] == 1
    assert notify.sweep(today=late)["request_escalations"] == 0
    assert Message.objects.filter(recipient=world.police_head, template_code="exchange.request_overdue").exists()
    request.refresh_from_db()
    assert request.status == ShareRequest.Status.PENDING and request.escalated_at is not None
