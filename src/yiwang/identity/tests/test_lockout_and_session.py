"""等保 2.0 sign-in rules: lockout counted per account across addresses and per address across
accounts; the session key changes at sign-in (no session fixation)."""

import pytest
from django.conf import settings
from django.test import Client

from yiwang.identity.tests.auth_helpers import PASSWORD, login, make_citizen, make_staff

pytestmark = pytest.mark.django_db


def _from(ip: str) -> Client:
    return Client(REMOTE_ADDR=ip)


def test_account_lockout_counts_across_addresses():
    make_staff("clerk")
    limit = settings.AXES_FAILURE_LIMIT
    for n in range(limit):
        login(_from(f"10.0.0.{n + 1}"), "clerk", password="Wrong-Password-1")
    response = login(_from("10.0.9.9"), "clerk", password=PASSWORD)  # a fresh address, the right password
    assert response.status_code == 429


def test_address_lockout_counts_across_accounts():
    make_staff("clerk")
    spray = _from("10.1.0.1")
    for n in range(settings.AXES_FAILURE_LIMIT):
        spray.post("/accounts/login/", {"username": f"guess{n}", "password": "Wrong-Password-1"})
    assert login(spray, "clerk", password=PASSWORD).status_code == 429
    assert login(_from("10.1.0.2"), "clerk", password=PASSWORD).status_code == 302  # others unaffected


def test_session_key_changes_at_sign_in():
    make_citizen()
    client = Client()
    client.get("/accounts/login/")
    client.session.save()
    before = client.cookies.get(settings.SESSION_COOKIE_NAME)
    before = before.value if before else None
    session = client.session
    session["planted"] = "x"  # a session an attacker could have fixed in the victim's browser
    session.save()
    planted_key = session.session_key
    assert login(client, "citizen").status_code == 302
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after != planted_key and after != before
