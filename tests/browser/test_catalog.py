"""The public catalog in a real browser on a 375 px phone: search with suggestions as you type,
the guide, a life event, elder mode; no request leaves the machine."""

import re

import pytest
from playwright.sync_api import expect

from yiwang.catalog import search, services
from yiwang.catalog.tests.factories import build_world, item_data, life_event_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def no_horizontal_scroll(page, width=375):
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} is {scroll_width}px wide on a {width}px screen"


def test_a_citizen_finds_an_item_by_pinyin_initials_and_reads_its_guide(live_server, new_page, requests_seen, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    world = build_world()
    for code, name in (("SZ-SJJ-0001", "个体工商户设立登记"), ("SZ-SJJ-0002", "公章刻制备案")):
        data = item_data(implementation_code=code, name=name)
        item = services.item_save_draft(actor=world.market_admin, data=data).version.item
        services.item_publish(actor=world.market_admin, item=item)  # indexed on commit
    bundle = services.life_event_save_draft(actor=world.market_admin, data=life_event_data()).version.life_event
    services.life_event_publish(actor=world.market_admin, life_event=bundle)
    search.synonyms_seed()  # the everyday words an install starts with (个体户 → 个体工商户, …)

    base = live_server.url
    page = new_page(375)
    page.goto(base + "/services/")
    no_horizontal_scroll(page)
    assert "开办企业一件事" in page.inner_text("main")

    # Suggestions as you type (htmx), then straight to the guide.
    page.type("#catalog-q", "gtgsh", delay=30)
    page.wait_for_selector("#suggestions a")
    assert "个体工商户设立登记" in page.inner_text("#suggestions")
    page.click("#suggestions a")
    page.wait_for_url("**/services/items/SZ-SJJ-0001/")
    no_horizontal_scroll(page)
    main = page.inner_text("main")
    assert "承诺办结时限" in main and "经营者身份证明" in main and "免提交" in main

    # Elder mode: one click, the guide stays readable on the phone.
    page.click("#elder-toggle")
    expect(page.locator("html")).to_have_class(re.compile(r"\belder\b"))  # CSP: no eval, so no wait_for_function
    no_horizontal_scroll(page)

    page.goto(base + "/services/life-events/LE-KBQY/")
    no_horizontal_scroll(page)
    assert "一套材料" in page.inner_text("main")
    page.goto(base + "/services/?q=" + "个体户")
    assert "个体工商户设立登记" in page.inner_text("main")
    no_horizontal_scroll(page)
    assert requests_seen.foreign() == []
