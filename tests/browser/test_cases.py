"""Case handling in a real browser on a 375 px phone: a citizen applies online (double-clicking
submit), the window accepts, the back office reviews and approves, the window delivers and the
citizen sees the delivered case with its notices; a walk-in applicant is registered and served
at the window. No request leaves the machine.

Staff are signed in by session cookie (``force_login``): the sign-in pages themselves, TOTP
included, are the identity tests' business.
"""

import datetime

import pytest
from django.test import Client

from yiwang.cases.models import Case, CaseState, Channel
from yiwang.cases.tests.factories import build_world
from yiwang.core.codes import make_id_number
from yiwang.identity.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def no_horizontal_scroll(page, width=375):
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} is {scroll_width}px wide on a {width}px screen"


def signed_in_page(new_page, base, user):
    client = Client()
    client.force_login(user)
    page = new_page(375)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}])
    return page


def act(page, base, case, button_text):
    page.goto(f"{base}/workbench/cases/{case.pk}/")
    no_horizontal_scroll(page)
    page.get_by_role("button", name=button_text, exact=True).click()
    page.wait_for_load_state()
    return page.inner_text("main")


def test_online_and_walk_in_applicants_get_their_cases_delivered(
    live_server, new_page, requests_seen, settings, tmp_path
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path / "media")
    world = build_world()
    base = live_server.url
    code = world.market_item.implementation_code

    # The citizen finds 在线办理 on the guide and applies on the phone.
    citizen = signed_in_page(new_page, base, world.applicant)
    citizen.goto(f"{base}/services/items/{code}/")
    citizen.get_by_role("link", name="在线办理").click()
    citizen.wait_for_url(f"**/cases/apply/{code}/")
    no_horizontal_scroll(citizen)
    assert "免提交" in citizen.inner_text("main")
    citizen.get_by_role("button", name="提交申请").click()  # nothing filled in
    citizen.wait_for_load_state()
    assert "请填写「个体工商户名称」" in citizen.inner_text("main")
    no_horizontal_scroll(citizen)
    citizen.fill("#id_f_business_name", "张三小吃店")
    material = world.market_item.current_version.materials.get(name="个体工商户登记申请书")
    citizen.set_input_files(
        f"#id_material_{material.pk}", files=[{"name": "申请书.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    citizen.get_by_role("button", name="提交申请").dblclick()
    citizen.wait_for_url("**/cases/*/")
    case = Case.objects.get(applicant=world.applicant)  # one case for the double click
    main = citizen.inner_text("main")
    assert case.number in main and "已提交" in main and "个体工商户登记申请书" in main
    no_horizontal_scroll(citizen)

    # Window accepts, the back office reviews and decides, the window delivers.
    clerk = signed_in_page(new_page, base, world.clerk)
    clerk.goto(f"{base}/workbench/")
    clerk.get_by_role("link", name="办件", exact=True).click()
    clerk.wait_for_url("**/workbench/cases/")
    assert case.number in clerk.inner_text("#intake")
    no_horizontal_scroll(clerk)
    assert "已受理" in act(clerk, base, case, "材料齐全，当场受理")

    reviewer = signed_in_page(new_page, base, world.reviewer)
    reviewer.goto(f"{base}/workbench/cases/")
    assert case.number in reviewer.inner_text("#queue")
    act(reviewer, base, case, "认领")
    reviewer.fill("#id_opinion", "材料齐全，符合法定形式")
    reviewer.get_by_role("button", name="提交意见").click()
    reviewer.wait_for_load_state()
    assert "审查意见已记录" in reviewer.inner_text("main")

    head = signed_in_page(new_page, base, world.head)
    assert "准予许可" in act(head, base, case, "作出决定")
    assert "已送达" in act(clerk, base, case, "送达")

    citizen.goto(f"{base}/cases/")
    citizen.get_by_role("link", name=world.market_item.current_version.name).first.click()
    citizen.wait_for_load_state()
    main = citizen.inner_text("main")
    assert "已送达" in main and "受理通知书" in main and "决定书" in main
    no_horizontal_scroll(citizen)

    # A walk-in applicant without an account: registered, served, accepted on the spot.
    id_number = make_id_number("320505", datetime.date(1962, 7, 1), 41)
    clerk.goto(f"{base}/workbench/cases/window/")
    clerk.fill("#id_find_id_number", id_number)
    clerk.get_by_role("button", name="查找").click()
    clerk.wait_for_load_state()
    clerk.fill("#id_real_name", "王五")
    clerk.fill("#id_phone", "13700001111")
    clerk.get_by_role("button", name="登记申请人").click()
    clerk.wait_for_load_state()
    # The answer is the 账号激活告知单 to print and hand over; then on with the application.
    assert "账号激活告知单" in clerk.inner_text("main") and "王五" in clerk.inner_text("main")
    no_horizontal_scroll(clerk)
    clerk.get_by_role("link", name="继续办理").click()
    clerk.wait_for_load_state()
    clerk.get_by_role("link", name=world.market_item.current_version.name).click()
    clerk.wait_for_url(f"**/window/apply/{code}/")
    clerk.fill("#id_f_business_name", "王五面馆")
    clerk.set_input_files(  # the scan of the 申请书: acceptance needs every required material
        f"#id_material_{material.pk}", files=[{"name": "申请书.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    clerk.get_by_role("button", name="提交申请").click()
    clerk.wait_for_url("**/workbench/cases/*/")
    walk_in = Case.objects.get(applicant=User.objects.get(real_name="王五"))
    assert walk_in.channel == Channel.WINDOW
    assert "已受理" in act(clerk, base, walk_in, "材料齐全，当场受理")
    walk_in.refresh_from_db()
    assert walk_in.state == CaseState.ACCEPTED
    assert requests_seen.foreign() == []
