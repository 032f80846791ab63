"""Staff chat: its author edits or recalls (撤回) a message within the change window; the
change is audited, the others see the new text or "已撤回" on their next poll, a recalled
file is served to no one, and anyone else — or too late — is refused with a clear reason."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.models import AuditEvent
from yiwang.messaging import selectors, services
from yiwang.messaging.models import ChatMessage
from yiwang.messaging.tests.test_staff_chat import API, PDF, auth, client_for, task_group


def _age(message, minutes):
    ChatMessage.objects.filter(pk=message.pk).update(created_at=timezone.now() - datetime.timedelta(minutes=minutes))


def test_author_edits_within_the_window_audited_by_digest(staff):
    group = task_group(staff, staff.reviewer)
    message = services.chat_message_post(actor=staff.head, group_id=group.pk, body="下午三点开会")
    edited = services.chat_message_edit(actor=staff.head, message_id=message.pk, body="下午四点开会")
    assert edited.body == "下午四点开会" and edited.edited_at and edited.changed_at
    event = AuditEvent.objects.filter(action="chat_message.edit").get()
    assert event.changes["group"] == group.pk and len(event.changes["body_sm3"]) == 2
    assert "四点" not in str(event.changes)  # digests, never the text
    # Someone else's message: refused (he sees it, so 403, not 404); an outsider: 404.
    with pytest.raises(Forbidden):
        services.chat_message_edit(actor=staff.reviewer, message_id=message.pk, body="改")
    with pytest.raises(NotFound):
        services.chat_message_edit(actor=staff.clerk, message_id=message.pk, body="改")
    # Empty text on a text-only message: a field error (recall it instead); nothing changed.
    with pytest.raises(ValidationFailed) as empty:
        services.chat_message_edit(actor=staff.head, message_id=message.pk, body="  ")
    assert "body" in empty.value.fields
    assert ChatMessage.objects.get(pk=message.pk).body == "下午四点开会"
    # Past the window (2 minutes by default): 409, with the limit in the message.
    _age(message, 3)
    with pytest.raises(Conflict) as late:
        services.chat_message_edit(actor=staff.head, message_id=message.pk, body="五点")
    assert late.value.code == "chat_message_too_old" and "2" in str(late.value.message)


def test_recall_hides_text_and_file_from_everyone(staff, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    group = task_group(staff, staff.reviewer)
    message = services.chat_message_post(
        actor=staff.head,
        group_id=group.pk,
        body="议程见附件",
        attachment=SimpleUploadedFile("议程.pdf", PDF, content_type="application/pdf"),
    )
    services.chat_message_recall(actor=staff.head, message_id=message.pk)
    assert AuditEvent.objects.filter(action="chat_message.recall").get().changes == {
        "group": group.pk,
        "had_attachment": True,
    }
    with pytest.raises(NotFound):
        selectors.chat_attachment_get(actor=staff.reviewer, message_id=message.pk)
    with pytest.raises(Conflict) as again:
        services.chat_message_recall(actor=staff.head, message_id=message.pk)
    assert again.value.code == "chat_message_recalled"
    with pytest.raises(Conflict):
        services.chat_message_edit(actor=staff.head, message_id=message.pk, body="x")
    # The API shows it recalled, without text or file, to every member.
    listed = client_for(staff.reviewer).get(f"{API}/groups/{group.pk}/messages").json()
    assert listed[0]["recalled"] is True and listed[0]["body"] == "" and listed[0]["attachment_url"] == ""
    assert client_for(staff.reviewer).get(f"{API}/attachments/{message.pk}").status_code == 404
    room = client_for(staff.reviewer).get(f"/workbench/messages/chat/{group.pk}/").content.decode()
    assert "已撤回" in room and "议程见附件" not in room and "议程.pdf" not in room


def test_pages_edit_and_recall_and_the_others_poll_sees_it(staff):
    group = task_group(staff, staff.reviewer)
    head, reviewer = client_for(staff.head), client_for(staff.reviewer)
    mine = services.chat_message_post(actor=staff.head, group_id=group.pk, body="明天九点集合")
    theirs = services.chat_message_post(actor=staff.reviewer, group_id=group.pk, body="收到")
    # The reviewer's page is open: its poller remembers when it last looked.
    room = reviewer.get(f"/workbench/messages/chat/{group.pk}/").content.decode()
    since = room.split("since=")[1].split('"')[0]
    # Only his own message offers 编辑 / 撤回.
    head_room = head.get(f"/workbench/messages/chat/{group.pk}/").content.decode()
    assert f"/chat/messages/{mine.pk}/edit/" in head_room and f"/chat/messages/{theirs.pk}/edit/" not in head_room
    edited = head.post(
        f"/workbench/messages/chat/messages/{mine.pk}/edit/", {"body": "明天八点集合"}, HTTP_HX_REQUEST="true"
    )
    assert edited.status_code == 200 and "明天八点集合" in edited.content.decode()
    assert "已编辑" in edited.content.decode()
    poll = reviewer.get(
        f"/workbench/messages/chat/{group.pk}/poll/?after={theirs.pk}&since={since}", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'hx-swap-oob="outerHTML"' in poll and "明天八点集合" in poll and "已编辑" in poll
    # Recall without JavaScript: back to the room; the reviewer's next poll shows 已撤回.
    recalled = head.post(f"/workbench/messages/chat/messages/{mine.pk}/recall/")
    assert recalled.status_code == 302
    poll = reviewer.get(
        f"/workbench/messages/chat/{group.pk}/poll/?after={theirs.pk}&since={since}", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "已撤回" in poll and "明天八点集合" not in poll
    # Someone else's message: the message comes back with the reason; an outsider: 404.
    refused = reviewer.post(
        f"/workbench/messages/chat/messages/{mine.pk}/edit/", {"body": "x"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "已撤回" in refused or "只能编辑或撤回自己发送的消息" in refused
    other = reviewer.post(f"/workbench/messages/chat/messages/{theirs.pk}/recall/", HTTP_HX_REQUEST="true")
    assert other.status_code == 200 and "已撤回" in other.content.decode()
    assert client_for(staff.clerk).post(f"/workbench/messages/chat/messages/{mine.pk}/recall/").status_code == 404


def test_api_edit_recall_and_changed_since(staff):
    group = task_group(staff, staff.reviewer)
    message = services.chat_message_post(actor=staff.head, group_id=group.pk, body="初稿")
    before = timezone.now()
    out = client_for(staff.head).patch(
        f"{API}/chat-messages/{message.pk}", {"body": "定稿"}, content_type="application/json", **auth(staff.head)
    )
    assert out.status_code == 200 and out.json()["body"] == "定稿" and out.json()["edited_at"]
    refused = client_for(staff.reviewer).post(f"{API}/chat-messages/{message.pk}/recall", **auth(staff.reviewer))
    assert refused.status_code == 403 and refused.json()["code"] == "chat_message_not_yours"
    changed = client_for(staff.reviewer).get(
        f"{API}/groups/{group.pk}/messages", {"changed_since": before.isoformat(), "after": message.pk}
    )
    assert [m["body"] for m in changed.json()] == ["定稿"]
    _age(message, 5)
    late = client_for(staff.head).post(f"{API}/chat-messages/{message.pk}/recall", **auth(staff.head))
    assert late.status_code == 409 and late.json()["code"] == "chat_message_too_old"
