import datetime

import pytest
from django.utils import timezone

from yiwang.cases.tests.factories import build_world


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Each test makes several accounts; argon2 itself is tested by identity.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def at(monkeypatch):
    """Set the platform's clock: ``at(2025, 9, 30, 10)`` (Asia/Shanghai local time)."""

    def set_clock(*args):
        moment = timezone.make_aware(datetime.datetime(*args))
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return set_clock
