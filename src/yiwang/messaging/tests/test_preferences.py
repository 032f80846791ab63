"""Per-person notification preferences: e-mail and SMS can be turned off, in-app cannot, and
legal notices (受理, 不予受理, 补正, the decision) are sent whatever is chosen."""

import pytest
from django.test import Client

from yiwang.core.models import AuditEvent
from yiwang.messaging import services
from yiwang.messaging.channels import Sent
from yiwang.messaging.models import Channel, Message, MessageState, NotificationPreference, Template, TemplateKind
from yiwang.messaging.services import message_send, notification_preferences_update
from yiwang.messaging.tests.test_api_pages import auth, client_for

API = "/api/v1/messages/preferences"
CONTEXT = {"item_name": "个体工商户设立登记", "number": "320500202509300001", "due_date": "2025-10-21"}


def _channels(messages) -> set[str]:
    return {m.channel for m in messages}


def test_legal_notices_are_marked_legal_by_the_migration(world):
    legal = set(Template.objects.filter(kind=TemplateKind.LEGAL).values_list("code", flat=True))
    # A sign-in code must reach the phone whatever the citizen opted out of: legal too.
    assert legal - {"appointments.kiosk_code"} == {
        "case.accepted",
        "case.refused",
        "case.supplement_requested",
        "case.approved",
        "case.rejected",
    }
    service = set(Template.objects.filter(kind=TemplateKind.SERVICE).values_list("code", flat=True))
    assert {"case.delivered", "case.sla_warning", "case.sla_overdue"} <= service


def test_an_opted_out_channel_gets_service_notices_no_more_but_legal_ones_still(world):
    applicant = world.applicant
    notification_preferences_update(actor=applicant, email=True, sms=False)
    # 送达 is a service notice: the SMS copy is left out, the in-app one is always made.
    assert _channels(message_send(actor="t", recipient=applicant, template_code="case.delivered", context=CONTEXT)) == {
        Channel.IN_APP
    }
    # 受理 is a legal notice: every channel it has.
    assert _channels(message_send(actor="t", recipient=applicant, template_code="case.accepted", context=CONTEXT)) == {
        Channel.IN_APP,
        Channel.SMS,
    }
    # Staff choose too: the SLA e-mail to a department head.
    notification_preferences_update(actor=world.head, email=False, sms=False)
    sla = message_send(actor="t", recipient=world.head, template_code="case.sla_overdue", context=CONTEXT)
    assert _channels(sla) == {Channel.IN_APP}
    notification_preferences_update(actor=world.head, email=True, sms=False)
    sla = message_send(actor="t", recipient=world.head, template_code="case.sla_warning", context=CONTEXT)
    assert _channels(sla) == {Channel.IN_APP, Channel.EMAIL}


def test_a_channel_turned_off_after_queuing_is_skipped_at_delivery_except_legal_notices(world, monkeypatch):
    sent = []
    monkeypatch.setitem(services.SENDERS, "sms", lambda **kw: sent.append(kw["message"].template_code) or Sent())
    applicant = world.applicant
    service_sms = message_send(
        actor="t", recipient=applicant, template_code="case.delivered", context=CONTEXT, channels=["sms"]
    )[0]
    legal_sms = message_send(
        actor="t", recipient=applicant, template_code="case.approved", context=CONTEXT, channels=["sms"]
    )[0]
    notification_preferences_update(actor=applicant, email=True, sms=False)
    services.message_deliver(message_id=service_sms.pk)
    services.message_deliver(message_id=legal_sms.pk)
    service_sms.refresh_from_db()
    legal_sms.refresh_from_db()
    assert sent == ["case.approved"]
    assert service_sms.state == MessageState.SKIPPED and service_sms.last_error == "接收人已关闭该渠道的通知"
    assert legal_sms.state == MessageState.SENT


def test_preference_changes_are_audited_once_and_need_booleans(world):
    from yiwang.core.errors import NotFound, ValidationFailed

    notification_preferences_update(actor=world.applicant, email=False, sms=True)
    notification_preferences_update(actor=world.applicant, email=False, sms=True)  # no change: no event
    (event,) = AuditEvent.objects.filter(action="notification_preference.update")
    assert event.changes == {"email": [True, False]}
    with pytest.raises(ValidationFailed) as exc:
        notification_preferences_update(actor=world.applicant, email="no", sms=True)
    assert set(exc.value.fields) == {"email"}
    with pytest.raises(NotFound):
        notification_preferences_update(actor=None, email=True, sms=True)
    assert NotificationPreference.objects.get(user=world.applicant).email is False


def test_api_reads_and_sets_own_preferences(world):
    headers = auth(world.applicant)
    client = Client()
    assert client.get(API, **headers).json() == {
        "in_app": True,
        "email": True,
        "sms": True,
        "legal_notices_always_sent": True,
    }
    answer = client.put(API, {"email": False, "sms": True}, content_type="application/json", **headers)
    assert answer.status_code == 200 and answer.json()["email"] is False
    assert client.get(API, **headers).json()["email"] is False
    bad = client.put(API, {"email": "maybe"}, content_type="application/json", **headers)
    assert bad.status_code == 422 and set(bad.json()) == {"code", "message", "fields"}
    assert client.get(API).status_code == 401
    # another person's choices are untouched
    assert not NotificationPreference.objects.filter(user=world.head).exists()


def test_portal_and_workbench_pages_set_preferences(world):
    citizen = client_for(world.applicant)
    page = citizen.get("/messages/preferences/")
    content = page.content.decode()
    assert page.status_code == 200 and 'name="sms" checked' in content and "法定告知" in content
    answer = citizen.post("/messages/preferences/", {"email": "on"})  # SMS box left unticked
    assert answer.status_code == 302 and answer["Location"] == "/messages/preferences/"
    preference = NotificationPreference.objects.get(user=world.applicant)
    assert preference.email is True and preference.sms is False
    assert 'name="sms" checked' not in citizen.get("/messages/preferences/").content.decode()
    assert "/messages/preferences/" in citizen.get("/messages/").content.decode()
    assert citizen.get("/workbench/messages/preferences/").status_code == 404  # staff only
    staff = client_for(world.head)
    assert staff.post("/workbench/messages/preferences/", {}).status_code == 302
    preference = NotificationPreference.objects.get(user=world.head)
    assert preference.email is False and preference.sms is False
    assert Client().get("/messages/preferences/").status_code == 302  # to the login page


def test_in_app_messages_cannot_be_turned_off(world):
    notification_preferences_update(actor=world.applicant, email=False, sms=False)
    messages = message_send(actor="t", recipient=world.applicant, template_code="case.delivered", context=CONTEXT)
    assert [m.channel for m in messages] == [Channel.IN_APP]
    assert Message.objects.filter(recipient=world.applicant, channel=Channel.IN_APP).count() == 1
