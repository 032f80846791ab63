"""Credit grades from the 信用库 under the published rule, 信用修复, and joint punishment
applied to a case: a D / 黑名单 enterprise's application is flagged for stricter review, the
reviewer sees why, and the application of the measure is audited."""

import datetime

import pytest

from yiwang.cases import services as case_services
from yiwang.cases.tests.factories import FORM, build_world
from yiwang.catalog.models import ServiceItemVersion
from yiwang.core.codes import make_uscc
from yiwang.core.errors import NotFound, ValidationFailed
from yiwang.core.models import AuditEvent
from yiwang.identity.tests.tree import make_staff
from yiwang.registries import services as registry_services
from yiwang.supervision import grading, selectors, services
from yiwang.supervision.models import CreditGrade

pytestmark = pytest.mark.django_db
USCC = make_uscc("91320505MA1XY8123")
TODAY = datetime.date(2026, 12, 1)


def credit(number, kind, content, decided_on, valid_to=None, uscc=USCC):
    registry_services.records_upsert(
        actor="test",
        registry="credit",
        rows=[
            {
                "record_number": number,
                "subject_kind": "legal_entity",
                "subject_key": uscc,
                "subject_name": "苏州示例有限公司",
                "kind": kind,
                "content": content,
                "authority": "苏州市市场监督管理局",
                "decided_on": decided_on,
                "valid_from": decided_on,
                "valid_to": valid_to,
            }
        ],
    )


def test_grades_follow_the_rule_and_every_point_is_explained():
    records = [
        {"record_number": "P1", "kind": "penalty", "content": "未按规定公示", "decided_on": datetime.date(2026, 1, 5)},
        {"record_number": "R1", "kind": "redlist", "content": "纳税信用A级", "decided_on": datetime.date(2026, 2, 1)},
        {
            "record_number": "P0",
            "kind": "penalty",
            "content": "旧处罚",
            "decided_on": datetime.date(2020, 1, 1),
            "valid_to": datetime.date(2023, 1, 1),
        },
    ]
    outcome = grading.grade(records, grading.DEFAULT_RULE, today=TODAY)
    assert (outcome.grade, outcome.score, outcome.lists) == ("B", 80, ["redlist"])  # 80 − 15 + 15; P0 expired
    assert [line["points"] for line in outcome.explanation] == [80, 0, -15, 15]
    assert "不在有效期内" in outcome.explanation[1]["reason"]
    black = grading.grade(
        [
            *records,
            {
                "record_number": "B1",
                "kind": "blacklist",
                "content": "严重失信",
                "decided_on": datetime.date(2026, 3, 1),
            },
        ],
        grading.DEFAULT_RULE,
        today=TODAY,
    )
    assert black.grade == "D" and "名单规则" in black.explanation[-1]["reason"]


def test_a_bad_rule_is_refused_and_a_new_version_becomes_current():
    with pytest.raises(ValidationFailed):
        services.credit_rule_publish(actor="test", version="bad", rule={"base": 80, "points": {}})
    rule = {**grading.DEFAULT_RULE, "thresholds": {"A": 95, "B": 70, "C": 50}}
    services.credit_rule_publish(actor="test", version="2027.1", rule=rule)
    assert selectors.rule_current() == ("2027.1", rule)


def test_credit_repair_after_the_minimum_period_lifts_the_points_and_the_grade():
    agent = make_staff("agent", kind="enterprise_agent", enterprise_uscc=USCC, enterprise_name="苏州示例有限公司")
    credit(
        "CF-2026-001",
        "penalty",
        "未按规定公示年度报告",
        (datetime.date.today() - datetime.timedelta(days=200)).isoformat(),
    )
    credit("CF-2026-002", "penalty", "虚假宣传", (datetime.date.today() - datetime.timedelta(days=10)).isoformat())
    services.grades_recompute(actor="test", usccs=[USCC])
    assert CreditGrade.objects.get(uscc=USCC).score == 50
    with pytest.raises(ValidationFailed) as exc:
        services.credit_repair_apply(actor=agent, uscc=USCC, record_number="CF-2026-002", reason="已整改")
    assert exc.value.code == "supervision_repair_too_early"
    other = make_staff("agent2", kind="enterprise_agent", enterprise_uscc=make_uscc("91320505MA1XY8124"))
    with pytest.raises(NotFound):
        services.credit_repair_apply(actor=other, uscc=USCC, record_number="CF-2026-001", reason="已整改")
    repair = services.credit_repair_apply(actor=agent, uscc=USCC, record_number="CF-2026-001", reason="已补报并公示")
    services.credit_repair_decide(actor="test", repair_id=repair.pk, approve=True, note="整改到位,准予修复")
    grade = CreditGrade.objects.get(uscc=USCC)
    assert grade.score == 65 and any("已信用修复" in line["reason"] for line in grade.explanation)


def test_a_blacklisted_enterprises_case_is_flagged_the_reviewer_sees_why_and_it_is_audited(client):
    world = build_world()
    agent = make_staff(
        "agent", kind="enterprise_agent", real_name="王经办", enterprise_uscc=USCC, enterprise_name="苏州示例有限公司"
    )
    credit("HMD-2026-001", "blacklist", "拒不履行法院判决", "2026-01-10")
    services.grades_recompute(actor="test", usccs=[USCC])
    measures = selectors.credit_measures_for(entity_code=USCC)
    assert measures["grade"] == "D" and measures["strict_review"] and "严重失信" in measures["why"]
    ServiceItemVersion.objects.filter(pk=world.police_item.current_version_id).update(targets=["legal_person"])
    world.police_item.refresh_from_db()
    case = case_services.case_submit(actor=agent, item=world.police_item, form_data=FORM)[0]
    event = AuditEvent.objects.get(action="supervision.credit_measure_apply", object_id=str(case.pk))
    assert "strict_review" in event.changes["measures"] and event.changes["grade"] == "D"
    client.force_login(world.police_reviewer)
    page = client.get(f"/workbench/cases/{case.pk}/").content.decode()
    assert "信用提示:重点审查" in page and "列入严重失信主体名单" in page


def test_the_enterprise_applies_on_its_grade_page_and_the_credit_department_decides_by_api(client):
    from yiwang.registries.tests.factories import build_world as registry_world

    world = registry_world()  # the market regulator sources the credit registry here
    agent = make_staff("agent", kind="enterprise_agent", enterprise_uscc=USCC, enterprise_name="苏州示例有限公司")
    credit(
        "CF-2025-009",
        "penalty",
        "未按规定公示年度报告",
        (datetime.date.today() - datetime.timedelta(days=120)).isoformat(),
    )
    services.grades_recompute(actor="test", usccs=[USCC])
    client.force_login(agent)
    page = client.get(f"/supervision/grades/{USCC}/").content.decode()
    assert "申请信用修复" in page and "CF-2025-009" in page
    response = client.post(f"/supervision/grades/{USCC}/repair/", {"record_number": "CF-2025-009", "reason": "已补报"})
    assert response.status_code == 302
    repair_id = client.get("/api/v1/supervision/repairs").json()[0]["id"]
    assert (
        client.post(
            f"/api/v1/supervision/repairs/{repair_id}/decide",
            {"approve": True, "note": "同意"},
            content_type="application/json",
        ).status_code
        == 404
    )  # not the credit department
    client.force_login(world.market_clerk)  # a reviewer of the market regulator, the credit source
    decided = client.post(
        f"/api/v1/supervision/repairs/{repair_id}/decide",
        {"approve": True, "note": "整改到位"},
        content_type="application/json",
    )
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    assert CreditGrade.objects.get(uscc=USCC).score == 80
