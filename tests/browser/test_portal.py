"""The portal in a real browser, on a phone-sized screen, against a live server.

One journey rather than many small tests: the browser start-up is the expensive part.
"""

import datetime
import re

import pytest
from playwright.sync_api import expect

from yiwang.core.codes import make_id_number
from yiwang.identity.models import Department, Role, User
from yiwang.identity.services import department_create, role_grant_create, user_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Qiang-Mima-2026"


def no_horizontal_scroll(page, width=375):
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} is {scroll_width}px wide on a {width}px screen"


def sign_in(page, base, username):
    page.goto(f"{base}/accounts/login/")
    no_horizontal_scroll(page)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/accounts/login/'] button[type=submit]")
    page.wait_for_load_state()
    assert "/accounts/login/" not in page.url, page.content()


def sign_out(page):
    page.click(".site-nav form button[type=submit]")
    page.wait_for_load_state()


def is_elder(page) -> bool:
    return page.evaluate("document.documentElement.classList.contains('elder')")


def test_citizen_switches_language_and_elder_mode_and_it_sticks(live_server, new_page, requests_seen):
    id_number = make_id_number("320505", datetime.date(1948, 5, 12), 82)
    user_create(
        actor=None,
        username="wangnainai",
        password=PASSWORD,
        kind=User.Kind.CITIZEN,
        real_name="王秀英",
        id_number=id_number,
        phone="13900001111",
    )
    base = live_server.url
    page = new_page(375)

    page.goto(base + "/")
    assert page.get_attribute("html", "lang") == "zh-hans"
    assert "一网 · 示范市" in page.inner_text("header")
    no_horizontal_scroll(page)

    # Language: English and back, through Django's set_language.
    page.click("button[name=language][value=en]")
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang") == "en"
    assert page.get_attribute("button[name=language][value=en]", "aria-pressed") == "true"
    assert page.inner_text("#elder-toggle") == "Elder mode"
    no_horizontal_scroll(page)
    page.click("button[name=language][value=zh-hans]")
    page.wait_for_load_state()
    assert page.get_attribute("html", "lang") == "zh-hans"

    # Sign in, then one click turns elder mode on (htmx swaps the page in place).
    sign_in(page, base, "wangnainai")
    page.goto(base + "/account/")
    assert id_number not in page.content() and "320505**" in page.inner_text("main")
    assert not is_elder(page)
    page.evaluate("window.notReloaded = true")
    page.click("#elder-toggle")
    expect(page.locator("html")).to_have_class(re.compile(r"\belder\b"))  # CSP: no eval, so no wait_for_function
    assert page.url.endswith("/account/")
    assert page.evaluate("window.notReloaded === true"), "the htmx toggle should not reload the page"
    assert "已开启长辈模式" in page.inner_text("main")
    body_px = float(page.evaluate("getComputedStyle(document.body).fontSize").removesuffix("px"))
    assert body_px >= 20
    assert page.is_hidden(".site-footer")  # secondary content gone
    no_horizontal_scroll(page)

    # It stays on: after a reload, after signing out, after signing in again.
    page.reload()
    assert is_elder(page)
    sign_out(page)
    assert is_elder(page)
    sign_in(page, base, "wangnainai")
    assert is_elder(page)
    # ... and on another device (no cookie), because it is saved on the account.
    other = new_page(375)
    sign_in(other, base, "wangnainai")
    assert is_elder(other)
    no_horizontal_scroll(other)

    # Turning it off is one click too.
    page.goto(base + "/")
    page.click("#elder-toggle")
    expect(page.locator("html")).not_to_have_class(re.compile(r"\belder\b"))

    assert requests_seen.urls, "the request log recorded nothing"
    assert requests_seen.foreign() == []


def test_staff_workbench_fits_a_phone_in_both_languages(live_server, new_page, requests_seen):
    root = user_create(actor=None, username="root", password=PASSWORD, kind=User.Kind.STAFF, is_staff=True)
    root.is_superuser = True
    root.save(update_fields=["is_superuser"])
    city = department_create(
        actor=root,
        name="苏州市人民政府",
        code="SZ",
        level=Department.Level.CITY,
        kind=Department.Kind.GOVERNMENT,
        region_code="320500",
    )
    market = department_create(
        actor=root,
        name="苏州市行政审批服务局",
        code="SZ-XZSP",
        level=Department.Level.CITY,
        kind=Department.Kind.AGENCY,
        region_code="320500",
        parent=city,
    )
    clerk = user_create(actor=None, username="clerk", password=PASSWORD, kind=User.Kind.STAFF, real_name="李窗口")
    role_grant_create(actor=root, user=clerk, role=Role.WINDOW_CLERK, department=market)

    page = new_page(375)
    sign_in(page, live_server.url, "clerk")
    page.goto(live_server.url + "/workbench/")
    main = page.inner_text("main")
    assert "窗口受理人员" in main and "苏州市行政审批服务局" in main
    no_horizontal_scroll(page)
    page.click("button[name=language][value=en]")
    page.wait_for_load_state()
    no_horizontal_scroll(page)
    assert requests_seen.foreign() == []
