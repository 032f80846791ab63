"""Workbench: staff of the issuing department list, inspect and change licenses; others get 404."""

import io

import pytest

from yiwang.licenses.models import License
from yiwang.licenses.tests.factories import HOLDER_ID, build_world, issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def test_reviewer_lists_inspects_suspends_and_revokes(client, world):
    lic = issue(world)
    client.force_login(world.reviewer)
    html = client.get("/workbench/licenses/").content.decode()
    assert lic.identifier in html and "张*三" in html and HOLDER_ID not in html
    html = client.get(f"/workbench/licenses/?q={lic.identifier[:-1]}0").content.decode()
    assert "校验位" in html or "格式" in html
    detail = client.get(f"/workbench/licenses/{lic.pk}/").content.decode()
    assert 'data-result="valid"' in detail and "颁发" in detail
    page = client.post(f"/workbench/licenses/{lic.pk}/suspend/", {"reason": ""}, follow=True).content.decode()
    assert "请填写原因" in page
    client.post(f"/workbench/licenses/{lic.pk}/suspend/", {"reason": "核查中"})
    client.post(f"/workbench/licenses/{lic.pk}/revoke/", {"reason": "吊销"})
    lic.refresh_from_db()
    assert lic.status == "revoked" and [h.to_status for h in lic.history.all()] == ["valid", "suspended", "revoked"]


def test_window_clerk_sees_but_may_not_change_and_citizens_get_404(client, world):
    lic = issue(world)
    client.force_login(world.clerk)
    assert client.get(f"/workbench/licenses/{lic.pk}/").status_code == 200
    page = client.post(f"/workbench/licenses/{lic.pk}/revoke/", {"reason": "x"}, follow=True).content.decode()
    assert "只有颁发部门" in page
    assert License.objects.get().status == "valid"
    client.force_login(world.citizen)
    assert client.get("/workbench/licenses/").status_code == 404
    assert client.get(f"/workbench/licenses/{lic.pk}/").status_code == 404
    assert client.post(f"/workbench/licenses/{lic.pk}/revoke/", {"reason": "x"}).status_code == 404


def test_excel_import_page_all_or_nothing(client, world):
    from yiwang.licenses.tests.test_import_command import HEADER, _xlsx

    client.force_login(world.reviewer)
    template = client.get("/workbench/licenses/template/business_license_individual.xlsx")
    assert template.status_code == 200 and template.content[:2] == b"PK"
    page = client.get("/workbench/licenses/import/").content.decode()
    assert "苏州市市场监督管理局" in page and "虎丘区" not in page  # only where the reviewer may issue
    bad = io.BytesIO(_xlsx([HEADER, ["张小三", "123", "2019-05-01", None, "面馆", "餐饮", "枫桥路1号"]]))
    bad.name = "bad.xlsx"
    response = client.post(
        "/workbench/licenses/import/",
        {"license_type": "business_license_individual", "department": world.market.pk, "file": bad},
    )
    assert response.status_code == 422 and "第2行" in response.content.decode()
    assert not License.objects.exists()
    good = io.BytesIO(_xlsx([HEADER, ["张小三", HOLDER_ID, "2019-05-01", None, "面馆", "餐饮", "枫桥路1号"]]))
    good.name = "good.xlsx"
    response = client.post(
        "/workbench/licenses/import/",
        {"license_type": "business_license_individual", "department": world.market.pk, "file": good},
    )
    assert response.status_code == 200 and License.objects.get().identifier in response.content.decode()
