"""The registries API: upsert with named rows, import, masked lookup, history, quality."""

import pytest

from yiwang.registries.models import Person
from yiwang.registries.tests.factories import PERSON_ID, PERSON_ID_2, build_world, person_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def _post(client, url, body, **headers):
    return client.post(url, body, content_type="application/json", **headers)


def test_upsert_names_every_bad_row_in_the_users_language_and_writes_nothing(client, world):
    client.force_login(world.police_clerk)
    bad = PERSON_ID_2[:17] + ("0" if PERSON_ID_2[17] != "0" else "1")
    response = _post(client, "/api/v1/registries/population/records", {"records": [person_row(), person_row(bad)]})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "registry_rows_invalid"
    assert list(body["fields"]) == ["records.1.id_number"] and "校验位" in body["fields"]["records.1.id_number"][0]
    assert Person.objects.count() == 0
    english = _post(
        client,
        "/api/v1/registries/population/records",
        {"records": [person_row(bad)]},
        HTTP_ACCEPT_LANGUAGE="en",
    ).json()
    assert "check" in english["fields"]["records.0.id_number"][0].lower()
    ok = _post(client, "/api/v1/registries/population/records", {"records": [person_row()]})
    assert ok.status_code == 200 and ok.json()["created"] == 1


def test_another_departments_field_unknown_registry_and_oversized_batch(client, world):
    client.force_login(world.police_clerk)
    body = _post(
        client, "/api/v1/registries/population/records", {"records": [person_row(marital_status="married")]}
    ).json()
    assert "苏州市民政局" in body["fields"]["records.0.marital_status"][0]
    unknown = _post(client, "/api/v1/registries/people/records", {"records": [{}]})
    assert unknown.status_code == 422 and unknown.json()["code"] == "registry_unknown"
    big = _post(client, "/api/v1/registries/population/records", {"records": [{}] * 10_001})
    assert big.status_code == 422 and big.json()["code"] == "registry_batch_too_large"


def test_lookup_is_masked_and_only_for_source_staff(client, world):
    client.force_login(world.police_clerk)
    _post(client, "/api/v1/registries/population/records", {"records": [person_row()]})
    _post(client, "/api/v1/registries/population/records", {"records": [person_row(phone="13900000000")]})
    found = _post(client, "/api/v1/registries/population/lookup", {"key": PERSON_ID}).json()
    assert found["key"] == PERSON_ID[:6] + "********" + PERSON_ID[-4:]
    assert found["values"]["name"] == "张*三" and found["values"]["phone"] == "139****0000"
    assert "13900000000" not in str(found)
    history = client.get(f"/api/v1/registries/population/records/{found['id']}/history").json()
    assert [h["action"] for h in history] == ["create", "update"]
    assert (history[1]["field"], history[1]["old_value"], history[1]["new_value"]) == (
        "phone",
        "138****5678",
        "139****0000",
    )
    bad_key = _post(client, "/api/v1/registries/population/lookup", {"key": "123"})
    assert bad_key.status_code == 422 and bad_key.json()["fields"]["key"]
    # Staff of no source department of this registry: it looks missing.
    client.force_login(world.land_clerk)
    assert _post(client, "/api/v1/registries/population/lookup", {"key": PERSON_ID}).status_code == 404
    assert client.get(f"/api/v1/registries/population/records/{found['id']}/history").status_code == 404
    client.logout()
    assert _post(client, "/api/v1/registries/population/lookup", {"key": PERSON_ID}).status_code == 401


def test_fields_catalog_and_import_over_the_api(client, world):
    client.force_login(world.market_clerk)
    catalog = client.get("/api/v1/registries/fields?registry=economy").json()
    assert [f["field"] for f in catalog][:2] == ["uscc", "year"]
    assert all(f["source_department_id"] == world.market.pk for f in catalog)
    csv = "统一社会信用代码,名称,主体类型,法定代表人(负责人),住所,登记地行政区划,成立日期,登记状态\n"
    from yiwang.registries.tests.factories import COMPANY

    csv += f"{COMPANY},苏州小三面馆,个体工商户,张小三,苏州市虎丘区枫桥路1号,320505,2020-05-01,存续\n"
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("entities.csv", csv.encode("utf-8-sig"), content_type="text/csv")
    response = client.post("/api/v1/registries/legal_entity/import", {"file": upload})
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1


def test_a_caller_who_sources_nothing_is_refused_before_the_rows_or_the_file_are_read(client, world):
    """Regression (permission matrix): a citizen's import was parsed — and refused for its
    content (422) — before anyone asked who was sending it; now 404 as for a registry one cannot
    see, whatever the file holds. Staff of another department get the same for this registry."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from yiwang.identity.models import User

    citizen = User.objects.create_user(username="reg_citizen", password="x", kind="citizen")
    for outsider in (citizen, world.land_clerk):
        client.force_login(outsider)
        not_a_file = SimpleUploadedFile("x.txt", b"\x00not a spreadsheet", content_type="text/plain")
        imported = client.post("/api/v1/registries/population/import", {"file": not_a_file})
        assert imported.status_code == 404 and imported.json()["code"] == "registry_not_found"
        upserted = _post(client, "/api/v1/registries/population/records", {"records": []})
        assert upserted.status_code == 404 and upserted.json()["code"] == "registry_not_found"
    assert Person.objects.count() == 0
    client.force_login(world.police_clerk)  # the source: the same requests reach the content checks
    assert _post(client, "/api/v1/registries/population/records", {"records": []}).status_code == 422
