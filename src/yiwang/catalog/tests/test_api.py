import io
import json

import pytest
import yaml
from openpyxl import load_workbook

from yiwang.catalog import services
from yiwang.catalog.models import ServiceItem
from yiwang.catalog.tests.factories import build_world, item_data, life_event_data
from yiwang.identity.services import api_token_create

pytestmark = pytest.mark.django_db
API = "/api/v1/catalog"


@pytest.fixture
def world():
    return build_world()


def _auth(user) -> dict:
    _token, raw = api_token_create(actor=user, user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _publish_two(world):
    for code, name in (("SZ-SJJ-0001", "个体工商户设立登记"), ("SZ-SJJ-0002", "公章刻制备案")):
        item = services.item_save_draft(
            actor=world.market_admin, data=item_data(implementation_code=code, name=name)
        ).version.item
        services.item_publish(actor=world.market_admin, item=item)
    bundle = services.life_event_save_draft(actor=world.market_admin, data=life_event_data()).version.life_event
    services.life_event_publish(actor=world.market_admin, life_event=bundle)


def test_public_list_and_detail_show_only_published_items(client, world):
    _publish_two(world)
    services.item_save_draft(actor=world.market_admin, data=item_data(implementation_code="SZ-SJJ-0003", name="草稿"))
    response = client.get(f"{API}/items", {"department": "SZ-SJJ"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    first = body["items"][0]
    assert first["name"] == "个体工商户设立登记" and first["kind_label"] == "行政许可"
    assert first["department"] == {"code": "SZ-SJJ", "name": "苏州市市场监督管理局"}

    detail = client.get(f"{API}/items/SZ-SJJ-0001").json()
    assert detail["guide"]["materials"][1]["source"] == "license"
    assert detail["certificate_free_materials"] == 1
    assert detail["labels"]["targets"] == ["自然人"]

    missing = client.get(f"{API}/items/SZ-SJJ-0003")
    assert missing.status_code == 404
    assert missing.json() == {"code": "item_not_found", "message": "未找到该事项。", "fields": {}}
    bad = client.get(f"{API}/items", {"department": "NOPE"})
    assert bad.status_code == 422 and "NOPE" in bad.json()["fields"]["department"][0]


def test_a_kept_version_stays_readable_after_a_new_publication(client, world):
    _publish_two(world)
    services.item_save_draft(actor=world.market_admin, data=item_data(promised_time_limit=5))
    services.item_publish(actor=world.market_admin, item=ServiceItem.objects.get(implementation_code="SZ-SJJ-0001"))
    assert client.get(f"{API}/items/SZ-SJJ-0001").json()["promised_time_limit"] == 5
    old = client.get(f"{API}/items/SZ-SJJ-0001/versions/1").json()
    assert old["promised_time_limit"] == 1 and old["version"] == 1


def test_life_event_detail_has_the_merged_guide(client, world):
    _publish_two(world)
    body = client.get(f"{API}/life-events/LE-KBQY").json()
    assert [g["implementation_code"] for g in body["item_guides"]] == ["SZ-SJJ-0001", "SZ-SJJ-0002"]
    # Both items ask for the same three materials: each is asked once.
    assert len(body["materials"]) == 3
    assert body["materials"][0]["items"] == ["SZ-SJJ-0001", "SZ-SJJ-0002"]
    assert client.get(f"{API}/life-events").json()["count"] == 1


def test_admin_endpoints_create_update_publish_and_hide_other_departments(client, world):
    headers = _auth(world.market_admin)
    created = client.post(f"{API}/admin/items", item_data(), content_type="application/json", **headers)
    assert created.status_code == 201 and created.json() == {"outcome": "created", "version": 1}
    again = client.post(f"{API}/admin/items", item_data(), content_type="application/json", **headers)
    assert again.status_code == 409 and again.json()["code"] == "item_exists"

    bad = client.put(
        f"{API}/admin/items/SZ-SJJ-0001",
        item_data(promised_time_limit=99),
        content_type="application/json",
        **headers,
    )
    assert bad.status_code == 422
    assert bad.json()["fields"]["promised_time_limit"] == [
        "「承诺办结时限」必须是不大于法定办结时限（15 个工作日）的整数"
    ]

    published = client.post(f"{API}/admin/items/SZ-SJJ-0001/publish", **headers)
    assert published.status_code == 200 and published.json()["version"] == 1
    assert client.get(f"{API}/items/SZ-SJJ-0001").status_code == 200

    other = _auth(world.huqiu_admin)
    for response in (
        client.get(f"{API}/admin/items/SZ-SJJ-0001", **other),
        client.post(f"{API}/admin/items/SZ-SJJ-0001/retire", {}, "application/json", **other),
        client.put(f"{API}/admin/items/SZ-SJJ-0001", item_data(), content_type="application/json", **other),
    ):
        assert response.status_code == 404 and response.json()["code"] == "item_not_found"
    assert client.get(f"{API}/admin/items", **other).json()["count"] == 0
    assert client.get(f"{API}/admin/items").status_code == 401

    retired = client.post(
        f"{API}/admin/items/SZ-SJJ-0001/retire", {"reason": "职能调整"}, "application/json", **headers
    )
    assert retired.status_code == 200 and retired.json()["status"] == "retired"
    assert client.get(f"{API}/items/SZ-SJJ-0001").status_code == 404


def test_admin_upload_rejects_a_bad_file_whole_and_accepts_a_good_one(client, world):
    headers = _auth(world.market_admin)
    document = {"format_version": 1, "items": [item_data(promised_time_limit=40)]}
    upload = io.BytesIO(yaml.safe_dump(document, allow_unicode=True).encode())
    upload.name = "bad.yaml"
    response = client.post(f"{API}/admin/import", {"file": upload}, **headers)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "catalog_import_invalid" and "1 处错误" in body["message"]
    assert "「承诺办结时限」必须是不大于法定办结时限（15 个工作日）的整数" in body["fields"]["file"][0]
    assert not ServiceItem.objects.exists()

    good = io.BytesIO(json.dumps({"format_version": 1, "items": [item_data()]}, ensure_ascii=False).encode())
    good.name = "good.json"
    response = client.post(f"{API}/admin/import", {"file": good, "publish": "true"}, **headers)
    assert response.status_code == 200, response.json()
    assert response.json()["published_items"] == 1

    exported = client.get(f"{API}/admin/export", {"format": "xlsx"}, **headers)
    book = load_workbook(io.BytesIO(exported.content))
    assert book["事项"]["A2"].value == "SZ-SJJ-0001"


def test_template_is_downloadable_without_signing_in(client):
    response = client.get(f"{API}/template.xlsx")
    assert response.status_code == 200
    assert load_workbook(io.BytesIO(response.content)).sheetnames == ["事项", "材料", "一件事"]


def test_search_finds_a_published_item_by_pinyin_initials_and_forgets_it_when_retired(
    client, world, django_capture_on_commit_callbacks
):
    # Publishing indexes the item through the catalog's domain events (delivered on commit).
    with django_capture_on_commit_callbacks(execute=True):
        _publish_two(world)
    body = client.get(f"{API}/search", {"q": "gtgsh"}).json()
    assert body["hits"][0]["code"] == "SZ-SJJ-0001"
    assert body["hits"][0]["name"] == "个体工商户设立登记"
    bad = client.get(f"{API}/search", {"q": "开店", "department": "NOPE"})
    assert bad.status_code == 422
    with django_capture_on_commit_callbacks(execute=True):
        bundle = services.life_event_save_draft(actor=world.market_admin, data=life_event_data())
        services.life_event_retire(actor=world.market_admin, life_event=bundle.version.life_event)
        item = ServiceItem.objects.get(implementation_code="SZ-SJJ-0001")
        services.item_retire(actor=world.market_admin, item=item)
    codes = [hit["code"] for hit in client.get(f"{API}/search", {"q": "gtgsh"}).json()["hits"]]
    assert "SZ-SJJ-0001" not in codes
