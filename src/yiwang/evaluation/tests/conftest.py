import datetime

import pytest
from django.utils import timezone

from yiwang.cases.tests.factories import build_world
from yiwang.evaluation.tests.factories import delivered_case, refused_case


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def world(db):
    return build_world()


@pytest.fixture
def case(world):
    return delivered_case(world)


@pytest.fixture
def refused(world):
    return refused_case(world)


@pytest.fixture
def at(monkeypatch):
    """Set the platform's clock: ``at(2026, 12, 3, 10)`` (Asia/Shanghai local time)."""

    def set_clock(*args):
        moment = timezone.make_aware(datetime.datetime(*args))
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return set_clock
