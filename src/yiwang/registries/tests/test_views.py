"""Workbench pages: masked list and lookup, history, import, quality; 404 for everyone else."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from yiwang.registries import quality, services
from yiwang.registries.models import Person
from yiwang.registries.tests.factories import PERSON_ID, PERSON_ID_2, build_world, person_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    world = build_world()
    services.records_upsert(actor=world.police_clerk, registry="population", rows=[person_row()])
    services.records_upsert(actor=world.police_clerk, registry="population", rows=[person_row(phone="13900000000")])
    return world


def test_source_staff_see_their_registry_masked_and_look_up_by_key(client, world):
    client.force_login(world.police_clerk)
    home = client.get("/workbench/").content.decode()
    assert "/workbench/registries/" in home
    index = client.get("/workbench/registries/").content.decode()
    assert "人口库" in index and "苏州市公安局" in index and "苏州市民政局" in index and "法人库" not in index
    page = client.get("/workbench/registries/population/").content.decode()
    assert "张*三" in page and PERSON_ID not in page and "13900000000" not in page
    found = client.post("/workbench/registries/population/", {"key": PERSON_ID.lower()})
    person = Person.objects.get()
    assert found.status_code == 302 and found.url == f"/workbench/registries/population/{person.pk}/"
    detail = client.get(found.url).content.decode()
    assert "139****0000" in detail and "138****5678" in detail and "苏州市公安局" in detail
    assert "13812345678" not in detail and PERSON_ID not in detail
    bad = client.post(
        "/workbench/registries/population/", {"key": PERSON_ID[:-1] + ("1" if PERSON_ID[-1] != "1" else "2")}
    )
    assert bad.status_code == 422 and "校验位" in bad.content.decode()
    missing = client.post("/workbench/registries/population/", {"key": PERSON_ID_2})
    assert "没有该记录" in missing.content.decode()


def test_other_staff_and_citizens_get_404(client, world):
    person = Person.objects.get()
    client.force_login(world.land_clerk)
    assert "/workbench/registries/" in client.get("/workbench/").content.decode()  # land sources spatial
    assert client.get("/workbench/registries/population/").status_code == 404
    assert client.get(f"/workbench/registries/population/{person.pk}/").status_code == 404
    assert client.get("/workbench/registries/nonsense/").status_code == 404
    from yiwang.identity.models import User
    from yiwang.identity.tests.tree import make_staff

    citizen = make_staff("wang_xiaoer", kind=User.Kind.CITIZEN, id_number=PERSON_ID_2)
    client.force_login(citizen)
    assert client.get("/workbench/registries/").status_code == 404


def test_import_page_reports_bad_rows_and_imports_good_files(client, world):
    client.force_login(world.civil_clerk)
    template = client.get("/workbench/registries/population/template.xlsx")
    assert template.status_code == 200 and template["Content-Type"].startswith("application/vnd.openxml")
    bad = SimpleUploadedFile("m.csv", f"公民身份号码,婚姻状况,姓名\n{PERSON_ID},已婚,李四\n".encode())
    response = client.post("/workbench/registries/population/import/", {"file": bad})
    assert response.status_code == 422
    assert "第2行「姓名」" in response.content.decode() and Person.objects.get().marital_status == ""
    good = SimpleUploadedFile("m.csv", f"公民身份号码,婚姻状况\n{PERSON_ID},已婚\n".encode())
    response = client.post("/workbench/registries/population/import/", {"file": good})
    assert response.status_code == 200 and Person.objects.get().marital_status == "married"


def test_quality_page_lists_reports_with_masked_keys(client, world):
    Person.objects.update(address="")
    quality.quality_refresh()
    client.force_login(world.police_clerk)
    page = client.get("/workbench/registries/quality/").content.decode()
    assert "户籍地址" in page and PERSON_ID[:6] + "********" in page and PERSON_ID not in page
