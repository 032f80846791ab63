"""Eligibility rules: rows of ``{"fact", "op", "value"}``, all of which must hold. No expression is
ever evaluated: each op is a Python function chosen from a fixed table, each fact from ``FACTS``.

A rule on a fact that does not exist, an unknown op or a value of the wrong type is refused by
``rules_check`` with the row and the reason, when the policy is saved, not when it runs.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yiwang.core.errors import ValidationFailed


@dataclass(frozen=True)
class Fact:
    name: str
    label: Any
    kind: str  # "text" | "number"
    field: str  # the legal_entity registry field it comes from


FACTS: dict[str, Fact] = {
    f.name: f
    for f in (
        Fact("kind", gettext_lazy("主体类型"), "text", "kind"),
        Fact("industry_code", gettext_lazy("行业代码"), "text", "industry_code"),
        Fact("region_code", gettext_lazy("登记地行政区划"), "text", "region_code"),
        Fact("status", gettext_lazy("登记状态"), "text", "status"),
        Fact("registered_capital", gettext_lazy("注册资本(万元)"), "number", "registered_capital"),
        Fact("years_in_business", gettext_lazy("成立年限(年)"), "number", "established_on"),
    )
}
REGISTRY_FIELDS = sorted({f.field for f in FACTS.values()})


def _number(value) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None


OPS = {
    "eq": (gettext_lazy("等于"), lambda a, b: a == b),
    "ne": (gettext_lazy("不等于"), lambda a, b: a != b),
    "in": (gettext_lazy("属于"), lambda a, b: a in b),
    "not_in": (gettext_lazy("不属于"), lambda a, b: a not in b),
    "startswith": (gettext_lazy("开头为"), lambda a, b: isinstance(a, str) and a.startswith(b)),
    "gt": (gettext_lazy("大于"), lambda a, b: a is not None and a > b),
    "ge": (gettext_lazy("不小于"), lambda a, b: a is not None and a >= b),
    "lt": (gettext_lazy("小于"), lambda a, b: a is not None and a < b),
    "le": (gettext_lazy("不大于"), lambda a, b: a is not None and a <= b),
}
NUMBER_OPS = {"eq", "ne", "gt", "ge", "lt", "le"}


def rules_check(rules) -> list[dict]:
    """The rules, normalized (numbers as Decimal strings); ``ValidationFailed`` naming each bad row."""
    if not isinstance(rules, list):
        raise ValidationFailed(fields={"rules": [_("条件须为列表")]})
    errors: dict[str, list[str]] = {}
    clean = []
    for index, row in enumerate(rules):
        where = f"rules.{index}"
        if not isinstance(row, dict) or set(row) != {"fact", "op", "value"}:
            errors[where] = [_("每条条件须为 {fact, op, value}")]
            continue
        fact = FACTS.get(row["fact"])
        if fact is None:
            errors[where] = [_("没有名为“%(fact)s”的事实") % {"fact": row["fact"]}]
            continue
        op = row["op"]
        if op not in OPS or (fact.kind == "number" and op not in NUMBER_OPS):
            errors[where] = [_("“%(fact)s”不能用运算“%(op)s”") % {"fact": fact.label, "op": op}]
            continue
        value = row["value"]
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                errors[where] = [_("“属于”的值须为文字列表")]
                continue
        elif fact.kind == "number":
            if isinstance(value, bool) or _number(value) is None:
                errors[where] = [_("“%(fact)s”的值须为数字") % {"fact": fact.label}]
                continue
            value = str(_number(value))
        elif not isinstance(value, str):
            errors[where] = [_("“%(fact)s”的值须为文字") % {"fact": fact.label}]
            continue
        clean.append({"fact": fact.name, "op": op, "value": value})
    if errors:
        raise ValidationFailed(_("条件有误:") + ";".join(m for ms in errors.values() for m in ms), fields=errors)
    return clean


def facts_from_registry(values: dict, *, today: datetime.date | None = None) -> dict[str, Any]:
    """Facts of one enterprise from its legal_entity fields."""
    today = today or datetime.date.today()
    established = values.get("established_on")
    if isinstance(established, str) and established:
        established = datetime.date.fromisoformat(established[:10])
    years = None
    if isinstance(established, datetime.date):
        years = today.year - established.year - ((today.month, today.day) < (established.month, established.day))
    return {
        "kind": values.get("kind") or "",
        "industry_code": values.get("industry_code") or "",
        "region_code": values.get("region_code") or "",
        "status": values.get("status") or "",
        "registered_capital": _number(values.get("registered_capital")),
        "years_in_business": Decimal(years) if years is not None else None,
    }


def evaluate(rules: list[dict], facts: dict[str, Any]) -> tuple[bool, list[str]]:
    """(eligible, reasons): one human reason per rule, saying whether it held and why."""
    eligible = True
    reasons = []
    for row in rules:
        fact = FACTS[row["fact"]]
        value = row["value"]
        actual = facts.get(fact.name)
        if fact.kind == "number":
            value = _number(value)
        label, check = OPS[row["op"]]
        try:
            held = bool(check(actual, value))
        except TypeError:
            held = False
        eligible = eligible and held
        shown = "、".join(value) if isinstance(value, list) else value
        mark = "✓" if held else "✗"
        reasons.append(f"{mark} {fact.label}{label}{shown}(实际:{actual if actual not in (None, '') else '无'})")
    return eligible, reasons
