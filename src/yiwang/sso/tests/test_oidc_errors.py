"""Bad requests answer as RFC 6749 / 7636 / OIDC say — error codes, no open redirect, no
token in a URL — and no junk input reaches a 5xx."""

from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from authlib.integrations.base_client.errors import OAuthError
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, Grant

from yiwang.sso import services
from yiwang.sso.tests.conftest import (
    BASE,
    RP_AFTER_LOGOUT,
    RP_CALLBACK,
    browser,
    discovery,
    new_verifier,
    rp_session,
    s256,
    transport,
)

pytestmark = pytest.mark.django_db


def _code(rp, user_browser, *, verifier, **extra):
    config = discovery()
    url, _state = rp.create_authorization_url(config["authorization_endpoint"], code_verifier=verifier, **extra)
    response = user_browser.get(url.removeprefix(BASE))
    assert response.status_code == 302, response.content[:300]
    return config, response["Location"]


def _authorize_params(app, **overrides):
    verifier = new_verifier()
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": RP_CALLBACK,
        "scope": "openid",
        "state": "st-1",
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example.com/callback",
        RP_CALLBACK + "/",  # not exactly the registered one
        RP_CALLBACK + "?next=https://evil.example.com",
        "https://school.example.gov.cn.evil.example.com/oidc/callback",
        "http://school.example.gov.cn/oidc/callback",
    ],
)
def test_wrong_redirect_uri_is_shown_an_error_and_never_redirected_to(confidential_client, citizen, redirect_uri):
    app, _secret = confidential_client
    response = browser(citizen).get("/oidc/authorize/?" + urlencode(_authorize_params(app, redirect_uri=redirect_uri)))
    assert response.status_code == 400
    assert "Location" not in response
    assert "evil" not in response.content.decode().split("<main", 1)[-1].split("</main>")[0] or (
        'href="https://evil' not in response.content.decode()
    )
    assert "无法完成登录" in response.content.decode()


def test_unknown_client_is_an_error_page(citizen):
    response = browser(citizen).get(
        "/oidc/authorize/?"
        + urlencode({"response_type": "code", "client_id": "nope", "redirect_uri": "https://evil.example.com/"})
    )
    assert response.status_code == 400 and "Location" not in response


def test_missing_pkce_challenge_is_refused_at_the_client(confidential_client, citizen):
    app, _secret = confidential_client
    params = _authorize_params(app, code_challenge=None, code_challenge_method=None)
    response = browser(citizen).get("/oidc/authorize/?" + urlencode(params))
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert response["Location"].startswith(RP_CALLBACK + "?")
    assert query["error"] == ["invalid_request"] and query["state"] == ["st-1"] and "code" not in query


def test_plain_pkce_method_is_refused(confidential_client, citizen):
    app, _secret = confidential_client
    params = _authorize_params(app, code_challenge="x" * 50, code_challenge_method="plain")
    response = browser(citizen).get("/oidc/authorize/?" + urlencode(params))
    query = parse_qs(urlsplit(response["Location"]).query)
    assert "error" in query and "code" not in query


def test_missing_pkce_verifier_at_the_token_endpoint(confidential_client, citizen):
    app, secret = confidential_client
    rp = rp_session(app, secret)
    config, location = _code(rp, browser(citizen), verifier=new_verifier(), nonce="n")
    code = parse_qs(urlsplit(location).query)["code"][0]
    raw = httpx.Client(transport=transport(), base_url=BASE, auth=(app.client_id, secret))
    response = raw.post(
        config["token_endpoint"], data={"grant_type": "authorization_code", "code": code, "redirect_uri": RP_CALLBACK}
    )
    assert response.status_code == 400
    assert response.json()["error"] in ("invalid_request", "invalid_grant")
    assert "access_token" not in response.json()


def test_wrong_pkce_verifier_is_invalid_grant(confidential_client, citizen):
    app, secret = confidential_client
    rp = rp_session(app, secret)
    config, location = _code(rp, browser(citizen), verifier=new_verifier(), nonce="n")
    with pytest.raises(OAuthError) as excinfo:
        rp.fetch_token(config["token_endpoint"], authorization_response=location, code_verifier=new_verifier())
    assert excinfo.value.error == "invalid_grant"


def test_replayed_code_is_invalid_grant(confidential_client, citizen):
    app, secret = confidential_client
    rp = rp_session(app, secret)
    verifier = new_verifier()
    config, location = _code(rp, browser(citizen), verifier=verifier, nonce="n")
    rp.fetch_token(config["token_endpoint"], authorization_response=location, code_verifier=verifier)
    again = rp_session(app, secret)
    with pytest.raises(OAuthError) as excinfo:
        again.fetch_token(config["token_endpoint"], authorization_response=location, code_verifier=verifier)
    assert excinfo.value.error == "invalid_grant"


def test_code_for_another_client_or_redirect_is_refused(security_admin, confidential_client, citizen):
    app, secret = confidential_client
    other, other_secret = services.client_register(
        actor=security_admin, name="其他", confidential=True, redirect_uris=RP_CALLBACK, scopes=["openid"]
    )
    verifier = new_verifier()
    config, location = _code(rp_session(app, secret), browser(citizen), verifier=verifier, nonce="n")
    thief = rp_session(other, other_secret)
    with pytest.raises(OAuthError) as excinfo:
        thief.fetch_token(config["token_endpoint"], authorization_response=location, code_verifier=verifier)
    assert excinfo.value.error == "invalid_grant"


def test_expired_code_is_invalid_grant(confidential_client, citizen):
    app, secret = confidential_client
    rp = rp_session(app, secret)
    verifier = new_verifier()
    config, location = _code(rp, browser(citizen), verifier=verifier, nonce="n")
    Grant.objects.update(expires=timezone.now() - timedelta(seconds=1))
    with pytest.raises(OAuthError) as excinfo:
        rp.fetch_token(config["token_endpoint"], authorization_response=location, code_verifier=verifier)
    assert excinfo.value.error == "invalid_grant"


def test_expired_access_token_is_invalid_token(confidential_client, citizen):
    app, secret = confidential_client
    rp = rp_session(app, secret)
    verifier = new_verifier()
    config, location = _code(rp, browser(citizen), verifier=verifier, nonce="n")
    rp.fetch_token(config["token_endpoint"], authorization_response=location, code_verifier=verifier)
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    response = rp.get(config["userinfo_endpoint"])
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    intro = rp.introspect_token(config["introspection_endpoint"], token=rp.token["access_token"]).json()
    assert intro == {"active": False}


def test_wrong_client_secret_is_invalid_client(confidential_client, citizen):
    app, secret = confidential_client
    verifier = new_verifier()
    config, location = _code(rp_session(app, secret), browser(citizen), verifier=verifier, nonce="n")
    with pytest.raises(OAuthError) as excinfo:
        rp_session(app, "wrong-" + secret).fetch_token(
            config["token_endpoint"], authorization_response=location, code_verifier=verifier
        )
    assert excinfo.value.error == "invalid_client"


def test_deactivated_client_can_neither_sign_in_nor_use_its_tokens(security_admin, confidential_client, citizen):
    app, secret = confidential_client
    rp = rp_session(app, secret)
    verifier = new_verifier()
    config, location = _code(rp, browser(citizen), verifier=verifier, nonce="n")
    rp.fetch_token(config["token_endpoint"], authorization_response=location, code_verifier=verifier)
    services.client_update(
        actor=security_admin,
        application=app,
        name=app.name,
        redirect_uris=RP_CALLBACK,
        scopes=["openid"],
        is_active=False,
    )
    assert rp.get(config["userinfo_endpoint"]).status_code == 401
    response = browser(citizen).get("/oidc/authorize/?" + urlencode(_authorize_params(app)))
    assert response.status_code == 400 and "Location" not in response


def test_logout_to_an_unregistered_address_does_not_redirect(confidential_client, citizen):
    app, secret = confidential_client
    rp = rp_session(app, secret)
    verifier = new_verifier()
    config, location = _code(rp, browser(citizen), verifier=verifier, nonce="n")
    token = rp.fetch_token(config["token_endpoint"], authorization_response=location, code_verifier=verifier)
    user_browser = browser(citizen)
    response = user_browser.get(
        "/oidc/logout/?"
        + urlencode({"id_token_hint": token["id_token"], "post_logout_redirect_uri": "https://evil.example.com/"})
    )
    assert response.status_code == 400 and "Location" not in response
    response = user_browser.get(
        "/oidc/logout/?" + urlencode({"id_token_hint": token["id_token"], "post_logout_redirect_uri": RP_AFTER_LOGOUT})
    )
    assert response.status_code == 302 and response["Location"] == RP_AFTER_LOGOUT


JUNK = [
    "\x00",
    "%00",
    "\ud800",
    "' OR 1=1 --",
    "A" * 5000,
    "javascript:alert(1)",
    "{}",
    "..%2f..%2fetc%2fpasswd",
]
ENDPOINTS = [
    "/.well-known/openid-configuration",
    "/oidc/jwks.json",
    "/oidc/authorize/",
    "/oidc/token/",
    "/oidc/revoke/",
    "/oidc/introspect/",
    "/oidc/userinfo/",
    "/oidc/logout/",
]
FIELDS = [
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "code",
    "code_verifier",
    "code_challenge",
    "grant_type",
    "refresh_token",
    "token",
    "token_type_hint",
    "id_token_hint",
    "post_logout_redirect_uri",
    "state",
    "nonce",
    "prompt",
]


def _header(junk: str) -> str:
    # A WSGI server decodes header bytes as Latin-1: any byte can arrive, a surrogate cannot.
    return junk.replace("\x00", "").replace("\ud800", "\xff\xfe")


def _junk_requests(client: Client, app) -> list[tuple[str, int]]:
    seen = []
    for path in ENDPOINTS:
        for junk in JUNK:
            for data in (
                {field: junk for field in FIELDS},
                {"client_id": app.client_id, "grant_type": "authorization_code", "code": junk, "redirect_uri": junk},
                {"client_id": app.client_id, "grant_type": "refresh_token", "refresh_token": junk},
                {"client_id": app.client_id, "response_type": "code", "redirect_uri": RP_CALLBACK, "scope": junk},
            ):
                safe = {k: v.replace("\ud800", "?") for k, v in data.items()}
                seen.append((f"GET {path}", client.get(path, safe).status_code))
                seen.append((f"POST {path}", client.post(path, safe).status_code))
            seen.append(
                (
                    f"POST {path} json",
                    client.post(path, data='{"a": [', content_type="application/json").status_code,
                )
            )
            seen.append(
                (
                    f"GET {path} bearer",
                    client.get(path, HTTP_AUTHORIZATION="Bearer " + _header(junk)).status_code,
                )
            )
            seen.append(
                (
                    f"POST {path} basic",
                    client.post(path, {"token": "x"}, HTTP_AUTHORIZATION="Basic " + _header(junk)).status_code,
                )
            )
    return seen


def test_junk_never_gives_a_5xx(confidential_client, citizen):
    app, _secret = confidential_client
    for client in (Client(raise_request_exception=False), browser(citizen)):
        client.raise_request_exception = False
        statuses = _junk_requests(client, app)
        assert statuses
        errors = [(what, status) for what, status in statuses if status >= 500]
        assert not errors, errors[:10]
