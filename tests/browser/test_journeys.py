"""Journey tests (issue #14, the contract): a person walks the whole way, as they would, in a real browser.

A citizen searches in plain words, reads the guide, signs in when asked, applies, meets an
error and fixes it (a wrong ID check digit flagged as typed, a refused file type explained at
once, a missing field), tracks the case, gets the messages, finds the license in the wallet and
shows it (亮证) to a verifier, who scans the QR code — the code is decoded from the screen with
a real QR decoder (zxing-cpp) and must point at this server. A window clerk, a reviewer and a
department head sign in through the same form, land on their workbench and take that case from
the queue to delivery.

Every step asserts what the person sees (text, state, next action), that the page has a way
forward (a link or a button in the main content), that nothing scrolls sideways, and that axe
finds no WCAG 2.1 AA violation; a screenshot of each step is kept under
``var/artifacts/journeys/<language>-<width>/`` (``YIWANG_ARTIFACTS_DIR`` moves it) for CI to keep.

Runtime: the full walk runs in zh-hans on a 390×844 phone and in English on a 1280×800 desktop;
the other two combinations walk the citizen's half only (search → guide → apply → case page),
which is where layout and language differ, to keep the suite's time reasonable.
"""

import io
import os
import re
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.translation import gettext, pgettext
from playwright.sync_api import expect

from yiwang.cases.models import Case, CaseState
from yiwang.cases.tests.factories import build_world, publish_item
from yiwang.core.codes import make_uscc
from yiwang.identity.services import department_update
from yiwang.identity.tests.tree import PASSWORD
from yiwang.licenses.models import HolderKind, License
from yiwang.licenses.services import license_type_create

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("YIWANG_ARTIFACTS_DIR", ROOT / "var" / "artifacts")) / "journeys"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CJK = re.compile(r"[\u4e00-\u9fff]")

ITEM_CODE = "SZ-SJJ-0101"
FORM_SCHEMA = {
    "type": "object",
    "required": ["business_name", "operator_id_number"],
    "properties": {
        "business_name": {"type": "string", "title": "个体工商户名称", "maxLength": 60},
        "operator_id_number": {
            "type": "string",
            "title": "经营者公民身份号码",
            "pattern": "^[0-9]{17}[0-9Xx]$",
        },
    },
}

COMBOS = [
    pytest.param("zh-hans", 390, 844, True, id="zh-hans-390-full"),
    pytest.param("en", 1280, 800, True, id="en-1280-full"),
    pytest.param("zh-hans", 1280, 800, False, id="zh-hans-1280-citizen"),
    pytest.param("en", 390, 844, False, id="en-390-citizen"),
]


class Walk:
    """One person's browser tab: steps with screenshots, and what every page must offer."""

    def __init__(self, browser, base, language, width, height, who, axe_source, shots: Path):
        self.context = browser.new_context(
            viewport={"width": width, "height": height}, locale="zh-CN", bypass_csp=axe_source is not None
        )
        self.context.set_default_timeout(15_000)
        # A first page on a loaded CI machine (templates compiled, catalogs read) can take longer.
        self.context.set_default_navigation_timeout(60_000)
        self.context.add_cookies([{"name": "django_language", "value": language, "url": base}])
        self.page = self.context.new_page()
        self.base, self.language, self.width, self.who = base, language, width, who
        self.axe_source = axe_source
        self.shots = shots
        self.foreign: list[str] = []
        self.page.on("request", self._request)

    def _request(self, request):
        if not request.url.startswith((self.base, "data:", "blob:", "about:")):
            self.foreign.append(request.url)

    def t(self, message: str, context: str | None = None) -> str:
        with translation.override(self.language):
            return pgettext(context, message) if context else gettext(message)

    def main(self) -> str:
        return self.page.inner_text("main")

    def step(self, name: str, *, final: bool = False) -> str:
        """Check the page as a person meets it, keep a screenshot, return the main text."""
        page = self.page
        page.wait_for_load_state()
        assert page.get_attribute("html", "lang") == self.language, f"{self.who}/{name}: {page.url}"
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > self.width:
            wide = page.evaluate(
                "w => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w)"
                ".slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + (e.innerText || '').slice(0, 40))",
                self.width,
            )
            raise AssertionError(f"{self.who}/{name}: {page.url} is {width}px wide on a {self.width}px screen: {wide}")
        if not final:
            ways = page.locator("main a[href]:visible, main button:visible").count()
            assert ways > 0, f"{self.who}/{name}: {page.url} has no way forward"
        if self.axe_source is not None:
            page.add_script_tag(content=self.axe_source)
            result = page.evaluate(
                "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}, "
                "resultTypes: ['violations']})",
                WCAG_TAGS,
            )
            found = [f"{v['id']}: {[n['target'] for n in v['nodes'][:3]]}" for v in result["violations"]]
            assert found == [], f"{self.who}/{name}: axe on {page.url}: {found}"
        self.shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(self.shots / f"{self.who}-{name}.png"), full_page=True)
        return self.main()

    def english_chrome(self):
        """In English, the interface around the content is English (catalog content may stay Chinese)."""
        if self.language != "en":
            return
        for selector in (".site-nav", "main button:visible", "main h2:visible", "label:visible"):
            for text in self.page.locator(selector).all_inner_texts():
                chrome = re.sub(r"[“「《].*?[”」》]|个体工商户\S*|经营者\S*|张三\S*|营业执照\S*", "", text)
                assert not CJK.search(chrome), f"untranslated on {self.page.url} ({selector}): {text!r}"

    def sign_in(self, username: str):
        page = self.page
        assert "/accounts/login/" in page.url
        self.step("sign-in")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_load_state()
        assert "/accounts/login/" not in page.url, self.main()

    def close(self):
        assert self.foreign == [], f"{self.who}: requests left the machine: {self.foreign}"
        self.context.close()


def _qr_text(locator) -> str:
    """Decode the QR code as it is drawn on the screen, with zxing-cpp (what a phone camera does)."""
    import zxingcpp
    from PIL import Image

    image = Image.open(io.BytesIO(locator.screenshot()))
    found = [r.text for r in zxingcpp.read_barcodes(image)]
    assert found, "no QR code could be read from the screen"
    return found[0]


def _badge_colours(page, selector: str) -> tuple[str, str]:
    return page.eval_on_selector(selector, "el => [getComputedStyle(el).backgroundColor, getComputedStyle(el).color]")


@pytest.fixture
def journey_world(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path / "media")
    world = build_world()
    market = department_update(
        actor=world.tree.root, department=world.tree.city_market, uscc=make_uscc("11320500MB0123456")
    )
    license_type_create(
        actor=world.tree.root,
        code="business_license_individual",
        standard_code="GTGSHYYZZ",
        name="营业执照(个体工商户)",
        department=market,
        holder_kind=HolderKind.PERSON,
        field_schema={
            "type": "object",
            "properties": {"business_name": {"type": "string", "title": "名称"}},
            "required": ["business_name"],
        },
    )
    item = publish_item(
        world.tree.root,
        implementation_code=ITEM_CODE,
        basic_code="000101001001",
        name="个体工商户设立登记（餐饮）",
        aliases=["开小吃店", "开饭馆"],
        promised_time_limit=10,
        statutory_time_limit=20,
        form_schema=FORM_SCHEMA,
        materials=[{"name": "个体工商户登记申请书", "requirement": "required", "copies": 1, "format": "both"}],
        process=[
            {"name": "受理", "role": "window_clerk"},
            {"name": "审查", "role": "reviewer"},
            {"name": "决定", "role": "department_head"},
        ],
        output={"license_type_code": "business_license_individual", "description": "营业执照"},
    )
    return world, item


@pytest.mark.skipif(not AXE.exists() and not os.environ.get("CI"), reason="axe-core not installed (make install)")
@pytest.mark.parametrize(("language", "width", "height", "full"), COMBOS)
def test_journey(live_server, browser, settings, journey_world, language, width, height, full):
    world, _item = journey_world
    base = live_server.url
    settings.SITE_URL = base  # the QR codes must point at the server the person is using
    axe_source = AXE.read_text(encoding="utf-8")
    shots = ARTIFACTS / f"{language}-{width}"
    citizen = Walk(browser, base, language, width, height, "citizen", axe_source, shots)
    t = citizen.t
    page = citizen.page

    # 1. Home: the search box takes plain words.
    page.goto(base + "/")
    home = citizen.step("01-home")
    assert t("办件进度查询") in home  # the progress lookup is one tap from home
    citizen.english_chrome()
    page.fill("#service-search", "开小吃店")
    page.press("#service-search", "Enter")
    results = citizen.step("02-search")
    assert "个体工商户设立登记（餐饮）" in results
    assert page.locator("#by-department").count() == 0  # a match: no department list to wade through

    # 2. The guide, then 在线办理: sign in when asked, and come back to the form.
    page.get_by_role("link", name="个体工商户设立登记（餐饮）").click()
    guide = citizen.step("03-guide")
    assert t("办事指南") in guide and t("申请材料") in guide
    page.get_by_role("link", name=t("在线办理")).click()
    page.wait_for_load_state()
    citizen.sign_in("zhangsan")
    assert f"/cases/apply/{ITEM_CODE}/" in page.url
    form = citizen.step("04-apply-form")
    header = page.eval_on_selector(".site-header", "el => el.getBoundingClientRect().height")
    assert header <= 0.2 * height, f"signed in, the header and menu take {header:.0f}px of {height}px"
    submit = page.get_by_role("button", name=t("提交申请", "button"), exact=True)
    expect(submit).to_be_visible()
    if language == "en":  # the button asks; it used to read "Application submitted" before anything was sent
        assert submit.inner_text().strip() == "Submit application"
    citizen.english_chrome()
    assert t("申请表") in form

    # 3. Errors as they happen: a wrong check digit, a file type the platform refuses.
    good_id = world.applicant.id_number
    bad_id = good_id[:17] + ("0" if good_id[17] != "0" else "1")
    page.fill("#id_f_operator_id_number", bad_id)
    expect(page.locator("#id_f_operator_id_number_check")).to_contain_text(t("身份证号校验位不正确,请核对是否输错"))
    material_input = page.locator("input[type=file][name^=material_]").first
    material_input.set_input_files(
        files=[{"name": "virus.exe", "mimeType": "application/x-msdownload", "buffer": b"MZ"}]
    )
    refused = t("不支持这种文件类型，请选择 PDF、JPEG、PNG 或 OFD 文件。")
    expect(page.get_by_text(refused)).to_be_visible()
    citizen.step("05-errors-as-typed")
    page.fill("#id_f_operator_id_number", good_id)
    expect(page.locator("#id_f_operator_id_number_check")).to_contain_text(t("格式与校验位正确"))

    # 4. Sent without the business name: told what to fix, what was typed is still there.
    submit.click()
    page.wait_for_load_state()
    errors = citizen.step("06-error-on-submit")
    assert page.locator(".alert-error, .errorlist").first.is_visible(), errors
    assert page.input_value("#id_f_operator_id_number") == good_id
    page.fill("#id_f_business_name", "张三小吃店")
    page.locator("input[type=file][name^=material_]").first.set_input_files(
        files=[{"name": "申请书.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.get_by_role("button", name=t("提交申请", "button"), exact=True).click()
    page.wait_for_url("**/cases/*/")
    case = Case.objects.get(applicant=world.applicant)
    submitted = citizen.step("07-submitted")
    assert case.number in submitted and t("办理进度") in submitted
    assert page.locator(".alert-success, [role=status]").first.is_visible()  # the confirmation
    current = page.locator(".tracker-step[aria-current=step]")
    expect(current).to_contain_text(t("受理"))
    expect(current).to_contain_text(t("进行中"))
    citizen.english_chrome()

    if not full:
        citizen.close()
        return

    # 5. Staff sign in through the same form and land on their workbench; each acts on the case.
    def staff(username, who):
        walk = Walk(browser, base, language, width, height, who, axe_source, shots)
        walk.page.goto(base + "/accounts/login/")
        walk.sign_in(username)
        assert walk.page.url.rstrip("/").endswith("/workbench"), walk.page.url
        nav = walk.page.inner_text(".site-nav")
        assert t("我的证照") not in nav and t("我的办件") not in nav and t("工作台") in nav
        walk.step("01-workbench")
        walk.english_chrome()
        return walk

    def act(walk, name, button, *, fill=None):
        walk.page.goto(f"{base}/workbench/cases/{case.pk}/")
        walk.step(f"{name}-before")
        for selector, value in (fill or {}).items():
            walk.page.fill(selector, value)
        walk.page.get_by_role("button", name=walk.t(button), exact=True).click()
        return walk.step(name)

    clerk = staff("clerk", "clerk")
    clerk.page.goto(f"{base}/workbench/cases/")
    assert case.number in clerk.step("02-queue")
    assert t("已受理") in act(clerk, "03-accepted", "材料齐全，当场受理")

    reviewer = staff("reviewer", "reviewer")
    act(reviewer, "02-claimed", "认领")
    opinion = act(reviewer, "03-opinion", "提交意见", fill={"#id_opinion": "材料齐全，符合法定形式"})
    assert t("审查意见已记录。") in opinion

    head = staff("head", "head")
    assert t("准予许可") in act(head, "02-decided", "作出决定")
    assert t("已送达") in act(clerk, "04-delivered", "送达")
    case.refresh_from_db()
    assert case.state == CaseState.DELIVERED
    for walk in (clerk, reviewer, head):
        walk.close()

    # 6. The citizen tracks the case to the end and follows it to the license.
    page.goto(f"{base}/cases/{case.pk}/")
    done = citizen.step("08-delivered")
    assert page.locator(".tracker-step.is-done").count() == 4, done
    license_ = License.objects.get(source_case_id=case.pk)
    page.get_by_role("link", name=re.compile(re.escape(t("查看办理结果：%(name)s").split("%")[0]))).click()
    lic_page = citizen.step("09-license")
    assert "张三小吃店" in lic_page and license_.identifier in lic_page
    ok_bg, _ok_fg = _badge_colours(page, "h1 .badge-ok")
    verify_url = _qr_text(page.locator(".qr"))
    assert verify_url.startswith(f"{base}/verify/{license_.identifier}?s="), verify_url

    # 7. The messages about the case.
    page.goto(base + "/messages/")
    inbox = citizen.step("10-messages")
    assert case.number in inbox or "个体工商户设立登记" in inbox

    # 8. The wallet shows the license; 亮证 draws a QR code a verifier scans.
    page.goto(base + "/wallet/")
    wallet = citizen.step("11-wallet")
    assert "张三小吃店" in wallet
    page.goto(f"{base}/wallet/{license_.pk}/")
    page.fill("#purpose", "酒店入住")
    page.get_by_role("button", name=t("亮证"), exact=True).click()
    citizen.step("12-present")
    present_url = _qr_text(page.locator(".qr"))
    assert present_url.startswith(f"{base}/verify/present/"), present_url

    verifier = Walk(browser, base, language, width, height, "verifier", axe_source, shots)
    verifier.page.goto(present_url)
    seen = verifier.step("01-scanned")
    assert verifier.t("有效") in seen and "张三小吃店" in seen
    bg, _fg = _badge_colours(verifier.page, "[data-result=valid]")
    assert bg == ok_bg  # good news in the good colour
    error_bg = verifier.page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--c-error-bg')")
    assert bg != error_bg
    verifier.page.goto(verify_url)
    assert verifier.t("SM2 签名验证通过") in verifier.step("02-license-qr")
    verifier.close()
    citizen.close()
