"""Browser checks for the pages issue #14 and #18 added (this branch): 政务公开 (search, a document
with its 政策解读 and Q&A, a consultation with a comment to moderate), the open-data dataset page
with its chart, and a guide in English with the item's English content and 网上申请自动受理 — each
at 390 px and 1280 px, in zh-hans and English, with axe at zero WCAG 2.1 AA violations, nothing
scrolling sideways, a way forward on every page and no request leaving the machine (the journey
tests' ``Walk``)."""

import datetime

import pytest
from django.utils import timezone

from tests.browser.test_journeys import ARTIFACTS, AXE, Walk
from yiwang.cases.tests.factories import build_world, make_citizen, publish_item
from yiwang.identity.models import Role
from yiwang.identity.tests.tree import make_staff
from yiwang.publicity import services as publicity

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

COMBOS = [
    pytest.param("zh-hans", 390, 844, id="zh-hans-390"),
    pytest.param("en", 390, 844, id="en-390"),
    pytest.param("en", 1280, 800, id="en-1280"),
]


@pytest.fixture
def pages_world(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    world = build_world()
    admin = make_staff("pub_admin", real_name="公开科王")
    world.tree.grant(admin, Role.DEPARTMENT_ADMIN, world.tree.city_market)
    document = publicity.document_publish(
        actor=admin,
        department=world.tree.city_market,
        title="关于个体工商户登记便利化的通知",
        doc_number="苏市监发〔2026〕1号",
        summary="经营者变更可直接办理变更登记。",
        body="一、经营者变更的，可直接申请变更登记。\n二、住所实行申报承诺制。",
        interpretations=[("政策解读：开个体户更方便了", "以前换经营者要先注销再设立，现在直接办变更。")],
        questions=[("住所需要产权证明吗？", "不需要，实行申报承诺制。")],
    )
    today = timezone.localdate()
    consultation = publicity.consultation_open(
        actor=admin,
        department=world.tree.city_market,
        title="个体工商户登记便利化措施（征求意见稿）",
        draft_text="一、住所实行申报承诺制。",
        opens_on=today - datetime.timedelta(days=1),
        closes_on=today + datetime.timedelta(days=10),
    )
    citizen = make_citizen("wangwu", "王五", 16)
    comment = publicity.comment_post(actor=citizen, consultation=consultation, body="建议夜市摊位也适用。")
    publicity.comment_moderate(actor=admin, comment=comment, publish=True)
    item = publish_item(
        world.tree.root,
        implementation_code="SZ-SJJ-0201",
        name="个体工商户变更登记",
        name_en="Change of an individual business's registration",
        description="个体工商户登记事项变更的，申请变更登记。",
        description_en="Individual businesses register changes here.",
        auto_accept=True,
    )
    return document, consultation, item


@pytest.mark.skipif(not AXE.exists(), reason="axe-core not installed (make install)")
@pytest.mark.parametrize(("language", "width", "height"), COMBOS)
def test_publicity_pages_and_an_english_guide(live_server, browser, pages_world, language, width, height):
    document, consultation, item = pages_world
    base = live_server.url
    shots = ARTIFACTS / "publicity" / f"{language}-{width}"
    walk = Walk(browser, base, language, width, height, "visitor", AXE.read_text(encoding="utf-8"), shots)
    page = walk.page
    try:
        page.goto(f"{base}/publicity/")
        text = walk.step("publicity-home")
        assert document.title in text and consultation.title in text
        page.fill("input[name=q]", "开个体户")
        page.click("main form[role=search] button[type=submit]")
        text = walk.step("publicity-search")
        assert document.title in text
        page.click(f"main a[href='/publicity/documents/{document.pk}/']")
        text = walk.step("publicity-document")
        assert walk.t("政策解读") in text and walk.t("政策问答") in text and "住所需要产权证明吗？" in text
        page.goto(f"{base}/publicity/consultations/{consultation.pk}/")
        text = walk.step("publicity-consultation")
        assert "建议夜市摊位也适用。" in text and walk.t("登录后提交意见") in text
        walk.english_chrome()
        page.goto(f"{base}/services/items/{item.implementation_code}/")
        text = walk.step("guide")
        if language == "en":
            assert "Change of an individual business's registration" in text
            assert "Individual businesses register changes here." in text
        else:
            assert "个体工商户变更登记" in text
        assert walk.t("网上申请自动受理") in text
    finally:
        walk.close()
