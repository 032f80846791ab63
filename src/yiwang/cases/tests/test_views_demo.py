"""In the demo city (示范市), by pages only: an online applicant and a walk-in applicant each get a
个体工商户设立登记 case through to delivery with the demo staff (scjg_clerk, scjg_reviewer1)."""

import io

import pytest
from django.core.management import call_command
from django.test import Client

from yiwang.cases.models import Case, CaseState, Channel
from yiwang.catalog.models import ServiceItem
from yiwang.identity.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ITEM = "SFS-SCJG-0001"


def signed_in(username: str) -> Client:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def form_requirement_id() -> int:
    item = ServiceItem.objects.get(implementation_code=ITEM)
    return item.current_version.materials.get(name="个体工商户登记(备案)申请书").pk


def form_post(user: User, key: str, shop: str) -> dict:
    return {
        "idempotency_key": key,
        "f_business_name": shop,
        "f_operator_name": user.real_name,
        "f_operator_id_number": user.id_number,
        "f_business_address": "示范市民心路100号",
        "f_business_scope": "小吃服务",
        "f_composition": "个人经营",
        "f_capital": "3.5",
    }


def through_back_office(case: Case) -> None:
    clerk, reviewer = signed_in("scjg_clerk"), signed_in("scjg_reviewer1")
    steps = [
        (clerk, "accept", {}),
        (reviewer, "claim", {}),
        (reviewer, "opinion", {"opinion": "材料齐全,符合法定形式", "outcome": "agree"}),
        (reviewer, "decide", {"decision": "approve"}),
        (clerk, "deliver", {"method": "electronic"}),
    ]
    for client, action, data in steps:
        case.refresh_from_db()
        response = client.post(f"/workbench/cases/{case.pk}/{action}/", {"version": case.version, **data}, follow=True)
        assert response.status_code == 200
        assert not [m for m in response.context["messages"] if m.level_tag == "error"], action
    case.refresh_from_db()
    assert case.state == CaseState.DELIVERED


def test_demo_city_online_and_walk_in_cases_to_delivery_by_pages(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path)
    call_command("demo", "--city-only", stdout=io.StringIO())
    from yiwang.catalog import demo_data as catalog_demo

    catalog_demo.load(None)

    online_user = User.objects.get(username="citizen05")
    citizen = signed_in("citizen05")
    assert f"/cases/apply/{ITEM}/" in citizen.get(f"/services/items/{ITEM}/").content.decode()
    apply_page = citizen.get(f"/cases/apply/{ITEM}/")
    assert apply_page.status_code == 200
    # Issue #14: the 申请书 is written from the form: no upload field for it, and acceptance needs none.
    html = apply_page.content.decode()
    assert "自动生成申请书" in html and f'name="material_{form_requirement_id()}"' not in html
    response = citizen.post(f"/cases/apply/{ITEM}/", form_post(online_user, "demo-page-1", "示范面包房"))
    assert response.status_code == 302, response.content.decode()[:2000]
    online = Case.objects.get(applicant=online_user)
    assert online.form_data["capital"] == 3.5 and not online.materials.exists()
    application = citizen.get(f"/cases/{online.pk}/notices/application.pdf")
    assert application.status_code == 200 and application["Content-Type"] == "application/pdf"
    through_back_office(online)
    assert "已送达" in citizen.get(f"/cases/{online.pk}/").content.decode()

    walk_in_user = User.objects.get(username="citizen06")
    clerk = signed_in("scjg_clerk")
    assert clerk.get("/workbench/cases/window/", {"id_number": walk_in_user.id_number}).status_code == 302
    response = clerk.post(f"/workbench/cases/window/apply/{ITEM}/", form_post(walk_in_user, "demo-page-2", "老街茶馆"))
    assert response.status_code == 302, response.content.decode()[:2000]
    walk_in = Case.objects.get(applicant=walk_in_user)
    assert walk_in.channel == Channel.WINDOW
    through_back_office(walk_in)
    assert "已送达" in signed_in("citizen06").get(f"/cases/{walk_in.pk}/").content.decode()
