"""TOTP: enrolment, the half-logged-in step, replay protection, and MFA required for admin roles."""

import time

import pyotp
import pytest

from yiwang.core.crypto import decrypt_text
from yiwang.core.models import AuditEvent
from yiwang.identity import mfa
from yiwang.identity.models import User
from yiwang.identity.services import user_mfa_enrol
from yiwang.identity.tests.auth_helpers import login, make_admin, make_citizen
from yiwang.identity.views import SESSION_SETUP_SECRET

pytestmark = pytest.mark.django_db


def enrol(user: User) -> pyotp.TOTP:
    """Turn MFA on as the service would after a confirmed code; the last step is burned."""
    secret = mfa.new_secret()
    user_mfa_enrol(actor=user, user=user, secret=secret, step=mfa.current_step() - 5)
    return pyotp.TOTP(secret)


def code_at(totp: pyotp.TOTP, step_offset: int = 0) -> str:
    return totp.generate_otp(mfa.current_step() + step_offset)


def can_reach_account(client) -> bool:
    return client.get("/accounts/password/").status_code == 200


def test_enrolment_shows_qr_and_secret_and_needs_a_correct_code(client):
    user = make_citizen()
    login(client, "citizen")
    page = client.get("/accounts/mfa/setup/")
    text = page.content.decode()
    assert page.status_code == 200 and "<svg" in text and 'id="totp-secret"' in text
    secret = decrypt_text(client.session[SESSION_SETUP_SECRET])
    assert secret[:4] in text
    user.refresh_from_db()
    assert not user.mfa_enabled  # nothing stored on the account before confirmation

    response = client.post("/accounts/mfa/setup/", {"code": "000000" if pyotp.TOTP(secret).now() != "000000" else "1"})
    assert response.status_code == 200 and "动态口令不正确" in response.content.decode()
    response = client.post("/accounts/mfa/setup/", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.mfa_enabled and user.totp_secret == secret
    assert AuditEvent.objects.filter(action="user.mfa_enrol", object_id=str(user.pk)).exists()


def test_password_alone_does_not_sign_in_a_user_with_mfa(client):
    user = make_citizen()
    totp = enrol(user)
    response = login(client, "citizen", next="/account/")
    assert response["Location"] == "/accounts/mfa/verify/"
    # Half-logged-in: nothing behind a login is reachable, neither page nor API.
    assert not can_reach_account(client)
    assert client.get("/api/v1/me").status_code in (401, 404)
    assert "_auth_user_id" not in client.session

    page = client.get("/accounts/mfa/verify/")
    assert "动态口令验证" in page.content.decode()
    wrong = client.post("/accounts/mfa/verify/", {"code": "12345"})
    assert "动态口令为 6 位数字" in wrong.content.decode()
    response = client.post("/accounts/mfa/verify/", {"code": code_at(totp)})
    assert response.status_code == 302 and response["Location"] == "/account/"
    assert can_reach_account(client)
    assert AuditEvent.objects.get(action="auth.login").changes["mfa"] is True


def test_a_code_cannot_be_used_twice(client):
    user = make_citizen()
    totp = enrol(user)
    code = code_at(totp)
    login(client, "citizen")
    assert client.post("/accounts/mfa/verify/", {"code": code}).status_code == 302
    client.post("/accounts/logout/")

    login(client, "citizen")
    response = client.post("/accounts/mfa/verify/", {"code": code})
    assert response.status_code == 200
    assert "已使用过" in response.content.decode()
    assert not can_reach_account(client)
    assert AuditEvent.objects.filter(action="auth.mfa_failed").exists()


def test_matching_step_allows_one_step_of_drift_and_rejects_used_steps():
    secret = mfa.new_secret()
    totp = pyotp.TOTP(secret)
    now = time.time()
    step = mfa.current_step(now)
    assert mfa.matching_step(secret=secret, code=totp.generate_otp(step - 1), now=now) == step - 1
    assert mfa.matching_step(secret=secret, code=totp.generate_otp(step + 1), now=now) == step + 1
    assert mfa.matching_step(secret=secret, code=totp.generate_otp(step - 3), now=now) is None
    assert mfa.matching_step(secret=secret, code=totp.generate_otp(step), after_step=step, now=now) is None


def test_pending_state_expires(client):
    user = make_citizen()
    totp = enrol(user)
    login(client, "citizen")
    session = client.session
    pending = session[mfa.SESSION_PENDING]
    pending["at"] -= mfa.PENDING_MAX_AGE_SECONDS + 1
    session[mfa.SESSION_PENDING] = pending
    session.save()
    response = client.post("/accounts/mfa/verify/", {"code": code_at(totp)})
    assert response["Location"] == "/accounts/login/"
    assert not can_reach_account(client)


def test_guessing_codes_locks_the_account(client):
    user = make_citizen()
    totp = enrol(user)
    login(client, "citizen")
    bad = str((int(code_at(totp)) + 1) % 1_000_000).zfill(6)
    for _ in range(mfa.MAX_CODE_FAILURES - 1):
        assert client.post("/accounts/mfa/verify/", {"code": bad}).status_code == 200
    response = client.post("/accounts/mfa/verify/", {"code": bad})
    # Wrong codes count like wrong passwords: the account is now locked out.
    assert response.status_code == 429 and "账号已被临时锁定" in response.content.decode()
    assert mfa.SESSION_PENDING not in client.session
    assert login(client, "citizen").status_code == 429


def test_admin_without_mfa_is_held_at_enrolment(client):
    make_admin()
    response = login(client, "cityadmin", next="/workbench/")
    assert response["Location"].startswith("/accounts/mfa/setup/")
    for path in ("/workbench/", "/accounts/password/", "/account/"):
        held = client.get(path)
        assert held.status_code == 302 and held["Location"].startswith("/accounts/mfa/setup/"), path
    api = client.get("/api/v1/me")
    assert api.status_code == 403 and api.json()["code"] == "mfa_required"
    assert client.get("/accounts/mfa/setup/").status_code == 200
    # elder mode can be turned on to read the enrolment page
    assert client.post("/elder-mode/", {"next": "/accounts/mfa/setup/"}).status_code in (302, 303)
    assert User.objects.get(username="cityadmin").elder_mode

    secret = decrypt_text(client.session[SESSION_SETUP_SECRET])
    response = client.post("/accounts/mfa/setup/?next=/workbench/", {"code": pyotp.TOTP(secret).now()})
    assert response["Location"] == "/workbench/"
    assert can_reach_account(client)


def test_admin_session_opened_elsewhere_must_pass_totp(client):
    admin = make_admin()
    totp = enrol(admin)
    client.force_login(admin)  # e.g. a session opened by the admin site's own login form
    held = client.get("/workbench/")
    assert held.status_code == 302 and held["Location"].startswith("/accounts/mfa/verify/")
    response = client.post("/accounts/mfa/verify/?next=/workbench/", {"code": code_at(totp)})
    assert response["Location"] == "/workbench/"
    assert can_reach_account(client)


def test_admin_cannot_turn_mfa_off_but_a_citizen_can(client):
    admin = make_admin()
    totp = enrol(admin)
    login(client, "cityadmin")
    client.post("/accounts/mfa/verify/", {"code": code_at(totp)})
    status = client.get("/accounts/mfa/setup/").content.decode()
    assert "必须保持启用" in status and "mfa/disable" not in status
    client.post("/accounts/mfa/disable/", {"code": code_at(totp, 1)})
    admin.refresh_from_db()
    assert admin.mfa_enabled
    client.post("/accounts/logout/")

    citizen = make_citizen()
    totp = enrol(citizen)
    login(client, "citizen")
    client.post("/accounts/mfa/verify/", {"code": code_at(totp)})
    status = client.get("/accounts/mfa/setup/").content.decode()
    assert "已启用" in status and "关闭动态口令" in status
    client.post("/accounts/mfa/disable/", {"code": code_at(totp, 1)})
    citizen.refresh_from_db()
    assert not citizen.mfa_enabled
    assert AuditEvent.objects.filter(action="user.mfa_disable", object_id=str(citizen.pk)).exists()
