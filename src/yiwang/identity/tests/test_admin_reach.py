"""三员分立 in the admin site (issue #13): the system, security and audit admin each reach their
own area of the admin site and nothing of the others'; the superuser flag opens none of it, and
the admin cannot hand it out (read-only there)."""

import pytest

from yiwang.identity import mfa
from yiwang.identity.tests.auth_helpers import grant_admin_role, make_staff

pytestmark = pytest.mark.django_db

SYSTEM_PAGE = "/admin/core/holiday/"
SECURITY_PAGE = "/admin/identity/user/"
AUDIT_PAGE = "/admin/core/auditevent/"
DELEGATIONS = "/admin/identity/delegation/"


def _client(client, user):
    client.force_login(user)
    session = client.session
    session[mfa.SESSION_VERIFIED] = True  # as after a TOTP check (admins must use one)
    session.save()
    return client


def _reach(client) -> dict[str, int]:
    return {page: client.get(page).status_code for page in (SYSTEM_PAGE, SECURITY_PAGE, AUDIT_PAGE, DELEGATIONS)}


@pytest.mark.parametrize(
    ("role", "opens"),
    [
        ("system_admin", {SYSTEM_PAGE}),
        ("security_admin", {SECURITY_PAGE, DELEGATIONS}),
        ("audit_admin", {AUDIT_PAGE}),
    ],
)
def test_each_role_reaches_its_own_area_only(client, role, opens):
    user = grant_admin_role(make_staff(f"{role}1"), role)
    reach = _reach(_client(client, user))
    assert {page for page, status in reach.items() if status == 200} == opens, reach
    assert all(status == 403 for page, status in reach.items() if page not in opens), reach


def test_the_superuser_flag_opens_nothing(client):
    root = make_staff("root")
    root.is_superuser = True
    root.save(update_fields=["is_superuser"])
    reach = _reach(_client(client, root))
    assert all(status == 403 for status in reach.values()), reach
    assert client.get("/admin/").status_code == 403


def test_the_superuser_flag_cannot_be_set_in_the_admin(client):
    security = grant_admin_role(make_staff("sec1"), "security_admin")
    clerk = make_staff("clerk9")
    page = _client(client, security).get(f"/admin/identity/user/{clerk.pk}/change/").content.decode()
    assert 'name="is_superuser"' not in page
