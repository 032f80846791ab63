"""Under the Content-Security-Policy (no inline script) the pages' behaviour still works in a
real browser — print, confirm, submit once, filter on change — and no page logs a CSP
violation."""

import pytest
from django.test import Client

from yiwang.cases import services as case_services
from yiwang.cases.tests.factories import FORM, build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def watch(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def signed_in_page(new_page, base, user):
    client = Client()
    client.force_login(user)
    page = new_page(1280)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}])
    return page


def test_page_behaviour_works_under_the_csp(live_server, new_page, requests_seen, settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path / "media")
    world = build_world()
    case, _created = case_services.case_submit(actor=world.applicant, item=world.market_item, form_data=FORM)
    base = live_server.url

    # data-print: the guide's print button calls window.print
    page = new_page(1280)
    problems = watch(page)
    page.goto(f"{base}/services/items/{world.market_item.implementation_code}/")
    page.evaluate("window.print = () => { window.printed = true; }")
    page.get_by_role("button", name="打印办事指南").click()
    assert page.evaluate("window.printed === true")

    # data-confirm: the withdraw form asks first; dismissing keeps the case
    citizen = signed_in_page(new_page, base, world.applicant)
    problems += watch(citizen)
    citizen.goto(f"{base}/cases/{case.pk}/")
    citizen.once("dialog", lambda dialog: dialog.dismiss())
    citizen.get_by_role("button", name="撤回申请").click()
    citizen.wait_for_timeout(300)
    case.refresh_from_db()
    assert case.state == "submitted"

    # data-submit-once: a second submit of the apply form is swallowed
    citizen.goto(f"{base}/cases/apply/{world.market_item.implementation_code}/")
    citizen.evaluate("""() => {
        const form = document.querySelector('form[data-submit-once]');
        window.submits = 0;  // on window: runs after yiwang.js's listener on document
        window.addEventListener('submit', (e) => { if (!e.defaultPrevented) window.submits += 1; e.preventDefault(); });
        form.requestSubmit(); form.requestSubmit();
    }""")
    assert citizen.evaluate("window.submits") == 1

    # data-autosubmit: the workbench's SLA filter applies itself
    clerk = signed_in_page(new_page, base, world.clerk)
    problems += watch(clerk)
    clerk.goto(f"{base}/workbench/cases/")
    clerk.select_option("#id_sla", "overdue")
    clerk.wait_for_url("**/workbench/cases/?sla=overdue")

    assert [p for p in problems if "Content Security Policy" in p or "Refused" in p] == []
    assert requests_seen.foreign() == []
