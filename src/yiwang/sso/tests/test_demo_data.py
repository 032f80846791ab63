"""The demo city gets the three separated admins and a registered sample relying party, once."""

import pytest
from oauth2_provider.models import Application

from yiwang.demo.services import demo_load
from yiwang.identity.models import RoleGrant, User
from yiwang.identity.selectors import user_requires_mfa
from yiwang.sso import demo_data

pytestmark = pytest.mark.django_db


def test_demo_admins_are_three_accounts_and_the_sample_client_is_registered():
    demo_load()
    first = demo_data.load()
    again = demo_data.load()
    assert first["admins"] == 3 and again["admins"] == 0
    assert first["client_id"] == again["client_id"]
    roles = {}
    for username, _name, role in demo_data.ADMINS:
        user = User.objects.get(username=username)
        assert set(RoleGrant.objects.filter(user=user).values_list("role", flat=True)) == {role}
        assert user_requires_mfa(user=user) and not user.is_superuser
        roles[role] = user
    app = Application.objects.get(client_id=first["client_id"])
    assert app.client_type == Application.CLIENT_PUBLIC
    assert app.redirect_uris == "http://127.0.0.1:8765/callback"
    assert app.yiwang_policy.registered_by == roles["security_admin"]
