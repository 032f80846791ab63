import pytest

from yiwang.cases.tests.factories import build_world


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
def staff(db):
    from yiwang.messaging.tests.staff_world import build_staff_world

    return build_staff_world()
