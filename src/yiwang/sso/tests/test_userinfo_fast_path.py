"""userinfo's short path (sso.views.UserInfoView): the same answer as django-oauth-toolkit's view,
byte for byte, for every scope combination and kind of client policy, in ONE statement; every
error still answered by the toolkit (RFC 6750)."""

import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from oauth2_provider import views as dot

from yiwang.sso import services
from yiwang.sso.tests.conftest import RP_AFTER_LOGOUT, RP_CALLBACK, browser, rp_session
from yiwang.sso.tests.test_oidc_flow import _sign_in

pytestmark = pytest.mark.django_db


def _both(token: str):
    fast = Client().get("/oidc/userinfo/", HTTP_AUTHORIZATION=f"Bearer {token}")
    request = RequestFactory().get("/oidc/userinfo/", HTTP_AUTHORIZATION=f"Bearer {token}")
    slow = dot.UserInfoView.as_view()(request)
    return fast, slow


@pytest.mark.parametrize(
    ("scope", "full"),
    [
        ("openid", False),
        ("openid profile", False),
        ("openid profile phone id_number", False),
        ("openid phone id_number", True),
    ],
)
def test_same_claims_as_the_toolkit_in_one_statement(security_admin, confidential_client, citizen, scope, full):
    app, secret = confidential_client
    services.client_update(
        actor=security_admin,
        application=app,
        name=app.name,
        redirect_uris=RP_CALLBACK,
        post_logout_redirect_uris=RP_AFTER_LOGOUT,
        scopes=["openid", "profile", "phone", "id_number"],
        full_phone=full,
        full_id_number=full,
        pairwise=full,
        pre_approved=True,
    )
    rp = rp_session(app, secret, scope=scope)
    _config, token, _ = _sign_in(rp, browser(citizen))
    fast, slow = _both(token["access_token"])
    assert fast.status_code == slow.status_code == 200
    assert fast.content == slow.content
    assert fast["Content-Type"] == "application/json"
    with CaptureQueriesContext(connection) as captured:
        Client().get("/oidc/userinfo/", HTTP_AUTHORIZATION=f"Bearer {token['access_token']}")
    assert len(captured) == 1


def test_errors_are_the_toolkits(confidential_client, citizen):
    app, secret = confidential_client
    rp = rp_session(app, secret)
    _config, token, _ = _sign_in(rp, browser(citizen))
    from oauth2_provider.models import AccessToken

    for bad in ("not-a-token", ""):
        fast, slow = _both(bad)
        assert fast.status_code == slow.status_code == 401
        assert fast.get("WWW-Authenticate") == slow.get("WWW-Authenticate")
    AccessToken.objects.update(scope="profile")  # no openid: refused, as the toolkit refuses it
    fast, slow = _both(token["access_token"])
    assert fast.status_code == slow.status_code == 401
    from datetime import timedelta

    from django.utils import timezone

    AccessToken.objects.update(scope="openid profile", expires=timezone.now() - timedelta(seconds=1))
    fast, slow = _both(token["access_token"])
    assert fast.status_code == slow.status_code == 401
