"""授权代办 and 帮办代办 (issue #13): an enterprise's account (its legal representative) or a
citizen authorizes an agent for some items from/to; the agent applies for the principal and
follows those cases, every action marked "agent for principal"; revoked, expired or outside
scope, the agent is refused like anyone (404). A window clerk fills in for a citizen on the
citizen's own account only with the citizen's consent code (digest only, limited tries, expiry)."""

import datetime
import re

import pytest
from django.test import Client
from django.utils import timezone

from yiwang.cases.forms import PREFIX
from yiwang.cases.models import Case, CaseStep, StepKind
from yiwang.cases.tests.factories import FORM, build_world, make_citizen, publish_item
from yiwang.core.codes import make_uscc
from yiwang.core.errors import NotFound, ValidationFailed
from yiwang.core.models import AuditEvent
from yiwang.identity import mfa, selectors, services
from yiwang.identity.models import AssistConsent, Delegation
from yiwang.identity.services import api_token_create
from yiwang.identity.tests.legal_registry import register_legal_entity
from yiwang.identity.tests.tree import make_staff

pytestmark = pytest.mark.django_db

ENTERPRISE_FORM = {"business_name": "苏州示例有限公司分店"}


@pytest.fixture(autouse=True)
def _fast_hashing(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def world():
    return make_world()


def make_world():
    """The cases' test world, plus an enterprise account on the 法人库, an item for legal persons
    and an agent (a citizen account)."""
    w = build_world()
    w.enterprise = make_staff(
        "ent",
        kind="enterprise_agent",
        real_name="王法人",
        enterprise_uscc=make_uscc("91320505MA1XY8123"),
        enterprise_name="苏州示例有限公司",
    )
    w.legal_item = publish_item(
        w.tree.root,
        implementation_code="SZ-SJJ-0009",
        name="企业变更登记",
        aliases=[],
        keywords=[],
        targets=["legal_person"],
    )
    w.agent = make_citizen("agent", "赵代办", 31)
    # The enterprise on the 法人库, its account's holder the registered legal representative.
    register_legal_entity(root=w.tree.root, department=w.tree.city_market, enterprise=w.enterprise)
    return w


def _until(days=30):
    return timezone.now() + datetime.timedelta(days=days)


def _give(world, principal, **extra):
    data = {
        "agent_id_number": world.agent.id_number,
        "agent_name": "赵代办",
        "relation": "employee" if principal.kind == "enterprise_agent" else "child",
        "item_codes": [world.legal_item.implementation_code],
        "valid_until": _until(),
    }
    data.update(extra)
    return services.delegation_create(actor=principal, **data)


def test_enterprise_agent_applies_for_the_enterprise_marked_on_case_and_audit(world):
    delegation = _give(world, world.enterprise)
    assert delegation.kind == Delegation.Kind.ENTERPRISE
    live = selectors.delegation_for_agent(actor=world.agent, id=delegation.pk, item_code="SZ-SJJ-0009")
    from yiwang.cases.services import case_submit

    case, created = case_submit(actor=world.agent, item=world.legal_item, form_data=ENTERPRISE_FORM, acting_for=live)
    assert created
    assert case.applicant_id == world.enterprise.pk  # the enterprise's case
    assert case.applicant_name == "苏州示例有限公司"
    step = CaseStep.objects.get(case=case, kind=StepKind.SUBMITTED)
    assert step.actor_id == world.agent.pk and "代办" in step.note and "苏州示例有限公司" in step.note
    event = AuditEvent.objects.get(action="case.submit", object_id=str(case.pk))
    assert event.changes["on_behalf_of"] == {
        "kind": "delegation",
        "delegation": delegation.pk,
        "agent": world.agent.pk,
        "principal": world.enterprise.pk,
    }
    assert AuditEvent.objects.filter(action="delegation.create", object_id=str(delegation.pk)).exists()
    # The agent follows it through the delegation; the enterprise sees its own case as ever.
    from yiwang.cases import selectors as case_selectors

    assert list(case_selectors.cases_for_delegation(delegation=live)) == [case]
    assert case_selectors.case_get(actor=world.enterprise, case_id=case.pk) == case
    with pytest.raises(NotFound):  # not through the agent's own account
        case_selectors.case_get(actor=world.agent, case_id=case.pk)


def test_out_of_scope_expired_or_revoked_is_refused_like_anyone(world):
    from yiwang.cases.services import case_submit

    delegation = _give(world, world.enterprise)
    with pytest.raises(NotFound):  # an item it does not cover
        selectors.delegation_for_agent(
            actor=world.agent, id=delegation.pk, item_code=world.market_item.implementation_code
        )
    with pytest.raises(NotFound):  # the service checks again, whatever the caller passed
        case_submit(actor=world.agent, item=world.market_item, form_data=FORM, acting_for=delegation)
    with pytest.raises(NotFound):  # someone else holding the id
        selectors.delegation_for_agent(actor=world.other_citizen, id=delegation.pk)
    with pytest.raises(NotFound):
        case_submit(actor=world.other_citizen, item=world.legal_item, form_data=ENTERPRISE_FORM, acting_for=delegation)
    Delegation.objects.filter(pk=delegation.pk).update(valid_until=timezone.now() - datetime.timedelta(seconds=1))
    with pytest.raises(NotFound):  # past expiry
        selectors.delegation_for_agent(actor=world.agent, id=delegation.pk)
    delegation.refresh_from_db()
    with pytest.raises(NotFound):
        case_submit(actor=world.agent, item=world.legal_item, form_data=ENTERPRISE_FORM, acting_for=delegation)
    second = _give(world, world.enterprise)
    services.delegation_revoke(actor=world.enterprise, delegation=second)
    with pytest.raises(NotFound):  # revoked
        selectors.delegation_for_agent(actor=world.agent, id=second.pk)
    assert AuditEvent.objects.filter(action="delegation.revoke", object_id=str(second.pk)).exists()
    assert not Case.objects.filter(applicant=world.enterprise).exists()
    with pytest.raises(NotFound):  # a stranger cannot revoke (nor learn it exists)
        services.delegation_revoke(actor=world.other_citizen, delegation=delegation)


def test_family_delegation_all_items_and_bad_input_named(world):
    delegation = _give(world, world.applicant, all_items=True, item_codes=[])
    assert delegation.kind == Delegation.Kind.FAMILY and delegation.all_items
    from yiwang.cases.services import case_submit

    case, _ = case_submit(actor=world.agent, item=world.market_item, form_data=FORM, acting_for=delegation)
    assert case.applicant_id == world.applicant.pk
    with pytest.raises(ValidationFailed) as exc:
        _give(world, world.applicant, agent_name="别人", relation="employee", item_codes=["NOPE"])
    assert set(exc.value.fields) == {"agent_id_number", "relation", "item_codes"}
    with pytest.raises(ValidationFailed) as exc:
        _give(world, world.applicant, valid_until=_until(days=400))
    assert "valid_until" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        _give(world, world.agent, agent_name="赵代办")  # to oneself
    assert "agent_id_number" in exc.value.fields


def test_api_agent_applies_and_sees_scope_only(world):
    delegation = _give(world, world.enterprise)
    client = Client()
    _, raw = api_token_create(actor=world.agent, user=world.agent, name="t")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    held = client.get("/api/v1/delegations/held", **auth).json()
    assert [d["id"] for d in held] == [delegation.pk] and held[0]["live"]
    assert held[0]["principal_name"] == "苏州示例有限公司"
    answer = client.post(
        f"/api/v1/delegations/{delegation.pk}/cases",
        {"item": "SZ-SJJ-0009", "form_data": ENTERPRISE_FORM},
        content_type="application/json",
        **auth,
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert any("代办" in step["note"] for step in body["timeline"])
    listed = client.get(f"/api/v1/delegations/{delegation.pk}/cases", **auth).json()
    assert [c["id"] for c in listed] == [body["id"]]
    assert client.get(f"/api/v1/delegations/{delegation.pk}/cases/{body['id']}", **auth).status_code == 200
    outside = client.post(
        f"/api/v1/delegations/{delegation.pk}/cases",
        {"item": world.market_item.implementation_code, "form_data": FORM},
        content_type="application/json",
        **auth,
    )
    assert outside.status_code == 404
    _, stranger = api_token_create(actor=world.other_citizen, user=world.other_citizen, name="t")
    other = {"HTTP_AUTHORIZATION": f"Bearer {stranger}"}
    assert client.get(f"/api/v1/delegations/{delegation.pk}", **other).status_code == 404
    assert client.get(f"/api/v1/delegations/{delegation.pk}/cases/{body['id']}", **other).status_code == 404
    _, boss = api_token_create(actor=world.enterprise, user=world.enterprise, name="t")
    revoked = client.post(f"/api/v1/delegations/{delegation.pk}/revoke", HTTP_AUTHORIZATION=f"Bearer {boss}").json()
    assert revoked["revoked_at"] and not revoked["live"]
    assert client.get(f"/api/v1/delegations/{delegation.pk}/cases/{body['id']}", **auth).status_code == 404


def test_assist_consent_code_digest_tries_and_expiry(world):
    consent = services.assist_request(actor=world.clerk, id_number=world.applicant.id_number, name="张三")
    with pytest.raises(NotFound):  # the clerk cannot issue the citizen's code
        services.assist_code_issue(actor=world.clerk, consent=consent)
    code = services.assist_code_issue(actor=world.applicant, consent=consent)
    consent.refresh_from_db()
    assert len(code) == 6 and code not in consent.code_digest and consent.code_digest
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(ValidationFailed):
        services.assist_verify(actor=world.clerk, consent=consent, code=wrong)
    consent.refresh_from_db()
    assert consent.failed_tries == 1 and consent.confirmed_at is None
    with pytest.raises(NotFound):  # another clerk
        services.assist_verify(actor=world.reviewer, consent=consent, code=code)
    services.assist_verify(actor=world.clerk, consent=consent, code=code)
    consent.refresh_from_db()
    assert consent.confirmed_at and consent.act_until and not consent.code_digest
    from yiwang.cases.services import case_submit

    case, _ = case_submit(actor=world.clerk, item=world.market_item, form_data=FORM, acting_for=consent)
    assert case.applicant_id == world.applicant.pk and case.channel == "online"
    step = CaseStep.objects.get(case=case, kind=StepKind.SUBMITTED)
    assert "帮办" in step.note and step.actor_id == world.clerk.pk
    with pytest.raises(NotFound):  # another clerk cannot use it
        case_submit(actor=world.reviewer, item=world.market_item, form_data=FORM, acting_for=consent)

    # Five wrong codes void the request; an expired code too.
    second = services.assist_request(actor=world.clerk, id_number=world.applicant.id_number, name="张三")
    good = services.assist_code_issue(actor=world.applicant, consent=second)
    bad = "000000" if good != "000000" else "111111"
    for _ in range(services.ASSIST_CODE_TRIES):
        with pytest.raises(ValidationFailed):
            services.assist_verify(actor=world.clerk, consent=second, code=bad)
    second.refresh_from_db()
    assert second.closed_at is not None
    from yiwang.core.errors import Conflict

    with pytest.raises(Conflict):
        services.assist_verify(actor=world.clerk, consent=second, code=good)
    third = services.assist_request(actor=world.clerk, id_number=world.applicant.id_number, name="张三")
    good = services.assist_code_issue(actor=world.applicant, consent=third)
    AssistConsent.objects.filter(pk=third.pk).update(code_expires_at=timezone.now() - datetime.timedelta(seconds=1))
    third.refresh_from_db()
    with pytest.raises(ValidationFailed) as exc:
        services.assist_verify(actor=world.clerk, consent=third, code=good)
    assert "过期" in exc.value.fields["code"][0]
    with pytest.raises(NotFound):  # unconfirmed: no acting
        case_submit(actor=world.clerk, item=world.market_item, form_data=FORM, acting_for=third)


def test_only_a_window_clerk_asks_and_only_for_a_matching_citizen(world):
    from yiwang.core.errors import Forbidden

    with pytest.raises(Forbidden):
        services.assist_request(actor=world.reviewer, id_number=world.applicant.id_number, name="张三")
    with pytest.raises(ValidationFailed) as exc:
        services.assist_request(actor=world.clerk, id_number=world.applicant.id_number, name="李四")
    assert "id_number" in exc.value.fields


# --- the pages ---------------------------------------------------------------------------------


def _as(client, user):
    client.force_login(user)
    session = client.session
    session[mfa.SESSION_VERIFIED] = True
    session.save()
    return client


def test_principal_gives_agent_applies_principal_revokes(client, world):
    _as(client, world.enterprise)
    until = (timezone.localdate() + timezone.timedelta(days=30)).isoformat()
    bad = client.post(
        "/accounts/delegations/",
        {
            "agent_name": "别人",
            "agent_id_number": world.agent.id_number,
            "relation": "employee",
            "item_codes": "SZ-SJJ-0009",
            "valid_until": until,
        },
    )
    assert bad.status_code == 422 and "未找到姓名与身份证号一致的个人用户" in bad.content.decode()
    made = client.post(
        "/accounts/delegations/",
        {
            "agent_name": "赵代办",
            "agent_id_number": world.agent.id_number,
            "relation": "employee",
            "item_codes": "SZ-SJJ-0009",
            "valid_until": until,
        },
    )
    assert made.status_code == 302
    delegation = Delegation.objects.get(principal=world.enterprise)

    _as(client, world.agent)
    mine = client.get("/accounts/delegations/").content.decode()
    assert f"/accounts/delegations/{delegation.pk}/" in mine and "苏州示例有限公司" in mine
    page = client.get(f"/cases/apply/SZ-SJJ-0009/?for={delegation.pk}").content.decode()
    assert 'id="acting-for"' in page and "苏州示例有限公司" in page
    fields = {f"{PREFIX}{k}": v for k, v in ENTERPRISE_FORM.items()}
    sent = client.post(f"/cases/apply/SZ-SJJ-0009/?for={delegation.pk}", {"idempotency_key": "k1", **fields})
    assert sent.status_code == 302, sent.content.decode()[:2000]
    case = Case.objects.get(applicant=world.enterprise)
    assert sent["Location"] == f"/accounts/delegations/{delegation.pk}/cases/{case.pk}/"
    shown = client.get(sent["Location"]).content.decode()
    assert "代办" in shown and case.number in shown
    assert client.get(f"/cases/apply/{world.market_item.implementation_code}/?for={delegation.pk}").status_code == 404

    _as(client, world.enterprise)
    assert client.post(f"/accounts/delegations/{delegation.pk}/revoke/").status_code == 302
    _as(client, world.agent)
    assert client.get(f"/accounts/delegations/{delegation.pk}/").status_code == 404
    assert client.get(f"/accounts/delegations/{delegation.pk}/cases/{case.pk}/").status_code == 404
    assert client.get(f"/cases/apply/SZ-SJJ-0009/?for={delegation.pk}").status_code == 404


def test_window_assistance_with_the_code_shown_on_the_phone(client, world):
    _as(client, world.clerk)
    asked = client.post(
        "/workbench/identity/assist/", {"action": "request", "name": "张三", "id_number": world.applicant.id_number}
    )
    assert asked.status_code == 302
    consent = AssistConsent.objects.get(citizen=world.applicant)

    _as(client, world.applicant)
    phone = client.post("/accounts/assist/", {"consent": consent.pk, "action": "agree"}).content.decode()
    code = re.search(r"<strong[^>]*>(\d{6})</strong>", phone).group(1)
    assert code not in AssistConsent.objects.get(pk=consent.pk).code_digest

    _as(client, world.reviewer)  # not a window clerk: no such page
    assert client.get("/workbench/identity/assist/").status_code == 404
    _as(client, world.clerk)
    client.post("/workbench/identity/assist/", {"action": "verify", "consent": consent.pk, "code": code})
    assert AssistConsent.objects.get(pk=consent.pk).confirmed_at is not None
    go = client.post(
        "/workbench/identity/assist/",
        {"action": "apply", "consent": consent.pk, "item": world.market_item.implementation_code},
    )
    assert go["Location"] == f"/cases/apply/{world.market_item.implementation_code}/?assist={consent.pk}"
    fields = {f"{PREFIX}business_name": "张三小吃店"}
    sent = client.post(go["Location"], {"idempotency_key": "k2", **fields})
    assert sent.status_code == 302
    case = Case.objects.get(applicant=world.applicant)
    assert "窗口帮办" in CaseStep.objects.get(case=case, kind=StepKind.SUBMITTED).note
