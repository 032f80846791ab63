"""三员分立: the exchange's evidence log opens in the admin to the audit admin alone — not to the
superuser flag, not to a model permission — and offers no way to change it."""

import pytest
from django.contrib.auth.models import Permission

from yiwang.exchange.evidence import Entry, log_append
from yiwang.identity import mfa
from yiwang.identity.models import Department, RoleGrant

pytestmark = pytest.mark.django_db


def _client(client, user):
    client.force_login(user)
    session = client.session
    session[mfa.SESSION_VERIFIED] = True  # admin roles require TOTP; as after a TOTP check
    session.save()
    return client


@pytest.fixture
def entries():
    log_append(
        [Entry("app", f"cases:user{i}", None, None, "办件表单预填", "population", fields=["name"]) for i in range(1, 4)]
    )


@pytest.fixture
def city():
    return Department.objects.create(name="示范市", code="city", level=2, kind="government", region_code="320500")


def test_the_audit_admin_reads_the_log_newest_first_and_cannot_change_it(client, django_user_model, city, entries):
    user = django_user_model.objects.create_user(username="audit1", password="x", is_staff=True, kind="staff")
    RoleGrant.objects.create(user=user, role="audit_admin", department=city)
    c = _client(client, user)
    page = c.get("/admin/exchange/exchangelog/")
    assert page.status_code == 200
    body = page.content.decode()
    assert body.index("cases:user3") < body.index("cases:user1")
    assert "/admin/exchange/exchangelog/add/" not in body
    assert c.get("/admin/exchange/exchangelog/add/").status_code == 403
    assert c.get("/admin/exchange/exchangelogseal/").status_code == 200


def test_neither_the_superuser_nor_a_model_permission_opens_it(client, django_user_model, entries):
    root = django_user_model.objects.create_superuser(username="root", password="x", kind="staff")
    assert _client(client, root).get("/admin/exchange/exchangelog/").status_code == 403
    assert "exchangelog" not in client.get("/admin/").content.decode()
    viewer = django_user_model.objects.create_user(username="viewer", password="x", is_staff=True, kind="staff")
    viewer.user_permissions.add(Permission.objects.get(codename="view_exchangelog"))
    assert _client(client, viewer).get("/admin/exchange/exchangelog/").status_code == 403


def test_an_audit_admin_of_a_closed_department_is_refused(client, django_user_model, city, entries):
    user = django_user_model.objects.create_user(username="audit2", password="x", is_staff=True, kind="staff")
    RoleGrant.objects.create(user=user, role="audit_admin", department=city)
    city.is_active = False
    city.save(update_fields=["is_active"])
    assert _client(client, user).get("/admin/exchange/exchangelog/").status_code == 403
