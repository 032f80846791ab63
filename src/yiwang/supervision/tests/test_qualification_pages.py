"""The bureau's page for its inspectors' 执法资格: the list (ending within 30 days marked), add,
edit and end (注销) with errors under the fields and the input kept, audited through the services;
another department's head and a citizen see nothing."""

import datetime

import pytest
from django.test import Client

from yiwang.core.models import AuditEvent
from yiwang.supervision.models import InspectorQualification
from yiwang.supervision.tests.factories import build

pytestmark = pytest.mark.django_db

LIST = "/workbench/supervision/inspectors/"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_bureau_keeps_its_inspectors_qualifications_on_the_workbench():
    w = build(n_entities=4)
    today = datetime.date.today()
    first = w.inspectors[0]
    soon = first.qualifications.get()
    soon.valid_to = today + datetime.timedelta(days=10)
    soon.save(update_fields=["valid_to"])
    head = _client(w.head)

    page = head.get(LIST)
    html = page.content.decode()
    assert page.status_code == 200
    assert all(i.certificate_number in html for i in w.inspectors if i.department_id == w.market.pk)
    assert f'data-qualification="{soon.pk}" data-status="expiring"' in html and "10 天后到期" in html
    assert 'data-expiring="1"' in html
    health_page = _client(w.health_head).get(LIST).content.decode()
    assert first.certificate_number not in health_page  # another department's inspectors are not listed
    assert _client(w.agent).get(LIST).status_code == 404

    # Add: every bad field named under itself, what was typed kept.
    new_url = f"/workbench/supervision/inspectors/{first.certificate_number}/qualifications/new/"
    bad = head.post(new_url, {"kind": "", "certificate_number": "", "issued_by": "苏州市司法局", "valid_from": "x"})
    html = bad.content.decode()
    assert bad.status_code == 422
    for field in ("kind", "certificate_number", "valid_from", "valid_to"):
        assert f'id="err_{field}"' in html, field
    assert 'value="苏州市司法局"' in html and 'id="err_issued_by"' not in html
    assert InspectorQualification.objects.filter(inspector=first).count() == 1
    done = head.post(
        new_url,
        {
            "kind": "comprehensive",
            "certificate_number": "ZH-2026-001",
            "issued_by": "苏州市司法局",
            "valid_from": "2026-01-01",
            "valid_to": "2029-12-31",
        },
    )
    assert done.status_code == 302
    added = InspectorQualification.objects.get(certificate_number="ZH-2026-001")
    assert added.inspector == first and added.kind == "comprehensive"
    assert AuditEvent.objects.filter(action="supervision.qualification_add", object_id=str(added.pk)).exists()
    taken = head.post(
        new_url,
        {
            "kind": "comprehensive",
            "certificate_number": "ZH-2026-001",
            "valid_from": "2026-01-01",
            "valid_to": "2027-01-01",
        },
    )
    assert taken.status_code == 422 and "该执法证件号已登记" in taken.content.decode()

    # Edit (换证: a later end date): a wrong date under its field, input kept; then saved and audited.
    edit_url = f"/workbench/supervision/qualifications/{soon.pk}/"
    form = head.get(edit_url).content.decode()
    assert f'value="{soon.certificate_number}"' in form and "注销执法资格" in form
    wrong = head.post(
        edit_url,
        {
            "kind": soon.kind,
            "certificate_number": soon.certificate_number,
            "issued_by": "改过的发证机关",
            "valid_from": str(soon.valid_from),
            "valid_to": "2000-01-01",
        },
    )
    html = wrong.content.decode()
    assert wrong.status_code == 422 and 'id="err_valid_to"' in html and "有效期至不能早于有效期自" in html
    assert 'value="改过的发证机关"' in html and 'value="2000-01-01"' in html
    renewed_to = today + datetime.timedelta(days=3 * 365)
    saved = head.post(
        edit_url,
        {
            "kind": soon.kind,
            "certificate_number": soon.certificate_number,
            "issued_by": soon.issued_by,
            "valid_from": str(soon.valid_from),
            "valid_to": str(renewed_to),
        },
    )
    assert saved.status_code == 302
    soon.refresh_from_db()
    assert soon.valid_to == renewed_to
    audit = AuditEvent.objects.get(action="supervision.qualification_update", object_id=str(soon.pk))
    assert audit.changes == {"valid_to": [str(today + datetime.timedelta(days=10)), str(renewed_to)]}
    assert audit.actor_id == w.head.pk
    assert f'data-qualification="{soon.pk}" data-status="valid"' in head.get(LIST).content.decode()

    # End (注销): a reason is required, shown under its field; then revoked, audited, no longer editable.
    end_url = f"/workbench/supervision/qualifications/{soon.pk}/end/"
    empty = head.post(end_url, {"reason": " "})
    assert empty.status_code == 422 and 'id="err_reason"' in empty.content.decode()
    soon.refresh_from_db()
    assert soon.revoked_at is None
    assert head.post(end_url, {"reason": "调离执法岗位"}).status_code == 302
    soon.refresh_from_db()
    assert soon.revoked_at is not None and not soon.valid_on(today)
    revoke = AuditEvent.objects.get(action="supervision.qualification_revoke", object_id=str(soon.pk))
    assert revoke.changes == {"reason": "调离执法岗位"}
    assert f'data-qualification="{soon.pk}" data-status="revoked"' in head.get(LIST).content.decode()
    again = head.post(
        edit_url,
        {
            "kind": soon.kind,
            "certificate_number": soon.certificate_number,
            "valid_from": "2026-01-01",
            "valid_to": "2030-01-01",
        },
    )
    assert again.status_code == 409 and "已注销" in again.content.decode()
    soon.refresh_from_db()
    assert soon.valid_to == renewed_to

    # Another department's head: the qualification is missing for him, and nothing changes.
    other = _client(w.health_head)
    assert other.get(edit_url).status_code == 404
    assert other.post(f"/workbench/supervision/qualifications/{added.pk}/end/", {"reason": "x"}).status_code == 404
    assert other.get(new_url).status_code == 404
    added.refresh_from_db()
    assert added.revoked_at is None
