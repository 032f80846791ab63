"""The whole sign-in of a relying party with Authlib: discovery, authorization code + PKCE,
ID token checked against the JWKS, userinfo, refresh, introspection, revocation, logout."""

import json
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

from yiwang.core.models import AuditEvent
from yiwang.identity.models import User
from yiwang.identity.tests.auth_helpers import ID_NUMBER, PHONE
from yiwang.sso import services
from yiwang.sso.tests.conftest import (
    BASE,
    RP_AFTER_LOGOUT,
    RP_CALLBACK,
    browser,
    discovery,
    new_verifier,
    rp_session,
    transport,
)

pytestmark = pytest.mark.django_db


def _authorize(rp, user_browser, config, *, verifier, nonce="n-0S6_WzA2Mj", **extra):
    url, state = rp.create_authorization_url(
        config["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **extra
    )
    response = user_browser.get(url.removeprefix(BASE))
    return response, state


def _sign_in(rp, user_browser, *, verifier=None, nonce="n-0S6_WzA2Mj"):
    config = discovery()
    verifier = verifier or new_verifier()
    response, _state = _authorize(rp, user_browser, config, verifier=verifier, nonce=nonce)
    assert response.status_code == 302, response.content[:500]
    location = response["Location"]
    assert location.startswith(RP_CALLBACK + "?")
    token = rp.fetch_token(config["token_endpoint"], authorization_response=location, code_verifier=verifier)
    return config, token, location


def _verify_id_token(id_token: str, config: dict, client_id: str, nonce: str):
    jwks = httpx.Client(transport=transport(), base_url=BASE).get(config["jwks_uri"]).json()
    claims = jwt.decode(
        id_token,
        JsonWebKey.import_key_set(jwks),
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": config["issuer"]}},
        claims_params={"nonce": nonce, "client_id": client_id},
    )
    claims.validate()
    return claims


def test_discovery_names_every_endpoint_at_the_site_root():
    config = discovery()
    assert config["issuer"] == BASE
    for key in (
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
    ):
        assert config[key].startswith(BASE + "/oidc/"), key
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert set(config["subject_types_supported"]) == {"public", "pairwise"}
    assert config["response_types_supported"] == ["code"]


def test_confidential_client_signs_a_citizen_in_with_pkce(confidential_client, citizen):
    app, secret = confidential_client
    rp = rp_session(app, secret)
    config, token, _location = _sign_in(rp, browser(citizen))

    claims = _verify_id_token(token["id_token"], config, app.client_id, "n-0S6_WzA2Mj")
    assert claims["aud"] == app.client_id
    assert claims["name"] == "王小明"
    assert claims["real_name_level"] == "L1"
    assert len(claims["sub"]) == 32 and str(citizen.pk) != claims["sub"]
    # personal data never rides in the ID token (a JWT passes through browsers)
    assert not {"phone_number", "phone_number_masked", "id_number", "id_number_masked"} & set(claims)

    info = rp.get(config["userinfo_endpoint"]).json()
    assert info["sub"] == claims["sub"]
    assert info["phone_number_masked"] == PHONE[:3] + "****" + PHONE[-4:]
    assert info["id_number_masked"].startswith(ID_NUMBER[:6]) and "*" in info["id_number_masked"]
    assert "phone_number" not in info and "id_number" not in info


def test_public_client_needs_no_secret_but_pkce(public_client, citizen):
    app, secret = public_client
    assert secret == ""
    rp = rp_session(app, scope="openid profile")
    config, _token, _ = _sign_in(rp, browser(citizen))
    assert rp.get(config["userinfo_endpoint"]).json()["name"] == "王小明"


def test_full_values_only_when_the_security_admin_granted_them(security_admin, confidential_client, citizen):
    app, secret = confidential_client
    services.client_update(
        actor=security_admin,
        application=app,
        name=app.name,
        redirect_uris=RP_CALLBACK,
        post_logout_redirect_uris=RP_AFTER_LOGOUT,
        scopes=["openid", "profile", "phone", "id_number"],
        full_phone=True,
        full_id_number=True,
        pre_approved=True,
    )
    rp = rp_session(app, secret)
    config, _token, _ = _sign_in(rp, browser(citizen))
    info = rp.get(config["userinfo_endpoint"]).json()
    assert info["phone_number"] == PHONE and info["id_number"] == ID_NUMBER


def test_phone_and_id_number_need_their_own_scopes(confidential_client, citizen):
    app, secret = confidential_client
    rp = rp_session(app, secret, scope="openid profile")
    config, _token, _ = _sign_in(rp, browser(citizen))
    info = rp.get(config["userinfo_endpoint"]).json()
    assert info["name"] == "王小明"
    assert not {"phone_number", "phone_number_masked", "id_number", "id_number_masked"} & set(info)


def test_a_scope_the_client_was_not_allowed_is_refused(security_admin, citizen):
    app, secret = services.client_register(
        actor=security_admin,
        name="12345 热线",
        confidential=True,
        redirect_uris=RP_CALLBACK,
        scopes=["openid", "profile"],
        pre_approved=True,
    )
    rp = rp_session(app, secret, scope="openid id_number")
    response, state = _authorize(rp, browser(citizen), discovery(), verifier=new_verifier())
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert response["Location"].startswith(RP_CALLBACK)
    assert query["error"] == ["invalid_scope"] and query["state"] == [state]
    assert "code" not in query


def test_enterprise_agent_carries_the_enterprise(confidential_client):
    from yiwang.core.codes import make_uscc
    from yiwang.identity.services import user_create

    agent = user_create(
        actor=None,
        username="agent1",
        password="Qiang-Mima-2024",
        kind=User.Kind.ENTERPRISE_AGENT,
        real_name="李经办",
        enterprise_uscc=make_uscc("91320500MA1MXXXX0"),
        enterprise_name="示范市某某科技有限公司",
    )
    app, secret = confidential_client
    rp = rp_session(app, secret, scope="openid profile enterprise")
    config, _token, _ = _sign_in(rp, browser(agent))
    info = rp.get(config["userinfo_endpoint"]).json()
    assert info["user_kind"] == "enterprise_agent"
    assert info["enterprise_uscc"] == agent.enterprise_uscc
    assert info["enterprise_name"] == "示范市某某科技有限公司"


def test_pairwise_sub_differs_per_client_and_stays_stable(security_admin, citizen):
    one, s1 = services.client_register(
        actor=security_admin,
        name="A",
        confidential=True,
        redirect_uris=RP_CALLBACK,
        scopes=["openid"],
        pairwise=True,
        pre_approved=True,
    )
    other_cb = "https://hospital.example.gov.cn/cb"
    two, s2 = services.client_register(
        actor=security_admin,
        name="B",
        confidential=True,
        redirect_uris=other_cb,
        scopes=["openid"],
        pairwise=True,
        pre_approved=True,
    )
    user_browser = browser(citizen)
    subs = []
    for app, secret, callback in ((one, s1, RP_CALLBACK), (two, s2, other_cb), (one, s1, RP_CALLBACK)):
        rp = rp_session(app, secret, scope="openid", redirect_uri=callback)
        config = discovery()
        verifier = new_verifier()
        url, _state = rp.create_authorization_url(config["authorization_endpoint"], code_verifier=verifier, nonce="x")
        response = user_browser.get(url.removeprefix(BASE))
        rp.fetch_token(config["token_endpoint"], authorization_response=response["Location"], code_verifier=verifier)
        subs.append(rp.get(config["userinfo_endpoint"]).json()["sub"])
    assert subs[0] != subs[1] and subs[0] == subs[2]


def test_refresh_introspect_revoke(confidential_client, public_client, citizen):
    app, secret = confidential_client
    rp = rp_session(app, secret)
    config, token, _ = _sign_in(rp, browser(citizen))

    fresh = rp.refresh_token(config["token_endpoint"], refresh_token=token["refresh_token"])
    assert fresh["access_token"] != token["access_token"]
    assert fresh["refresh_token"] != token["refresh_token"]  # rotated
    rp.token = fresh

    intro = rp.introspect_token(config["introspection_endpoint"], token=fresh["access_token"]).json()
    assert intro["active"] is True and intro["client_id"] == app.client_id
    assert "username" not in intro and intro["sub"] == rp.get(config["userinfo_endpoint"]).json()["sub"]
    # another client learns nothing about this client's token
    other_app, _ = public_client
    raw = httpx.Client(transport=transport(), base_url=BASE)
    other_secretless = raw.post(
        config["introspection_endpoint"], data={"token": fresh["access_token"], "client_id": other_app.client_id}
    )
    assert other_secretless.status_code in (200, 401, 403)
    assert other_secretless.status_code != 200 or other_secretless.json() == {"active": False}
    # a token in a URL is refused
    assert raw.get(config["introspection_endpoint"] + "?token=" + fresh["access_token"]).status_code in (403, 405)

    assert rp.revoke_token(config["revocation_endpoint"], token=fresh["access_token"]).status_code == 200
    intro = rp.introspect_token(config["introspection_endpoint"], token=fresh["access_token"]).json()
    assert intro["active"] is False
    assert rp.get(config["userinfo_endpoint"]).status_code == 401


def test_replayed_refresh_token_ends_the_whole_family(confidential_client, citizen):
    app, secret = confidential_client
    rp = rp_session(app, secret)
    config, token, _ = _sign_in(rp, browser(citizen))
    fresh = rp.refresh_token(config["token_endpoint"], refresh_token=token["refresh_token"])
    with pytest.raises(Exception, match="invalid_grant"):
        rp.refresh_token(config["token_endpoint"], refresh_token=token["refresh_token"])
    # reuse detection (RFC 9700 §4.14.2): the stolen-or-replayed family is revoked
    intro = rp.introspect_token(config["introspection_endpoint"], token=fresh["access_token"]).json()
    assert intro["active"] is False


def test_sso_second_client_is_not_asked_again_and_logout_ends_everything(security_admin, citizen):
    first, s1 = services.client_register(
        actor=security_admin,
        name="学校",
        confidential=True,
        redirect_uris=RP_CALLBACK,
        post_logout_redirect_uris=RP_AFTER_LOGOUT,
        scopes=["openid", "profile"],
        pre_approved=True,
    )
    other_cb = "https://hospital.example.gov.cn/cb"
    second, s2 = services.client_register(
        actor=security_admin,
        name="医院",
        confidential=True,
        redirect_uris=other_cb,
        scopes=["openid", "profile"],
        pre_approved=True,
    )
    user_browser = browser(citizen)  # one Yiwang session
    rp1 = rp_session(first, s1, scope="openid profile")
    config, token1, _ = _sign_in(rp1, user_browser)
    rp2 = rp_session(second, s2, scope="openid profile", redirect_uri=other_cb)
    verifier = new_verifier()
    url, _ = rp2.create_authorization_url(config["authorization_endpoint"], code_verifier=verifier, nonce="y")
    response = user_browser.get(url.removeprefix(BASE))
    assert response.status_code == 302 and response["Location"].startswith(other_cb + "?code=")
    token2 = rp2.fetch_token(
        config["token_endpoint"], authorization_response=response["Location"], code_verifier=verifier
    )
    assert rp2.get(config["userinfo_endpoint"]).status_code == 200

    # RP-initiated logout from the first client: the Yiwang session and both clients' tokens end
    logout_url = rp1.create_authorization_url(
        config["end_session_endpoint"],
        id_token_hint=token1["id_token"],
        post_logout_redirect_uri=RP_AFTER_LOGOUT,
        state="bye-1",
    )[0]
    response = user_browser.get(logout_url.removeprefix(BASE))
    assert response.status_code == 302, response.content[:400]
    assert response["Location"].startswith(RP_AFTER_LOGOUT) and "state=bye-1" in response["Location"]
    assert rp1.get(config["userinfo_endpoint"]).status_code == 401
    assert rp2.get(config["userinfo_endpoint"]).status_code == 401
    with pytest.raises(Exception, match="invalid_grant"):
        rp2.refresh_token(config["token_endpoint"], refresh_token=token2["refresh_token"])
    # and the browser is signed out of Yiwang: the next authorize asks for a login
    url, _ = rp2.create_authorization_url(config["authorization_endpoint"], code_verifier=new_verifier(), nonce="z")
    response = user_browser.get(url.removeprefix(BASE))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_yiwang_logout_is_single_logout(confidential_client, citizen):
    app, secret = confidential_client
    user_browser = browser(citizen)
    rp = rp_session(app, secret)
    config, _token, _ = _sign_in(rp, user_browser)
    assert rp.get(config["userinfo_endpoint"]).status_code == 200
    user_browser.post("/accounts/logout/")
    assert rp.get(config["userinfo_endpoint"]).status_code == 401
    assert AuditEvent.objects.filter(action="sso.single_logout", object_id=str(citizen.pk)).exists()


def test_consent_is_asked_when_not_pre_approved_then_remembered(security_admin, citizen):
    app, secret = services.client_register(
        actor=security_admin,
        name="某企业自建系统",
        confidential=True,
        redirect_uris=RP_CALLBACK,
        scopes=["openid", "profile"],
        pre_approved=False,
    )
    user_browser = browser(citizen)
    rp = rp_session(app, secret, scope="openid profile")
    config = discovery()
    verifier = new_verifier()
    url, _state = rp.create_authorization_url(config["authorization_endpoint"], code_verifier=verifier, nonce="c")
    page = user_browser.get(url.removeprefix(BASE))
    assert page.status_code == 200
    body = page.content.decode()
    assert "某企业自建系统" in body and "同意并登录" in body
    # the consent form may redirect to the client's origin, and only there (CSP form-action)
    assert "form-action 'self' https://school.example.gov.cn;" in page["Content-Security-Policy"]
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    response = user_browser.post(url.removeprefix(BASE).split("?")[0], {**form, "allow": "Authorize"})
    assert response.status_code == 302 and response["Location"].startswith(RP_CALLBACK + "?code=")
    rp.fetch_token(config["token_endpoint"], authorization_response=response["Location"], code_verifier=verifier)
    # the second time, with a live token for the same scopes, no question
    verifier = new_verifier()
    url, _ = rp.create_authorization_url(config["authorization_endpoint"], code_verifier=verifier, nonce="d")
    response = user_browser.get(url.removeprefix(BASE))
    assert response.status_code == 302 and response["Location"].startswith(RP_CALLBACK + "?code=")


def test_signed_out_user_is_sent_to_the_yiwang_login(confidential_client):
    app, secret = confidential_client
    rp = rp_session(app, secret)
    response, _ = _authorize(rp, browser(None), discovery(), verifier=new_verifier())
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/oidc/authorize/")


def test_client_registration_is_audited(confidential_client):
    app, _secret = confidential_client
    event = AuditEvent.objects.get(action="sso.client_register", object_id=str(app.pk))
    assert event.changes["redirect_uris"] == [RP_CALLBACK]
    assert "client_secret" not in json.dumps(event.changes)


def test_id_token_carries_auth_time_and_expiry(confidential_client, citizen):
    app, secret = confidential_client
    rp = rp_session(app, secret)
    config, token, _ = _sign_in(rp, browser(citizen))
    claims = _verify_id_token(token["id_token"], config, app.client_id, "n-0S6_WzA2Mj")
    assert claims["exp"] - time.time() <= 600 + 5


def test_delegation_scope_lists_what_the_agent_may_act_for_now(city, security_admin):
    """授权代办 in OIDC: with the ``delegation`` scope (allowed per client by the security admin),
    userinfo's ``delegations`` lists the delegations the user holds as agent and may act through
    now — a person principal masked, an enterprise by its 统一社会信用代码 — never in the ID token."""
    import datetime

    from django.utils import timezone

    from yiwang.core.codes import make_id_number, make_uscc
    from yiwang.core.masking import mask_id_number
    from yiwang.identity.services import delegation_create, delegation_revoke
    from yiwang.identity.tests.auth_helpers import make_citizen
    from yiwang.identity.tests.legal_registry import register_legal_entity
    from yiwang.identity.tests.tree import make_staff

    root, department = city
    agent = make_citizen("agent_z")
    agent.real_name = "赵代办"
    agent.save(update_fields=["real_name"])
    mother_id = make_id_number("110105", datetime.date(1949, 12, 31), 2)
    mother = make_staff("mother", kind="citizen", real_name="钱阿姨", id_number=mother_id)
    company = make_staff(
        "ent_q",
        kind="enterprise_agent",
        real_name="孙法人",
        enterprise_uscc=make_uscc("91320505MA1XY8789"),
        enterprise_name="示范市某某贸易有限公司",
    )
    register_legal_entity(root=root, department=department, enterprise=company)
    until = timezone.now() + datetime.timedelta(days=30)
    given = {"agent_id_number": agent.id_number, "agent_name": "赵代办", "valid_until": until}
    by_company = delegation_create(actor=company, relation="employee", all_items=True, **given)
    by_mother = delegation_create(actor=mother, relation="child", all_items=True, **given)
    ended = delegation_create(actor=mother, relation="child", all_items=True, **given)
    delegation_revoke(actor=mother, delegation=ended)

    narrow, narrow_secret = services.client_register(
        actor=security_admin,
        name="不含代办范围的系统",
        confidential=True,
        redirect_uris=RP_CALLBACK,
        scopes=["openid", "profile"],
        pre_approved=True,
    )
    refused = rp_session(narrow, narrow_secret, scope="openid delegation")
    response, _state = _authorize(refused, browser(agent), discovery(), verifier=new_verifier())
    assert parse_qs(urlsplit(response["Location"]).query)["error"] == ["invalid_scope"]

    app, secret = services.client_register(
        actor=security_admin,
        name="县税务办税系统",
        confidential=True,
        redirect_uris=RP_CALLBACK,
        scopes=["openid", "profile", "delegation"],
        pre_approved=True,
    )
    rp = rp_session(app, secret, scope="openid profile delegation")
    nonce = "n-deleg"
    config, token, _ = _sign_in(rp, browser(agent), nonce=nonce)
    assert "delegations" not in _verify_id_token(token["id_token"], config, app.client_id, nonce)
    info = rp.get(config["userinfo_endpoint"]).json()
    held = {entry["id"]: entry for entry in info["delegations"]}
    assert set(held) == {by_company.pk, by_mother.pk}  # the revoked one is gone
    assert held[by_company.pk] == {
        "id": by_company.pk,
        "principal_kind": "enterprise",
        "principal_name": "示范市某某贸易有限公司",
        "principal_uscc": company.enterprise_uscc,
        "items": "all",
        "valid_until": until.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z"),
    }
    person = held[by_mother.pk]
    assert person["principal_kind"] == "person" and person["principal_name"] == "钱*姨"
    assert person["principal_id_number_masked"] == mask_id_number(mother_id) != mother_id
    assert "principal_uscc" not in person and "钱阿姨" not in json.dumps(info, ensure_ascii=False)
    # The same claims on django-oauth-toolkit's own path (a query string leaves the short path).
    slow = httpx.Client(transport=transport(), base_url=BASE).get(
        config["userinfo_endpoint"] + "?x=1", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert slow.status_code == 200 and slow.json()["delegations"] == info["delegations"]
    # Without the scope, no delegations.
    plain = rp_session(app, secret, scope="openid profile")
    config, _token, _ = _sign_in(plain, browser(agent))
    assert "delegations" not in plain.get(config["userinfo_endpoint"]).json()
