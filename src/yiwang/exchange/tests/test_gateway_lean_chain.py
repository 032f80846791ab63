"""Production's handler (``yiwang.wsgi``) sends a consuming system's gateway call (HTTP Basic
under ``/api/v1/exchange/gateway/``) through the short middleware chain of machine clients
(``core.handlers``): the same answer, masking and evidence-log entry as through the full chain,
the security headers kept, no session or CSRF cookie, and the caller's language for errors.
Anything else with Basic (another API, a page) still takes the full chain."""

import base64
import io
import json
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from yiwang.core.handlers import YiwangWSGIHandler, is_bearer_api_call
from yiwang.exchange.models import ExchangeLog
from yiwang.exchange.tests.conftest import CITIZEN_ID
from yiwang.exchange.tests.test_gateway import _get, _grant, _system


def _call(handler, path, authorization, **headers):
    query = urlencode({"purpose": "参保登记"})
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "testserver"}
    setup_testing_defaults(environ)
    environ["wsgi.input"] = io.BytesIO(b"")
    environ["HTTP_AUTHORIZATION"] = authorization
    environ.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})
    seen = {}

    def start_response(status, response_headers, exc_info=None):
        seen["status"], seen["headers"] = int(status.split()[0]), dict(response_headers)

    # A handler closes "obsolete" connections when a request ends: here the test's own. (Django's
    # test client, used beside this, connects the closer again after each of its requests.)
    started = request_started.disconnect(close_old_connections)
    finished = request_finished.disconnect(close_old_connections)
    try:
        content = b"".join(handler(environ, start_response))
    finally:
        if started:
            request_started.connect(close_old_connections)
        if finished:
            request_finished.connect(close_old_connections)
    return seen["status"], seen["headers"], json.loads(content)


def test_only_gateway_calls_with_basic_take_the_short_chain():
    gateway_path = "/api/v1/exchange/gateway/population/" + CITIZEN_ID
    assert is_bearer_api_call({"PATH_INFO": gateway_path, "HTTP_AUTHORIZATION": "Basic eDp5"})
    assert is_bearer_api_call({"PATH_INFO": "/api/v1/me", "HTTP_AUTHORIZATION": "Bearer yw_x"})
    assert not is_bearer_api_call({"PATH_INFO": "/api/v1/exchange/grants", "HTTP_AUTHORIZATION": "Basic eDp5"})
    assert not is_bearer_api_call({"PATH_INFO": "/workbench/", "HTTP_AUTHORIZATION": "Basic eDp5"})
    assert not is_bearer_api_call({"PATH_INFO": gateway_path})


def test_a_gateway_lookup_answers_through_the_short_chain_as_through_the_full_one(world):
    system, client = _system(world)
    _grant(world, system=system)
    full = _get(client)  # Django's test client: the full chain
    assert full.status_code == 200
    handler = YiwangWSGIHandler()
    path = "/api/v1/exchange/gateway/population/" + CITIZEN_ID
    before = ExchangeLog.objects.count()
    status, headers, body = _call(handler, path, client.defaults["HTTP_AUTHORIZATION"])
    assert status == 200 and body == full.json()
    assert "name" in body["masked"] and "*" in body["values"]["name"]  # masked as the grant says
    assert ExchangeLog.objects.count() == before + 1  # logged, like every read
    assert headers.get("X-Content-Type-Options") == "nosniff" and "Content-Security-Policy" in headers
    assert "Set-Cookie" not in headers
    wrong = "Basic " + base64.b64encode(f"{system.client_id}:not-the-secret".encode()).decode()
    status, _headers, zh = _call(handler, path, wrong)
    assert status == 401
    status, _headers, en = _call(handler, path, wrong, **{"Accept-Language": "en"})
    assert status == 401 and en["message"] != zh["message"]  # the caller's language
