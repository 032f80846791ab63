"""Key rotation (an ID token signed before it still verifies after), and the security admin's
workbench pages (nobody else sees them; every change audited)."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from authlib.jose import JsonWebKey, jwt
from django.core.management import call_command

from yiwang.core.models import AuditEvent
from yiwang.identity.models import Role
from yiwang.identity.services import role_grant_create
from yiwang.identity.tests.auth_helpers import make_staff
from yiwang.sso import keys
from yiwang.sso.tests.conftest import BASE, RP_CALLBACK, browser, discovery, new_verifier, rp_session, transport

pytestmark = pytest.mark.django_db


def _jwks():
    return httpx.Client(transport=transport(), base_url=BASE).get("/oidc/jwks.json").json()


def _id_token(app, secret, user):
    rp = rp_session(app, secret, scope="openid")
    config = discovery()
    verifier = new_verifier()
    url, _ = rp.create_authorization_url(config["authorization_endpoint"], code_verifier=verifier, nonce="k")
    location = browser(user).get(url.removeprefix(BASE))["Location"]
    return rp.fetch_token(config["token_endpoint"], authorization_response=location, code_verifier=verifier)["id_token"]


def test_rotation_keeps_old_tokens_verifying(settings, tmp_path, confidential_client, citizen):
    app, secret = confidential_client
    keys.write_new_key(tmp_path / "current.pem")
    old_pem = (tmp_path / "current.pem").read_text()
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_RSA_PRIVATE_KEY": old_pem}
    old_token = _id_token(app, secret, citizen)

    settings.YIWANG_OIDC_KEY_DIR = tmp_path
    call_command("oidc_rotate_key")
    retired = sorted(tmp_path.glob("retired-*.pem"))
    assert [p.read_text() for p in retired] == [old_pem]
    new_pem = (tmp_path / "current.pem").read_text()
    assert new_pem != old_pem
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "OIDC_RSA_PRIVATE_KEY": new_pem,
        "OIDC_RSA_PRIVATE_KEYS_INACTIVE": [old_pem],
    }
    new_token = _id_token(app, secret, citizen)
    key_set = JsonWebKey.import_key_set(_jwks())
    assert len(_jwks()["keys"]) == 2
    for token in (old_token, new_token):
        assert jwt.decode(token, key_set)["aud"] == app.client_id
    assert jwt.decode(old_token, key_set).header["kid"] != jwt.decode(new_token, key_set).header["kid"]

    # once the old key is pruned (all its tokens expired), its tokens no longer verify
    later = datetime.now(UTC) + timedelta(days=1)
    assert keys.prune(tmp_path, older_than_seconds=3600, now=later) == retired
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_RSA_PRIVATE_KEYS_INACTIVE": []}
    with pytest.raises(Exception):  # noqa: B017 - authlib raises its own "no key" error type
        jwt.decode(old_token, JsonWebKey.import_key_set(_jwks()))


def test_only_the_security_admin_sees_the_client_pages(city, security_admin, confidential_client):
    root, department = city
    app, _secret = confidential_client
    system_admin = make_staff("sysadmin")
    role_grant_create(actor=root, user=system_admin, role=Role.SYSTEM_ADMIN, department=department)
    for outsider in (root, system_admin):  # the superuser flag is no way around it
        page = browser(outsider, mfa_done=True)
        assert page.get("/workbench/sso/").status_code == 404
        assert page.get(f"/workbench/sso/{app.pk}/").status_code == 404
        assert page.post("/workbench/sso/new/", {"name": "x"}).status_code == 404
    admin = browser(security_admin, mfa_done=True)
    listing = admin.get("/workbench/sso/")
    assert listing.status_code == 200 and app.client_id in listing.content.decode()
    assert admin.get("/workbench/sso/999999/").status_code == 404


def test_security_admin_registers_a_client_on_the_page(security_admin):
    admin = browser(security_admin, mfa_done=True)
    response = admin.post(
        "/workbench/sso/new/",
        {
            "name": "县医院预约系统",
            "confidential": "on",
            "redirect_uris": "https://hospital.example.gov.cn/cb\nhttps://hospital.example.gov.cn/cb2",
            "scopes": ["openid", "profile", "phone"],
            "pre_approved": "on",
        },
    )
    assert response.status_code == 201
    body = response.content.decode()
    assert "仅显示这一次" in body
    event = AuditEvent.objects.filter(action="sso.client_register").latest("sequence")
    assert event.actor_id == security_admin.pk and event.changes["scopes"] == ["openid", "phone", "profile"]
    assert event.changes["client_id"] in body


@pytest.mark.parametrize(
    "uris",
    ["https://*.example.gov.cn/cb", "https://a.example.gov.cn/cb#frag", "ftp://x/cb", "not a url", ""],
)
def test_bad_redirect_uris_are_refused(security_admin, uris):
    admin = browser(security_admin, mfa_done=True)
    response = admin.post("/workbench/sso/new/", {"name": "X", "redirect_uris": uris, "scopes": ["openid"]})
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert not AuditEvent.objects.filter(action="sso.client_register").exists()


def test_edit_is_audited_and_rotating_the_secret_ends_the_old_one(security_admin, confidential_client, citizen):
    app, secret = confidential_client
    admin = browser(security_admin, mfa_done=True)
    response = admin.post(
        f"/workbench/sso/{app.pk}/",
        {
            "name": "新名称",
            "redirect_uris": RP_CALLBACK,
            "scopes": ["openid", "profile"],
            "is_active": "on",
            "pre_approved": "on",
        },
    )
    assert response.status_code == 302
    event = AuditEvent.objects.filter(action="sso.client_update").latest("sequence")
    assert event.changes["after"]["name"] == "新名称"
    assert "phone" in event.changes["before"]["scopes"] and "phone" not in event.changes["after"]["scopes"]

    response = admin.post(f"/workbench/sso/{app.pk}/", {"rotate_secret": "1"})
    new_secret = response.context["secret"]
    assert new_secret and new_secret != secret
    assert AuditEvent.objects.filter(action="sso.client_rotate_secret", object_id=str(app.pk)).exists()
    old = rp_session(app, secret, scope="openid")
    config = discovery()
    verifier = new_verifier()
    url, _ = old.create_authorization_url(config["authorization_endpoint"], code_verifier=verifier, nonce="r")
    location = browser(citizen).get(url.removeprefix(BASE))["Location"]
    with pytest.raises(Exception, match="invalid_client"):
        old.fetch_token(config["token_endpoint"], authorization_response=location, code_verifier=verifier)
    fresh = rp_session(app, new_secret, scope="openid")
    assert "access_token" in fresh.fetch_token(
        config["token_endpoint"], authorization_response=location, code_verifier=verifier
    )
