"""Work instructions (一键触达): who may send to whom, recipients in every channel, read
receipts and acknowledgements, the sender's board, escalation after the deadline, bad input."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from yiwang.core.errors import Forbidden, NotFound, ValidationFailed
from yiwang.core.models import AuditEvent
from yiwang.messaging import selectors, services
from yiwang.messaging.models import InstructionReceipt, Message, MessageState
from yiwang.messaging.tests.test_staff_chat import auth, client_for

API = "/api/v1/messages/instructions"


def later(hours=24):
    return timezone.now() + datetime.timedelta(hours=hours)


def send(staff, actor=None, **kwargs):
    values = {
        "title": "关于开展燃气安全排查的通知",
        "body": "请各单位于本周内完成辖区燃气安全排查,并报送情况。",
        "deadline": later(),
        "department_ids": [staff.tree.city_market.pk],
    }
    return services.instruction_send(actor=actor or staff.city_admin, **(values | kwargs))


def test_city_admin_reaches_departments_and_people_in_every_channel(staff, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        instruction = send(staff, department_ids=[staff.tree.city_market.pk], user_ids=[staff.district_reviewer.pk])
    receipts = {r.recipient.username: r for r in instruction.receipts.select_related("recipient")}
    assert set(receipts) == {"sj_head", "sj_reviewer", "sj_clerk", "hq_reviewer"}
    assert receipts["hq_reviewer"].department_id == staff.tree.huqiu_market.pk  # reached through his own
    inbox = Message.objects.filter(template_code="staff.instruction", channel="in_app")
    assert inbox.count() == 4 and "关于开展燃气安全排查的通知" in inbox.first().subject
    assert inbox.first().ref_url == f"/workbench/messages/instructions/{instruction.pk}/"
    assert Message.objects.filter(template_code="staff.instruction", channel="sms").count() == 4  # skipped: no phone
    assert AuditEvent.objects.filter(action="work_instruction.send", object_id=str(instruction.pk)).exists()


def test_who_may_send_to_whom(staff):
    # A department head reaches his own department's staff ...
    own = send(staff, actor=staff.head)
    assert {r.recipient_id for r in own.receipts.all()} == {staff.reviewer.pk, staff.clerk.pk}  # not himself
    # ... not another department, nor its people.
    with pytest.raises(ValidationFailed) as bad:
        send(staff, actor=staff.head, department_ids=[staff.tree.huqiu_market.pk], user_ids=[staff.district_head.pk])
    assert set(bad.value.fields) == {"department_ids", "user_ids"}
    # A reviewer, a citizen: not senders at all.
    for actor in (staff.reviewer, staff.citizen):
        with pytest.raises(Forbidden):
            send(staff, actor=actor)
        assert services.instruction_may_send(actor) is False


def test_bad_input_no_recipients_deadline_in_the_past_empty_title(staff):
    with pytest.raises(ValidationFailed) as bad:
        send(staff, title="", body="", deadline=timezone.now() - datetime.timedelta(minutes=1), department_ids=[])
    assert set(bad.value.fields) == {"title", "body", "deadline", "recipients"}
    assert "晚于当前时间" in bad.value.fields["deadline"][0]
    with pytest.raises(ValidationFailed) as nobody:
        send(staff, department_ids=[staff.tree.wuzhong.pk])  # a department with no staff
    assert nobody.value.code == "no_recipients"
    with pytest.raises(ValidationFailed) as garbled:
        send(staff, deadline="next tuesday")
    assert "deadline" in garbled.value.fields
    assert InstructionReceipt.objects.count() == 0


def test_double_submit_sends_once(staff):
    first = send(staff, request_key="k-1")
    assert send(staff, request_key="k-1") == first
    assert InstructionReceipt.objects.filter(instruction=first).count() == 3


def test_read_receipt_acknowledgement_and_board(staff):
    instruction = send(staff)
    services.instruction_mark_read(actor=staff.reviewer, instruction_id=instruction.pk)
    ack = services.instruction_acknowledge(actor=staff.head, instruction_id=instruction.pk, note="已部署")
    assert ack.read_at and ack.acknowledged_at and ack.note == "已部署"
    again = services.instruction_acknowledge(actor=staff.head, instruction_id=instruction.pk, note="再次")
    assert again.acknowledged_at == ack.acknowledged_at and again.note == "已部署"  # idempotent
    _found, receipts, counts = selectors.instruction_receipts(actor=staff.city_admin, instruction_id=instruction.pk)
    assert counts == {"recipients": 3, "read": 2, "acknowledged": 1, "unread": 1, "overdue": 0}
    assert {r.recipient.username: r.status for r in receipts} == {
        "sj_head": "acknowledged",
        "sj_reviewer": "read",
        "sj_clerk": "unread",
    }
    # The in-app copy of the acknowledging recipient is read too.
    assert Message.objects.get(recipient=staff.head, channel="in_app", template_code="staff.instruction").state == (
        MessageState.READ
    )
    # Only the sender sees the board; a recipient sees the instruction; others nothing.
    with pytest.raises(NotFound):
        selectors.instruction_receipts(actor=staff.head, instruction_id=instruction.pk)
    with pytest.raises(NotFound):
        selectors.instruction_get(actor=staff.district_reviewer, instruction_id=instruction.pk)
    with pytest.raises(NotFound):
        services.instruction_acknowledge(actor=staff.city_admin, instruction_id=instruction.pk)  # the sender
    assert AuditEvent.objects.filter(action="work_instruction.acknowledge").count() == 1


def test_unacknowledged_instructions_escalate_once_to_the_department_head(staff, django_capture_on_commit_callbacks):
    instruction = send(staff, deadline=later(hours=1))
    services.instruction_acknowledge(actor=staff.reviewer, instruction_id=instruction.pk)
    assert services.instruction_escalate_overdue() == 0  # not yet due
    with django_capture_on_commit_callbacks(execute=True):
        escalated = services.instruction_escalate_overdue(now=later(hours=2))
    assert escalated == 2  # the head and the clerk
    notices = Message.objects.filter(template_code="staff.instruction_overdue", channel="in_app")
    # The department's head is told (to urge the clerk); he is overdue himself, so it goes above
    # him too: nobody above holds the role (苏州市人民政府 has no head here), so to the sender.
    recipients = set(notices.values_list("recipient__username", flat=True))
    assert recipients == {"sj_head", "city_admin"}
    assert "窗口小王" in notices.first().body and "局长孙" in notices.first().body
    assert services.instruction_escalate_overdue(now=later(hours=3)) == 0  # once
    event = AuditEvent.objects.get(action="work_instruction.escalate")
    assert set(event.changes["recipients"]) == {staff.head.pk, staff.clerk.pk}
    assert InstructionReceipt.objects.filter(escalated_at__isnull=False).count() == 2


def test_escalation_goes_to_the_head_of_the_recipients_department(staff):
    instruction = send(staff, department_ids=[staff.tree.huqiu_market.pk])  # city admin to the district
    services.instruction_acknowledge(actor=staff.district_head, instruction_id=instruction.pk)
    services.instruction_escalate_overdue(now=later(hours=48))
    # hq_reviewer's head (who acknowledged) urges him; no one above is bothered.
    to = set(
        Message.objects.filter(template_code="staff.instruction_overdue", channel="in_app").values_list(
            "recipient__username", flat=True
        )
    )
    assert to == {"hq_head"}
    assert list(
        instruction.receipts.filter(escalated_at__isnull=False).values_list("recipient__username", flat=True)
    ) == ["hq_reviewer"]


def test_api_send_list_read_ack_and_receipts(staff):
    admin = auth(staff.city_admin)
    bad = Client().post(
        API,
        {"title": "t", "body": "b", "deadline": "2020-01-01T08:00:00+08:00"},
        content_type="application/json",
        **admin,
    )
    assert bad.status_code == 422 and {"deadline", "recipients"} <= set(bad.json()["fields"])
    sent = Client().post(
        API,
        {
            "title": "节前安全检查",
            "body": "请于周五前完成",
            "deadline": later().isoformat(),
            "department_ids": [staff.tree.city_market.pk],
        },
        content_type="application/json",
        **admin,
    )
    assert sent.status_code == 201, sent.content
    pk = sent.json()["id"]
    assert sent.json()["counts"]["recipients"] == 3
    clerk = auth(staff.clerk)
    inbox = Client().get(API, **clerk).json()
    assert [i["id"] for i in inbox] == [pk] and inbox[0]["my_receipt"]["status"] == "unread"
    assert inbox[0]["counts"] is None
    assert Client().post(f"{API}/{pk}/read", **clerk).json()["status"] == "read"
    acked = Client().post(f"{API}/{pk}/ack", {"note": "收到"}, content_type="application/json", **clerk)
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
    board = Client().get(f"{API}/{pk}/receipts", **admin).json()
    assert {r["recipient"]["username"]: r["status"] for r in board}["sj_clerk"] == "acknowledged"
    assert Client().get(f"{API}/{pk}/receipts", **clerk).status_code == 404
    assert Client().get(f"{API}/{pk}", **auth(staff.district_reviewer)).json()["code"] == "work_instruction_not_found"
    assert [i["id"] for i in Client().get(f"{API}?sent=true", **admin).json()] == [pk]
    refused = Client().post(
        API,
        {"title": "t", "body": "b", "deadline": later().isoformat(), "department_ids": [staff.tree.city_market.pk]},
        content_type="application/json",
        **clerk,
    )
    assert refused.status_code == 403


def test_pages_inbox_detail_ack_board_and_form_errors(staff):
    instruction = send(staff, actor=staff.head)
    clerk = client_for(staff.clerk)
    listing = clerk.get("/workbench/messages/instructions/")
    assert listing.status_code == 200 and "关于开展燃气安全排查的通知" in listing.content.decode()
    detail = clerk.get(f"/workbench/messages/instructions/{instruction.pk}/")
    assert detail.status_code == 200 and "确认收到" in detail.content.decode()
    assert InstructionReceipt.objects.get(recipient=staff.clerk).read_at is not None  # the read receipt
    assert clerk.post(f"/workbench/messages/instructions/{instruction.pk}/ack/", {"note": ""}).status_code == 302
    admin = client_for(staff.head)  # the sender (a city admin must first set up MFA for any page)
    board = admin.get(f"/workbench/messages/instructions/{instruction.pk}/board/").content.decode()
    assert "已确认 1" in board and 'hx-trigger="every' in board
    assert clerk.get(f"/workbench/messages/instructions/{instruction.pk}/board/").status_code == 404
    assert (
        client_for(staff.district_reviewer).get(f"/workbench/messages/instructions/{instruction.pk}/").status_code
        == 404
    )
    assert clerk.get("/workbench/messages/instructions/new/").status_code == 404  # not a sender
    form = admin.post(
        "/workbench/messages/instructions/new/",
        {"title": "x", "body": "y", "deadline": "2020-01-01T08:00", "request_key": "abc"},
    )
    assert form.status_code == 422
    page = form.content.decode()
    assert "确认期限须晚于当前时间" in page and "请至少选择一个接收部门或接收人" in page
    deadline = timezone.localtime(later()).strftime("%Y-%m-%dT%H:%M")
    ok = admin.post(
        "/workbench/messages/instructions/new/",
        {
            "title": "x",
            "body": "y",
            "deadline": deadline,
            "department_ids": [str(staff.tree.city_market.pk)],
            "users": "sj_clerk",
            "request_key": "abc",
        },
    )
    assert ok.status_code == 302
    assert InstructionReceipt.objects.filter(instruction__title="x").count() == 2  # reviewer, clerk
