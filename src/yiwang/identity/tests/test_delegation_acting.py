"""授权代办 beyond submitting (issue #13): the agent answers a supplement request and withdraws a
case he applied for on the principal's behalf, marked "代办: agent 受 principal 委托" on the
timeline and ``on_behalf_of`` in the audit; past expiry, revoked, out of scope or another's → 404
(selectors and services). The agent is told when a delegation is given and when it is revoked.
An enterprise gives a delegation only when the 法人库 says it is active and the account's holder
is its registered legal representative."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from yiwang.cases import selectors as case_selectors
from yiwang.cases import services as case_services
from yiwang.cases.models import Case, CaseState, CaseStep, StepKind
from yiwang.cases.tests.factories import FORM, PDF, attach_required
from yiwang.core.errors import Conflict, NotFound, ValidationFailed
from yiwang.core.models import AuditEvent
from yiwang.identity import selectors, services
from yiwang.identity.models import Delegation
from yiwang.identity.services import api_token_create
from yiwang.identity.tests.legal_registry import register_legal_entity
from yiwang.identity.tests.test_delegation import ENTERPRISE_FORM, _as, _give, make_world
from yiwang.messaging.models import Message

pytestmark = pytest.mark.django_db

ASKED = [{"material": "营业执照", "problem": "复印件不清晰"}]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def world():
    return make_world()


def _submitted(world, delegation, item=None, form=None):
    item = item or world.legal_item
    case, _ = case_services.case_submit(
        actor=world.agent, item=item, form_data=form or ENTERPRISE_FORM, acting_for=delegation
    )
    return case


def _supplement_asked(world, case):
    case_services.case_request_supplement(actor=world.clerk, case_id=case.pk, items=ASKED)
    case.refresh_from_db()
    assert case.state == CaseState.SUPPLEMENT_REQUESTED
    return case


def _other_requirement(case):
    from yiwang.catalog import selectors as catalog_selectors

    return catalog_selectors.version_with_materials(version_id=case.item_version_id).materials.first()


def test_agent_answers_the_supplement_and_withdraws_marked_on_timeline_and_audit(world):
    delegation = _give(world, world.enterprise)
    case = _supplement_asked(world, _submitted(world, delegation))
    requirement = _other_requirement(case)
    upload = case_services.MaterialUpload(
        requirement_id=requirement.pk if requirement else None, filename="licence.pdf", content=PDF, name="营业执照"
    )
    answered = case_services.case_supplement_answer(
        actor=world.agent, case_id=case.pk, note="已重新扫描", acting_for=delegation, materials=[upload]
    )
    assert answered.state == CaseState.SUBMITTED and answered.applicant_id == world.enterprise.pk
    step = CaseStep.objects.get(case=case, kind=StepKind.SUPPLEMENT_ANSWERED)
    assert step.actor_id == world.agent.pk
    assert "代办" in step.note and "受 苏州示例有限公司 委托代为补正" in step.note and "已重新扫描" in step.note
    added = CaseStep.objects.filter(case=case, kind=StepKind.MATERIAL_ADDED).last()
    assert "委托代为补正" in added.note
    expected = {
        "kind": "delegation",
        "delegation": delegation.pk,
        "agent": world.agent.pk,
        "principal": world.enterprise.pk,
    }
    event = AuditEvent.objects.get(action="case.supplement_answer", object_id=str(case.pk))
    assert event.changes["on_behalf_of"] == expected and len(event.changes["materials"]) == 1
    assert case.materials.count() == 1
    # Answered online by the agent: no window visit in the service metrics (全程网办).
    (row,) = [r for r in case_selectors.case_metric_rows() if r["id"] == case.pk]
    assert row["supplement_by_staff"] is False

    withdrawn = case_services.case_withdraw(
        actor=world.agent, case_id=case.pk, reason="企业另行办理", acting_for=delegation
    )
    assert withdrawn.state == CaseState.WITHDRAWN
    step = CaseStep.objects.get(case=case, kind=StepKind.WITHDRAWN)
    assert "委托代为撤回申请" in step.note and "企业另行办理" in step.note
    event = AuditEvent.objects.get(action="case.withdraw", object_id=str(case.pk))
    assert event.changes["on_behalf_of"] == expected


def test_a_bad_file_hands_nothing_in(world):
    delegation = _give(world, world.enterprise)
    case = _supplement_asked(world, _submitted(world, delegation))
    bad = case_services.MaterialUpload(requirement_id=None, filename="x.exe", content=b"MZ\x90\x00", name="营业执照")
    with pytest.raises(ValidationFailed) as refused:
        case_services.case_supplement_answer(actor=world.agent, case_id=case.pk, acting_for=delegation, materials=[bad])
    assert "营业执照" in str(refused.value.fields)
    case.refresh_from_db()
    assert case.state == CaseState.SUPPLEMENT_REQUESTED and case.materials.count() == 0
    assert not CaseStep.objects.filter(case=case, kind=StepKind.SUPPLEMENT_ANSWERED).exists()


def test_refused_like_anyone_past_expiry_revoked_out_of_scope_or_another_s(world):
    delegation = _give(world, world.enterprise, item_codes=[world.legal_item.implementation_code])
    case = _supplement_asked(world, _submitted(world, delegation))
    # The principal's own case (not the agent's submission), in scope: followed, not acted on.
    own, _ = case_services.case_submit(
        actor=world.enterprise, item=world.legal_item, form_data=ENTERPRISE_FORM, idempotency_key="own"
    )
    assert case_selectors.case_get_for_delegation(delegation=delegation, case_id=own.pk) == own
    with pytest.raises(NotFound):
        case_selectors.case_get_for_delegation(delegation=delegation, case_id=own.pk, acting=True)
    with pytest.raises(NotFound):
        case_services.case_withdraw(actor=world.agent, case_id=own.pk, acting_for=delegation)
    # Someone else holding the delegation object.
    with pytest.raises(NotFound):
        case_services.case_withdraw(actor=world.other_citizen, case_id=case.pk, acting_for=delegation)
    # A delegation that no longer covers the item (another one of the same principal).
    narrow = _give(world, world.enterprise, item_codes=[world.market_item.implementation_code])
    with pytest.raises(NotFound):
        case_services.case_supplement_answer(actor=world.agent, case_id=case.pk, acting_for=narrow)
    # Past expiry: the service reads the delegation again, whatever object the caller holds.
    Delegation.objects.filter(pk=delegation.pk).update(valid_until=timezone.now() - datetime.timedelta(seconds=1))
    with pytest.raises(NotFound):
        selectors.delegation_for_agent(actor=world.agent, id=delegation.pk)
    with pytest.raises(NotFound):
        case_services.case_supplement_answer(actor=world.agent, case_id=case.pk, acting_for=delegation)
    Delegation.objects.filter(pk=delegation.pk).update(valid_until=timezone.now() + datetime.timedelta(days=5))
    services.delegation_revoke(actor=world.enterprise, delegation=delegation)
    with pytest.raises(NotFound):  # revoked
        case_services.case_withdraw(actor=world.agent, case_id=case.pk, acting_for=delegation)
    with pytest.raises(NotFound):
        case_services.case_material_add(
            actor=world.agent,
            case_id=case.pk,
            requirement_id=None,
            filename="a.pdf",
            content=PDF,
            acting_for=delegation,
        )
    case.refresh_from_db()
    assert case.state == CaseState.SUPPLEMENT_REQUESTED
    # Without a delegation the agent is nobody to the case.
    with pytest.raises(NotFound):
        case_services.case_withdraw(actor=world.agent, case_id=case.pk)


def test_pages_answer_and_withdraw_for_the_principal(world):
    delegation = _give(world, world.applicant, all_items=True, item_codes=[], relation="child")
    case = attach_required(_submitted(world, delegation, item=world.market_item, form=FORM))
    case_services.case_request_supplement(actor=world.clerk, case_id=case.pk, items=ASKED)
    client = _as(Client(), world.agent)
    page = client.get(f"/accounts/delegations/{delegation.pk}/cases/{case.pk}/").content.decode()
    assert "提交补正" in page and "撤回申请" in page
    bad = client.post(
        f"/accounts/delegations/{delegation.pk}/cases/{case.pk}/supplement/",
        {"note": "x", "material_other": _file("x.exe", b"MZ\x90\x00"), "material_other_name": "营业执照"},
    )
    assert bad.status_code == 422 and "营业执照" in bad.content.decode()
    done = client.post(
        f"/accounts/delegations/{delegation.pk}/cases/{case.pk}/supplement/",
        {"note": "补齐了", "material_other": _file("scan.pdf", PDF), "material_other_name": "营业执照"},
    )
    assert done.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED
    shown = client.get(done["Location"]).content.decode()
    assert "委托代为补正" in shown
    gone = client.post(f"/accounts/delegations/{delegation.pk}/cases/{case.pk}/withdraw/", {"reason": "不办了"})
    assert gone.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.WITHDRAWN
    # Another citizen, the principal herself and a stranger's id: 404.
    for user in (world.other_citizen, world.applicant):
        other = _as(Client(), user)
        assert other.post(f"/accounts/delegations/{delegation.pk}/cases/{case.pk}/withdraw/").status_code == 404
        assert other.post(f"/accounts/delegations/{delegation.pk}/cases/{case.pk}/supplement/").status_code == 404


def _file(name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def test_api_agent_uploads_answers_and_withdraws(world):
    delegation = _give(world, world.enterprise)
    case = _supplement_asked(world, _submitted(world, delegation))
    client = Client()
    _, raw = api_token_create(actor=world.agent, user=world.agent, name="t")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    base = f"/api/v1/delegations/{delegation.pk}/cases/{case.pk}"
    uploaded = client.post(f"{base}/materials", {"file": _file("scan.pdf", PDF), "name": "营业执照"}, **auth)
    assert uploaded.status_code == 201, uploaded.content
    event = AuditEvent.objects.filter(action="case.material_add", object_id=str(case.pk)).last()
    assert event.changes["on_behalf_of"]["agent"] == world.agent.pk
    answered = client.post(f"{base}/supplement/answer", {"note": "已补"}, content_type="application/json", **auth)
    assert answered.status_code == 200, answered.content
    assert answered.json()["state"] == CaseState.SUBMITTED
    assert any("委托代为补正" in step["note"] for step in answered.json()["timeline"])
    stale = client.post(f"{base}/withdraw", {"version": 1}, content_type="application/json", **auth)
    assert stale.status_code == 409 and stale.json()["code"] == "case_changed"
    withdrawn = client.post(f"{base}/withdraw", {"reason": "重报"}, content_type="application/json", **auth)
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == CaseState.WITHDRAWN
    _, stranger = api_token_create(actor=world.other_citizen, user=world.other_citizen, name="t")
    other = {"HTTP_AUTHORIZATION": f"Bearer {stranger}"}
    assert client.post(f"{base}/withdraw", {}, content_type="application/json", **other).status_code == 404
    refused = client.post(f"{base}/materials", {"file": _file("scan.pdf", PDF)}, **other)
    assert refused.status_code == 404 and refused.json()["code"] == "delegation_not_found"


def test_the_agent_is_told_when_given_and_when_revoked(world):
    delegation = _give(world, world.enterprise)
    given = Message.objects.filter(recipient=world.agent, template_code="identity.delegation_given")
    assert {m.channel for m in given} == {"in_app", "sms"}
    in_app = given.get(channel="in_app")
    assert "苏州示例有限公司" in in_app.body and "SZ-SJJ-0009" in in_app.body
    services.delegation_revoke(actor=world.enterprise, delegation=delegation)
    services.delegation_revoke(actor=world.enterprise, delegation=delegation)  # idempotent: told once
    revoked = Message.objects.filter(recipient=world.agent, template_code="identity.delegation_revoked")
    assert {m.channel for m in revoked} == {"in_app", "sms"} and revoked.count() == 2
    # A citizen principal is named masked; the agent renouncing is not told about himself.
    family = _give(world, world.applicant, all_items=True, item_codes=[], relation="child")
    body = Message.objects.get(
        recipient=world.agent, template_code="identity.delegation_given", channel="in_app", body__contains="全部事项"
    ).body
    assert "张三" not in body and "张*" in body
    services.delegation_revoke(actor=world.agent, delegation=family)
    assert Message.objects.filter(recipient=world.agent, template_code="identity.delegation_revoked").count() == 2


def test_enterprise_is_checked_against_the_legal_entity_registry(world):
    from yiwang.core.codes import make_uscc
    from yiwang.identity.tests.tree import make_staff
    from yiwang.registries.models import LegalEntity

    # Not registered at all.
    stranger = make_staff(
        "ent2",
        kind="enterprise_agent",
        real_name="钱老板",
        enterprise_uscc=make_uscc("91320505MA1XY8456"),
        enterprise_name="苏州未登记有限公司",
    )
    with pytest.raises(ValidationFailed) as refused:
        _give(world, stranger)
    assert refused.value.fields == {"enterprise_uscc": ["法人库中未找到该统一社会信用代码"]}
    # Registered, but someone else is the legal representative.
    register_legal_entity(
        root=world.tree.root, department=world.tree.city_market, enterprise=stranger, representative="孙某"
    )
    with pytest.raises(ValidationFailed) as refused:
        _give(world, stranger)
    assert refused.value.fields == {"legal_representative": ["您不是该企业登记的法定代表人"]}
    # The right name but another 身份证号 on the registry.
    LegalEntity.objects.filter(uscc=stranger.enterprise_uscc).update(
        legal_representative="钱老板", legal_representative_id_number="110105194912310029"
    )
    with pytest.raises(ValidationFailed) as refused:
        _give(world, stranger)
    assert "legal_representative" in refused.value.fields
    # Cancelled (注销).
    LegalEntity.objects.filter(uscc=stranger.enterprise_uscc).update(
        legal_representative_id_number="", status="cancelled"
    )
    with pytest.raises(ValidationFailed) as refused:
        _give(world, stranger)
    assert "注销" in refused.value.fields["enterprise_uscc"][0]
    assert not Delegation.objects.filter(principal=stranger).exists()
    # Every read is on the evidence log, as identity's.
    from yiwang.exchange.models import ExchangeLog

    assert ExchangeLog.objects.filter(consumer__startswith="identity:", registry="legal_entity").count() >= 4
    # The API answers 422 naming the field, in the user's language.
    _, raw = api_token_create(actor=stranger, user=stranger, name="t")
    answer = Client().post(
        "/api/v1/delegations",
        {
            "agent_id_number": world.agent.id_number,
            "agent_name": "赵代办",
            "relation": "employee",
            "all_items": True,
            "valid_until": (timezone.now() + datetime.timedelta(days=3)).isoformat(),
        },
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert answer.status_code == 422 and "enterprise_uscc" in answer.json()["fields"]


def test_enterprise_delegation_waits_when_the_registry_cannot_be_read(world):
    from yiwang.exchange.models import Grant

    Grant.objects.filter(consumer_app="identity").update(revoked_at=timezone.now())
    from yiwang.exchange import gateway

    gateway.invalidate()
    with pytest.raises(Conflict) as refused:
        _give(world, world.enterprise)
    assert refused.value.code == "registry_unavailable"
    assert not Case.objects.exists() and not Delegation.objects.exists()
