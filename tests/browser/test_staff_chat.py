"""Two members of staff chat on 375 px phones: one sends (htmx), the other sees the message
appear without reloading (htmx polling), and an empty send shows the error under the field.
No request leaves the machine."""

import pytest
from django.test import Client
from playwright.sync_api import expect

from yiwang.messaging import services
from yiwang.messaging.tests.staff_world import build_staff_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def signed_in_page(new_page, live_server, user):
    client = Client()
    client.force_login(user)
    page = new_page(375)
    page.context.set_default_timeout(30_000)  # a busy machine: the live server answers slowly
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return page


def test_two_staff_chat_and_the_other_sees_it_without_reloading(
    live_server, new_page, requests_seen, settings, tmp_path
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path / "media")
    staff = build_staff_world()
    group = services.chat_group_create(
        actor=staff.head, name="燃气安全专项排查", kind="task", member_ids=[staff.reviewer.pk]
    )
    room = f"{live_server.url}/workbench/messages/chat/{group.pk}/"
    head = signed_in_page(new_page, live_server, staff.head)
    reviewer = signed_in_page(new_page, live_server, staff.reviewer)

    reviewer.goto(f"{live_server.url}/workbench/messages/chat/")
    expect(reviewer.get_by_text("燃气安全专项排查")).to_be_visible()
    reviewer.get_by_text("燃气安全专项排查").click()
    reviewer.wait_for_url(room)
    head.goto(room)

    head.get_by_label("消息", exact=True).fill("请今天下班前报送排查台账")
    head.get_by_role("button", name="发送", exact=True).click()
    expect(head.locator("#chat-log")).to_contain_text("请今天下班前报送排查台账")
    expect(head.get_by_label("消息", exact=True)).to_have_value("")  # the send box is cleared
    # The other phone: the poll brings it in, no reload.
    expect(reviewer.locator("#chat-log")).to_contain_text("请今天下班前报送排查台账", timeout=15_000)
    assert reviewer.url == room
    assert reviewer.evaluate("document.documentElement.scrollWidth") <= 375

    reviewer.get_by_label("消息", exact=True).fill("收到,已在整理")
    reviewer.get_by_role("button", name="发送", exact=True).click()
    expect(head.locator("#chat-log")).to_contain_text("收到,已在整理", timeout=15_000)
    assert head.locator(".chat-msg").count() == 2  # each message once, however the polls and sends interleave

    # Its author edits, then recalls, his message; the other page sees each on its next poll.
    first = head.locator(".chat-msg", has_text="请今天下班前报送排查台账")
    first.locator("summary").click()
    first.get_by_label("修改消息").fill("请明天上午报送排查台账")
    first.get_by_role("button", name="保存修改").click()
    expect(head.locator("#chat-log")).to_contain_text("(已编辑)")
    expect(reviewer.locator("#chat-log")).to_contain_text("请明天上午报送排查台账", timeout=15_000)
    edited = head.locator(".chat-msg", has_text="请明天上午报送排查台账")
    edited.locator("summary").click()
    edited.get_by_role("button", name="撤回").click()
    expect(head.locator("#chat-log")).to_contain_text("你撤回了一条消息")
    expect(reviewer.locator("#chat-log")).to_contain_text("撤回了一条消息", timeout=15_000)
    expect(reviewer.locator("#chat-log")).not_to_contain_text("排查台账")
    assert reviewer.locator(".chat-msg").count() == 2  # swapped in place, not added

    head.get_by_role("button", name="发送", exact=True).click()  # nothing typed
    expect(head.locator("#id_body_err")).to_contain_text("请输入消息内容或选择文件")
    head.screenshot(path=str(tmp_path / "chat-375.png"), full_page=True)
    assert requests_seen.foreign() == []
