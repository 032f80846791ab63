"""The relying party's side of the tests is Authlib (a real OIDC client library) talking HTTP
to the whole Django application in-process (httpx's WSGI transport, same test database); the
user's browser is Django's test client with a signed-in session."""

import base64
import hashlib
import secrets
import warnings

import httpx
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client

from yiwang.identity import mfa
from yiwang.identity.models import Department, Role
from yiwang.identity.services import department_create, role_grant_create
from yiwang.identity.tests.auth_helpers import make_citizen, make_staff
from yiwang.sso import services

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import OAuth2Client

BASE = "http://testserver"
RP_CALLBACK = "https://school.example.gov.cn/oidc/callback"
RP_AFTER_LOGOUT = "https://school.example.gov.cn/bye"


@pytest.fixture(autouse=True)
def _cheap_argon2(settings):
    settings.PASSWORD_HASHERS = [
        "yiwang.identity.tests.hashers.CheapArgon2PasswordHasher",
        "yiwang.sso.hashers.ClientSecretHasher",
    ]


class InProcessApp:
    """The whole Django application as a WSGI callable for httpx, served in the test's own
    thread and transaction: as Django's test client does, a request must not close the test's
    database connection when it starts or finishes."""

    def __init__(self):
        self.handler = WSGIHandler()

    def __call__(self, environ, start_response):
        from django.core.signals import request_finished, request_started
        from django.db import close_old_connections

        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            result = self.handler(environ, start_response)
            body = b"".join(result)
            result.close()  # sends request_finished while close_old_connections is away
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        return [body]


def transport() -> httpx.WSGITransport:
    return httpx.WSGITransport(app=InProcessApp())


@pytest.fixture
def city(db):
    root = make_staff("root")
    root.is_superuser = True
    root.save(update_fields=["is_superuser"])
    return root, department_create(
        actor=root,
        name="示范市人民政府",
        code="city",
        level=Department.Level.CITY,
        kind=Department.Kind.GOVERNMENT,
        region_code="320500",
    )


@pytest.fixture
def security_admin(city):
    root, department = city
    admin = make_staff("secadmin")
    role_grant_create(actor=root, user=admin, role=Role.SECURITY_ADMIN, department=department)
    return admin


@pytest.fixture
def citizen(db):
    return make_citizen("wangxm")


def register(actor, **overrides):
    values = {
        "name": "县教育局入学报名系统",
        "confidential": True,
        "redirect_uris": RP_CALLBACK,
        "post_logout_redirect_uris": RP_AFTER_LOGOUT,
        "scopes": ["openid", "profile", "phone", "id_number", "enterprise"],
        "pre_approved": True,
    }
    values.update(overrides)
    return services.client_register(actor=actor, **values)


@pytest.fixture
def confidential_client(security_admin):
    return register(security_admin)


@pytest.fixture
def public_client(security_admin):
    return register(security_admin, name="县医院小程序", confidential=False)


def rp_session(app, secret: str = "", scope: str = "openid profile phone id_number", **kwargs) -> OAuth2Client:
    """Authlib's OAuth 2 / OIDC client, as the relying party's server would run it."""
    return OAuth2Client(
        client_id=app.client_id,
        client_secret=secret or None,
        token_endpoint_auth_method="client_secret_basic" if secret else "none",
        scope=scope,
        redirect_uri=kwargs.pop("redirect_uri", RP_CALLBACK),
        code_challenge_method="S256",
        transport=transport(),
        base_url=BASE,
        **kwargs,
    )


def browser(user=None, *, mfa_done: bool = False) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
        if mfa_done:
            session = client.session
            session[mfa.SESSION_VERIFIED] = True
            session.save()
    return client


def new_verifier() -> str:
    return secrets.token_urlsafe(48)


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def discovery() -> dict:
    with httpx.Client(transport=transport(), base_url=BASE) as http:
        response = http.get("/.well-known/openid-configuration")
        response.raise_for_status()
        return response.json()
