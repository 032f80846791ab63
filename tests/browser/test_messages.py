"""The inbox on a 375 px phone: the header's badge counts the unread messages, marking one read
(htmx) updates the entry and the badge in place, and the link leads to the case. No request
leaves the machine."""

import pytest
from django.test import Client
from playwright.sync_api import expect

from yiwang.cases.tests.factories import build_world
from yiwang.messaging.services import Ref, message_send

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONTEXT = {"item_name": "个体工商户设立登记", "number": "320500202509300001", "due_date": "2025-10-21"}


def test_inbox_badge_and_mark_read_on_a_phone(live_server, new_page, requests_seen, settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    world = build_world()
    for code in ("case.accepted", "case.approved"):
        message_send(
            actor="test",
            recipient=world.applicant,
            template_code=code,
            context=CONTEXT,
            channels=["in_app"],
            ref=Ref("case", 1, "/cases/1/"),
        )
    client = Client()
    client.force_login(world.applicant)
    page = new_page(375)
    base = live_server.url
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}])

    page.goto(f"{base}/")
    assert page.inner_text("#unread-badge").startswith("2")
    page.get_by_role("link", name="消息").first.click()
    page.wait_for_url("**/messages/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.locator(".message.is-unread").count() == 2
    page.screenshot(path=str(tmp_path / "inbox-375.png"), full_page=True)

    page.get_by_role("button", name="标为已读", exact=True).first.click()
    expect(page.locator(".message.is-unread")).to_have_count(1)  # CSP: no eval, so no wait_for_function
    assert page.inner_text("#unread-badge").startswith("1")
    assert page.url.endswith("/messages/")  # swapped in place, no reload

    page.get_by_role("button", name="全部标为已读").click()
    page.wait_for_load_state()
    assert page.locator(".message.is-unread").count() == 0
    assert not page.locator("#unread-badge").is_visible()
    assert requests_seen.foreign() == []
