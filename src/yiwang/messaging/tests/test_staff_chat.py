"""Staff chat (工作群): department groups that follow the role grants, task groups with invited
members, messages with files, unread counts, and the member-only rule (others: 404)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from yiwang.core.errors import Forbidden, NotFound, ValidationFailed
from yiwang.core.models import AuditEvent
from yiwang.identity.models import Role
from yiwang.identity.services import api_token_create
from yiwang.messaging import selectors, services
from yiwang.messaging.models import ChatGroupKind, ChatMessage

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
API = "/api/v1/messages"


def auth(user) -> dict:
    _token, raw = api_token_create(actor=user, user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def department_group(staff):
    services.chat_department_groups_ensure(actor=staff.head)
    return next(g for g in selectors.chat_group_list(actor=staff.head) if g.kind == ChatGroupKind.DEPARTMENT)


def task_group(staff, *members):
    return services.chat_group_create(
        actor=staff.head,
        name="12345 工单 0001 协同处置",
        kind="task",
        ref_type="hotline_ticket",
        ref_id="12345-20261203-0001",
        member_ids=[m.pk for m in members],
    )


def test_department_group_members_follow_the_role_grants(staff):
    group = department_group(staff)
    assert group.department_id == staff.tree.city_market.pk and group.name == "苏州市市场监督管理局"
    members = {u.username for u in selectors.chat_group_members(group=group)}
    assert members == {"sj_head", "sj_reviewer", "sj_clerk"}
    # The district reviewer holds no role there: the group does not exist for him (404) ...
    with pytest.raises(NotFound):
        selectors.chat_group_get(actor=staff.district_reviewer, group_id=group.pk)
    # ... until he is granted one: then he is a member, with no service of ours involved.
    staff.tree.grant(staff.district_reviewer, Role.REVIEWER, staff.tree.city_market)
    assert selectors.chat_group_get(actor=staff.district_reviewer, group_id=group.pk) == group
    # Ensuring again creates nothing new (one group per department).
    assert services.chat_department_groups_ensure(actor=staff.reviewer) == []
    with pytest.raises(ValidationFailed):
        services.chat_member_add(actor=staff.head, group_id=group.pk, user_id=staff.citizen.pk)


def test_unread_counts_per_member_and_reading(staff):
    group = department_group(staff)
    services.chat_message_post(actor=staff.head, group_id=group.pk, body="今天下午三点开会")
    services.chat_message_post(actor=staff.reviewer, group_id=group.pk, body="收到")
    unread = {g.pk: g.unread for g in selectors.chat_group_list(actor=staff.clerk)}
    assert unread[group.pk] == 2
    assert {g.pk: g.unread for g in selectors.chat_group_list(actor=staff.head)}[group.pk] == 1  # not his own
    services.chat_group_mark_read(actor=staff.clerk, group_id=group.pk)
    assert {g.pk: g.unread for g in selectors.chat_group_list(actor=staff.clerk)}[group.pk] == 0
    services.chat_message_post(actor=staff.head, group_id=group.pk, body="请带上材料")
    assert selectors.chat_unread_total(actor=staff.clerk) == 1


def test_task_group_invites_audits_and_hides_from_others(staff):
    group = task_group(staff, staff.district_reviewer)
    assert group.ref_id == "12345-20261203-0001"
    assert {u.username for u in selectors.chat_group_members(group=group)} == {"sj_head", "hq_reviewer"}
    for outsider in (staff.reviewer, staff.city_admin, staff.citizen):
        with pytest.raises(NotFound):
            selectors.chat_group_get(actor=outsider, group_id=group.pk)
        with pytest.raises(NotFound):
            services.chat_message_post(actor=outsider, group_id=group.pk, body="我也想说")
    # Any member invites; only the creator removes others; anyone leaves.
    services.chat_member_add(actor=staff.district_reviewer, group_id=group.pk, user_id=staff.reviewer.pk)
    assert selectors.chat_group_get(actor=staff.reviewer, group_id=group.pk) == group
    with pytest.raises(Forbidden):
        services.chat_member_remove(actor=staff.reviewer, group_id=group.pk, user_id=staff.district_reviewer.pk)
    services.chat_member_remove(actor=staff.head, group_id=group.pk, user_id=staff.reviewer.pk)
    with pytest.raises(NotFound):
        selectors.chat_group_get(actor=staff.reviewer, group_id=group.pk)
    services.chat_member_remove(actor=staff.district_reviewer, group_id=group.pk, user_id=staff.district_reviewer.pk)
    actions = list(AuditEvent.objects.filter(object_id=str(group.pk)).values_list("action", flat=True))
    assert actions.count("chat_member.add") == 1 and actions.count("chat_member.remove") == 2
    assert "chat_group.create" in actions
    with pytest.raises(ValidationFailed) as bad:
        services.chat_member_add(actor=staff.head, group_id=group.pk, user_id=staff.citizen.pk)
    assert "user_id" in bad.value.fields  # citizens are not staff


def test_bad_group_and_message_input(staff):
    with pytest.raises(ValidationFailed) as bad:
        services.chat_group_create(actor=staff.head, name=" ", kind="department")
    assert set(bad.value.fields) == {"name", "kind"}
    with pytest.raises(Forbidden):
        services.chat_group_create(actor=staff.citizen, name="群", kind="task")
    group = task_group(staff)
    with pytest.raises(ValidationFailed) as empty:
        services.chat_message_post(actor=staff.head, group_id=group.pk, body="   ")
    assert empty.value.code == "message_empty" and "body" in empty.value.fields
    exe = SimpleUploadedFile("run.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04")
    with pytest.raises(ValidationFailed) as wrong:
        services.chat_message_post(actor=staff.head, group_id=group.pk, attachment=exe)
    assert wrong.value.code == "attachment_type" and "attachment" in wrong.value.fields
    assert ChatMessage.objects.count() == 0


def test_too_large_file_is_refused_with_the_limit(staff, settings):
    settings.YIWANG_CHAT_ATTACHMENT_MAX_BYTES = 1024
    group = task_group(staff)
    big = SimpleUploadedFile("big.pdf", PDF + b"0" * 2048, content_type="application/pdf")
    with pytest.raises(ValidationFailed) as bad:
        services.chat_message_post(actor=staff.head, group_id=group.pk, body="附件", attachment=big)
    assert bad.value.code == "attachment_too_large" and "1 KB" in bad.value.fields["attachment"][0]
    assert ChatMessage.objects.count() == 0


def test_file_message_is_stored_audited_and_served_to_members_only(staff):
    group = task_group(staff, staff.reviewer)
    upload = SimpleUploadedFile("现场照片.pdf", PDF, content_type="application/octet-stream")
    message = services.chat_message_post(actor=staff.head, group_id=group.pk, body="现场材料", attachment=upload)
    assert message.attachment_type == "application/pdf" and message.attachment_name == "现场照片.pdf"
    event = AuditEvent.objects.get(action="chat_message.post", object_id=str(message.pk))
    assert event.changes["attachment"]["size"] == len(PDF) and len(event.changes["attachment"]["sm3"]) == 64
    assert "现场材料" not in str(event.changes)  # the text is not copied into the audit chain
    url = f"/workbench/messages/chat/files/{message.pk}/"
    response = client_for(staff.reviewer).get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    assert response["X-Content-Type-Options"] == "nosniff"
    assert client_for(staff.clerk).get(url).status_code == 404
    assert Client().get(f"{API}/attachments/{message.pk}", **auth(staff.clerk)).status_code == 404


def test_api_groups_messages_and_polling(staff):
    headers = auth(staff.reviewer)
    groups = Client().get(f"{API}/groups", **headers).json()
    assert [g["kind"] for g in groups] == ["department"]  # created on first use
    created = Client().post(
        f"{API}/groups",
        {"name": "防汛值守", "kind": "incident", "member_ids": [staff.clerk.pk]},
        content_type="application/json",
        **headers,
    )
    assert created.status_code == 201, created.content
    group_id = created.json()["id"]
    assert {m["username"] for m in created.json()["members"]} == {"sj_reviewer", "sj_clerk"}
    first = Client().post(f"{API}/groups/{group_id}/messages", {"body": "水位上涨"}, **headers)
    assert first.status_code == 201 and first.json()["author"]["username"] == "sj_reviewer"
    upload = SimpleUploadedFile("水位.png", PNG)
    second = Client().post(f"{API}/groups/{group_id}/messages", {"body": "", "attachment": upload}, **headers)
    assert second.status_code == 201 and second.json()["attachment_type"] == "image/png"
    assert second.json()["attachment_url"].endswith(f"/attachments/{second.json()['id']}")
    clerk = auth(staff.clerk)
    listed = Client().get(f"{API}/groups", **clerk).json()
    assert {g["id"]: g["unread"] for g in listed}[group_id] == 2
    polled = Client().get(f"{API}/groups/{group_id}/messages?after={first.json()['id']}", **clerk).json()
    assert [m["id"] for m in polled] == [second.json()["id"]]
    read = Client().post(f"{API}/groups/{group_id}/read", **clerk)
    assert read.status_code == 200 and read.json()["read_upto"] == second.json()["id"]
    empty = Client().post(f"{API}/groups/{group_id}/messages", {"body": " "}, **headers)
    assert empty.status_code == 422 and empty.json()["code"] == "message_empty" and "body" in empty.json()["fields"]
    # Not a member: 404, like a missing group; the file is not even read.
    outsider = auth(staff.district_reviewer)
    assert Client().get(f"{API}/groups/{group_id}", **outsider).json()["code"] == "chat_group_not_found"
    post = Client().post(f"{API}/groups/{group_id}/messages", {"attachment": upload}, **outsider)
    assert post.status_code == 404
    assert Client().get(f"{API}/groups/{group_id}/messages", **outsider).status_code == 404
    invited = Client().post(
        f"{API}/groups/{group_id}/members",
        {"user_id": staff.district_reviewer.pk},
        content_type="application/json",
        **headers,
    )
    assert invited.status_code == 200 and len(invited.json()["members"]) == 3
    assert (
        Client().delete(f"{API}/groups/{group_id}/members/{staff.district_reviewer.pk}", **outsider).status_code == 204
    )
    assert Client().get(f"{API}/groups", **auth(staff.citizen)).json() == []


def test_pages_list_room_send_poll_and_non_member_404(staff):
    group = task_group(staff, staff.reviewer)
    head, reviewer = client_for(staff.head), client_for(staff.reviewer)
    listing = reviewer.get("/workbench/messages/chat/")
    assert listing.status_code == 200 and "12345 工单 0001 协同处置" in listing.content.decode()
    assert 'hx-trigger="every' in listing.content.decode()
    room = head.get(f"/workbench/messages/chat/{group.pk}/")
    assert room.status_code == 200 and 'id="chat-poller"' in room.content.decode()
    sent = head.post(
        f"/workbench/messages/chat/{group.pk}/send/", {"body": "请今天内回复", "after": 0}, HTTP_HX_REQUEST="true"
    )
    assert sent.status_code == 200 and "请今天内回复" in sent.content.decode()
    message = ChatMessage.objects.get()
    # The other member's page polls and gets the new message, then is read up to it.
    assert selectors.chat_group_list(actor=staff.reviewer)[0].unread == 1
    poll = reviewer.get(f"/workbench/messages/chat/{group.pk}/poll/?after=0", HTTP_HX_REQUEST="true")
    assert "请今天内回复" in poll.content.decode() and f"after={message.pk}&amp;since=" in poll.content.decode()
    assert selectors.chat_group_list(actor=staff.reviewer)[0].unread == 0
    again = reviewer.get(f"/workbench/messages/chat/{group.pk}/poll/?after={message.pk}", HTTP_HX_REQUEST="true")
    assert "请今天内回复" not in again.content.decode()
    empty = head.post(f"/workbench/messages/chat/{group.pk}/send/", {"body": ""}, HTTP_HX_REQUEST="true")
    assert empty.status_code == 200 and "请输入消息内容或选择文件" in empty.content.decode()  # htmx swaps 2xx only
    assert empty["HX-Retarget"] == "#chat-send"
    plain = head.post(f"/workbench/messages/chat/{group.pk}/send/", {"body": "无脚本也能发"})
    assert plain.status_code == 302
    # Not a member, a citizen, anonymous: 404 / 404 / sign in.
    clerk = client_for(staff.clerk)
    for url in (f"/workbench/messages/chat/{group.pk}/", f"/workbench/messages/chat/{group.pk}/poll/"):
        assert clerk.get(url).status_code == 404
    assert clerk.post(f"/workbench/messages/chat/{group.pk}/send/", {"body": "x"}).status_code == 404
    assert client_for(staff.citizen).get("/workbench/messages/chat/").status_code == 404
    assert Client().get("/workbench/messages/chat/").status_code == 302


def test_page_creates_task_group_and_shows_field_errors(staff):
    head = client_for(staff.head)
    bad = head.post("/workbench/messages/chat/new/", {"name": "", "kind": "task", "members": "nobody"})
    assert bad.status_code == 422
    page = bad.content.decode()
    assert "请填写群名称" in page or "未找到工作人员" in page
    ok = head.post(
        "/workbench/messages/chat/new/",
        {
            "name": "营商环境专项",
            "kind": "task",
            "ref_type": "other",
            "ref_id": "YS-2026-01",
            "members": "sj_clerk hq_head",
        },
    )
    assert ok.status_code == 302
    group = selectors.chat_group_list(actor=staff.district_head).get(name="营商环境专项")
    assert group.ref_id == "YS-2026-01"


def test_page_invites_several_and_refuses_an_unknown_name(staff):
    group = task_group(staff)
    head = client_for(staff.head)
    url = f"/workbench/messages/chat/{group.pk}/members/"
    bad = head.post(url, {"username": "sj_clerk nobody"})
    assert bad.status_code == 422 and "nobody" in bad.content.decode()
    assert head.post(url, {"username": "sj_clerk, hq_reviewer"}).status_code == 302
    assert {u.username for u in selectors.chat_group_members(group=group)} == {"sj_head", "sj_clerk", "hq_reviewer"}
    assert head.post(url, {"username": ""}).status_code == 422
