"""The admin: the system admin (三员分立) adds and removes 督查室 members and city leaders through the
audited services (never edits one); key tasks are read-only there."""

import pytest

from yiwang.core.models import AuditEvent
from yiwang.identity import mfa
from yiwang.identity.models import Role
from yiwang.identity.services import role_grant_create
from yiwang.identity.tests.tree import make_staff
from yiwang.oversight.models import Member
from yiwang.oversight.tests.factories import make_task


def _admin_client(client, user):
    client.force_login(user)
    session = client.session
    session[mfa.SESSION_VERIFIED] = True
    session.save()
    return client


@pytest.fixture
def admin_client(client, world):
    system_admin = make_staff("oversight_sysadmin")
    role_grant_create(actor=world.tree.root, user=system_admin, role=Role.SYSTEM_ADMIN, department=world.tree.city)
    return _admin_client(client, system_admin)


def test_the_superuser_flag_alone_does_not_open_the_admin(client, world):
    assert _admin_client(client, world.tree.root).get("/admin/oversight/member/add/").status_code == 403


def test_members_are_added_and_removed_through_the_audited_services(admin_client, world):
    user = world.loner
    added = admin_client.post("/admin/oversight/member/add/", {"user": user.pk, "role": "office"})
    assert added.status_code == 302
    member = Member.objects.get(user=user, role="office")
    assert AuditEvent.objects.filter(action="oversight.member_set", object_id=str(member.pk)).exists()
    # Not editable in place: the change page is read-only (POST refused).
    assert admin_client.post(f"/admin/oversight/member/{member.pk}/change/", {"role": "leader"}).status_code == 403
    removed = admin_client.post(f"/admin/oversight/member/{member.pk}/delete/", {"post": "yes"})
    assert removed.status_code == 302 and not Member.objects.filter(pk=member.pk).exists()
    event = AuditEvent.objects.get(action="oversight.member_remove")
    assert event.changes == {"user": user.pk, "role": "office"}
    # A citizen cannot be made a member: the form says why, nothing saved.
    refused = admin_client.post("/admin/oversight/member/add/", {"user": world.citizen.pk, "role": "leader"})
    assert refused.status_code == 200 and "只有工作人员可以成为督查人员" in refused.content.decode()
    assert not Member.objects.filter(user=world.citizen).exists()


def test_key_tasks_are_read_only_in_the_admin(admin_client, world):
    task = make_task(world)
    page = admin_client.get(f"/admin/oversight/keytask/{task.pk}/change/")
    assert page.status_code == 200 and task.number in page.content.decode()
    assert admin_client.get("/admin/oversight/keytask/add/").status_code == 403
    assert admin_client.post(f"/admin/oversight/keytask/{task.pk}/delete/", {"post": "yes"}).status_code == 403
