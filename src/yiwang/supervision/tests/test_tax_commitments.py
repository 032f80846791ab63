"""纳税信用等级 and 信用承诺 in the credit grade: recorded in the 信用库 (kind ``tax_grade`` /
``commitment`` with an ``outcome``), scored under the published rule, every point explained."""

import datetime

import pytest

from yiwang.core.codes import make_uscc
from yiwang.registries import services as registry_services
from yiwang.registries.errors import RowsInvalid
from yiwang.registries.tests.factories import build_world
from yiwang.supervision import grading, services
from yiwang.supervision.models import CreditGrade

USCC = make_uscc("91320505MA1TAX001")
TODAY = datetime.date(2026, 12, 1)


def rec(number, kind, decided, outcome="", valid_to=None, content="记录"):
    return {
        "record_number": number,
        "kind": kind,
        "outcome": outcome,
        "content": content,
        "decided_on": decided,
        "valid_from": decided,
        "valid_to": valid_to,
    }


def test_only_the_latest_tax_grade_in_force_counts():
    records = [
        rec("T2024", "tax_grade", datetime.date(2025, 4, 1), "D"),
        rec("T2025", "tax_grade", datetime.date(2026, 4, 1), "A"),
        rec("T2019", "tax_grade", datetime.date(2020, 4, 1), "A", valid_to=datetime.date(2021, 3, 31)),
    ]
    outcome = grading.grade(records, grading.DEFAULT_RULE, today=TODAY)
    assert outcome.score == 90 and outcome.grade == "A"  # 80 + 10 (A of 2025); the D of 2024 replaced
    lines = {line.get("record_number"): line for line in outcome.explanation}
    assert lines["T2025"]["points"] == 10 and lines["T2025"]["reason"] == "纳税信用等级 A 级"
    assert lines["T2024"]["points"] == 0 and "已被更近的纳税信用等级评价取代" in lines["T2024"]["reason"]
    assert "不在有效期内" in lines["T2019"]["reason"]
    d_only = grading.grade([records[0]], grading.DEFAULT_RULE, today=TODAY)
    assert (d_only.score, d_only.grade) == (55, "C")


def test_commitments_kept_add_up_to_a_cap_broken_ones_cost_pending_ones_wait():
    kept = [rec(f"K{n}", "commitment", datetime.date(2026, 1, n + 1), "kept") for n in range(7)]
    outcome = grading.grade(kept, grading.DEFAULT_RULE, today=TODAY)
    assert outcome.score == 90  # 80 + 2 × 5: the cap of 10 reached at the fifth
    assert [line["points"] for line in outcome.explanation[1:]] == [2, 2, 2, 2, 2, 0, 0]
    assert "加分上限 10 分" in outcome.explanation[-1]["reason"]
    broken = rec("B1", "commitment", datetime.date(2026, 3, 1), "broken")
    pending = rec("W1", "commitment", datetime.date(2026, 11, 1), "pending")
    outcome = grading.grade([broken, pending], grading.DEFAULT_RULE, today=TODAY)
    assert outcome.score == 65 and outcome.grade == "C"
    assert outcome.explanation[1]["reason"] == "信用承诺未履约(失诺)"
    assert outcome.explanation[2]["points"] == 0 and "履约期内" in outcome.explanation[2]["reason"]


def test_an_older_rule_without_these_keys_says_it_does_not_score_them():
    old = {k: v for k, v in grading.DEFAULT_RULE.items() if k != "caps"}
    old["points"] = {k: v for k, v in old["points"].items() if not k.startswith(("tax_", "commitment_"))}
    outcome = grading.grade([rec("T1", "tax_grade", datetime.date(2026, 4, 1), "D")], old, today=TODAY)
    assert outcome.score == 80 and "评价规则未对此类信息计分" in outcome.explanation[1]["reason"]


def test_a_rule_with_a_bad_cap_is_refused():
    rule = dict(grading.DEFAULT_RULE, caps={"commitment_kept": -1})
    with pytest.raises(grading.RuleError):
        grading.check_rule(rule)
    grading.check_rule(grading.DEFAULT_RULE)


@pytest.mark.django_db
def test_the_registry_refuses_a_tax_grade_or_commitment_without_its_outcome_naming_the_row():
    build_world()
    base = {"subject_kind": "legal_entity", "subject_key": USCC, "subject_name": "苏州纳税示例有限公司"}
    base |= {"authority": "国家税务总局苏州市税务局", "content": "2025年度纳税信用等级评价"}
    rows = [
        base | {"record_number": "NS1", "kind": "tax_grade", "outcome": "E", "decided_on": "2026-04-01"},
        base | {"record_number": "NS2", "kind": "tax_grade", "decided_on": "2026-04-01", "valid_from": "2026-04-01"},
        base | {"record_number": "NS3", "kind": "commitment", "outcome": "A", "decided_on": "2026-04-01"},
        base | {"record_number": "NS4", "kind": "penalty", "outcome": "kept", "decided_on": "2026-04-01"},
    ]
    for row in rows:
        row.setdefault("valid_from", row["decided_on"])
    with pytest.raises(RowsInvalid) as exc:
        registry_services.records_upsert(actor="test", registry="credit", rows=rows)
    assert {"records.0.outcome", "records.1.outcome", "records.2.outcome", "records.3.outcome"} <= set(exc.value.fields)


@pytest.mark.django_db
def test_a_d_tax_grade_and_a_broken_commitment_from_the_registry_move_the_grade_with_the_reasons():
    build_world()
    base = {"subject_kind": "legal_entity", "subject_key": USCC, "subject_name": "苏州纳税示例有限公司"}
    registry_services.records_upsert(
        actor="test",
        registry="credit",
        rows=[
            base
            | {
                "record_number": "NS2025-01",
                "kind": "tax_grade",
                "outcome": "D",
                "content": "2025年度纳税信用等级评价",
                "authority": "国家税务总局苏州市税务局",
                "decided_on": "2026-04-01",
                "valid_from": "2026-04-01",
                "valid_to": "2027-03-31",
            },
            base
            | {
                "record_number": "CN2026-07",
                "kind": "commitment",
                "outcome": "broken",
                "content": "告知承诺制审批:承诺三个月内取得消防验收合格,逾期未履行",
                "authority": "苏州市行政审批局",
                "decided_on": "2026-06-01",
                "valid_from": "2026-06-01",
                "valid_to": "2028-05-31",
            },
        ],
    )
    services.grades_recompute(actor="test", usccs=[USCC], today=TODAY)
    row = CreditGrade.objects.get(uscc=USCC)
    assert (row.grade, row.score, row.rule_version) == ("D", 40, grading.DEFAULT_VERSION)  # 80 − 25 − 15
    reasons = [line["reason"] for line in row.explanation]
    assert "纳税信用等级 D 级" in reasons and "信用承诺未履约(失诺)" in reasons
