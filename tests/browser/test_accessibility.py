"""Accessibility: axe-core (WCAG 2.1 A and AA rules) on the main citizen and staff pages.

Each page is checked in zh-hans and in English, on a 390 px phone and a 1280 px desktop. axe-core
comes from the npm registry at install time (`make install` runs `npm ci`) and is injected into
the page by Playwright; it is never served to users. A violation fails the test with the rule,
its impact, the elements and axe's help text.
"""

import os
from pathlib import Path

import pytest
from django.test import Client

from yiwang.cases import services as case_services
from yiwang.cases.tests.factories import FORM, attach_required, build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
VIEWPORTS = {"phone": (390, 844), "desktop": (1280, 800)}


@pytest.fixture(scope="module")
def axe_source():
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"axe-core is missing at {AXE}: `make install` runs `npm ci`")
        pytest.skip("axe-core not installed (run `make install` with npm available)")
    return AXE.read_text(encoding="utf-8")


def _violations(page, axe_source: str) -> list[str]:
    page.add_script_tag(content=axe_source)
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG_TAGS,
    )
    found = []
    for violation in result["violations"]:
        targets = ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
        found.append(f"{violation['id']} ({violation['impact']}): {violation['help']} — {targets}")
    return found


def _session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_main_pages_have_no_wcag_aa_violations(
    live_server, browser, settings, tmp_path, axe_source, language, viewport
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    world = build_world()
    case, _created = case_services.case_submit(
        actor=world.applicant, item=world.market_item, form_data=FORM, idempotency_key="a11y"
    )
    attach_required(case)
    code = world.market_item.implementation_code
    base = live_server.url

    pages = {
        None: ["/", "/services/", f"/services/items/{code}/", "/accounts/login/", "/verify/"],
        world.applicant: [
            "/account/",
            f"/cases/apply/{code}/",
            "/cases/",
            f"/cases/{case.pk}/",
            "/wallet/",
            "/messages/",
        ],
        world.clerk: ["/workbench/", "/workbench/cases/", f"/workbench/cases/{case.pk}/"],
        world.tree.root: ["/workbench/catalog/", "/workbench/licenses/", "/workbench/messages/"],
    }
    width, height = VIEWPORTS[viewport]
    problems: dict[str, list[str]] = {}
    for user, paths in pages.items():
        # bypass_csp: axe is injected as an inline script, which the site's CSP rightly forbids.
        context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
        cookies = [{"name": "django_language", "value": language, "url": base}]
        if user is not None:
            cookies.append({"name": "sessionid", "value": _session_cookie(user), "url": base})
        context.add_cookies(cookies)
        page = context.new_page()
        try:
            for path in paths:
                response = page.goto(base + path)
                assert response.status == 200, f"{path}: {response.status}"
                assert page.get_attribute("html", "lang") == language, path
                found = _violations(page, axe_source)
                if found:
                    problems[path] = found
        finally:
            context.close()
    report = "\n".join(f"{path}\n  " + "\n  ".join(found) for path, found in problems.items())
    assert problems == {}, f"WCAG 2.1 AA violations ({language}, {width}px):\n{report}"
