"""三员分立: the system admin, security admin and audit admin are three accounts, and only the
audit admin reads the audit trail — the superuser flag is no way around either rule."""

import pytest

from yiwang.core.errors import Conflict
from yiwang.core.models import AuditEvent
from yiwang.identity import mfa
from yiwang.identity.models import Department, Role
from yiwang.identity.services import department_create, role_grant_create
from yiwang.identity.tests.auth_helpers import make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    root = make_staff("root")
    root.is_superuser = True
    root.save(update_fields=["is_superuser"])
    city = department_create(
        actor=root,
        name="示范市人民政府",
        code="city",
        level=Department.Level.CITY,
        kind=Department.Kind.GOVERNMENT,
        region_code="320500",
    )
    county = department_create(
        actor=root,
        name="示范县人民政府",
        code="county",
        level=Department.Level.COUNTY,
        kind=Department.Kind.GOVERNMENT,
        region_code="320506",
        parent=city,
    )
    return root, city, county


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN),
        (Role.SECURITY_ADMIN, Role.AUDIT_ADMIN),
        (Role.AUDIT_ADMIN, Role.SYSTEM_ADMIN),
    ],
)
def test_no_account_combines_two_of_the_three(world, first, second):
    root, city, county = world
    person = make_staff("person")
    role_grant_create(actor=root, user=person, role=first, department=city)
    for department in (city, county):  # not in the same department, nor in another one
        with pytest.raises(Conflict) as excinfo:
            role_grant_create(actor=root, user=person, role=second, department=department)  # even by a superuser
        assert excinfo.value.code == "separation_of_duties"
    assert list(person.role_grants.values_list("role", flat=True)) == [first]
    # the same role in a second department, and ordinary roles, stay possible
    role_grant_create(actor=root, user=person, role=first, department=county)
    role_grant_create(actor=root, user=person, role=Role.REVIEWER, department=county)


def _admin_client(client, user):
    client.force_login(user)
    session = client.session
    session[mfa.SESSION_VERIFIED] = True
    session.save()
    return client


def test_only_the_audit_admin_reads_the_audit_trail(world, client):
    root, city, _county = world
    auditor = make_staff("auditadmin")
    role_grant_create(actor=root, user=auditor, role=Role.AUDIT_ADMIN, department=city)
    event = AuditEvent.objects.latest("sequence")
    url = f"/admin/core/auditevent/{event.pk}/change/"
    # the superuser (and the system admin) get no audit trail
    superuser_client = _admin_client(client, root)
    assert superuser_client.get("/admin/core/auditevent/").status_code == 403
    assert superuser_client.get(url).status_code in (302, 403)
    assert "auditevent" not in superuser_client.get("/admin/").content.decode()
    auditor.is_staff = True
    auditor.save(update_fields=["is_staff"])
    from django.test import Client

    audit_client = _admin_client(Client(), auditor)
    listing = audit_client.get("/admin/core/auditevent/")
    assert listing.status_code == 200 and event.action in listing.content.decode()
    assert audit_client.get(url).status_code == 200
