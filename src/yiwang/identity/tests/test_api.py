"""The identity endpoints of /api/v1/: me, where may I act, and the public department tree."""

import re
from datetime import date

import pytest
from django.test import Client

from yiwang.core.codes import make_id_number
from yiwang.identity.models import Role
from yiwang.identity.services import api_token_create
from yiwang.identity.tests.tree import build_tree, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree():
    return build_tree()


def bearer_client(user) -> Client:
    _token, raw = api_token_create(actor=user, user=user, name="tests")
    return Client(headers={"Authorization": f"Bearer {raw}"})


# --- me --------------------------------------------------------------------------------------------


def test_me_needs_credentials():
    response = Client().get("/api/v1/me")
    assert response.status_code == 401
    assert response.json() == {"code": "not_authenticated", "message": "请先登录。", "fields": {}}
    assert response["WWW-Authenticate"].startswith("Bearer")
    bad = Client(headers={"Authorization": "Bearer yw_0000_forged"}).get("/api/v1/me")
    assert bad.status_code == 401 and bad.json()["code"] == "not_authenticated"


def test_me_shows_own_name_in_full_and_masks_identifiers():
    id_number = make_id_number("320505", date(1990, 3, 7), 123)
    user = make_staff(
        "zhangxiaosan", kind="citizen", real_name="张小三", id_number=id_number, phone="13812345678", is_staff=False
    )
    response = bearer_client(user).get("/api/v1/me")
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "zhangxiaosan"
    assert body["real_name"] == "张小三"
    assert body["kind"] == "citizen" and body["kind_label"] == "个人用户"
    assert body["id_number_masked"] == id_number[:6] + "********" + id_number[-4:]
    assert body["phone_masked"] == "138****5678"
    assert id_number not in response.content.decode() and "13812345678" not in response.content.decode()


def test_me_with_the_browser_session():
    user = make_staff("citizen1", kind="citizen", id_number=make_id_number("320505", date(1985, 1, 2), 2))
    client = Client()
    client.force_login(user)
    response = client.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["id"] == user.pk


# --- me/departments --------------------------------------------------------------------------------


def test_my_departments_per_role(tree, django_assert_max_num_queries):
    staff = make_staff("staff")
    tree.grant(staff, Role.REVIEWER, tree.fengqiao, include_descendants=True)
    tree.grant(staff, Role.WINDOW_CLERK, tree.huqiu_market)
    tree.grant(staff, Role.WINDOW_CLERK, tree.fengqiao)
    client = bearer_client(staff)

    body = client.get("/api/v1/me/departments").json()
    assert body["all_departments"] is False
    named = {r["role"]: [d["name"] for d in r["departments"]] for r in body["roles"]}
    assert named == {
        "window_clerk": ["虎丘区市场监督管理局", "枫桥街道办事处"],
        "reviewer": ["枫桥街道办事处", "枫桥社区居民委员会"],
    }
    assert [r["role_label"] for r in body["roles"]] == ["窗口受理人员", "审核人员"]

    only = client.get("/api/v1/me/departments?role=reviewer").json()
    assert [r["role"] for r in only["roles"]] == ["reviewer"]
    bad = client.get("/api/v1/me/departments?role=emperor")
    assert bad.status_code == 422 and list(bad.json()["fields"]) == ["role"]

    # Authentication (token lookup, last-used stamp) plus two reads, whatever the grants.
    with django_assert_max_num_queries(5):
        client.get("/api/v1/me/departments")


def test_superuser_acts_everywhere(tree):
    body = bearer_client(tree.root).get("/api/v1/me/departments").json()
    assert body == {"all_departments": True, "roles": []}


# --- departments -------------------------------------------------------------------------------------


def test_department_tree_is_public_and_paged(tree):
    client = Client()
    page = client.get("/api/v1/departments?page_size=3").json()
    assert page["count"] == 7 and len(page["items"]) == 3
    assert page["items"][0]["name"] == "苏州市人民政府"
    second = client.get("/api/v1/departments?page_size=3&page=3").json()
    assert len(second["items"]) == 1

    roots = client.get("/api/v1/departments?roots=true").json()["items"]
    assert [(d["name"], d["children_count"], d["parent_id"]) for d in roots] == [("苏州市人民政府", 3, None)]
    children = client.get(f"/api/v1/departments?parent={tree.city.pk}").json()["items"]
    assert [d["code"] for d in children] == ["SZ-HQ", "SZ-SJJ", "SZ-WZ"]
    towns = client.get("/api/v1/departments?level=4").json()["items"]
    assert [(d["name"], d["level_label"], d["kind"], d["region_name"]) for d in towns] == [
        ("枫桥街道办事处", "乡级", "subdistrict", "江苏省苏州市虎丘区")
    ]
    found = client.get("/api/v1/departments", {"search": "吴中"}).json()["items"]
    assert [d["name"] for d in found] == ["吴中区人民政府"]


def test_department_filters_are_checked(tree):
    response = Client().get("/api/v1/departments?level=9&page=0")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid" and body["message"] == "提交的内容有误,请按提示修改。"
    assert body["fields"]["level"] == ["请从以下选项中选择:1, 2, 3, 4, 5"]
    assert body["fields"]["page"] == ["不能小于 1"]


def test_department_detail(tree):
    response = Client().get(f"/api/v1/departments/{tree.fengqiao.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "枫桥街道办事处"
    assert body["region_code"] == "320505001"
    assert body["region_name"] == "江苏省苏州市虎丘区"
    assert body["children_count"] == 1
    assert [a["name"] for a in body["ancestors"]] == ["苏州市人民政府", "虎丘区人民政府"]


def test_missing_department_is_a_json_404(tree):
    response = Client().get("/api/v1/departments/987654")
    assert response.status_code == 404
    assert response.json() == {"code": "department_not_found", "message": "未找到该部门。", "fields": {}}
    assert response["Content-Type"].startswith("application/json")


# --- OpenAPI and the interactive docs --------------------------------------------------------------------


def test_openapi_document_lists_the_endpoints():
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert {
        "/api/v1/me",
        "/api/v1/me/departments",
        "/api/v1/departments",
        "/api/v1/departments/{department_id}",
    } <= set(document["paths"])


def test_interactive_docs_come_from_this_server_only():
    client = Client()
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert not re.search(r"https?://", html), "the docs page must not reference another host"
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    for asset in assets:
        assert asset.startswith("/"), asset
        served = client.get(asset)
        assert served.status_code == 200, asset
