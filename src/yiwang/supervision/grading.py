"""信用分级: a grade A/B/C/D from an entity's credit records under a published, versioned rule.

Pure (no database): ``grade(records, rule)`` returns the grade, the score and one explanation
line per point, shown to the entity on its own page. A rule is JSON:

* ``base``: the score of an entity without records;
* ``points``: per record kind (``penalty``, ``blacklist``, ``redlist``, ``license``), per
  inspection result (``inspection_passed``, ``inspection_rectify``, ``inspection_case``), per
  纳税信用等级 (``tax_A``, ``tax_B``, ``tax_M``, ``tax_C``, ``tax_D``: a ``tax_grade`` record's
  outcome) and per 信用承诺 outcome (``commitment_kept``, ``commitment_broken``; a commitment
  still within its period, ``pending``, scores nothing);
* ``caps`` (optional): the most points one key may add in total (守信承诺 ``commitment_kept``:
  10, so that many small commitments cannot buy an A);
* ``thresholds``: the least score of A, B and C (below C: D);
* ``list_grades``: a list that fixes the grade whatever the score (黑名单 → D).

Only records in force count (valid from ≤ today ≤ valid to, or no end); a record repaired
(信用修复 approved) does not count; of several 纳税信用等级 in force only the latest counts (the
tax office re-grades every year); the explanation says which and why.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

DEFAULT_VERSION = "2026.2"  # 2026.1 plus the 纳税信用等级 and 信用承诺 (2026-12-03)
DEFAULT_RULE = {
    "base": 80,
    "points": {
        "penalty": -15,
        "blacklist": -40,
        "redlist": 15,
        "license": 0,
        "inspection_passed": 5,
        "inspection_rectify": -8,
        "inspection_case": -20,
        "tax_A": 10,
        "tax_B": 3,
        "tax_M": 0,
        "tax_C": -10,
        "tax_D": -25,
        "commitment_kept": 2,
        "commitment_broken": -15,
    },
    "caps": {"commitment_kept": 10},
    "thresholds": {"A": 90, "B": 70, "C": 50},
    "list_grades": {"blacklist": "D"},
}
POINT_KEYS = tuple(DEFAULT_RULE["points"])
REASONS = {
    "penalty": "行政处罚",
    "blacklist": "列入严重失信主体名单(黑名单)",
    "redlist": "列入守信激励名单(红名单)",
    "license": "行政许可(不计分)",
    "inspection_passed": "双随机抽查:合格",
    "inspection_rectify": "双随机抽查:责令整改",
    "inspection_case": "双随机抽查:立案查处",
    "tax_A": "纳税信用等级 A 级",
    "tax_B": "纳税信用等级 B 级",
    "tax_M": "纳税信用等级 M 级(新设立或无经营收入)",
    "tax_C": "纳税信用等级 C 级",
    "tax_D": "纳税信用等级 D 级",
    "commitment_kept": "信用承诺已履约",
    "commitment_broken": "信用承诺未履约(失诺)",
    "commitment_pending": "信用承诺履约期内",
}


class RuleError(ValueError):
    pass


def check_rule(rule: dict) -> None:
    if not isinstance(rule, dict) or not isinstance(rule.get("base"), int):
        raise RuleError("规则须有整数基础分 base")
    points = rule.get("points")
    if not isinstance(points, dict) or set(points) != set(POINT_KEYS):
        raise RuleError("规则的 points 须且只须给出:" + "、".join(POINT_KEYS))
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in points.values()):
        raise RuleError("points 的分值须为整数")
    t = rule.get("thresholds")
    if not isinstance(t, dict) or set(t) != {"A", "B", "C"} or not all(isinstance(v, int) for v in t.values()):
        raise RuleError("thresholds 须给出 A、B、C 的整数分数线")
    if not t["A"] > t["B"] > t["C"]:
        raise RuleError("分数线须 A > B > C")
    caps = rule.get("caps") or {}
    if not isinstance(caps, dict) or not all(
        k in POINT_KEYS and isinstance(v, int) and not isinstance(v, bool) and v >= 0 for k, v in caps.items()
    ):
        raise RuleError("caps 须为 {分项: 非负整数上限},分项取自 points")
    for lst, g in (rule.get("list_grades") or {}).items():
        if lst not in ("blacklist", "redlist") or g not in "ABCD" or len(g) != 1:
            raise RuleError("list_grades 只能把 blacklist/redlist 定为 A/B/C/D")


def record_key(record: dict) -> str:
    """The rule's key of a credit record: its kind, refined by the inspection result, the tax
    grade or the commitment's outcome."""
    kind = record["kind"]
    if kind == "inspection":
        return inspection_result(record.get("content", ""))
    if kind == "tax_grade":
        return f"tax_{record.get('outcome') or '?'}"
    if kind == "commitment":
        return f"commitment_{record.get('outcome') or 'pending'}"
    return kind


def inspection_result(content: str) -> str:
    """The result of an inspection credit record, from its published wording."""
    text = content or ""
    if text.endswith("立案查处"):
        return "inspection_case"
    if text.endswith("责令整改"):
        return "inspection_rectify"
    return "inspection_passed"


@dataclass
class Outcome:
    grade: str
    score: int
    lists: list[str] = field(default_factory=list)
    explanation: list[dict] = field(default_factory=list)


def _in_force(record: dict, today: datetime.date) -> bool:
    start, end = record.get("valid_from"), record.get("valid_to")
    return (start is None or start <= today) and (end is None or end >= today)


def _latest_tax_grade(records: list[dict], today: datetime.date, repaired) -> str | None:
    live = [
        r for r in records
        if r["kind"] == "tax_grade" and r["record_number"] not in repaired and _in_force(r, today)
    ]  # fmt: skip
    if not live:
        return None
    return max(live, key=lambda r: (r.get("decided_on") or datetime.date.min, r["record_number"]))["record_number"]


def grade(records: list[dict], rule: dict, *, today: datetime.date, repaired: set[str] = frozenset()) -> Outcome:
    score = rule["base"]
    explanation = [{"points": rule["base"], "reason": "基础分"}]
    lists: list[str] = []
    caps = dict(rule.get("caps") or {})
    earned: dict[str, int] = {}
    latest_tax = _latest_tax_grade(records, today, repaired)
    for record in sorted(records, key=lambda r: (r.get("decided_on") or datetime.date.min, r["record_number"])):
        kind = record["kind"]
        key = record_key(record)
        line = {
            "record_number": record["record_number"],
            "kind": key,
            "content": record.get("content", ""),
            "authority": record.get("authority", ""),
            "decided_on": record["decided_on"].isoformat() if record.get("decided_on") else "",
            "points": 0,
            "reason": REASONS.get(key, key),
        }
        if key == "commitment_pending":
            line["reason"] += "(尚在履约期内,不计分)"
        elif key not in rule["points"]:
            line["reason"] += "(评价规则未对此类信息计分)"
        elif record["record_number"] in repaired:
            line["reason"] += "(已信用修复,不计分)"
        elif not _in_force(record, today):
            line["reason"] += "(不在有效期内,不计分)"
        elif kind == "tax_grade" and record["record_number"] != latest_tax:
            line["reason"] += "(已被更近的纳税信用等级评价取代,不计分)"
        else:
            points = rule["points"][key]
            if key in caps and points > 0:
                points = max(0, min(points, caps[key] - earned.get(key, 0)))
                if points < rule["points"][key]:
                    line["reason"] += (
                        f"(该项加分上限 {caps[key]} 分,已计满)" if not points else f"(计至上限 {caps[key]} 分)"
                    )
            earned[key] = earned.get(key, 0) + points
            line["points"] = points
            score += points
            if kind in ("blacklist", "redlist") and kind not in lists:
                lists.append(kind)
        explanation.append(line)
    t = rule["thresholds"]
    letter = "A" if score >= t["A"] else "B" if score >= t["B"] else "C" if score >= t["C"] else "D"
    for lst in lists:
        forced = (rule.get("list_grades") or {}).get(lst)
        if forced:
            explanation.append({"points": 0, "reason": f"名单规则:{REASONS[lst]},等级定为 {forced}"})
            letter = forced
    return Outcome(letter, score, sorted(lists), explanation)
