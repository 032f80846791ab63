"""The handler that serves production (``yiwang.wsgi``): bearer-token API calls take the shorter
middleware chain (``core.handlers``), everything else the full one — and what a caller sees is
the same: the security headers, the request guard, the language of the error, the token's
user, and no session or CSRF cookie handed to a machine client. (The API fuzzer in
tests/trust runs every operation × role through this handler too.)"""

import io
import json
from wsgiref.util import setup_testing_defaults

import pytest
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from yiwang.cases.tests.factories import make_citizen
from yiwang.core.handlers import BROWSER_ONLY_MIDDLEWARE, YiwangWSGIHandler, bearer_api_middleware
from yiwang.identity.services import api_token_create

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def handler():
    return YiwangWSGIHandler()


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    # A handler closes "obsolete" connections when a request ends; inside the test's transaction
    # that would be the test's own connection (Django's test client does the same as this).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def call(handler, method, path, *, headers=None, body=b"", query=""):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "testserver"}
    setup_testing_defaults(environ)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    seen = {}

    def start_response(status, response_headers, exc_info=None):
        seen["status"] = int(status.split()[0])
        seen["headers"] = response_headers

    content = b"".join(handler(environ, start_response))
    return seen["status"], seen["headers"], content


def header(headers, name):
    return [value for key, value in headers if key.lower() == name.lower()]


@pytest.fixture
def citizen_token():
    user = make_citizen("lean_citizen", "李清", 7)
    _token, secret = api_token_create(actor=user, user=user, name="lean path test")
    return user, secret


def test_the_bearer_chain_is_the_full_chain_without_the_browser_parts():
    lean = bearer_api_middleware(list(settings.MIDDLEWARE))
    assert not BROWSER_ONLY_MIDDLEWARE & set(lean)
    for kept in (
        "django.middleware.security.SecurityMiddleware",
        "yiwang.core.middleware.SecurityHeadersMiddleware",
        "yiwang.core.middleware.RequestGuardMiddleware",
        "django.middleware.locale.LocaleMiddleware",
    ):
        assert kept in lean
    # Same relative order as settings.MIDDLEWARE; a middleware nobody listed joins the API chain.
    assert [m for m in settings.MIDDLEWARE if m in lean] == [m for m in lean if m in settings.MIDDLEWARE]
    assert "example.NewMiddleware" in bearer_api_middleware([*settings.MIDDLEWARE, "example.NewMiddleware"])


def test_a_bearer_read_answers_as_the_tokens_user_with_the_headers_and_no_cookies(handler, citizen_token):
    user, secret = citizen_token
    status, headers, content = call(handler, "GET", "/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert status == 200, content
    assert json.loads(content)["username"] == user.username
    assert header(headers, "Content-Security-Policy") and header(headers, "X-Content-Type-Options") == ["nosniff"]
    assert not header(headers, "Set-Cookie")  # no session, no CSRF cookie for a machine client


def test_errors_on_the_bearer_chain_keep_the_callers_language_and_the_guard(handler, citizen_token):
    _user, secret = citizen_token
    status, _h, content = call(handler, "GET", "/api/v1/me", headers={"Authorization": "Bearer yw_nope_nope"})
    assert status == 401 and json.loads(content)["code"]
    zh = json.loads(content)["message"]
    status, _h, content = call(
        handler, "GET", "/api/v1/me", headers={"Authorization": "Bearer yw_nope_nope", "Accept-Language": "en"}
    )
    assert status == 401 and json.loads(content)["message"] != zh  # the English message
    big = b"{" + b" " * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10) + b"}"
    status, _h, content = call(
        handler,
        "PUT",
        "/api/v1/cases/drafts/1",
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
        body=big,
    )
    assert status == 413 and json.loads(content)["code"] == "request_too_large"


def test_a_session_cookie_beside_a_wrong_token_does_not_authenticate(handler, client, citizen_token):
    user, _secret = citizen_token
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    status, _h, _c = call(handler, "GET", "/api/v1/me", headers={"Cookie": cookie})
    assert status == 200  # the session alone: the full chain, as a browser
    status, _h, _c = call(handler, "GET", "/api/v1/me", headers={"Cookie": cookie, "Authorization": "Bearer yw_x_y"})
    assert status == 401  # a bearer call is the token's alone


def test_pages_still_take_the_full_chain(handler):
    status, headers, _content = call(handler, "GET", "/accounts/login/")
    assert status == 200
    assert any(settings.CSRF_COOKIE_NAME in c for c in header(headers, "Set-Cookie"))
