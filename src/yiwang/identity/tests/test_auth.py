"""Web sign-in: login by username / 身份证号 / phone, failures, lockout, logout, idle timeout, password change."""

import json
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.utils import timezone

from yiwang.core.models import AuditEvent
from yiwang.identity.middleware import SESSION_LAST_ACTIVITY
from yiwang.identity.models import User
from yiwang.identity.selectors import user_password_expired
from yiwang.identity.tests.auth_helpers import ID_NUMBER, PASSWORD, PHONE, login, make_citizen, make_staff
from yiwang.identity.views import lockout_response

pytestmark = pytest.mark.django_db


def signed_in(client) -> bool:
    return client.get("/accounts/password/").status_code == 200


def test_login_page_renders_in_chinese(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert "用户名 / 身份证号 / 手机号" in response.content.decode()


@pytest.mark.parametrize("identifier", ["citizen", ID_NUMBER, PHONE])
def test_citizen_signs_in_with_username_id_number_or_phone(client, identifier):
    user = make_citizen()
    response = login(client, identifier, next="/account/")
    assert response.status_code == 302 and response["Location"] == "/account/"
    assert signed_in(client)
    event = AuditEvent.objects.filter(action="auth.login").get()
    assert event.actor_id == user.pk
    assert ID_NUMBER not in str(event.changes) + event.object_repr


def test_wrong_password_is_refused_and_audited_without_personal_data(client):
    make_citizen()
    response = login(client, ID_NUMBER, password="Wrong-Password-1")
    assert response.status_code == 200
    assert "用户名或密码不正确" in response.content.decode()
    assert not signed_in(client)
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.object_repr == "citizen"
    login(client, "110105199001019999", password="Wrong-Password-1")
    unknown = AuditEvent.objects.filter(action="auth.login_failed").last()
    assert "110105199001019999" not in unknown.object_repr + str(unknown.changes)


def test_empty_form_names_the_missing_fields(client):
    response = client.post("/accounts/login/", {})
    text = response.content.decode()
    assert "请输入用户名、身份证号或手机号" in text and "请输入密码" in text


def test_open_redirect_is_refused(client):
    make_citizen()
    response = login(client, "citizen", next="https://evil.example/")
    assert response["Location"] == "/signed-in/"  # portal:after_login: staff to the workbench, others to /account/


def test_lockout_after_repeated_failures_even_with_the_right_password(client):
    make_staff("clerk")
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        assert login(client, "clerk", password="Wrong-Password-1").status_code == 200
    response = login(client, "clerk", password="Wrong-Password-1")
    assert response.status_code == 429
    text = response.content.decode()
    assert "账号已被临时锁定" in text and "分钟后" in text
    assert response["Retry-After"] == str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    # The right password does not help while locked.
    response = login(client, "clerk")
    assert response.status_code == 429
    assert not signed_in(client)
    assert AuditEvent.objects.filter(action="auth.locked_out").exists()


def test_lockout_answers_api_clients_in_the_error_format():
    request = RequestFactory().post("/api/v1/auth/login")
    request.user = None
    response = lockout_response(request, None, {"username": "clerk"})
    assert response.status_code == 429
    body = json.loads(response.content)
    assert body["code"] == "locked_out"
    assert "分钟后" in body["message"] and body["retry_after"] > 0 and body["fields"] == {}


def test_logout_needs_post_and_is_audited(client):
    make_citizen()
    login(client, "citizen")
    assert client.get("/accounts/logout/").status_code == 200
    assert signed_in(client)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert not signed_in(client)
    assert AuditEvent.objects.filter(action="auth.logout").exists()


def expire_session(client):
    session = client.session
    session[SESSION_LAST_ACTIVITY] = int(time.time()) - settings.YIWANG_IDLE_TIMEOUT_MINUTES * 60 - 5
    session.save()


def test_idle_session_ends_with_a_message_on_the_login_page(client):
    make_citizen()
    login(client, "citizen")
    assert signed_in(client)  # activity within the limit keeps the session
    expire_session(client)
    response = client.get("/accounts/password/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    page = client.get(response["Location"])
    assert "会话已超时,请重新登录" in page.content.decode()
    assert not signed_in(client)
    assert AuditEvent.objects.filter(action="auth.session_timeout").exists()


def test_idle_session_on_the_api_gets_401_in_the_error_format(client):
    make_citizen()
    login(client, "citizen")
    expire_session(client)
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "session_expired"
    assert response.json()["message"] == "会话已超时,请重新登录"


def test_password_change_checks_old_password_and_policy(client):
    user = make_citizen()
    login(client, "citizen")
    url = "/accounts/password/"
    response = client.post(url, {"old_password": "nope", "new_password1": "abc", "new_password2": "abc"})
    text = response.content.decode()
    assert "原密码不正确" in text and "至少包含" in text
    response = client.post(
        url, {"old_password": PASSWORD, "new_password1": "Xin-Mima-2025!", "new_password2": "Xin-Mima-2025?"}
    )
    assert "两次输入的新密码不一致" in response.content.decode()
    response = client.post(
        url, {"old_password": PASSWORD, "new_password1": "Xin-Mima-2025!", "new_password2": "Xin-Mima-2025!"}
    )
    assert response.status_code == 302
    assert signed_in(client)  # the session survives its own password change
    user.refresh_from_db()
    assert user.check_password("Xin-Mima-2025!") and user.password.startswith("argon2")
    assert AuditEvent.objects.filter(action="user.password_change", object_id=str(user.pk)).exists()


def test_inactive_user_cannot_sign_in(client):
    user = make_citizen()
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert login(client, "citizen").status_code == 200
    assert not signed_in(client)


def test_staff_password_expires_after_the_maximum_age(client, settings):
    settings.YIWANG_PASSWORD_MAX_AGE_DAYS = 90
    clerk = make_staff("clerk")
    citizen = make_citizen()
    later = timezone.now() + timedelta(days=91)
    assert user_password_expired(user=clerk, now=later)
    assert not user_password_expired(user=clerk)
    assert not user_password_expired(user=citizen, now=later)  # citizens are not forced
    settings.YIWANG_PASSWORD_MAX_AGE_DAYS = 0
    assert not user_password_expired(user=clerk, now=later)


def test_expired_staff_password_must_be_changed_before_anything_else(client, settings):
    settings.YIWANG_PASSWORD_MAX_AGE_DAYS = 90
    clerk = make_staff("clerk")
    # Age the record of the last password change (the audit chain is the source of truth).
    AuditEvent.objects.filter(action="user.create", object_id=str(clerk.pk)).update(
        created_at=timezone.now() - timedelta(days=120)
    )
    response = login(client, "clerk", next="/workbench/")
    assert response["Location"].startswith("/accounts/password/")
    held = client.get("/workbench/")
    assert held.status_code == 302 and held["Location"].startswith("/accounts/password/")
    assert client.get("/api/v1/me").json()["code"] == "password_expired"
    page = client.get(response["Location"]).content.decode()
    assert "定期更换密码" in page
    response = client.post(
        response["Location"],
        {
            "old_password": PASSWORD,
            "new_password1": "Xin-Mima-2025!",
            "new_password2": "Xin-Mima-2025!",
            "next": "/workbench/",
        },
    )
    assert response["Location"] == "/workbench/"
    assert client.get("/workbench/").status_code == 200


def test_dormant_staff_accounts_are_listed_then_deactivated():
    old = make_staff("oldclerk")
    make_staff("newclerk")
    citizen = make_citizen()
    User.objects.filter(pk__in=[old.pk, citizen.pk]).update(date_joined=timezone.now() - timedelta(days=400))
    out = StringIO()
    call_command("accounts", "dormant", "--days", "180", stdout=out)
    assert "oldclerk" in out.getvalue() and "newclerk" not in out.getvalue() and "citizen" not in out.getvalue()
    assert User.objects.get(pk=old.pk).is_active  # listing changes nothing
    call_command("accounts", "dormant", "--days", "180", "--deactivate", stdout=StringIO())
    assert not User.objects.get(pk=old.pk).is_active
    assert User.objects.get(pk=citizen.pk).is_active
    assert AuditEvent.objects.filter(action="user.deactivate", object_id=str(old.pk)).exists()
    assert login(Client(), "oldclerk").status_code == 200  # refused: stays on the login page


def test_an_account_can_be_created_from_an_existing_password_hash(client):
    from django.contrib.auth.hashers import make_password

    from yiwang.core.errors import ValidationFailed
    from yiwang.identity.services import user_create

    hashed = make_password("Migrated#2019pw")
    user = user_create(actor=None, username="migrated", password="", password_hash=hashed, kind="staff")
    assert user.password == hashed and user.check_password("Migrated#2019pw")
    event = AuditEvent.objects.filter(action="user.create", object_id=str(user.pk)).get()
    assert event.changes["password_from_hash"] is True
    with pytest.raises(ValidationFailed) as bad:
        user_create(actor=None, username="forged", password="", password_hash="plaintext", kind="staff")
    assert "password" in bad.value.fields
    with pytest.raises(ValidationFailed) as both:
        user_create(actor=None, username="both", password="Migrated#2019pw", password_hash=hashed, kind="staff")
    assert "password" in both.value.fields
