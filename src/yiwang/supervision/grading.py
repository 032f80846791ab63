"""信用分级: a grade A/B/C/D from an entity's credit records under a published, versioned rule.

Pure (no database): ``grade(records, rule)`` returns the grade, the score and one explanation
line per point, shown to the entity on its own page. A rule is JSON:

* ``base``: the score of an entity without records;
* ``points``: per record kind (``penalty``, ``blacklist``, ``redlist``, ``license``) and per
  inspection result (``inspection_passed``, ``inspection_rectify``, ``inspection_case``);
* ``thresholds``: the least score of A, B and C (below C: D);
* ``list_grades``: a list that fixes the grade whatever the score (黑名单 → D).

Only records in force count (valid from ≤ today ≤ valid to, or no end); a record repaired
(信用修复 approved) does not count, and the explanation says so.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

DEFAULT_VERSION = "2026.1"
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
    },
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
    for lst, g in (rule.get("list_grades") or {}).items():
        if lst not in ("blacklist", "redlist") or g not in "ABCD" or len(g) != 1:
            raise RuleError("list_grades 只能把 blacklist/redlist 定为 A/B/C/D")


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


def grade(records: list[dict], rule: dict, *, today: datetime.date, repaired: set[str] = frozenset()) -> Outcome:
    score = rule["base"]
    explanation = [{"points": rule["base"], "reason": "基础分"}]
    lists: list[str] = []
    for record in sorted(records, key=lambda r: (r.get("decided_on") or datetime.date.min, r["record_number"])):
        kind = record["kind"]
        key = inspection_result(record.get("content", "")) if kind == "inspection" else kind
        if key not in rule["points"]:
            continue
        line = {
            "record_number": record["record_number"],
            "kind": key,
            "content": record.get("content", ""),
            "authority": record.get("authority", ""),
            "decided_on": record["decided_on"].isoformat() if record.get("decided_on") else "",
            "points": 0,
            "reason": REASONS.get(key, key),
        }
        if record["record_number"] in repaired:
            line["reason"] += "(已信用修复,不计分)"
        elif not _in_force(record, today):
            line["reason"] += "(不在有效期内,不计分)"
        else:
            line["points"] = rule["points"][key]
            score += line["points"]
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
