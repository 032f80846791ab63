"""免证可办, 减填 and 秒批 at submission (services.smart), through the real exchange and licenses."""

import datetime
import json

import pytest

from yiwang.cases import selectors, services
from yiwang.cases.models import CaseAutoCheck, CaseEvidence, CaseState, EvidenceStatus
from yiwang.cases.tests.factories import build_world, publish_item
from yiwang.core.codes import make_uscc
from yiwang.core.crypto import blind_index
from yiwang.core.errors import Conflict, NotFound
from yiwang.core.models import AuditEvent
from yiwang.exchange import gateway
from yiwang.exchange import services as exchange
from yiwang.exchange.models import ExchangeLog
from yiwang.identity.services import department_update
from yiwang.licenses.models import HolderKind, License
from yiwang.licenses.services import license_issue, license_revoke, license_type_create
from yiwang.registries.models import Person, RegistryField

pytestmark = pytest.mark.django_db

UNTIL = datetime.date.today() + datetime.timedelta(days=365)
FORM_SCHEMA = {
    "type": "object",
    "required": ["amount"],
    "properties": {
        "applicant_name": {"type": "string", "title": "申请人", "x-applicant": "name"},
        "home_address": {"type": "string", "title": "户籍地址", "x-prefill": "population.address"},
        "amount": {"type": "integer", "title": "申请金额"},
    },
}
TABLE = {
    "rules": [
        {"when": [{"fact": "form.amount", "op": ">", "value": 5000}], "outcome": "refuse", "reason": "超过补贴上限"},
        {
            "when": [
                {"fact": "applicant.age", "op": ">=", "value": 18},
                {"fact": "license.shop_license.valid", "op": "==", "value": True},
                {"fact": "form.home_address", "op": "exists"},
            ],
            "outcome": "approve",
            "reason": "符合条件,自动准予",
        },
    ],
    "default": {"outcome": "refer", "reason": "情形需人工判断"},
    "examples": [
        {"name": "超限", "facts": {"form.amount": 9000}, "expect": "refuse"},
        {
            "name": "合格",
            "facts": {"applicant.age": 40, "license.shop_license.valid": True, "form.home_address": "x"},
            "expect": "approve",
        },
        {"name": "无证", "facts": {"applicant.age": 40, "form.home_address": "x"}, "expect": "refer"},
    ],
}


@pytest.fixture
def world(db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    gateway.invalidate()
    w = build_world()
    root = w.tree.root
    department_update(actor=root, department=w.tree.city_market, uscc=make_uscc("11320500MB0123456"))
    w.tree.city_market.refresh_from_db()
    RegistryField.objects.filter(registry="population").update(source_department=w.tree.city_market)
    applicant = w.applicant
    Person.objects.create(
        id_number=applicant.id_number,
        id_number_index=blind_index(applicant.id_number),
        name=applicant.real_name,
        sex="male",
        birth_date=datetime.date(1985, 1, 2),
        region_code="320505",
        address="苏州市姑苏区人民路1号",
    )
    exchange.catalog_sync(actor=root)
    for registry, fields, unmasked in (
        ("population", ["name", "address", "birth_date"], ["address"]),
        ("license", ["license_type", "status", "valid_until", "holder_name", "data"], []),
    ):
        exchange.grant_for_app(
            actor=root,
            app="cases",
            department=w.tree.city_market,
            registry=registry,
            fields=fields,
            purpose="办件表单预填与免提交核验",
            legal_basis="《优化营商环境条例》第三十五条",
            valid_until=UNTIL,
            unmasked_fields=unmasked,
        )
    gateway.invalidate()
    w.shop_type = license_type_create(
        actor=root,
        code="shop_license",
        standard_code="SHOP",
        name="经营许可证",
        department=w.tree.city_market,
        holder_kind=HolderKind.PERSON,
        field_schema={"type": "object", "properties": {"shop": {"type": "string"}}},
        validity_years=None,
    )
    w.smart_item = publish_item(
        root,
        implementation_code="SZ-SJJ-0900",
        name="小店补贴申领",
        form_schema=FORM_SCHEMA,
        materials=[{"name": "经营许可证", "source": "license", "license_type_code": "shop_license"}],
        output={},
        decision_table=TABLE,
    )
    return w


def _issue(w, holder_id=None):
    return license_issue(
        actor=w.tree.root,
        license_type=w.shop_type,
        holder_kind=HolderKind.PERSON,
        holder_name=w.applicant.real_name,
        holder_id=holder_id or w.applicant.id_number,
        data={"shop": "张三小吃店"},
        issuer_department=w.tree.city_market,
    )


def _submit(w, amount=100, **extra):
    values, _sources = services.form_prefill(
        actor=w.applicant, applicant=w.applicant, version=w.smart_item.current_version
    )
    form = {**values, "amount": amount, **extra}
    return services.case_submit(actor=w.applicant, item=w.smart_item, form_data=form)[0]


def test_the_form_is_prefilled_from_identity_and_the_population_registry(world):
    values, sources = services.form_prefill(
        actor=world.applicant, applicant=world.applicant, version=world.smart_item.current_version
    )
    assert values == {"applicant_name": "张三", "home_address": "苏州市姑苏区人民路1号"}
    assert sources["home_address"] == "population.address" and sources["applicant_name"] == "identity"
    log = ExchangeLog.objects.order_by("-sequence").first()
    assert log.consumer_kind == "app" and log.outcome == "ok" and "办件表单预填" in log.purpose


def test_a_clean_applicant_with_a_valid_license_is_approved_within_the_request(world):
    lic = _issue(world)
    case = _submit(world)
    case.refresh_from_db()
    assert case.state == CaseState.APPROVED and case.decided_by is None and case.accepted_at is not None
    evidence = CaseEvidence.objects.get(case=case)
    assert evidence.status == EvidenceStatus.VERIFIED and evidence.license_identifier == lic.identifier
    snapshot = json.loads(evidence.snapshot)
    assert snapshot["license_id"] == lic.identifier and snapshot["signature_valid"] is True
    assert snapshot["fields"]["status"] == "valid" and "checked_at" in snapshot
    check = CaseAutoCheck.objects.get(case=case)
    assert check.applied and check.outcome == "approve" and check.row == 2
    audit = AuditEvent.objects.get(action="case.auto_decide", object_id=str(case.pk))
    assert audit.actor_repr == services.AUTO_DECISION_ACTOR
    assert audit.changes["table_version"] == world.smart_item.current_version.number
    assert audit.changes["facts"] == {
        "applicant.age": check_age(),
        "license.shop_license.valid": True,
        "form.home_address": "苏州市姑苏区人民路1号",
    }
    purposes = list(ExchangeLog.objects.filter(registry="license").values_list("purpose", flat=True))
    assert purposes and all("小店补贴申领" in p and "免提交核验" in p for p in purposes)
    kinds = [s.kind for s in case.steps.all()]
    assert kinds == ["submitted", "evidence_verified", "auto_checked", "accepted", "approved"]


def check_age() -> int:
    today = datetime.date.today()
    return today.year - 1985 - ((today.month, today.day) < (1, 2))


def test_a_revoked_license_is_named_and_the_case_goes_to_a_human(world):
    lic = _issue(world)
    license_revoke(actor=world.tree.root, license=lic, reason="依法吊销")
    case = _submit(world)
    evidence = CaseEvidence.objects.get(case=case)
    assert evidence.status == EvidenceStatus.REVOKED and "已注销" in evidence.note and evidence.snapshot == ""
    case.refresh_from_db()
    check = CaseAutoCheck.objects.get(case=case)
    assert case.state == CaseState.SUBMITTED and not check.applied and check.outcome == "refer"
    details = json.loads(check.details)
    assert {
        "row": 2,
        "fact": "license.shop_license.valid",
        "op": "==",
        "value": True,
        "actual": False,
        "held": False,
    } in (details["findings"])


def test_no_license_at_all_is_missing_and_the_applicant_may_upload(world):
    case = _submit(world)
    evidence = CaseEvidence.objects.get(case=case)
    assert evidence.status == EvidenceStatus.MISSING and "请上传" in evidence.note
    services.case_material_add(
        actor=world.applicant,
        case_id=case.pk,
        requirement_id=evidence.requirement_id,
        filename="scan.pdf",
        content=b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
    )
    assert selectors.case_materials(case=case).count() == 1


def test_a_changed_prefilled_value_is_marked_and_not_trusted(world):
    _issue(world)
    case = _submit(world, home_address="别处")
    check = CaseAutoCheck.objects.get(case=case)
    assert check.changed_fields == ["home_address"]
    assert not check.applied and "未经核验" in check.referral
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED


def test_an_automatic_refusal_may_go_to_a_human_once(world):
    case = _submit(world, amount=9000)
    case.refresh_from_db()
    assert case.state == CaseState.REJECTED and case.decision_reasons == "超过补贴上限"
    with pytest.raises(NotFound):  # someone else's case does not exist for him
        services.case_request_human_review(actor=world.other_citizen, case_id=case.pk)
    reviewed = services.case_request_human_review(actor=world.applicant, case_id=case.pk, reason="金额有误")
    assert reviewed.state == CaseState.UNDER_REVIEW and reviewed.decision == ""
    with pytest.raises(Conflict):
        services.case_request_human_review(actor=world.applicant, case_id=case.pk)


def test_the_applicant_may_choose_a_human_from_the_start(world):
    _issue(world)
    values, _s = services.form_prefill(
        actor=world.applicant, applicant=world.applicant, version=world.smart_item.current_version
    )
    case, _created = services.case_submit(
        actor=world.applicant, item=world.smart_item, form_data={**values, "amount": 1}, human_review=True
    )
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED
    assert "人工审核" in CaseAutoCheck.objects.get(case=case).referral


def test_approval_issues_the_output_license(world, django_capture_on_commit_callbacks):
    from yiwang.catalog.services import item_publish, item_save_draft
    from yiwang.catalog.tests.factories import item_data

    _issue(world)
    license_type_create(
        actor=world.tree.root,
        code="subsidy_notice",
        standard_code="BTTZ",
        name="补贴核定通知",
        department=world.tree.city_market,
        holder_kind=HolderKind.PERSON,
        field_schema={"type": "object", "properties": {"amount": {"type": "integer"}}},
        validity_years=None,
    )
    item_save_draft(
        actor=world.tree.root,
        data=item_data(
            implementation_code="SZ-SJJ-0900",
            name="小店补贴申领",
            form_schema=FORM_SCHEMA,
            materials=[{"name": "经营许可证", "source": "license", "license_type_code": "shop_license"}],
            output={"license_type_code": "subsidy_notice", "description": "补贴核定通知"},
            decision_table=TABLE,
        ),
    )
    item_publish(actor=world.tree.root, item=world.smart_item)
    world.smart_item.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        case = _submit(world, amount=300)
    issued = License.objects.get(source_case_id=case.pk)
    assert issued.data == {"amount": 300} and issued.holder_id_index == blind_index(world.applicant.id_number)


def test_pages_show_the_prefill_the_free_materials_and_the_findings(world, client):
    _issue(world)
    client.force_login(world.applicant)
    page = client.get(f"/cases/apply/{world.smart_item.implementation_code}/").content.decode()
    assert 'id="prefilled"' in page and "户籍地址" in page and "苏州市姑苏区人民路1号" in page
    assert 'name="human_review"' in page
    case = _submit(world, home_address="别处")
    mine = client.get(f"/cases/{case.pk}/").content.decode()
    assert "免提交" in mine and "签名验证通过" in mine and "转人工审查" in mine
    assert "决策表核验明细" not in mine  # the findings are for the reviewer
    client.force_login(world.reviewer)
    staff = client.get(f"/workbench/cases/{case.pk}/").content.decode()
    assert 'id="prefill-changed"' in staff and "home_address" in staff and "决策表核验明细" in staff


def test_the_applicant_asks_for_a_human_review_on_the_page(world, client):
    case = _submit(world, amount=9000)
    client.force_login(world.other_citizen)
    assert client.post(f"/cases/{case.pk}/human-review/", {"reason": "x"}).status_code == 404
    client.force_login(world.applicant)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert 'id="human-review"' in page
    response = client.post(f"/cases/{case.pk}/human-review/", {"reason": "金额填错"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.UNDER_REVIEW


def test_the_applicant_asks_for_a_human_review_by_api(world, client):
    """POST /api/v1/cases/{id}/human-review: the applicant's 人工复核 of a 秒批 refusal, beside the page."""
    case = _submit(world, amount=9000)
    url = f"/api/v1/cases/{case.pk}/human-review"
    from yiwang.identity.services import api_token_create

    def bearer(user):
        return {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(actor=user, user=user, name='t')[1]}"}

    stranger, own = bearer(world.other_citizen), bearer(world.applicant)
    assert client.post(url, {"reason": "x"}, content_type="application/json", **stranger).status_code == 404
    answer = client.post(url, {"reason": "金额填错"}, content_type="application/json", **own)
    assert answer.status_code == 200, answer.content
    assert answer.json()["state"] == CaseState.UNDER_REVIEW
    check = CaseAutoCheck.objects.get(case=case)
    assert check.review_reason == "金额填错" and check.review_requested_at is not None
    again = client.post(url, {}, content_type="application/json", **own)
    assert again.status_code == 409  # under review now: no automatic refusal to review again
    # A case no table refused cannot be sent back to review this way.
    other = _submit(world, home_address="别处")
    refused = client.post(f"/api/v1/cases/{other.pk}/human-review", {}, content_type="application/json", **own)
    assert refused.status_code == 409 and refused.json()["code"] == "not_auto_refused"


def test_an_automatic_approval_tells_the_applicant_once(world, django_capture_on_commit_callbacks):
    """Accepted and approved in one transaction: the 受理 notice is stale by the time its event is
    delivered, and the approval's own message tells the applicant (one message, not two)."""
    from yiwang.messaging.models import Message

    _issue(world)
    with django_capture_on_commit_callbacks(execute=True):
        case = _submit(world)
    case.refresh_from_db()
    assert case.state == CaseState.APPROVED
    codes = list(
        Message.objects.filter(recipient=world.applicant, channel="in_app").values_list("template_code", flat=True)
    )
    assert "case.approved" in codes and "case.accepted" not in codes
