"""PBKDF2-HMAC-SM3 password hashing (密评): correct PBKDF2, selectable by setting, old argon2
hashes keep verifying and are rewritten at the next sign-in."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.test import RequestFactory

from yiwang.core.crypto import hmac_sm3, pbkdf2_sm3
from yiwang.identity.hashers import PBKDF2SM3PasswordHasher
from yiwang.identity.models import User
from yiwang.identity.services import user_create

PASSWORD = "Qiang-Mima-2024"
CHEAP_ARGON2 = "yiwang.identity.tests.hashers.CheapArgon2PasswordHasher"


class CheapSM3Hasher(PBKDF2SM3PasswordHasher):
    iterations = 1000


CHEAP_SM3 = f"{__name__}.CheapSM3Hasher"


def reference_pbkdf2_sm3(password: bytes, salt: bytes, iterations: int) -> bytes:
    """RFC 8018 PBKDF2, one 32-byte block, written out over ``core.crypto.hmac_sm3``."""
    block = u = hmac_sm3(password, salt + (1).to_bytes(4, "big"))
    for _ in range(iterations - 1):
        u = hmac_sm3(password, u)
        block = bytes(a ^ b for a, b in zip(block, u, strict=True))
    return block


@pytest.mark.parametrize("iterations", [1, 2, 1000])
def test_pbkdf2_sm3_matches_the_rfc_8018_construction_over_hmac_sm3(iterations):
    assert pbkdf2_sm3(b"password", b"salt", iterations) == reference_pbkdf2_sm3(b"password", b"salt", iterations)


def test_hasher_round_trip_and_format():
    hasher = PBKDF2SM3PasswordHasher()
    encoded = hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
    algorithm, iterations, salt, _digest = encoded.split("$")
    assert (algorithm, iterations) == ("pbkdf2_sm3", "1000") and len(salt) == 22
    assert hasher.verify(PASSWORD, encoded) and not hasher.verify(PASSWORD + "x", encoded)
    assert hasher.must_update(encoded)  # fewer than the class's 600,000 iterations
    assert PASSWORD not in str(hasher.safe_summary(encoded))


@pytest.mark.django_db
def test_argon2_hashes_keep_working_and_upgrade_to_sm3_at_sign_in(settings):
    settings.PASSWORD_HASHERS = [CHEAP_ARGON2]
    user = user_create(actor=None, username="clerk", password=PASSWORD, kind=User.Kind.STAFF)
    assert user.password.startswith("argon2$")
    # the operator switches to SM3 (YIWANG_PASSWORD_HASHER=sm3): argon2 stays to verify
    settings.PASSWORD_HASHERS = [CHEAP_SM3, CHEAP_ARGON2]
    request = RequestFactory().post("/accounts/login/")
    assert authenticate(request, username="clerk", password="wrong-password") is None
    assert User.objects.get(pk=user.pk).password.startswith("argon2$")  # a failed attempt changes nothing
    assert authenticate(request, username="clerk", password=PASSWORD) == user
    upgraded = User.objects.get(pk=user.pk).password
    assert upgraded.startswith("pbkdf2_sm3$1000$")
    assert authenticate(request, username="clerk", password=PASSWORD) == user
    # and back: an operator who returns to argon2 loses nobody
    settings.PASSWORD_HASHERS = [CHEAP_ARGON2, CHEAP_SM3]
    assert authenticate(request, username="clerk", password=PASSWORD) == user
    assert User.objects.get(pk=user.pk).password.startswith("argon2$")


def test_the_setting_chooses_the_hasher_and_refuses_unknown_names(tmp_path):
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "yiwang.settings", "YIWANG_VAR_DIR": str(tmp_path)}
    code = "import django; django.setup(); from django.conf import settings; print(settings.PASSWORD_HASHERS[:2])"
    for choice, first, second in [
        ("sm3", "PBKDF2SM3PasswordHasher", "Argon2PasswordHasher"),
        ("", "Argon2PasswordHasher", "PBKDF2SM3PasswordHasher"),
    ]:
        out = subprocess.run(
            [bin_dir / "python", "-c", code],
            env={**env, "YIWANG_PASSWORD_HASHER": choice},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        assert out.index(first) < out.index(second)
    bad = subprocess.run(
        [bin_dir / "python", "-c", code],
        env={**env, "YIWANG_PASSWORD_HASHER": "md5"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode != 0 and "YIWANG_PASSWORD_HASHER" in bad.stderr
