"""E-mail through Django's e-mail API; SMS through a real HTTP gateway on 127.0.0.1; retries."""

import pytest
from django.core import mail
from django.db import connection

from yiwang.core.models import AuditEvent
from yiwang.messaging.models import Channel, Delivery, Message, MessageState
from yiwang.messaging.services import Ref, message_send
from yiwang.messaging.tests.helpers import ACCEPTED_AT, WARNING_DAY, Gateway, accepted_case, set_clock, sweep


@pytest.fixture
def clocked(world, monkeypatch):
    set_clock(monkeypatch, *ACCEPTED_AT)
    return world


def test_sla_warning_e_mail_goes_out_with_the_rendered_chinese_subject(clocked, django_capture_on_commit_callbacks):
    world = clocked
    world.head.email = "sun.head@scjg.example.gov.cn"
    world.head.save(update_fields=["email"])
    mail.outbox.clear()
    case = accepted_case(world, django_capture_on_commit_callbacks)
    sweep(django_capture_on_commit_callbacks, WARNING_DAY)
    (email,) = mail.outbox
    assert email.to == ["sun.head@scjg.example.gov.cn"]
    assert email.subject == f"【一网】办件临近超期:{case.number}"
    assert "局长孙,您好" in email.body and f"/workbench/cases/{case.pk}/" in email.body
    message = Message.objects.get(recipient=world.head, channel=Channel.EMAIL)
    assert message.state == MessageState.SENT and message.sent_at is not None
    (attempt,) = message.deliveries.all()
    assert attempt.outcome == "sent" and attempt.address == "s***@scjg.example.gov.cn"
    # The address itself is not stored with the message or its log.
    assert "sun.head" not in str(list(Message.objects.values())) + str(list(Delivery.objects.values()))


def test_sms_through_a_gateway_on_loopback(clocked, settings, django_capture_on_commit_callbacks):
    world = clocked
    with Gateway(answer={"id": "gw-778"}) as gateway:
        settings.YIWANG_SMS_GATEWAY_URL = gateway.url
        settings.YIWANG_SMS_GATEWAY_TOKEN = "secret-token"
        case = accepted_case(world, django_capture_on_commit_callbacks, claim=False)
    (request,) = gateway.received
    assert request["path"] == "/sms/send"
    assert request["headers"]["Authorization"] == "Bearer secret-token"
    body = request["json"]
    assert body["phone"] == "13812345678" and body["template_code"] == "case.accepted"
    assert body["content"] == f"您申请的个体工商户设立登记(办件编号{case.number})已受理,办结期限2025-10-21。"
    sms = Message.objects.get(recipient=world.applicant, channel=Channel.SMS)
    assert body["message_id"] == sms.pk
    assert sms.state == MessageState.SENT and sms.attempts == 1
    (attempt,) = sms.deliveries.all()
    assert attempt.outcome == "sent" and attempt.provider_ref == "gw-778" and attempt.address == "138****5678"
    assert AuditEvent.objects.filter(action="message.sent", object_id=str(sms.pk)).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM messaging_message")
        rows = str(cursor.fetchall())
        cursor.execute("SELECT * FROM messaging_delivery")
        rows += str(cursor.fetchall())
    assert "13812345678" not in rows


def test_a_failing_gateway_is_retried_then_the_message_fails_with_the_error(
    clocked, settings, django_capture_on_commit_callbacks
):
    world = clocked
    settings.YIWANG_MESSAGE_MAX_ATTEMPTS = 3
    with Gateway(status=503) as gateway:
        settings.YIWANG_SMS_GATEWAY_URL = gateway.url
        accepted_case(world, django_capture_on_commit_callbacks, claim=False)
    assert len(gateway.received) == 3
    sms = Message.objects.get(recipient=world.applicant, channel=Channel.SMS)
    assert sms.state == MessageState.FAILED and sms.attempts == 3
    assert sms.last_error.startswith("HTTP 503") and "网关繁忙" in sms.last_error
    attempts = list(sms.deliveries.values_list("attempt", "outcome"))
    assert attempts == [(1, "failed"), (2, "failed"), (3, "failed")]
    assert all("HTTP 503" in d.error for d in sms.deliveries.all())
    assert AuditEvent.objects.filter(action="message.failed", object_id=str(sms.pk)).count() == 1
    # The in-app copy is unaffected.
    assert Message.objects.get(recipient=world.applicant, channel=Channel.IN_APP).state == MessageState.SENT


def test_an_unreachable_gateway_fails_without_leaving_the_machine(world, settings, django_capture_on_commit_callbacks):
    settings.YIWANG_MESSAGE_MAX_ATTEMPTS = 2
    gateway = Gateway()  # bound, never started: connections are refused
    settings.YIWANG_SMS_GATEWAY_URL = gateway.url
    gateway.server.server_close()
    with django_capture_on_commit_callbacks(execute=True):
        (sms,) = message_send(
            actor="test",
            recipient=world.applicant,
            template_code="case.approved",
            context={"item_name": "户口迁移", "number": "X1"},
            channels=["sms"],
        )
    sms.refresh_from_db()
    assert sms.state == MessageState.FAILED and sms.deliveries.count() == 2
    assert "URLError" in sms.last_error or "Connection" in sms.last_error


def test_send_dedupes_validates_and_respects_inactive_templates(world, django_capture_on_commit_callbacks):
    from yiwang.core.errors import ValidationFailed
    from yiwang.messaging.models import Template

    context = {"item_name": "户口迁移", "number": "X2", "due_date": "2025-10-21"}
    sent = message_send(
        actor="test",
        recipient=world.applicant,
        template_code="case.accepted",
        context=context,
        channels=["in_app"],
        ref=Ref("case", 5, "/cases/5/"),
        dedupe_key="k",
    )
    assert len(sent) == 1 and sent[0].body.startswith("您申请的户口迁移(办件编号 X2)已受理")
    again = message_send(
        actor="test",
        recipient=world.applicant,
        template_code="case.accepted",
        context=context,
        channels=["in_app"],
        dedupe_key="k",
    )
    assert again == []
    with pytest.raises(ValidationFailed) as exc:
        message_send(actor="test", recipient=world.applicant, template_code="no.such", context={})
    assert exc.value.code == "template_missing"
    with pytest.raises(ValidationFailed) as exc:
        message_send(
            actor="test",
            recipient=world.applicant,
            template_code="case.accepted",
            context={},
            ref=Ref("case", 1, "https://evil.example/"),
        )
    assert "ref" in exc.value.fields
    Template.objects.filter(code="case.approved", channel="sms").update(active=False)
    with django_capture_on_commit_callbacks(execute=True):
        made = message_send(actor="test", recipient=world.applicant, template_code="case.approved", context=context)
    assert [m.channel for m in made] == ["in_app"]
    world.other_citizen.is_active = False
    world.other_citizen.save(update_fields=["is_active"])
    assert message_send(actor="test", recipient=world.other_citizen, template_code="case.approved", context={}) == []


def test_templates_are_seeded_and_saved_only_when_they_compile(world):
    from yiwang.core.errors import ValidationFailed
    from yiwang.messaging.models import Template
    from yiwang.messaging.services import template_save

    codes = set(Template.objects.values_list("code", flat=True))
    assert {"case.sla_warning", "case.sla_overdue", "case.accepted", "case.delivered"} <= codes
    template = Template.objects.get(code="case.accepted", channel="in_app")
    with pytest.raises(ValidationFailed) as exc:
        template_save(
            actor=world.tree.root,
            template=template,
            code=template.code,
            channel="in_app",
            name="x",
            subject="{% if %}",
            body="正文",
            active=True,
        )
    assert "subject" in exc.value.fields
    saved = template_save(
        actor=world.tree.root,
        template=template,
        code=template.code,
        channel="in_app",
        name=template.name,
        subject="受理啦 {{ number }}",
        body=template.body,
        active=True,
    )
    assert saved.subject == "受理啦 {{ number }}"
    assert AuditEvent.objects.filter(action="message_template.save", object_id=str(saved.pk)).exists()


def _send_sms(world, capture):
    with capture(execute=True):
        (sms,) = message_send(
            actor="test",
            recipient=world.applicant,
            template_code="case.approved",
            context={"item_name": "户口迁移", "number": "X1"},
            channels=["sms"],
        )
    sms.refresh_from_db()
    return sms


def test_a_gateway_url_without_http_scheme_is_skipped_with_the_reason(
    world, settings, caplog, django_capture_on_commit_callbacks
):
    settings.YIWANG_SMS_GATEWAY_URL = "sms.example.gov.cn/send"
    sms = _send_sms(world, django_capture_on_commit_callbacks)
    assert sms.state == MessageState.SKIPPED and sms.attempts == 1
    assert sms.last_error == "短信网关地址无效(须为 http:// 或 https:// 开头)"
    assert list(sms.deliveries.values_list("outcome", flat=True)) == ["skipped"]
    assert not [r for r in caplog.records if r.exc_info]


def test_a_sender_raising_unexpectedly_is_a_failed_attempt_retried_up_to_the_limit(
    world, settings, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    from yiwang.messaging import services

    calls = []

    def broken(*, message, recipient):
        calls.append(message.pk)
        raise RuntimeError("gateway client bug")

    monkeypatch.setitem(services.SENDERS, "sms", broken)
    settings.YIWANG_MESSAGE_MAX_ATTEMPTS = 3
    sms = _send_sms(world, django_capture_on_commit_callbacks)
    assert len(calls) == 3
    assert sms.state == MessageState.FAILED and sms.attempts == 3
    assert sms.last_error == "RuntimeError: gateway client bug"
    attempts = list(sms.deliveries.values_list("attempt", "outcome", "error"))
    assert attempts == [(n, "failed", "RuntimeError: gateway client bug") for n in (1, 2, 3)]
    assert AuditEvent.objects.filter(action="message.failed", object_id=str(sms.pk)).count() == 1
    assert any(r.exc_info and r.exc_info[0] is RuntimeError for r in caplog.records)


def test_a_message_at_the_attempt_limit_is_not_attempted_again(world, settings, monkeypatch):
    from yiwang.messaging import services

    calls = []
    monkeypatch.setitem(services.SENDERS, "sms", lambda **kwargs: calls.append(kwargs))
    settings.YIWANG_MESSAGE_MAX_ATTEMPTS = 2
    (sms,) = message_send(
        actor="test",
        recipient=world.applicant,
        template_code="case.approved",
        context={"item_name": "户口迁移", "number": "X1"},
        channels=["sms"],
    )
    Message.objects.filter(pk=sms.pk).update(attempts=2)
    services.message_deliver(message_id=sms.pk)
    sms.refresh_from_db()
    assert calls == []
    assert sms.state == MessageState.FAILED and sms.attempts == 2
    assert not sms.deliveries.exists()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('{% include "messaging/other.txt" %}', "不能引用其他模板"),
        ('{% extends "base.txt" %}{% block x %}{% endblock %}', "不能引用其他模板"),
        ('{% if number %}{% include "x.txt" %}{% endif %}', "不能引用其他模板"),
        ('办件 {% url "no-such-page" %}', "模板无法渲染"),
    ],
)
def test_a_template_that_would_fail_every_send_is_refused_when_saved(world, body, says):
    from yiwang.core.errors import ValidationFailed
    from yiwang.messaging.models import Template
    from yiwang.messaging.services import template_save

    template = Template.objects.get(code="case.accepted", channel="in_app")
    with pytest.raises(ValidationFailed) as exc:
        template_save(
            actor=world.tree.root,
            template=template,
            code=template.code,
            channel="in_app",
            name="x",
            subject="受理",
            body=body,
            active=True,
        )
    assert list(exc.value.fields) == ["body"] and says in str(exc.value.fields["body"][0])
    template.refresh_from_db()
    assert template.body != body


def test_the_template_admin_shows_every_refusal_on_the_form(world):
    from django.test import Client

    from yiwang.identity import mfa
    from yiwang.messaging.models import Template

    admin = Client()
    from yiwang.identity.tests.auth_helpers import grant_admin_role

    admin.force_login(grant_admin_role(world.tree.root))  # 三员分立: the system admin's area
    session = admin.session
    session[mfa.SESSION_VERIFIED] = True  # as after a TOTP check
    session.save()
    base = {"code": "case.custom", "channel": "in_app", "name": "自定义", "kind": "service", "subject": "标题"}
    answer = admin.post("/admin/messaging/template/add/", {**base, "body": '{% include "x.txt" %}', "active": "on"})
    assert answer.status_code == 200 and "不能引用其他模板" in answer.content.decode()
    answer = admin.post("/admin/messaging/template/add/", {**base, "code": "case.accepted", "body": "正文"})
    errors = answer.context["adminform"].form.errors
    assert answer.status_code == 200 and "__all__" in errors, errors  # the code/channel clash
    assert not Template.objects.filter(code="case.custom").exists()
    answer = admin.post("/admin/messaging/template/add/", {**base, "body": "正文 {{ number }}", "active": "on"})
    assert answer.status_code == 302
    saved = Template.objects.get(code="case.custom")
    assert AuditEvent.objects.filter(action="message_template.save", object_id=str(saved.pk)).exists()
