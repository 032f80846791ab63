"""The dashboards render every panel as an ECharts chart in a real Chromium — the leader's
page and the big screen at 1920 px, the page at 375 px — with the district map, PNG export
and nothing fetched from outside (screenshots saved under the test's tmp dir)."""

import pytest
from django.test import Client

from yiwang.analytics import services
from yiwang.analytics.tests.factories import build_world, phone_ticket, submit_case
from yiwang.identity import mfa

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RENDERED = "() => [...document.querySelectorAll('[data-panel],[data-map]')].every(e => e.dataset.rendered === '1')"


def _signed_in(new_page, base, user, width, height=1080):
    client = Client()
    client.force_login(user)
    session = client.session
    session[mfa.SESSION_VERIFIED] = True  # the operator is an admin: as after a TOTP check
    session.save()
    page = new_page(width, height)
    page.set_default_timeout(90_000)  # a dozen charts, each fetching its data: slow on a busy machine
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}])
    return page


def test_dashboard_and_big_screen_render_charts(live_server, new_page, requests_seen, settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path / "media")
    world = build_world()
    submit_case(world, "k1")
    submit_case(world, "k2")
    phone_ticket(world)
    services.indicator_rollup()
    base = live_server.url
    problems = []

    page = _signed_in(new_page, base, world.operator, 1920)
    page.on("pageerror", lambda e: problems.append(f"page {e} {e.stack}"))
    page.on("console", lambda m: m.type == "error" and problems.append(f"page {m.text} {m.location}"))
    page.goto(f"{base}/workbench/dashboards/?scope=city")
    page.wait_for_function(RENDERED)
    assert page.locator("[data-panel] canvas").count() >= 10
    assert page.locator("#chart-district_map canvas").count() == 1
    assert page.evaluate("echarts.version") == "6.1.0"
    # The map's series holds the districts, coloured by the chosen indicator.
    page.select_option("#map-indicator", "hotline.received")
    page.wait_for_function(RENDERED)
    values = page.evaluate(
        "echarts.getInstanceByDom(document.getElementById('chart-district_map')).getOption().series[0].data"
    )
    assert {"name": "320505", "value": 1} in values
    assert {"name": "320506", "value": "-"} in values  # no ticket there: no colour
    with page.expect_download() as download:
        page.locator("[data-export-png='chart-cases_volume']").click()
    png = tmp_path / "cases_volume.png"
    download.value.save_as(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page.screenshot(path=str(tmp_path / "dashboard-1920.png"), full_page=True)

    screen = _signed_in(new_page, base, world.operator, 1920)
    screen.on("pageerror", lambda e: problems.append(f"screen {e} {e.stack}"))
    screen.on("console", lambda m: m.type == "error" and problems.append(f"screen {m.text} {m.location}"))
    screen.goto(f"{base}/workbench/dashboards/screen/?scope=city")
    screen.wait_for_function(RENDERED)
    assert screen.evaluate("document.body.dataset.theme") == "dark"
    assert screen.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(7, 20, 38)"
    screen.screenshot(path=str(tmp_path / "screen-1920.png"))

    phone = _signed_in(new_page, base, world.head, 375, 800)
    phone.on("pageerror", lambda e: problems.append(f"phone {e} {e.stack}"))
    phone.on("console", lambda m: m.type == "error" and problems.append(f"phone {m.text} {m.location}"))
    phone.goto(f"{base}/workbench/dashboards/")
    phone.wait_for_function(RENDERED)
    assert phone.evaluate("document.documentElement.scrollWidth <= 375")
    phone.screenshot(path=str(tmp_path / "dashboard-375.png"), full_page=True)

    # the site has no favicon (every page's browser asks for one): not this page's error
    problems = [p for p in problems if "/favicon.ico" not in p]
    assert problems == [], problems
    assert requests_seen.foreign() == []
    for name in ("dashboard-1920.png", "screen-1920.png", "dashboard-375.png"):
        assert (tmp_path / name).stat().st_size > 10_000
