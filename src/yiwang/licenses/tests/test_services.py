"""Issuance, signatures on every verification, tampering, revocation, expiry and key rotation."""

import datetime

import pytest

from yiwang.core import events
from yiwang.core.errors import Conflict, Forbidden, ValidationFailed
from yiwang.core.models import AuditEvent
from yiwang.licenses import keys
from yiwang.licenses.models import License, SealKey
from yiwang.licenses.selectors import license_verify, licenses_for_holder, valid_licenses_of_type
from yiwang.licenses.services import (
    license_reinstate,
    license_revoke,
    license_suspend,
    licenses_expire_due,
    seal_rotate_key,
    verify_url,
)
from yiwang.licenses.tests.factories import HOLDER_ID, MARKET_USCC, build_world, issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def test_issued_license_is_signed_and_verifies(world):
    lic = issue(world)
    assert lic.identifier.startswith(f"1.2.156.3005.2.GTGSHYYZZ.{MARKET_USCC}.00000001.1.")
    assert lic.seal_key.version == 1 and len(lic.signature) == 128
    result = license_verify(identifier=lic.identifier, token=keys.short_token(lic.signature))
    assert result.result == "valid" and result.signature_valid and result.token_matches
    shown = result.as_dict()["license"]
    assert shown["holder_name"] == "张*三"
    assert shown["holder_id"] == HOLDER_ID[:6] + "********" + HOLDER_ID[-4:]
    assert shown["issuer"] == "苏州市市场监督管理局" and shown["type_name"] == "营业执照"
    # The holder's ID is encrypted at rest and never in clear in the audit chain.
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT holder_id FROM licenses_license WHERE id = %s", [lic.pk])
        assert HOLDER_ID not in cur.fetchone()[0]
    event = AuditEvent.objects.get(action="licenses.issued")
    assert HOLDER_ID not in str(event.changes) and "张小三" not in str(event.changes)
    assert issue(world).identifier.split(".")[-3] == "00000002"
    assert lic.history.get().to_status == "valid"


def test_issuance_needs_the_role_and_valid_input(world):
    with pytest.raises(Forbidden):
        issue(world, actor=world.clerk)
    with pytest.raises(ValidationFailed) as exc:
        issue(world, holder_id="320505199003071235", holder_name=" ", data={"business_name": "x" * 61})
    fields = exc.value.fields
    assert "holder_id" in fields and "holder_name" in fields
    assert fields["data.business_name"] == ["「名称」过长"]
    assert fields["data.business_scope"] == ["请填写「经营范围」"]
    assert not License.objects.exists()


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("holder_name", "李四"),
        ("data", {"business_name": "别家面馆", "business_scope": "餐饮服务", "address": "枫桥路1号"}),
        ("valid_until", datetime.date(2099, 1, 1)),
        ("signature", "0" * 128),
    ],
)
def test_tampered_row_fails_verification_and_says_why(world, column, value):
    lic = issue(world)
    License.objects.filter(pk=lic.pk).update(**{column: value})
    result = license_verify(identifier=lic.identifier)
    assert result.result == "invalid_signature" and not result.signature_valid
    assert "篡改" in str(result.message)
    assert any("签名失败" in str(r) for r in result.reasons)


def test_qr_token_of_another_license_is_refused(world):
    first, second = issue(world), issue(world)
    result = license_verify(identifier=first.identifier, token=keys.short_token(second.signature))
    assert result.result == "invalid_signature" and result.token_matches is False


def test_verify_unknown_and_malformed(world):
    issue(world)
    from yiwang.core.codes import make_license_identifier

    missing = make_license_identifier(type_code="GTGSHYYZZ", issuer_uscc=MARKET_USCC, serial=999)
    assert license_verify(identifier=missing).result == "not_found"
    assert license_verify(identifier=missing[:-1] + ("0" if missing[-1] != "0" else "1")).result == "malformed"


def test_revoke_suspend_reinstate_with_history_and_audit(world):
    lic = issue(world)
    with pytest.raises(ValidationFailed):
        license_revoke(actor=world.reviewer, license=lic, reason="")
    # Longer than the column: a named error, not a database error on PostgreSQL (the fuzzer's 500).
    with pytest.raises(ValidationFailed) as exc:
        license_suspend(actor=world.reviewer, license=lic, reason="核" * 501)
    assert "500" in exc.value.fields["reason"][0]
    license_suspend(actor=world.reviewer, license=lic, reason="经营场所核查中")
    assert license_verify(identifier=lic.identifier).result == "suspended"
    license_reinstate(actor=world.reviewer, license=lic, reason="核查完毕")
    license_revoke(actor=world.reviewer, license=lic, reason="申请注销")
    result = license_verify(identifier=lic.identifier)
    assert result.result == "revoked" and result.signature_valid and "申请注销" in result.reasons
    assert [h.to_status for h in lic.history.all()] == ["valid", "suspended", "valid", "revoked"]
    with pytest.raises(Conflict):
        license_suspend(actor=world.reviewer, license=lic, reason="再次")
    assert AuditEvent.objects.filter(action__in=["licenses.suspended", "licenses.revoked"]).count() == 2


def test_expiry_by_date_and_by_the_daily_job(world):
    world.business_license.validity_years = 5
    world.business_license.save()
    lic = issue(world, issue_date=datetime.date(2020, 3, 1))
    assert lic.valid_until == datetime.date(2025, 2, 28)
    assert lic.status == "expired"  # already past at issuance (migrated paper license)
    fresh = issue(world)
    assert license_verify(identifier=fresh.identifier).result == "valid"
    later = fresh.valid_until + datetime.timedelta(days=1)
    assert license_verify(identifier=fresh.identifier, today=later).result == "expired"
    assert licenses_expire_due(today=later) == 1
    fresh.refresh_from_db()
    assert fresh.status == "expired" and fresh.history.last().to_status == "expired"


def test_key_rotation_keeps_old_licenses_verifiable(world):
    old = issue(world)
    seal = old.seal_key.seal
    new_key = seal_rotate_key(actor=world.tree.root, seal=seal)
    assert new_key.version == 2
    assert SealKey.objects.get(seal=seal, version=1).retired_at is not None
    new = issue(world)
    assert new.seal_key.version == 2
    assert license_verify(identifier=old.identifier).result == "valid"
    assert license_verify(identifier=new.identifier).result == "valid"
    # A license cannot be passed off under the other key version.
    License.objects.filter(pk=old.pk).update(seal_key=new_key)
    assert license_verify(identifier=old.identifier).result == "invalid_signature"
    with pytest.raises(Forbidden):
        seal_rotate_key(actor=world.reviewer, seal=seal)


def test_wallet_and_the_mian_ti_jiao_hook(world):
    lic = issue(world)
    assert list(licenses_for_holder(actor=world.citizen)) == [lic]
    assert list(licenses_for_holder(actor=world.clerk)) == []
    assert list(valid_licenses_of_type(license_type_code="business_license_individual", holder_id=HOLDER_ID)) == [lic]
    license_revoke(actor=world.reviewer, license=lic, reason="注销")
    assert not valid_licenses_of_type(license_type_code="business_license_individual", holder_id=HOLDER_ID).exists()
    assert verify_url(lic).startswith("http") and "/verify/" + lic.identifier + "?s=" in verify_url(lic)


def test_unreadable_holder_id_fails_verification_instead_of_crashing(world, settings):
    lic = issue(world)
    real_key = settings.DATA_KEY
    settings.DATA_KEY = "another-data-key"
    License.objects.filter(pk=lic.pk).update(holder_id_index="x")
    from django.db import connection

    from yiwang.core.crypto import encrypt_text

    foreign = encrypt_text(HOLDER_ID)  # well-formed ciphertext under another data key
    with connection.cursor() as cur:
        cur.execute("UPDATE licenses_license SET holder_id = %s WHERE id = %s", [foreign, lic.pk])
    settings.DATA_KEY = real_key
    result = license_verify(identifier=lic.identifier)
    assert result.result == "invalid_signature" and "解密" in " ".join(map(str, result.reasons))
    assert result.as_dict()["license"]["holder_id"] == ""


def test_admin_pages_show_masked_holder(client, world):
    lic = issue(world)
    from yiwang.identity import mfa
    from yiwang.identity.tests.auth_helpers import grant_admin_role

    client.force_login(grant_admin_role(world.tree.root))  # 三员分立: the system admin's area
    session = client.session
    session[mfa.SESSION_VERIFIED] = True  # as after a TOTP check (tested in identity)
    session.save()
    html = client.get(f"/admin/licenses/license/{lic.pk}/change/").content.decode()
    assert lic.identifier in html and HOLDER_ID not in html
    assert client.get("/admin/licenses/sealkey/").status_code == 200


RECEIVED: list[tuple[str, dict]] = []


@events.subscribe("license.issued")
@events.subscribe("license.suspended")
@events.subscribe("license.reinstated")
@events.subscribe("license.revoked")
@events.subscribe("license.expired")
def _record(event: events.DomainEvent) -> None:
    RECEIVED.append((event.name, event.payload))


def test_domain_events_follow_the_license(world, django_capture_on_commit_callbacks):
    RECEIVED.clear()
    with django_capture_on_commit_callbacks(execute=True):
        lic = issue(world)
    with django_capture_on_commit_callbacks(execute=True):
        license_suspend(actor=world.reviewer, license=lic, reason="核查")
    with django_capture_on_commit_callbacks(execute=True):
        license_reinstate(actor=world.reviewer, license=lic, reason="核查完毕")
    with django_capture_on_commit_callbacks(execute=True):
        license_revoke(actor=world.reviewer, license=lic, reason="注销")
    assert [name for name, _payload in RECEIVED] == [
        "license.issued",
        "license.suspended",
        "license.reinstated",
        "license.revoked",
    ]
    assert RECEIVED[0][1] == {"license_id": lic.pk, "license_type": "business_license_individual"}
