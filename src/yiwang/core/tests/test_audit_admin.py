"""The admin shows the audit chain to an auditor and offers no way to change it."""

import pytest
from django.contrib.auth.models import Permission

from yiwang.core.audit import audit_record, verify_chain
from yiwang.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor_client(client, django_user_model):
    from yiwang.identity import mfa
    from yiwang.identity.models import Department, RoleGrant

    user = django_user_model.objects.create_user(username="auditor1", password="x", is_staff=True, kind="staff")
    user.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    # 三员分立: the audit trail is the audit admin's (a role grant), not a model permission's
    city = Department.objects.create(name="示范市", code="city", level=2, kind="government", region_code="320500")
    RoleGrant.objects.create(user=user, role="audit_admin", department=city)
    client.force_login(user)
    session = client.session
    session[mfa.SESSION_VERIFIED] = True  # the role requires TOTP; as after a TOTP check
    session.save()
    return client


def test_a_model_permission_alone_does_not_open_the_trail(client, django_user_model, events):
    user = django_user_model.objects.create_user(username="viewer", password="x", is_staff=True, kind="staff")
    user.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    client.force_login(user)
    assert client.get("/admin/core/auditevent/").status_code == 403


@pytest.fixture
def events():
    return [
        audit_record(actor="task:test", action=f"case.step{i}", object_type="cases.case", object_id=str(i))
        for i in range(1, 4)
    ]


def test_auditor_sees_events_newest_first(auditor_client, events):
    response = auditor_client.get("/admin/core/auditevent/")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.index("case.step3") < body.index("case.step1")
    assert "/admin/core/auditevent/add/" not in body


def test_search_by_action_and_by_sequence(auditor_client, events):
    body = auditor_client.get("/admin/core/auditevent/", {"q": "step2"}).content.decode()
    assert "case.step2" in body and "case.step3" not in body
    response = auditor_client.get("/admin/core/auditevent/", {"q": "3"})
    assert response.status_code == 200 and "case.step3" in response.content.decode()


def test_event_page_is_read_only(auditor_client, events):
    url = f"/admin/core/auditevent/{events[1].pk}/change/"
    response = auditor_client.get(url)
    assert response.status_code == 200
    assert events[1].hash in response.content.decode()
    response = auditor_client.post(url, {"action": "case.approve"})
    assert response.status_code == 403
    response = auditor_client.post(f"/admin/core/auditevent/{events[1].pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert AuditEvent.objects.get(pk=events[1].pk).action == "case.step2"
    assert verify_chain() is None
