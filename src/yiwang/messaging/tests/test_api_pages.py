"""The inbox over the API and the pages: own messages only (another's is a 404), read state,
and the unread badge in the header of both front ends."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from yiwang.identity.services import api_token_create
from yiwang.messaging.models import Message, MessageState
from yiwang.messaging.services import Ref, message_send

API = "/api/v1/messages"
CONTEXT = {"item_name": "个体工商户设立登记", "number": "320500202509300001", "due_date": "2025-10-21"}


def auth(user) -> dict:
    _token, raw = api_token_create(actor=user, user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def send(user, code="case.accepted", ref_id=1, url=None):
    (message,) = message_send(
        actor="test",
        recipient=user,
        template_code=code,
        context=CONTEXT,
        channels=["in_app"],
        ref=Ref("case", ref_id, url or f"/cases/{ref_id}/"),
    )
    return message


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_api_lists_own_messages_newest_first_and_marks_them_read(world):
    first = send(world.applicant, "case.accepted", 1)
    second = send(world.applicant, "case.approved", 1)
    send(world.other_citizen, "case.accepted", 2)
    headers = auth(world.applicant)
    page = Client().get(f"{API}/", **headers).json()
    assert page["count"] == 2 and [m["id"] for m in page["items"]] == [second.pk, first.pk]
    assert page["items"][0]["subject"] == "您的申请已获准予" and page["items"][0]["unread"] is True
    assert page["items"][0]["ref_url"] == "/cases/1/" and page["items"][0]["ref_type"] == "case"

    read = Client().post(f"{API}/{first.pk}/read", **headers)
    assert read.status_code == 200 and read.json()["unread"] is False and read.json()["read_at"]
    unread = Client().get(f"{API}/?unread=true", **headers).json()
    assert [m["id"] for m in unread["items"]] == [second.pk]
    assert [m["id"] for m in Client().get(f"{API}/?unread=false", **headers).json()["items"]] == [first.pk]

    done = Client().post(f"{API}/read-all", **headers).json()
    assert done == {"marked": 1, "unread": 0}
    assert Message.objects.get(recipient=world.other_citizen).state == MessageState.SENT


def test_api_another_persons_message_is_404(world):
    theirs = send(world.other_citizen)
    response = Client().post(f"{API}/{theirs.pk}/read", **auth(world.applicant))
    assert response.status_code == 404 and response.json()["code"] == "message_not_found"
    assert Client().post(f"{API}/999999/read", **auth(world.applicant)).json()["code"] == "message_not_found"
    theirs.refresh_from_db()
    assert theirs.state == MessageState.SENT
    assert Client().get(f"{API}/").status_code == 401


def test_e_mail_and_sms_copies_are_not_inbox_entries(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message_send(actor="test", recipient=world.applicant, template_code="case.accepted", context=CONTEXT)
    assert Message.objects.filter(recipient=world.applicant).count() == 2  # in-app and SMS (skipped)
    page = Client().get(f"{API}/", **auth(world.applicant)).json()
    assert page["count"] == 1


def test_portal_inbox_highlights_unread_links_the_case_and_marks_read(world):
    message = send(world.applicant, "case.accepted", 7)
    send(world.other_citizen, "case.refused", 8)
    client = client_for(world.applicant)
    page = client.get("/messages/")
    html = page.content.decode()
    assert page.status_code == 200 and "我的消息" in html
    assert 'class="message is-unread"' in html and 'href="/cases/7/"' in html and "您的申请已受理" in html
    assert "您的申请不予受理" not in html
    assert 'id="unread-badge"' in html and ">1<" in html

    partial = client.post(f"/messages/{message.pk}/read/", HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert partial.status_code == 200 and "is-unread" not in body and 'hx-swap-oob="true"' in body
    message.refresh_from_db()
    assert message.state == MessageState.READ

    send(world.applicant, "case.approved", 7)
    send(world.applicant, "case.delivered", 7)
    assert client.post("/messages/read-all/").status_code == 302
    assert not Message.objects.filter(recipient=world.applicant, state=MessageState.SENT).exists()
    assert "没有未读消息" in client.get("/messages/?filter=unread").content.decode()


def test_pages_another_persons_message_is_404_and_workbench_is_for_staff(world):
    theirs = send(world.other_citizen)
    client = client_for(world.applicant)
    assert client.post(f"/messages/{theirs.pk}/read/").status_code == 404
    assert client.get("/workbench/messages/").status_code == 404
    assert Client().get("/messages/").status_code == 302  # to sign in
    staff = client_for(world.head)
    send(world.head, "case.sla_warning", 3, url="/workbench/cases/3/")
    page = staff.get("/workbench/messages/").content.decode()
    assert "消息中心" in page and 'href="/workbench/cases/3/"' in page and "办件临近超期" in page
    assert 'href="/workbench/messages/"' in page  # the header links staff to the workbench inbox
    assert staff.post(f"/workbench/messages/{theirs.pk}/read/").status_code == 404


@pytest.mark.parametrize("path", ["/", "/cases/", "/account/"])
def test_unread_badge_in_the_header_costs_one_query(world, path):
    for i in range(3):
        send(world.applicant, "case.accepted", i)
    client = client_for(world.applicant)
    client.get(path)  # warm the session
    with CaptureQueriesContext(connection) as queries:
        html = client.get(path).content.decode()
    counts = [q["sql"] for q in queries.captured_queries if "messaging_message" in q["sql"]]
    assert len(counts) == 1 and "COUNT" in counts[0].upper()
    assert '<span id="unread-badge" class="badge badge-count">3<' in html


def test_no_badge_query_for_visitors(db):
    with CaptureQueriesContext(connection) as queries:
        html = Client().get("/").content.decode()
    assert "unread-badge" not in html
    assert not [q for q in queries.captured_queries if "messaging_message" in q["sql"]]


def test_badge_hidden_when_everything_is_read(world):
    message = send(world.applicant)
    message.state = MessageState.READ
    message.save(update_fields=["state"])
    html = client_for(world.applicant).get("/").content.decode()
    assert 'id="unread-badge" class="badge badge-count" hidden' in html


@pytest.mark.parametrize("total", [3, 30])
def test_api_list_pages_in_sql_with_a_query_count_that_does_not_grow(world, total, django_assert_max_num_queries):
    messages = [send(world.applicant, "case.accepted", i) for i in range(total)]
    headers = auth(world.applicant)
    client = Client()
    with django_assert_max_num_queries(6):
        page = client.get(f"{API}/?page_size=2", **headers).json()
    assert page["count"] == total
    assert [m["id"] for m in page["items"]] == [messages[-1].pk, messages[-2].pk]
    with django_assert_max_num_queries(6), CaptureQueriesContext(connection) as queries:
        second = client.get(f"{API}/?page=2&page_size=2", **headers).json()
    inbox = [q["sql"].upper() for q in queries.captured_queries if "messaging_message" in q["sql"]]
    assert any("COUNT(" in sql for sql in inbox)  # counted in SQL, not by loading the inbox
    assert any("LIMIT 2" in sql and "OFFSET 2" in sql for sql in inbox)
    assert [m["id"] for m in second["items"]] == [messages[-3].pk] + ([messages[-4].pk] if total > 3 else [])
    item = second["items"][0]
    assert set(item) == {
        "id",
        "template_code",
        "subject",
        "body",
        "ref_type",
        "ref_id",
        "ref_url",
        "unread",
        "created_at",
        "read_at",
    }
    assert item["ref_id"] == str(total - 3) and item["unread"] is True and item["read_at"] is None
