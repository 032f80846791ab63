"""The service-metrics charts render in a real browser from the app's own ECharts (no CDN, no
CSP violation), and an applicant rates a delivered case on a phone-sized page."""

import pytest
from django.test import Client

from yiwang.cases.tests.factories import build_world
from yiwang.evaluation.models import Rating
from yiwang.evaluation.tests.factories import delivered_case

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _signed_in(new_page, base, user, width):
    client = Client()
    client.force_login(user)
    page = new_page(width)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}])
    return page


def test_metrics_charts_and_phone_rating(live_server, new_page, requests_seen, settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path / "media")
    world = build_world()
    case = delivered_case(world)
    base = live_server.url

    applicant = _signed_in(new_page, base, world.applicant, 375)
    problems = []
    applicant.on("pageerror", lambda e: problems.append(str(e)))
    applicant.goto(f"{base}/cases/{case.pk}/")
    applicant.get_by_role("link", name="评价本次服务(好差评)").click()
    applicant.get_by_label("非常满意").check()
    applicant.get_by_role("button", name="提交评价").click()
    applicant.wait_for_load_state()
    assert "感谢您的评价" in applicant.content()
    assert applicant.evaluate("document.documentElement.scrollWidth <= 375")
    assert Rating.objects.get().channel == "portal"

    head = _signed_in(new_page, base, world.head, 1280)
    head.on("console", lambda m: m.type == "error" and problems.append(m.text))
    head.goto(f"{base}/workbench/evaluation/metrics/")
    head.wait_for_selector("#chart-trend canvas")
    head.wait_for_selector("#chart-handling canvas")
    assert head.evaluate("typeof echarts === 'object' && echarts.version") == "6.1.0"
    assert problems == []
    assert requests_seen.foreign() == []
