import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The catalog tests create several staff accounts each; argon2 is the production hasher
    # and is tested by identity, here it would only make the suite slow.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
