"""Client secrets are stored as salted HMAC-SM3 digests (fast: the secret is 128 random
characters), and that hasher can never stand in for a person's password."""

import pytest
from django.contrib.auth.hashers import check_password, make_password

from yiwang.core.errors import ValidationFailed
from yiwang.identity.models import User
from yiwang.identity.services import user_create
from yiwang.sso.hashers import ALGORITHM

pytestmark = pytest.mark.django_db


def test_secret_is_stored_hashed_and_checks(confidential_client):
    app, secret = confidential_client
    app.refresh_from_db()
    assert app.client_secret.startswith(ALGORITHM + "$") and secret not in app.client_secret
    assert check_password(secret, app.client_secret)
    assert not check_password(secret[:-1] + ("x" if secret[-1] != "x" else "y"), app.client_secret)


def test_short_values_are_refused_and_never_accepted_as_a_user_password_hash():
    with pytest.raises(ValueError):
        make_password("Qiang-Mima-2024", hasher=ALGORITHM)
    long_secret = "s" * 64
    encoded = make_password(long_secret, hasher=ALGORITHM)
    assert not check_password("short", encoded)
    with pytest.raises(ValidationFailed) as excinfo:
        user_create(actor=None, username="imported", password_hash=encoded, kind=User.Kind.STAFF)
    assert "password" in excinfo.value.fields
