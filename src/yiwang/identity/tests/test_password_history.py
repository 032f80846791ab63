"""等保 2.0: a password may not repeat any of the account's last five; only hashes are kept."""

import pytest

from yiwang.core.errors import ValidationFailed
from yiwang.identity.models import PasswordHistory
from yiwang.identity.services import user_set_password
from yiwang.identity.tests.auth_helpers import PASSWORD, make_citizen

pytestmark = pytest.mark.django_db


def test_last_five_passwords_cannot_be_reused(settings):
    settings.PASSWORD_HASHERS = ["yiwang.identity.tests.hashers.CheapArgon2PasswordHasher"]
    user = make_citizen()
    passwords = [PASSWORD] + [f"Xin-Mima-{n}-2024" for n in range(1, 6)]
    for new in passwords[1:]:
        user_set_password(actor=user, user=user, new_password=new)
    # the current one and the four before it are refused
    for old in passwords[-5:]:
        with pytest.raises(ValidationFailed) as excinfo:
            user_set_password(actor=user, user=user, new_password=old)
        assert "最近 5 次" in str(excinfo.value.fields)
    # the sixth-newest is allowed again
    user_set_password(actor=user, user=user, new_password=passwords[0])
    rows = list(PasswordHistory.objects.filter(user=user).values_list("password", flat=True))
    assert len(rows) == 5
    assert all(row.startswith("argon2") or "$" in row for row in rows)
    assert not any(PASSWORD in row for row in rows)
