"""Every way a JSON API request can fail answers {"code", "message", "fields"}, in the client's language."""

import logging
import struct

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

TEST_URLS = "yiwang.core.tests.api_errors_urls"


def json_error(response, status):
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    return body


# --- request validation ----------------------------------------------------------------------------------


@pytest.mark.urls(TEST_URLS)
def test_body_errors_are_named_by_the_json_keys_the_client_sent():
    response = Client().post(
        "/api/test/things",
        {"name": "一二三四五六", "count": 0, "address": {"postcode": "12"}, "tags": [1, "x"]},
        content_type="application/json",
    )
    body = json_error(response, 422)
    assert body["code"] == "invalid"
    assert body["message"] == "提交的内容有误,请按提示修改。"
    assert body["fields"] == {
        "name": ["不能超过 5 个字符"],
        "count": ["不能小于 1"],
        "address.city": ["此字段为必填项"],
        "address.postcode": ["格式不正确"],
        "tags.1": ["请填写整数"],
    }


@pytest.mark.urls(TEST_URLS)
def test_missing_body_and_wrong_shape():
    empty = Client().post("/api/test/things", "", content_type="application/json")
    assert json_error(empty, 422)["fields"] == {"body": ["请提交 JSON 格式的请求体"]}
    wrong = Client().post("/api/test/things", [1, 2], content_type="application/json")
    fields = json_error(wrong, 422)["fields"]
    assert fields["name"] == ["此字段为必填项"] and fields["address"] == ["此字段为必填项"]
    assert "list" not in wrong.content.decode()  # no internals (pydantic's "list.count() takes ...")


@pytest.mark.urls(TEST_URLS)
def test_malformed_json_says_where():
    response = Client().post("/api/test/things", '{"name": "a",\n "count": }', content_type="application/json")
    body = json_error(response, 400)
    assert body["code"] == "malformed_json"
    assert body["message"] == "请求体不是有效的 JSON:第 2 行第 11 列附近有误。"


# --- errors raised by services and by Django ------------------------------------------------------------


@pytest.mark.urls(TEST_URLS)
def test_service_errors_keep_their_status_code_and_fields():
    body = json_error(Client().get("/api/test/service-refuses"), 422)
    assert body == {
        "code": "invalid",
        "message": "提交的内容有误,请按提示修改。",
        "fields": {"region_code": ["行政区划代码 329999 不存在"]},
    }
    conflict = json_error(Client().get("/api/test/conflict"), 409)
    assert conflict["code"] == "case_already_accepted"
    assert conflict["message"] == "该对象已被他人修改,请刷新后重试。"


@pytest.mark.urls(TEST_URLS)
def test_django_errors_become_json():
    assert json_error(Client().get("/api/test/denied"), 403)["code"] == "forbidden"
    assert json_error(Client().get("/api/test/missing-row"), 404)["code"] == "not_found"
    unchecked = json_error(Client().get("/api/test/unchecked-code"), 422)
    assert unchecked["message"] == "行政区划代码只能包含数字"


@pytest.mark.urls(TEST_URLS)
def test_unexpected_exception_is_a_500_without_traceback_but_logged(caplog):
    with caplog.at_level(logging.ERROR, logger="yiwang.api"):
        response = Client().get("/api/test/boom")
    body = json_error(response, 500)
    assert body == {"code": "server_error", "message": "服务器内部错误,请稍后重试。", "fields": {}}
    assert "hunter2" not in response.content.decode() and "Traceback" not in response.content.decode()
    logged = [r for r in caplog.records if r.name == "yiwang.api"]
    assert logged and logged[0].exc_info[0] is RuntimeError


@pytest.mark.urls(TEST_URLS)
def test_missing_credentials():
    response = Client().get("/api/test/private")
    assert json_error(response, 401) == {"code": "not_authenticated", "message": "请先登录。", "fields": {}}


@pytest.mark.urls(TEST_URLS)
def test_session_write_without_csrf_token_is_forbidden():
    from yiwang.identity.services import user_create

    user = user_create(actor=None, username="clerk", password="Qiang-Mima-2024", kind="staff", is_staff=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/api/test/private").status_code == 200
    response = client.post("/api/test/private")
    assert json_error(response, 403)["code"] == "forbidden"


# --- routes ------------------------------------------------------------------------------------------------------


def test_unknown_route_under_the_api_is_json_not_html():
    for response in (Client().get("/api/v1/no/such/thing"), Client().post("/api/v1/nothing", {})):
        body = json_error(response, 404)
        assert body == {"code": "not_found", "message": "请求的接口不存在。", "fields": {}}
    # Outside the API the site's HTML 404 page still applies.
    assert not Client().get("/no/such/page")["Content-Type"].startswith("application/json")


def test_api_root_points_to_its_description():
    response = Client().get("/api/v1/")
    assert response.status_code == 200
    assert response.json() == {
        "title": "Yiwang API",
        "version": "1",
        "openapi": "/api/v1/openapi.json",
        "docs": "/api/v1/docs",
    }


def test_wrong_method_is_json_with_allow():
    response = Client().delete("/api/v1/departments")
    body = json_error(response, 405)
    assert body["code"] == "method_not_allowed"
    assert body["message"] == "该接口不支持 DELETE 方法。"
    assert response["Allow"] == "GET"


# --- language ------------------------------------------------------------------------------------------------------


def write_mo(path, messages: dict[str, str]) -> None:
    """A GNU .mo catalog (the format msgfmt writes), enough for gettext to load."""
    catalog = {"": "Content-Type: text/plain; charset=UTF-8\n", **messages}
    keys = sorted(catalog)
    ids = strs = b""
    offsets = []
    for key in keys:
        k, v = key.encode(), catalog[key].encode()
        offsets.append((len(ids), len(k), len(strs), len(v)))
        ids += k + b"\0"
        strs += v + b"\0"
    start = 7 * 4 + 16 * len(keys)
    key_table, value_table = [], []
    for id_offset, id_len, str_offset, str_len in offsets:
        key_table += [id_len, start + id_offset]
        value_table += [str_len, start + len(ids) + str_offset]
    header = struct.pack("Iiiiiii", 0x950412DE, 0, len(keys), 7 * 4, 7 * 4 + len(keys) * 8, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + struct.pack(f"{len(key_table)}i", *key_table) + struct.pack(
        f"{len(value_table)}i", *value_table
    ) + ids + strs)  # fmt: skip


@pytest.fixture
def english(tmp_path, settings):
    """An English catalog for a few of the API's messages, ahead of the project's own."""
    write_mo(
        tmp_path / "en" / "LC_MESSAGES" / "django.mo",
        {
            "请先登录。": "Please sign in first.",
            "提交的内容有误,请按提示修改。": "Please correct the errors below.",
            "此字段为必填项": "This field is required",
            "不能小于 {ge}": "Must be at least {ge}",
            "请求的接口不存在。": "No such API endpoint.",
        },
    )
    settings.LOCALE_PATHS = [tmp_path, *settings.LOCALE_PATHS]


@pytest.mark.urls(TEST_URLS)
def test_messages_follow_accept_language(english):
    client = Client(headers={"Accept-Language": "en"})
    response = client.get("/api/test/private")
    assert response["Content-Language"] == "en"
    assert json_error(response, 401)["message"] == "Please sign in first."
    invalid = json_error(
        client.post("/api/test/things", {"name": "a", "count": 0}, content_type="application/json"), 422
    )
    assert invalid["message"] == "Please correct the errors below."
    assert invalid["fields"]["count"] == ["Must be at least 1"]
    assert invalid["fields"]["address"] == ["This field is required"]
    # Chinese stays the default.
    assert json_error(Client().get("/api/test/private"), 401)["message"] == "请先登录。"
    assert json_error(Client(headers={"Accept-Language": "zh-CN"}).get("/api/test/private"), 401)["message"] == (
        "请先登录。"
    )


def test_unknown_route_in_english(english):
    body = json_error(Client(headers={"Accept-Language": "en-US,en;q=0.8"}).get("/api/v1/nope"), 404)
    assert body["message"] == "No such API endpoint."
