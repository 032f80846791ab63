import pytest


@pytest.fixture(autouse=True)
def _cheap_argon2(settings):
    # Many accounts are created and signed in here; argon2 stays the algorithm, its cost drops.
    settings.PASSWORD_HASHERS = ["yiwang.identity.tests.hashers.CheapArgon2PasswordHasher"]
