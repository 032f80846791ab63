"""The inspector pool of a draw: only inspectors qualified (执法资格 of the item's kind, valid on the
day) are drawn; 回避 of relatives found through the 人口库's households, read through the exchange
(on its evidence log); and errors that say why a pool is too small."""

import datetime
import json

import pytest

from yiwang.core.crypto import blind_index
from yiwang.core.errors import Forbidden, ValidationFailed
from yiwang.core.models import AuditEvent
from yiwang.exchange import gateway
from yiwang.exchange.evidence import verify_log
from yiwang.exchange.models import ExchangeLog
from yiwang.registries import services as registry_services
from yiwang.registries.tests.factories import person_row
from yiwang.supervision import drawing, services
from yiwang.supervision.models import DrawPlan, InspectorQualification
from yiwang.supervision.tests.factories import build, household, inspector_id, rep_id

pytestmark = pytest.mark.django_db


def _publish(w, **extra):
    args = {
        "actor": w.head,
        "code": "2026Q4-Q",
        "title": "资格与回避",
        "lead_department": w.market,
        "items": [w.item],
        "ratios_bp": {"A": 10000, "B": 10000, "C": 10000, "D": 10000},
    }
    args.update(extra)
    return services.plan_publish(**args)


def _pool(plan) -> set[str]:
    return set(json.loads(plan.plan_document)["inspectors"][plan.lead_department.code])


def test_only_inspectors_qualified_for_the_item_and_valid_on_the_day_are_in_the_pool():
    w = build(n_entities=6)
    expired, other_kind, revoked = w.inspectors[0], w.inspectors[1], w.inspectors[2]
    expired.qualifications.update(valid_to=datetime.date(2025, 12, 31))
    other_kind.qualifications.update(kind="transport")
    row = revoked.qualifications.get()
    services.qualification_revoke(actor=w.head, qualification_id=row.pk, reason="暂扣执法证")
    plan, _seed = _publish(w, today=datetime.date(2026, 12, 1))
    pool = _pool(plan)
    assert {drawing.inspector_hash(i.certificate_number) for i in w.inspectors[3:]} == pool
    document = json.loads(plan.plan_document)
    assert document["qualifications"] == {w.market.code: ["market"]}
    assert document["qualified_on"] == "2026-12-01"
    # A day when the expired one was still valid: he is back.
    plan2, _seed = _publish(w, code="2026Q4-Q2", today=datetime.date(2025, 6, 1))
    assert drawing.inspector_hash(expired.certificate_number) in _pool(plan2)


def test_a_pool_too_small_says_why_per_department():
    w = build(n_entities=6)
    w.inspectors[0].qualifications.update(valid_to=datetime.date(2025, 12, 31))
    w.inspectors[1].qualifications.update(kind="transport")
    with pytest.raises(ValidationFailed) as exc:
        _publish(w, team={w.market.code: 5}, today=datetime.date(2026, 12, 1))
    assert exc.value.code == "supervision_inspector_pool_too_small"
    (message,) = exc.value.fields[f"inspectors.{w.market.code}"]
    assert "在册检查人员 6 名" in message
    assert "无“市场监管行政执法”执法资格 1 名" in message
    assert "执法资格不在有效期内或已注销 1 名" in message
    assert "可抽 4 名,少于每户所需 5 名" in message
    assert not DrawPlan.objects.exists()


def test_qualifications_are_validated_audited_and_only_the_department_registers_them():
    w = build(n_entities=4)
    inspector = w.inspectors[0]
    with pytest.raises(ValidationFailed) as exc:
        services.qualification_add(
            actor=w.head,
            inspector=inspector,
            kind="police",
            certificate_number="",
            valid_from="2026-01-01",
            valid_to="2025-01-01",
        )
    assert set(exc.value.fields) == {"kind", "certificate_number", "valid_to"}
    with pytest.raises(Forbidden):
        services.qualification_add(
            actor=w.health_head,
            inspector=inspector,
            kind="market",
            certificate_number="X1",
            valid_from="2026-01-01",
            valid_to="2027-01-01",
        )
    row = services.qualification_add(
        actor=w.head,
        inspector=inspector,
        kind="comprehensive",
        certificate_number="ZH0001",
        valid_from=datetime.date(2026, 1, 1),
        valid_to=datetime.date(2028, 1, 1),
        issued_by="苏州市司法局",
    )
    assert row.valid_on(datetime.date(2027, 5, 1)) and not row.valid_on(datetime.date(2028, 1, 2))
    with pytest.raises(ValidationFailed) as exc:
        services.qualification_add(
            actor=w.head,
            inspector=w.inspectors[1],
            kind="comprehensive",
            certificate_number="ZH0001",
            valid_from="2026-01-01",
            valid_to="2027-01-01",
        )
    assert exc.value.code == "supervision_qualification_taken"
    assert AuditEvent.objects.filter(action="supervision.qualification_add", object_id=str(row.pk)).exists()
    assert InspectorQualification.objects.filter(inspector=inspector).count() == 2


def test_an_inspector_in_the_legal_representatives_household_is_never_sent_there_and_the_reads_are_logged():
    w = build(n_entities=8)
    relative = w.inspectors[0]
    target = w.usccs[3]
    # The legal representative of entity 3 lives in inspector mk0's household (户号 in the 人口库).
    registry_services.records_upsert(
        actor="test", registry="population", rows=[person_row(rep_id(3), household_id=household("mk0"))]
    )
    plan, seed = _publish(w)
    document = json.loads(plan.plan_document)
    assert document["conflict_reasons"] == {"household": 1}
    plan = services.plan_draw(actor=w.head, plan_id=plan.pk, seed=seed)
    sent = [t.entity_uscc for t in plan.inspections.prefetch_related("inspectors") if relative in t.inspectors.all()]
    assert plan.inspections.count() == 8
    assert target not in sent and len(sent) >= 2  # each inspector once per round: he works elsewhere
    # Every read went through the exchange as the app supervision, on the evidence log.
    reads = ExchangeLog.objects.filter(consumer_kind="app", consumer__startswith="supervision:", outcome="ok")
    assert reads.filter(registry="legal_entity").count() == 8
    assert reads.filter(registry="population", subject_index=blind_index(rep_id(3))).exists()
    assert reads.filter(registry="population", subject_index=blind_index(inspector_id("mk", 0))).exists()
    assert verify_log().ok


def test_the_inspector_who_is_the_legal_representative_himself_is_avoided():
    w = build(n_entities=4)
    registry_services.records_upsert(
        actor="test",
        registry="legal_entity",
        rows=[{"uscc": w.usccs[2], "legal_representative_id_number": inspector_id("mk", 1)}],
    )
    plan, _seed = _publish(w)
    assert json.loads(plan.plan_document)["conflict_reasons"] == {"self": 1}


def test_without_the_exchange_grant_the_household_check_refuses_clearly_and_nothing_is_published():
    w = build(n_entities=4, grants=False)
    gateway.invalidate()
    with pytest.raises(ValidationFailed) as exc:
        _publish(w)
    assert exc.value.code == "supervision_household_grant_missing"
    assert "household_avoidance" in exc.value.fields and "人口库" in exc.value.message
    assert not DrawPlan.objects.exists()
    plan, _seed = _publish(w, household_avoidance=False)  # an operator's explicit choice, published
    assert json.loads(plan.plan_document)["household_avoidance"] is False


def test_an_inspector_whose_household_cannot_be_read_is_not_drawn_and_the_error_says_so():
    w = build(n_entities=4)
    w.inspectors[5].id_number = ""
    w.inspectors[5].save()
    registry_services.records_upsert(
        actor="test", registry="population", rows=[person_row(inspector_id("mk", 4), household_id="")]
    )
    with pytest.raises(ValidationFailed) as exc:
        _publish(w, team={w.market.code: 5})
    (message,) = exc.value.fields[f"inspectors.{w.market.code}"]
    assert "未登记身份证号,无法核对亲属回避 1 名" in message
    assert "人口库中无其户籍记录,无法核对亲属回避 1 名" in message
    assert "可抽 4 名" in message


def test_too_few_inspectors_after_avoidance_names_the_entity_and_the_reasons():
    w = build(n_entities=4)
    target = w.usccs[2]
    services.conflict_add(actor=w.head, inspector=w.inspectors[0], entity_uscc=target, kind="relative")
    registry_services.records_upsert(
        actor="test", registry="population", rows=[person_row(rep_id(2), household_id=household("mk1"))]
    )
    with pytest.raises(ValidationFailed) as exc:
        _publish(w, team={w.market.code: 5})
    assert exc.value.code == "supervision_inspector_pool_too_small_after_avoidance"
    (message,) = exc.value.fields[f"inspectors.{w.market.code}"]
    assert target in message and "苏州测试2有限公司" in message
    assert "须回避 2 名" in message
    assert "登记的近亲属关系 1 名" in message and "与法定代表人同户(人口库) 1 名" in message
    assert not DrawPlan.objects.exists()


def test_managers_keep_qualifications_by_api_and_others_see_nothing(client):
    w = build(n_entities=4)
    client.force_login(w.head)
    listed = client.get("/api/v1/supervision/inspectors").json()
    assert {i["certificate_number"] for i in listed} == {i.certificate_number for i in w.inspectors}
    assert all(i["has_id_number"] and i["qualifications"][0]["kind"] == "market" for i in listed)
    body = {
        "inspector": w.inspectors[0].certificate_number,
        "kind": "comprehensive",
        "certificate_number": "ZH-API-1",
        "valid_from": "2026-01-01",
        "valid_to": "2028-12-31",
        "issued_by": "苏州市司法局",
    }
    made = client.post("/api/v1/supervision/qualifications", body, content_type="application/json")
    assert made.status_code == 201, made.content
    bad = client.post("/api/v1/supervision/qualifications", body | {"kind": "police"}, content_type="application/json")
    assert bad.status_code == 422 and "kind" in bad.json()["fields"]
    revoked = client.post(
        "/api/v1/supervision/qualifications/revoke",
        {"qualification": made.json()["id"], "reason": "调离执法岗位"},
        content_type="application/json",
    )
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    client.force_login(w.health_head)  # another department's head: the market's inspectors are not his
    assert {i["department"] for i in client.get("/api/v1/supervision/inspectors").json()} == {w.health.code}
    other = client.post("/api/v1/supervision/qualifications", body | {"certificate_number": "ZH-API-2"},
                        content_type="application/json")  # fmt: skip
    assert other.status_code == 404
