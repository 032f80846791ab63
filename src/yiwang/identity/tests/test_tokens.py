"""API tokens: issued once, stored as a digest, refused when revoked or expired."""

from datetime import date, timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone

from yiwang.core.codes import make_id_number
from yiwang.core.errors import NotFound, ValidationFailed
from yiwang.core.models import AuditEvent
from yiwang.identity.auth import ApiTokenAuth
from yiwang.identity.models import ApiToken, User
from yiwang.identity.services import api_token_create, api_token_revoke, user_create

pytestmark = pytest.mark.django_db

PASSWORD = "Qiang-Mima-2024"


def make_user(username="zhangsan", **extra):
    extra.setdefault("kind", User.Kind.STAFF)
    return user_create(actor=None, username=username, password=PASSWORD, **extra)


def bearer(raw):
    request = RequestFactory().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    return ApiTokenAuth()(request), request


def test_token_is_shown_once_and_only_its_digest_is_stored():
    user = make_user()
    token, raw = api_token_create(actor=user, user=user, name="数据交换前置机")
    assert raw.startswith(f"yw_{token.prefix}_")
    stored = ApiToken.objects.get(pk=token.pk)
    assert raw not in stored.key_digest and len(stored.key_digest) == 64
    assert raw.split("_", 2)[2] not in str(AuditEvent.objects.filter(action="api_token.create").values().first())
    authenticated, request = bearer(raw)
    assert authenticated == user
    assert request.user == user


def test_wrong_malformed_revoked_and_expired_tokens_are_refused():
    user = make_user()
    token, raw = api_token_create(actor=user, user=user, name="ci")
    assert bearer(raw[:-1] + ("A" if raw[-1] != "A" else "B"))[0] is None
    assert bearer("not-a-token")[0] is None
    assert bearer("")[0] is None
    api_token_revoke(actor=user, token=token)
    assert bearer(raw)[0] is None

    expiring, raw2 = api_token_create(
        actor=user, user=user, name="short", expires_at=timezone.now() + timedelta(hours=1)
    )
    assert bearer(raw2)[0] == user
    ApiToken.objects.filter(pk=expiring.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert bearer(raw2)[0] is None


def test_token_of_deactivated_user_is_refused():
    user = make_user()
    _, raw = api_token_create(actor=user, user=user, name="ci")
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert bearer(raw)[0] is None


def test_last_used_is_written_at_most_once_a_minute():
    user = make_user()
    token, raw = api_token_create(actor=user, user=user, name="ci")
    bearer(raw)
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    bearer(raw)
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    bearer(raw)
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first - timedelta(minutes=2)


def test_only_the_owner_may_revoke_and_both_actions_are_audited():
    owner = make_user("owner")
    other = make_user("other")
    token, _ = api_token_create(actor=owner, user=owner, name="ci")
    with pytest.raises(NotFound):
        api_token_revoke(actor=other, token=token)
    api_token_revoke(actor=owner, token=token)
    actions = list(
        AuditEvent.objects.filter(object_type="identity.apitoken", object_id=str(token.pk)).values_list(
            "action", flat=True
        )
    )
    assert actions == ["api_token.create", "api_token.revoke"]


def test_token_needs_a_purpose_and_a_future_expiry():
    user = make_user()
    with pytest.raises(ValidationFailed) as exc:
        api_token_create(actor=user, user=user, name=" ", expires_at=timezone.now() - timedelta(days=1))
    assert set(exc.value.fields) == {"name", "expires_at"}


def test_user_create_checks_fields_and_keeps_personal_data_out_of_the_audit():
    id_number = make_id_number("110105", date(1990, 1, 1), 2)
    user = user_create(
        actor=None,
        username="citizen1",
        password=PASSWORD,
        kind=User.Kind.CITIZEN,
        real_name="王小明",
        id_number=id_number,
        phone="13812345678",
    )
    user.refresh_from_db()
    assert user.id_number == id_number and user.check_password(PASSWORD)
    assert user.password.startswith("argon2")
    event = AuditEvent.objects.get(action="user.create")
    text = str(event.changes) + event.object_repr
    assert id_number not in text and "13812345678" not in text and "王小明" not in text

    with pytest.raises(ValidationFailed) as exc:
        user_create(
            actor=None,
            username="citizen1",
            password="abc",
            kind=User.Kind.CITIZEN,
            id_number="110105199001010000",
            phone="12345",
        )
    fields = exc.value.fields
    assert set(fields) == {"username", "password", "id_number", "phone"}
    assert "该用户名已被使用" in fields["username"][0]


def test_token_page_shows_the_secret_once_and_revokes(client):
    user = make_user()
    client.force_login(user)
    response = client.post("/accounts/tokens/", {"name": "前置机", "days": "30"})
    text = response.content.decode()
    token = ApiToken.objects.get(user=user)
    assert f"yw_{token.prefix}_" in text and 'id="new-token"' in text
    assert token.expires_at > timezone.now() + timedelta(days=29)
    listing = client.get("/accounts/tokens/").content.decode()
    assert 'id="new-token"' not in listing and "前置机" in listing

    bad = client.post("/accounts/tokens/", {"name": "", "days": "0"}).content.decode()
    assert "请填写令牌用途" in bad and "有效期至少 1 天" in bad

    client.post("/accounts/tokens/", {"revoke": token.pk})
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_admin_site_signs_in_through_the_common_login(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_revoking_a_malformed_or_foreign_token_id_is_answered_like_an_unknown_token(client):
    user = make_user()
    client.force_login(user)
    client.post("/accounts/tokens/", {"name": "前置机", "days": "30"})
    token = ApiToken.objects.get(user=user)
    for bad in ("abc", "-1", "", str(token.pk + 1000)):
        response = client.post("/accounts/tokens/", {"revoke": bad}, follow=True)
        assert response.status_code == 200 and response.redirect_chain[-1][0] == "/accounts/tokens/"
        assert "找不到该令牌" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None
