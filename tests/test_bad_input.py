"""Bad input, over HTTP: every case answers 4xx with a clear message and nothing is stored.

Regression tests for an outside probe of the API (issue 20): a lone UTF-16 surrogate stored
in a case made every later read of it answer 500; an oversized JSON body, a multipart body
without a boundary and a page number past 64 bits answered 500; thirty 10 MB files to an
unknown case were all read before the 404.
"""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from yiwang.cases.models import Case, CaseMaterial
from yiwang.cases.tests.factories import FORM, build_world
from yiwang.core.errors import ValidationFailed
from yiwang.core.models import AuditEvent
from yiwang.identity.services import api_token_create

API = "/api/v1/cases"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _fast(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def world(db):
    return build_world()


def bearer(user) -> dict:
    _token, raw = api_token_create(actor=user, user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def submit_raw(client, user, raw: str | bytes):
    return client.post(f"{API}/", raw, content_type="application/json", **bearer(user))


def counts() -> tuple[int, int, int]:
    """Cases, materials and audit events (but the test's own token issues)."""
    events = AuditEvent.objects.exclude(action="api_token.create")
    return Case.objects.count(), CaseMaterial.objects.count(), events.count()


def nothing_written(before: tuple[int, int, int]) -> bool:
    return counts() == before


# --- text that cannot be stored -------------------------------------------------------------


@pytest.mark.parametrize(
    ("escaped", "fragment"),
    [("\\ud800", "代理项"), ("a\\udfffb", "代理项"), ("a\\u0000b", "空字符")],
    ids=["lone-high-surrogate", "lone-low-surrogate", "nul"],
)
def test_unencodable_text_in_form_data_is_refused_before_anything_is_written(world, escaped, fragment):
    client = Client()
    headers = bearer(world.applicant)
    before = counts()
    # json.dumps would refuse to write a lone surrogate: the client sends the escape itself
    raw = '{"item": "SZ-SJJ-0001", "form_data": {"business_name": "' + escaped + '"}}'
    response = client.post(f"{API}/", raw, content_type="application/json", **headers)
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "invalid_text"
    assert list(body["fields"]) == ["form_data.business_name"]
    assert fragment in body["fields"]["form_data.business_name"][0]
    assert nothing_written(before)
    # and the caller's other requests are unaffected
    assert client.get(f"{API}/mine", **headers).status_code == 200


def test_unencodable_key_and_nested_list_item_are_named(world):
    client = Client()
    raw = '{"item": "SZ-SJJ-0001", "form_data": {"a": {"rows": ["ok", "x\\u0000"]}, "b\\ud800": 1}}'
    response = client.post(f"{API}/", raw, content_type="application/json", **bearer(world.applicant))
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"form_data.a.rows.1", "form_data"}


def test_nul_in_query_parameter_is_named(world):
    response = Client().get("/api/v1/catalog/search", {"q": "开饭店\x00"})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_text" and list(response.json()["fields"]) == ["q"]


def test_nul_in_a_page_form_is_refused_and_nothing_stored(world):
    client = Client()
    client.force_login(world.applicant)
    before = counts()
    response = client.post(
        f"/cases/apply/{world.market_item.implementation_code}/",
        {"idempotency_key": "a" * 32, "f_business_name": "张三\x00小吃店"},
    )
    assert response.status_code == 422
    assert "f_business_name" in response.content.decode() and "空字符" in response.content.decode()
    assert nothing_written(before)


def test_rtl_and_other_printable_unicode_is_kept_as_text(world):
    """Right-to-left overrides, Arabic, emoji: legal text (escaped when shown), not an error."""
    name = "\u202e张三\u202c小吃店 مطعم 🍜"
    response = Client().post(
        f"{API}/",
        json.dumps({"item": "SZ-SJJ-0001", "form_data": {"business_name": name}}),
        content_type="application/json",
        **bearer(world.applicant),
    )
    assert response.status_code == 201, response.content
    case = Case.objects.get(pk=response.json()["id"])
    assert case.form_data["business_name"] == name


def test_a_case_stored_with_a_surrogate_before_the_fix_still_reads(world):
    """Rows written before the parser refused them: the API answers 200 with an escaped string.
    (SQLite only: PostgreSQL's jsonb never accepted a lone surrogate, so no such row exists there.)"""
    from django.db import connection

    from yiwang.cases import services

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL's jsonb refuses a lone surrogate: no such row can exist there")

    from yiwang.cases.models import Case

    # The service now refuses such text too (ensure_storable): write the legacy row as it was.
    with pytest.raises(ValidationFailed):
        services.case_submit(actor=world.applicant, item=world.market_item, form_data={"business_name": "张三\ud800"})
    case, _created = services.case_submit(
        actor=world.applicant, item=world.market_item, form_data={"business_name": "张三"}
    )
    Case.objects.filter(pk=case.pk).update(form_data={"business_name": "张三\ud800"})
    response = Client().get(f"{API}/{case.pk}", **bearer(world.applicant))
    assert response.status_code == 200
    assert "\\ud800" in response.content.decode("ascii")


# --- size, shape and depth ------------------------------------------------------------------


def test_deep_json_is_a_4xx_not_a_recursion_error(world):
    before = counts()
    response = submit_raw(Client(), world.applicant, "[" * 10_000 + "]" * 10_000)
    assert response.status_code == 422
    assert response.json()["code"] == "json_too_deep" and "64" in response.json()["fields"]["body"][0]
    nested = '{"item": "SZ-SJJ-0001", "form_data": {"x": ' + "[" * 100 + "]" * 100 + "}}"
    response = submit_raw(Client(), world.applicant, nested)
    assert response.status_code == 422 and response.json()["code"] == "json_too_deep"
    assert nothing_written(before)


def test_json_body_over_the_memory_limit_is_413_with_the_limit(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    before = counts()
    big = json.dumps({"item": "SZ-SJJ-0001", "form_data": {"business_name": "x" * (2 * 1024 * 1024)}})
    response = submit_raw(Client(), world.applicant, big)
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large" and "1 MB" in response.json()["message"]
    assert nothing_written(before)


def test_request_over_the_total_cap_is_refused_unread_with_the_limit(world, settings):
    settings.YIWANG_MAX_REQUEST_BYTES = 3 * 1024 * 1024

    def files():
        return [SimpleUploadedFile(f"scan{i}.pdf", PDF + b"\0" * (1024 * 1024)) for i in range(4)]

    before = counts()
    response = Client().post(f"{API}/999999/materials", {"file": files()}, **bearer(world.applicant))
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large" and "3 MB" in response.json()["message"]
    assert nothing_written(before)
    page = Client().post("/cases/apply/SZ-SJJ-0001/", {"material_1": files()})
    assert page.status_code == 413 and "3 MB" in page.content.decode()


def test_upload_to_an_unknown_or_foreign_case_is_refused_before_the_files_are_read(world, monkeypatch):
    from django.http import request as django_request

    mine = (
        Client()
        .post(
            f"{API}/",
            json.dumps({"item": "SZ-SJJ-0001", "form_data": FORM}),
            content_type="application/json",
            **bearer(world.applicant),
        )
        .json()["id"]
    )
    parsed = []
    real = django_request.HttpRequest._load_post_and_files
    monkeypatch.setattr(django_request.HttpRequest, "_load_post_and_files", lambda self: parsed.append(1) or real(self))
    for case_id, user in [(999999, world.applicant), (mine, world.other_citizen)]:
        response = Client().post(
            f"{API}/{case_id}/materials", {"file": SimpleUploadedFile("a.pdf", PDF)}, **bearer(user)
        )
        assert response.status_code == 404 and response.json()["code"] == "case_not_found"
    assert parsed == []  # the multipart body was never parsed
    anonymous = Client().post(f"{API}/{mine}/materials", {"file": SimpleUploadedFile("a.pdf", PDF)})
    assert anonymous.status_code == 401 and parsed == []
    ok = Client().post(f"{API}/{mine}/materials", {"file": SimpleUploadedFile("a.pdf", PDF)}, **bearer(world.applicant))
    assert ok.status_code == 201 and parsed


@pytest.mark.parametrize(
    "url", [f"{API}/1/materials", f"{API}/with-materials", "/api/v1/catalog/admin/import", "/cases/apply/SZ-SJJ-0001/"]
)
def test_multipart_without_boundary_is_400_not_500(world, url):
    response = Client().post(url, b"--x\r\n\r\n--x--", content_type="multipart/form-data", **bearer(world.applicant))
    assert response.status_code == 400
    assert "boundary" in response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/messages/?page=99999999999999999999999999",
        "/api/v1/cases/mine?page=99999999999999999999999999",
        "/api/v1/catalog/search?q=%E5%BC%80%E9%A5%AD%E5%BA%97&page=99999999999999999999999999",
        "/api/v1/catalog/items?page=18446744073709551617",
    ],
)
def test_page_number_past_64_bits_is_422_naming_page(world, url):
    response = Client().get(url, **bearer(world.applicant))
    assert response.status_code == 422, response.content
    assert list(response.json()["fields"]) == ["page"]


def test_page_number_past_64_bits_on_pages_shows_a_page(world):
    client = Client()
    client.force_login(world.applicant)
    assert client.get("/services/?q=开饭店&page=99999999999999999999999999").status_code == 200
    assert client.get("/messages/?page=99999999999999999999999999").status_code == 200


def test_over_long_query_string_is_414_with_the_limit(world, settings):
    settings.YIWANG_MAX_QUERY_STRING = 4096
    long_q = "q=" + "开" * 2000  # percent-encoded: 18,000 characters
    api = Client().get(f"/api/v1/catalog/search?{long_q}")
    assert api.status_code == 414 and api.json()["code"] == "query_too_long" and "4096" in api.json()["message"]
    page = Client().get(f"/services/?{long_q}")
    assert page.status_code == 414 and "4096" in page.content.decode()


# --- file names ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "..\\..\\windows\\win.ini", "C:\\x\\scan.pdf"])
def test_upload_path_names_are_stored_under_a_safe_name(world, name, settings, tmp_path):
    client = Client()
    headers = bearer(world.applicant)
    case_id = client.post(
        f"{API}/",
        json.dumps({"item": "SZ-SJJ-0001", "form_data": FORM}),
        content_type="application/json",
        **headers,
    ).json()["id"]
    response = client.post(f"{API}/{case_id}/materials", {"file": SimpleUploadedFile(name, PDF)}, **headers)
    assert response.status_code == 201, response.content
    material = CaseMaterial.objects.get(pk=response.json()["id"])
    assert material.file.name.startswith(f"cases/{case_id}/") and material.file.name.endswith(".pdf")
    assert ".." not in material.file.name and "\\" not in material.file.name
    assert "/" not in material.original_filename and "\\" not in material.original_filename
    stored = (tmp_path / "media" / material.file.name).resolve()
    assert stored.is_relative_to((tmp_path / "media").resolve()) and stored.read_bytes() == PDF
