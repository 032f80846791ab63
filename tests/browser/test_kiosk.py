"""The kiosk on a 1080×1920 portrait touch screen: activation, a one-time QR sign-in confirmed
from the citizen's phone (a second browser context), big touch targets, and the idle timer that
signs the kiosk out by itself."""

import re

import pytest
from django.test import Client

from yiwang.appointments import services
from yiwang.appointments.tests.factories import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def message_templates():
    import importlib

    from django.apps import apps

    importlib.import_module("yiwang.appointments.migrations.0002_message_templates").seed(apps, None)


def test_kiosk_qr_login_from_phone_then_idle_sign_out(live_server, new_page, requests_seen, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.YIWANG_KIOSK_IDLE_SECONDS = 20
    world = build_world()
    device = services.kiosk_device_create(actor=world.tree.root, hall=world.hall, name="1号自助机")
    base = live_server.url

    kiosk = new_page(1080, 1920)
    problems = []
    kiosk.on("pageerror", lambda e: problems.append(str(e)))
    kiosk.on(
        "console",
        lambda m: (
            m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico") and problems.append(m.text)
        ),
    )
    kiosk.goto(f"{base}/kiosk/")
    kiosk.get_by_label("激活码").fill(device.code)
    kiosk.get_by_role("button", name="激活").click()
    kiosk.wait_for_selector("#kiosk-qr svg")
    # Touch targets: every button and link of the kiosk bar and the login tiles is at least 64 px high.
    heights = kiosk.eval_on_selector_all(".kiosk-bar .btn, .kiosk-tiles .btn", "els => els.map(e => e.offsetHeight)")
    assert heights and min(heights) >= 64, heights
    assert kiosk.evaluate("document.documentElement.scrollWidth <= 1080")
    scan_url = kiosk.get_attribute("#kiosk-qr .qr", "data-scan-url")
    assert re.search(r"/kiosk/scan/[^/]+/$", scan_url)

    # The citizen's phone: signed in there, opens the QR's link and confirms.
    client = Client()
    client.force_login(world.citizen)
    phone = new_page(375, 800)
    phone.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}])
    phone.goto(scan_url)
    phone.get_by_role("button", name="确认登录").click()
    phone.wait_for_load_state()
    assert "已确认" in phone.content()

    # The kiosk's htmx poll notices and signs the kiosk session in.
    kiosk.wait_for_selector("text=张三,您好", timeout=15000)
    assert kiosk.get_by_role("button", name="退出").is_visible()

    # Nobody touches the screen: the warning shows, then the timer signs the kiosk out.
    kiosk.wait_for_selector(".kiosk-idle:not([hidden])", timeout=15000)
    kiosk.wait_for_selector("#kiosk-qr svg", timeout=20000)
    assert "长时间无操作,已自动退出登录" in kiosk.content()
    kiosk.goto(f"{base}/kiosk/bookings/")
    assert "/accounts/login/" in kiosk.url  # the server-side session is gone too
    assert problems == []
    assert requests_seen.foreign() == []
