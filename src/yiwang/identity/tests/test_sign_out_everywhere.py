"""A password change revokes the user's API tokens; "sign out everywhere" ends every session
and revokes every token, by page, by API and from the admin; each is audited."""

import pytest
from django.test import Client

from yiwang.core.errors import NotFound
from yiwang.core.models import AuditEvent
from yiwang.identity.models import ApiToken, User
from yiwang.identity.services import api_token_create, user_create, user_set_password, user_sign_out_everywhere

pytestmark = pytest.mark.django_db

PASSWORD = "Qiang-Mima-2024"
NEW_PASSWORD = "Xin-Mima-2025!"


def make_user(username="zhangsan", **extra):
    extra.setdefault("kind", User.Kind.STAFF)
    return user_create(actor=None, username=username, password=PASSWORD, **extra)


def signed_in(user) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:300]
    return client


def me(client, raw=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"} if raw else {}
    return client.get("/api/v1/me", **headers).status_code


def test_password_change_revokes_the_users_tokens_and_no_one_elses():
    user, other = make_user(), make_user("lisi")
    _t1, raw1 = api_token_create(actor=user, user=user, name="前置机")
    _t2, raw2 = api_token_create(actor=user, user=user, name="脚本")
    _t3, other_raw = api_token_create(actor=other, user=other, name="别人的")
    assert me(Client(), raw1) == 200 and me(Client(), raw2) == 200

    user_set_password(actor=user, user=user, old_password=PASSWORD, new_password=NEW_PASSWORD)

    assert me(Client(), raw1) == 401 and me(Client(), raw2) == 401
    assert me(Client(), other_raw) == 200
    assert ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() == 0
    event = AuditEvent.objects.filter(action="user.password_change").get()
    assert event.changes["tokens_revoked"] == 2


def test_password_change_page_keeps_this_session_ends_the_others_and_revokes_tokens():
    user = make_user()
    here, elsewhere = signed_in(user), signed_in(user)
    _token, raw = api_token_create(actor=user, user=user, name="前置机")
    response = here.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert me(here) == 200
    assert me(elsewhere) == 401
    assert me(Client(), raw) == 401


def test_sign_out_everywhere_page_ends_all_sessions_and_tokens():
    user = make_user()
    here, elsewhere = signed_in(user), signed_in(user)
    _token, raw = api_token_create(actor=user, user=user, name="前置机")
    account = here.get("/account/").content.decode()
    assert "/accounts/sign-out-everywhere/" in account
    confirm = here.get("/accounts/sign-out-everywhere/")
    assert confirm.status_code == 200 and "1 个有效的接口令牌" in confirm.content.decode()
    assert user.session_generation == 0

    response = here.post("/accounts/sign-out-everywhere/")
    assert response.status_code == 302 and response.url == "/accounts/login/"
    assert me(here) == 401 and me(elsewhere) == 401 and me(Client(), raw) == 401
    event = AuditEvent.objects.filter(action="user.sign_out_everywhere").get()
    assert event.actor_id == user.pk and event.changes["tokens_revoked"] == 1
    # signing in again works, and the new session is valid
    again = signed_in(user)
    assert me(again) == 200


def test_sign_out_everywhere_by_api_revokes_the_calling_token_too():
    user = make_user()
    browser = signed_in(user)
    _t, raw = api_token_create(actor=user, user=user, name="前置机")
    _t2, raw2 = api_token_create(actor=user, user=user, name="脚本")
    response = Client().post("/api/v1/me/sign-out-everywhere", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200 and response.json() == {"tokens_revoked": 2}
    assert me(Client(), raw) == 401 and me(Client(), raw2) == 401 and me(browser) == 401
    assert Client().post("/api/v1/me/sign-out-everywhere").status_code == 401


def test_only_the_user_or_a_superuser_may_sign_someone_out():
    user, other = make_user(), make_user("lisi")
    with pytest.raises(NotFound):
        user_sign_out_everywhere(actor=other, user=user)
    admin = User.objects.create_superuser("root", password=PASSWORD)
    assert user_sign_out_everywhere(actor=admin, user=user) == {"tokens_revoked": 0}
    user.refresh_from_db()
    assert user.session_generation == 1


def test_existing_sessions_survive_the_upgrade():
    """Generation 0 hashes exactly as Django does: sessions made before this field stay valid."""
    from django.contrib.auth.base_user import AbstractBaseUser

    user = make_user()
    assert user.get_session_auth_hash() == AbstractBaseUser._get_session_auth_hash(user)
    user.session_generation = 1
    assert user.get_session_auth_hash() != AbstractBaseUser._get_session_auth_hash(user)


def test_expired_password_keeps_tokens_working_until_the_change_then_revokes_them(settings):
    """等保 定期更换: the expired password holds the browser at the password page; a machine
    client's token keeps working until the person changes the password, which revokes it."""
    from datetime import timedelta

    from django.utils import timezone

    settings.YIWANG_PASSWORD_MAX_AGE_DAYS = 90
    user = make_user()
    _token, raw = api_token_create(actor=user, user=user, name="前置机")
    AuditEvent.objects.filter(action="user.create", object_id=str(user.pk)).update(
        created_at=timezone.now() - timedelta(days=120)
    )
    browser = signed_in(user)
    assert browser.get("/api/v1/me").json()["code"] == "password_expired"
    assert me(Client(), raw) == 200  # the token is not held back by the expiry
    response = browser.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert me(browser) == 200 and me(Client(), raw) == 401
