"""Region-scoped front offices (一窗受理): a window clerk takes in any department's item, but
works only the intake and delivery queues of his hall's region (GB/T 2260 region codes).

The world: the city hall clerk (苏州市人民政府, 320500), a 虎丘区 hall clerk (320505), a 吴中区
hall clerk (320506), a city clerk whose grant includes descendants, a city item (市场监管局,
320500) and a 虎丘区 item (虎丘区市场监督管理局, 320505)."""

import datetime
import re

import pytest
from django.test import Client

from yiwang.cases import selectors, services
from yiwang.cases.models import Channel
from yiwang.cases.tests.factories import FORM, attach_required, make_citizen, publish_item
from yiwang.core.codes import make_id_number
from yiwang.core.errors import NotFound, ValidationFailed
from yiwang.identity.models import Role, User
from yiwang.identity.services import api_token_create
from yiwang.identity.tests.tree import make_staff

API = "/api/v1/cases"


@pytest.fixture
def halls(world):
    tree = world.tree
    huqiu_clerk = make_staff("hq_clerk", real_name="虎丘窗口")
    wuzhong_clerk = make_staff("wz_clerk", real_name="吴中窗口")
    city_all = make_staff("city_all_clerk", real_name="市中心窗口")
    tree.grant(huqiu_clerk, Role.WINDOW_CLERK, tree.huqiu)
    tree.grant(wuzhong_clerk, Role.WINDOW_CLERK, tree.wuzhong)
    tree.grant(city_all, Role.WINDOW_CLERK, tree.city, include_descendants=True)
    county_item = publish_item(
        tree.root,
        implementation_code="SZ-HQ-SJJ-0001",
        department="SZ-HQ-SJJ",
        name="虎丘区食品经营许可",
        aliases=[],
        keywords=[],
        output={},
    )
    return {"huqiu": huqiu_clerk, "wuzhong": wuzhong_clerk, "city_all": city_all, "county_item": county_item}


def numbers(actor, stage="intake") -> set[str]:
    return set(selectors.case_intake_queue(actor=actor, stage=stage).values_list("number", flat=True))


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def bearer(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(actor=user, user=user, name='t')[1]}"}


def test_online_cases_wait_at_the_front_office_of_the_implementing_departments_region(world, halls):
    county_case = services.case_submit(actor=world.applicant, item=halls["county_item"], form_data=FORM)[0]
    city_case = services.case_submit(actor=world.other_citizen, item=world.market_item, form_data=FORM)[0]
    assert county_case.intake_region == "320505" and county_case.intake_department is None
    assert city_case.intake_region == "320500"

    assert numbers(halls["huqiu"]) == {county_case.number}
    assert numbers(halls["wuzhong"]) == set()
    assert numbers(world.clerk) == {city_case.number}  # the city hall: the city level only
    assert numbers(halls["city_all"]) == {county_case.number, city_case.number}  # with descendants: the counties too


def test_a_walk_in_belongs_to_the_hall_that_took_it_in_and_comes_back_there_for_delivery(world, halls):
    huqiu, wuzhong = halls["huqiu"], halls["wuzhong"]
    # A 虎丘区 window takes in a CITY department's item (front-office intake for any department).
    case = services.case_submit(
        actor=huqiu, applicant=world.applicant, channel=Channel.WINDOW, item=world.market_item, form_data=FORM
    )[0]
    assert case.intake_department == world.tree.huqiu and case.intake_region == "320505"
    assert case.department == world.tree.city_market  # still decided by the city department
    assert numbers(huqiu) == {case.number}
    assert numbers(wuzhong) == set() and numbers(world.clerk) == set()

    # County B's clerk: 404 by page, by API, and the service refuses like a missing case.
    assert client_for(wuzhong).get(f"/workbench/cases/{case.pk}/").status_code == 404
    response = Client().get(f"{API}/{case.pk}", **bearer(wuzhong))
    assert response.status_code == 404 and response.json()["code"] == "case_not_found"
    response = Client().post(f"{API}/{case.pk}/accept", {}, content_type="application/json", **bearer(wuzhong))
    assert response.status_code == 404
    with pytest.raises(NotFound):
        services.case_accept(actor=wuzhong, case_id=case.pk)
    with pytest.raises(NotFound):
        services.case_accept(actor=world.clerk, case_id=case.pk)  # the city hall (no descendants) neither
    detail = client_for(huqiu).get(f"/workbench/cases/{case.pk}/")
    assert detail.status_code == 200 and "虎丘区人民政府窗口收件" in detail.content.decode()

    attach_required(case, actor=huqiu)  # the scans the window takes with the application
    services.case_accept(actor=huqiu, case_id=case.pk)
    services.case_claim(actor=world.reviewer, case_id=case.pk)
    services.case_record_opinion(actor=world.reviewer, case_id=case.pk, opinion="材料齐全")
    services.case_decide(actor=world.head, case_id=case.pk, decision="approve")
    # Delivery goes back to the window that took it in.
    assert numbers(huqiu, "delivery") == {case.number}
    assert numbers(wuzhong, "delivery") == set() and numbers(world.clerk, "delivery") == set()
    assert case.number in numbers(halls["city_all"], "delivery")
    with pytest.raises(NotFound):
        services.case_deliver(actor=wuzhong, case_id=case.pk)
    page = client_for(huqiu).get("/workbench/cases/").content.decode()
    assert case.number in page
    assert services.case_deliver(actor=huqiu, case_id=case.pk).state == "delivered"


def test_the_clerk_may_name_one_of_his_halls_but_not_another(world, halls):
    city_all = halls["city_all"]
    case = services.case_submit(
        actor=city_all,
        applicant=world.applicant,
        channel=Channel.WINDOW,
        item=world.market_item,
        form_data=FORM,
        intake_department=world.tree.wuzhong,  # covered by his grant with descendants
    )[0]
    assert case.intake_department == world.tree.wuzhong and case.intake_region == "320506"
    assert numbers(halls["wuzhong"]) == {case.number}
    with pytest.raises(ValidationFailed) as exc:
        services.case_submit(
            actor=halls["huqiu"],
            applicant=world.other_citizen,
            channel=Channel.WINDOW,
            item=world.market_item,
            form_data=FORM,
            intake_department=world.tree.wuzhong,
        )
    assert "intake_department" in exc.value.fields


def test_window_submission_by_api_records_the_hall(world, halls):
    body = {
        "item": world.market_item.implementation_code,
        "form_data": FORM,
        "channel": "window",
        "applicant_id_number": world.applicant.id_number,
    }
    response = Client().post(f"{API}/", body, content_type="application/json", **bearer(halls["huqiu"]))
    assert response.status_code == 201, response.content
    assert response.json()["intake_department_id"] == world.tree.huqiu.pk
    assert response.json()["intake_region"] == "320505"
    listed = Client().get(f"{API}/intake", **bearer(halls["huqiu"])).json()["items"]
    assert [c["number"] for c in listed] == [response.json()["number"]]
    assert Client().get(f"{API}/intake", **bearer(halls["wuzhong"])).json()["items"] == []
    bad = Client().post(
        f"{API}/",
        {**body, "applicant_id_number": make_citizen("wangwu", "王五", 40).id_number, "intake_department_id": 999999},
        content_type="application/json",
        **bearer(halls["huqiu"]),
    )
    assert bad.status_code == 422 and "intake_department_id" in bad.json()["fields"]


def test_walk_in_prints_the_activation_notice_activates_and_sees_the_case_online(world, halls):
    clerk = client_for(halls["huqiu"])
    id_number = make_id_number("320505", datetime.date(1966, 6, 6), 51)
    notice = clerk.post(
        "/workbench/cases/window/register/", {"id_number": id_number, "real_name": "赵六", "phone": "13900002222"}
    )
    page = notice.content.decode()
    assert notice.status_code == 200 and "账号激活告知单" in page and "/accounts/activate/" in page
    first_code = re.search(r'class="code">([0-9A-Z-]{14})<', page).group(1)
    assert id_number not in page  # masked on the notice too
    walk_in = User.objects.get(real_name="赵六")
    case = services.case_submit(
        actor=halls["huqiu"], applicant=walk_in, channel=Channel.WINDOW, item=world.market_item, form_data=FORM
    )[0]

    # Lost the notice: the window re-issues (the applicant is at the window again).
    window = clerk.get("/workbench/cases/window/", {"id_number": id_number}, follow=True)
    assert "补发账号激活告知单" in window.content.decode()
    again = clerk.post("/workbench/cases/window/activation/").content.decode()
    second_code = re.search(r'class="code">([0-9A-Z-]{14})<', again).group(1)
    assert second_code != first_code
    assert client_for(world.reviewer).post("/workbench/cases/window/activation/").status_code == 404  # clerks only

    citizen = Client()
    password = "Zhao-Liu-2025!"
    form = {"id_number": id_number, "new_password1": password, "new_password2": password}
    old = citizen.post("/accounts/activate/", {**form, "code": first_code})
    assert old.status_code == 422 and "已作废" in old.content.decode()
    assert citizen.post("/accounts/activate/", {**form, "code": second_code}).status_code == 302
    assert citizen.post("/accounts/login/", {"username": id_number, "password": password}).status_code == 302
    assert case.number in citizen.get("/cases/").content.decode()
    # Activated and signed in: no more codes for this account.
    assert "补发账号激活告知单" not in clerk.get("/workbench/cases/window/").content.decode()
