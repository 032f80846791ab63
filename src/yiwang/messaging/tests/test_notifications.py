"""Case events become notifications: SLA warnings and overdue notices to the handler and the
department heads (once per status), and the applicant's news in-app and by SMS."""

import pytest

from yiwang.cases import services as cases
from yiwang.cases.models import SlaStatus
from yiwang.core.models import AuditEvent
from yiwang.identity.models import Role
from yiwang.identity.selectors import users_with_role
from yiwang.identity.tests.tree import make_staff
from yiwang.messaging.models import Channel, Delivery, Message, MessageState
from yiwang.messaging.tests.helpers import ACCEPTED_AT, OVERDUE_DAY, WARNING_DAY, accepted_case, set_clock, sweep


def inbox(user, code=None):
    messages = Message.objects.filter(recipient=user, channel=Channel.IN_APP).order_by("pk")  # in sending order
    return list(messages.filter(template_code=code) if code else messages)


@pytest.fixture
def clocked(world, monkeypatch):
    set_clock(monkeypatch, *ACCEPTED_AT)
    return world


def test_sla_warning_then_overdue_reach_handler_and_heads_once_per_status(clocked, django_capture_on_commit_callbacks):
    world = clocked
    tree = world.tree
    police_head = make_staff("police_head", real_name="公安局长")
    tree.grant(police_head, Role.DEPARTMENT_HEAD, world.police)
    city_head = make_staff("city_head", real_name="市政府分管领导")
    tree.grant(city_head, Role.DEPARTMENT_HEAD, tree.city, include_descendants=True)
    county_head = make_staff("county_head", real_name="区政府领导")
    tree.grant(county_head, Role.DEPARTMENT_HEAD, tree.huqiu, include_descendants=True)
    case = accepted_case(world, django_capture_on_commit_callbacks)

    assert sweep(django_capture_on_commit_callbacks, WARNING_DAY)["sla_changed"] == 1
    case.refresh_from_db()
    assert case.sla_status == SlaStatus.WARNING
    for person in (world.reviewer, world.head, city_head):
        (message,) = inbox(person)
        assert message.template_code == "case.sla_warning"
        assert message.subject == f"办件临近超期:{case.number}"
        assert "个体工商户设立登记" in message.body and "2025-10-21" in message.body
        assert message.ref_type == "case" and message.ref_url == f"/workbench/cases/{case.pk}/"
        assert message.state == MessageState.SENT and message.unread
    # Not the handler: the other reviewer; not heads elsewhere; not the applicant.
    for person in (world.reviewer2, police_head, county_head, world.applicant, world.police_reviewer):
        assert inbox(person, "case.sla_warning") == []

    # The hourly sweep finds nothing new; a retried event delivery sends nothing either.
    assert sweep(django_capture_on_commit_callbacks, WARNING_DAY)["sla_changed"] == 0
    from yiwang.messaging.subscribers import notify_sla

    assert notify_sla(case.pk, "warning") == 0
    assert len(inbox(world.head)) == 1 and len(inbox(world.reviewer)) == 1

    assert sweep(django_capture_on_commit_callbacks, OVERDUE_DAY)["sla_changed"] == 1
    for person in (world.reviewer, world.head, city_head):
        assert [m.template_code for m in inbox(person)] == ["case.sla_warning", "case.sla_overdue"]
    assert inbox(police_head) == [] and inbox(world.reviewer2) == []
    assert sweep(django_capture_on_commit_callbacks, OVERDUE_DAY)["sla_changed"] == 0
    assert len(inbox(world.head)) == 2

    # Every send is in the audit chain, by the system actor.
    sends = AuditEvent.objects.filter(action="message.send", actor_repr="messaging.notify")
    assert sends.count() == Message.objects.count()
    # Staff without an e-mail address: the e-mail copy is recorded as skipped, with the reason.
    email = Message.objects.get(recipient=world.head, channel=Channel.EMAIL, template_code="case.sla_warning")
    assert email.state == MessageState.SKIPPED and "电子邮箱" in email.last_error


def test_unassigned_case_warns_every_reviewer_of_the_department(clocked, django_capture_on_commit_callbacks):
    world = clocked
    accepted_case(world, django_capture_on_commit_callbacks, claim=False)
    sweep(django_capture_on_commit_callbacks, WARNING_DAY)
    assert len(inbox(world.reviewer, "case.sla_warning")) == 1
    assert len(inbox(world.reviewer2, "case.sla_warning")) == 1
    assert len(inbox(world.head, "case.sla_warning")) == 1
    assert inbox(world.police_reviewer) == []


def test_an_sla_notification_reads_its_templates_once_whatever_the_number_of_recipients(
    clocked, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from yiwang.messaging.subscribers import notify_sla

    world = clocked
    case = accepted_case(world, django_capture_on_commit_callbacks, claim=False)
    with django_capture_on_commit_callbacks(execute=False):
        from yiwang.cases import services as cases

        cases.case_sweep(today=WARNING_DAY)  # the case is in warning; its event is not delivered here
    with CaptureQueriesContext(connection) as queries:
        sent = notify_sla(case.pk, "warning")
    assert sent == 6  # two reviewers and the head, in-app and e-mail each
    sql = [q["sql"] for q in queries.captured_queries]
    assert sum('FROM "messaging_template"' in q for q in sql) == 1
    assert sum('FROM "messaging_notificationpreference"' in q for q in sql) == 1


def test_a_stale_sla_event_is_not_sent(clocked, django_capture_on_commit_callbacks):
    from yiwang.messaging.subscribers import notify_sla

    world = clocked
    case = accepted_case(world, django_capture_on_commit_callbacks)
    assert notify_sla(case.pk, "overdue") == 0  # the case is not overdue
    assert notify_sla(case.pk, "normal") == 0
    assert notify_sla(999999, "warning") == 0
    assert not Message.objects.filter(template_code__startswith="case.sla").exists()


def test_applicant_is_told_of_acceptance_in_app_and_by_sms(clocked, django_capture_on_commit_callbacks):
    world = clocked
    case = accepted_case(world, django_capture_on_commit_callbacks, claim=False)
    (message,) = inbox(world.applicant)
    assert message.template_code == "case.accepted" and message.subject == "您的申请已受理"
    assert case.number in message.body and "2025-10-21" in message.body
    assert message.ref_url == f"/cases/{case.pk}/"
    sms = Message.objects.get(recipient=world.applicant, channel=Channel.SMS)
    # No gateway configured: recorded as not sent, with the reason — never pretended sent.
    assert sms.state == MessageState.SKIPPED and sms.sent_at is None
    (attempt,) = Delivery.objects.filter(message=sms)
    assert attempt.outcome == "skipped" and "YIWANG_SMS_GATEWAY_URL" in attempt.error
    assert AuditEvent.objects.filter(action="message.skipped", object_id=str(sms.pk)).exists()
    # Staff hear nothing about an acceptance.
    assert inbox(world.clerk) == [] and inbox(world.head) == []


def test_applicant_follows_the_case_to_delivery(clocked, django_capture_on_commit_callbacks):
    world = clocked
    case = accepted_case(world, django_capture_on_commit_callbacks)
    cases.case_record_opinion(actor=world.reviewer, case_id=case.pk, opinion="符合条件")
    with django_capture_on_commit_callbacks(execute=True):
        cases.case_decide(actor=world.head, case_id=case.pk, decision="approve")
    with django_capture_on_commit_callbacks(execute=True):
        cases.case_deliver(actor=world.clerk, case_id=case.pk, method="window")
    codes = [m.template_code for m in Message.objects.filter(recipient=world.applicant, channel=Channel.IN_APP)]
    assert sorted(codes) == ["case.accepted", "case.approved", "case.delivered"]


def test_supplement_and_refusal_notices(clocked, django_capture_on_commit_callbacks):
    world = clocked
    first, _ = cases.case_submit(actor=world.applicant, item=world.market_item, form_data={"business_name": "甲"})
    with django_capture_on_commit_callbacks(execute=True):
        cases.case_request_supplement(
            actor=world.clerk, case_id=first.pk, items=[{"material": "身份证明", "problem": "复印件不清晰"}]
        )
    second, _ = cases.case_submit(
        actor=world.applicant, item=world.police_item, form_data={"business_name": "乙"}, idempotency_key="k2"
    )
    with django_capture_on_commit_callbacks(execute=True):
        cases.case_refuse(actor=world.clerk, case_id=second.pk, reason="不属于本机关职权范围")
    subjects = {m.template_code: m for m in inbox(world.applicant)}
    assert subjects["case.supplement_requested"].subject == f"请补正材料:{first.number}"
    assert subjects["case.refused"].ref_url == f"/cases/{second.pk}/"


def test_users_with_role_follows_grants_with_descendants(world):
    tree = world.tree
    city_head = make_staff("city_head2")
    tree.grant(city_head, Role.DEPARTMENT_HEAD, tree.city, include_descendants=True)
    not_below = make_staff("city_only")
    tree.grant(not_below, Role.DEPARTMENT_HEAD, tree.city)
    assert list(users_with_role(role=Role.DEPARTMENT_HEAD, department=tree.city_market)) == [world.head, city_head]
    assert set(users_with_role(role=Role.DEPARTMENT_HEAD, department=tree.city)) == {city_head, not_below}
    assert list(users_with_role(role=Role.REVIEWER, department=world.police)) == [world.police_reviewer]
    world.head.is_active = False
    world.head.save(update_fields=["is_active"])
    assert list(users_with_role(role=Role.DEPARTMENT_HEAD, department=tree.city_market)) == [city_head]
