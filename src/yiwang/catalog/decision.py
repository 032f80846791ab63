"""Decision tables (秒批): rows of conditions over facts → approve / refuse / refer to a human.

A table is plain data, stored on the item version it belongs to (``ServiceItemVersion.decision_table``)
and therefore versioned, imported, exported and digested with the item::

    {
      "rules": [
        {"when": [{"fact": "applicant.age", "op": ">=", "value": 80}], "outcome": "approve"},
        {"when": [{"fact": "applicant.age", "op": "<", "value": 80}], "outcome": "refuse",
         "reason": "申请人未满 80 周岁"}
      ],
      "default": {"outcome": "refer", "reason": "情形不明确,转人工审查"},
      "examples": [{"name": "85 岁老人", "facts": {"applicant.age": 85}, "expect": "approve"}]
    }

The first row whose conditions all hold decides; no row holds → ``default`` (refer to a human
when the table gives none). There is no expression language and nothing is evaluated as code:
a condition is ``{fact, op, value}`` with one of the operators in ``OPERATORS``. Facts are named
``form.<field>`` (the application form), ``applicant.age`` / ``applicant.kind`` (from the verified
identity), ``registry.<registry>.<field>`` (the applicant's record, read through the exchange) and
``license.<type code>.valid`` / ``license.<type code>.<field>`` (the applicant's valid license).

``check_table`` lists every problem (unknown operator, a form field the form lacks, a row that
can never match, two rows that contradict each other, a failing example) with a path and a
Chinese message, as the catalog's content checks do; ``evaluate`` is pure and total: a missing
fact or a value of the wrong type makes a condition false, never an exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

OUTCOMES = ("approve", "refuse", "refer")
OPERATORS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in", "exists")
FACT_RE = re.compile(r"^(form|applicant|registry|license)\.[A-Za-z0-9_.\-]{1,120}$")
APPLICANT_FACTS = ("age", "kind")
REGISTRY_FACT_REGISTRIES = ("population", "legal_entity")
MAX_RULES = 100
MAX_EXAMPLES = 50


def outcome_label(outcome: str) -> str:
    return {"approve": _("准予(自动批准)"), "refuse": _("不予(说明理由)"), "refer": _("转人工审查")}.get(
        outcome, outcome
    )


@dataclass(frozen=True)
class TableProblem:
    path: tuple
    message: str

    def __str__(self) -> str:
        where = ".".join(str(p) for p in self.path)
        return f"{where}:{self.message}" if where else self.message


@dataclass
class Finding:
    """What one condition of one row found: the fact's value and whether the condition held."""

    row: int  # 1-based; 0 for the default
    fact: str
    op: str
    value: object
    actual: object
    held: bool

    def as_dict(self) -> dict:
        return {
            "row": self.row,
            "fact": self.fact,
            "op": self.op,
            "value": self.value,
            "actual": self.actual,
            "held": self.held,
        }


@dataclass
class Result:
    outcome: str
    reason: str
    row: int  # 1-based index of the deciding row; 0 = the default
    findings: list[Finding] = field(default_factory=list)
    facts_used: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "outcome": self.outcome,
            "reason": self.reason,
            "row": self.row,
            "findings": [f.as_dict() for f in self.findings],
            "facts_used": self.facts_used,
        }


_MISSING = object()


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _comparable(a, b) -> bool:
    return (_number(a) and _number(b)) or (isinstance(a, str) and isinstance(b, str))


def condition_holds(actual, op: str, value) -> bool:
    """Whether ``actual <op> value``; a missing fact or mismatched types make it false."""
    if op == "exists":
        present = actual is not _MISSING and actual not in (None, "")
        return present if value in (None, True) else not present
    if actual is _MISSING or actual is None:
        return op == "!=" and value is not None  # an absent fact differs from every value
    if op == "==":
        if isinstance(actual, bool) or isinstance(value, bool):
            return isinstance(actual, bool) and isinstance(value, bool) and actual is value
        return actual == value
    if op == "!=":
        return not condition_holds(actual, "==", value)
    if op in ("in", "not in"):
        if not isinstance(value, list):
            return False
        inside = any(condition_holds(actual, "==", v) for v in value)
        return inside if op == "in" else not inside
    if not _comparable(actual, value):
        return False
    return {"<": actual < value, "<=": actual <= value, ">": actual > value, ">=": actual >= value}[op]


def referenced_facts(table: dict) -> list[str]:
    names: list[str] = []
    for rule in (table or {}).get("rules") or []:
        for cond in rule.get("when") or []:
            if cond.get("fact") not in names:
                names.append(cond.get("fact"))
    return names


def evaluate(table: dict, facts: dict) -> Result:
    """Run the table over ``facts`` ({fact name: value}); the first row whose conditions all hold
    decides, else the default (refer when none is given). Records what each tried condition found."""
    findings: list[Finding] = []
    for index, rule in enumerate((table or {}).get("rules") or [], start=1):
        held_all = True
        for cond in rule.get("when") or []:
            actual = facts.get(cond.get("fact"), _MISSING)
            held = condition_holds(actual, cond.get("op"), cond.get("value"))
            findings.append(
                Finding(
                    index,
                    cond.get("fact"),
                    cond.get("op"),
                    cond.get("value"),
                    None if actual is _MISSING else actual,
                    held,
                )
            )
            if not held:
                held_all = False
                break
        if held_all:
            used = [c.get("fact") for c in rule.get("when") or []]
            return Result(rule.get("outcome"), rule.get("reason") or "", index, findings, used)
    default = (table or {}).get("default") or {}
    return Result(
        default.get("outcome") or "refer",
        default.get("reason") or _("没有规则命中,转人工审查"),
        0,
        findings,
        [],
    )


# --- checking ------------------------------------------------------------------------------------


def _form_properties(form_schema: dict) -> set[str]:
    return set(((form_schema or {}).get("properties") or {}).keys())


def _check_fact(name, *, form_fields: set[str], registry_fields: dict[str, set[str]]) -> str | None:
    """None when ``name`` is a fact the platform can supply for this item, else the problem."""
    if not isinstance(name, str) or not FACT_RE.match(name):
        return _("事实名「%(fact)s」无效,应以 form.、applicant.、registry. 或 license. 开头") % {"fact": name}
    source, _dot, rest = name.partition(".")
    if source == "form":
        top = rest.split(".")[0]
        if top not in form_fields:
            return _("决策表引用了申请表中没有的字段「%(field)s」") % {"field": top}
    elif source == "applicant":
        if rest not in APPLICANT_FACTS:
            return _("申请人事实只能是:%(names)s") % {"names": "、".join(f"applicant.{n}" for n in APPLICANT_FACTS)}
    elif source == "registry":
        registry, _dot, field_name = rest.partition(".")
        if registry not in REGISTRY_FACT_REGISTRIES:
            return _("基础库事实只能读取申请人本人的记录:%(names)s") % {
                "names": "、".join(f"registry.{r}.<字段>" for r in REGISTRY_FACT_REGISTRIES)
            }
        known = registry_fields.get(registry)
        if known is not None and field_name not in known:
            return _("基础库「%(registry)s」没有字段「%(field)s」") % {"registry": registry, "field": field_name}
    elif source == "license":
        code, _dot, field_name = rest.partition(".")
        if not code or not field_name:
            return _("证照事实应写作 license.<证照类型编码>.valid 或 license.<证照类型编码>.<字段>")
    return None


def _check_value(op: str, value) -> str | None:
    if op in ("in", "not in"):
        if not isinstance(value, list) or not value:
            return _("运算符「%(op)s」的值必须是非空列表") % {"op": op}
        if not all(isinstance(v, str | int | float | bool) for v in value):
            return _("列表中只能是文字、数字或真假值")
        return None
    if op == "exists":
        if value not in (None, True, False):
            return _("运算符「exists」的值只能是 true 或 false(省略即 true)")
        return None
    if op in ("<", "<=", ">", ">="):
        if not (_number(value) or isinstance(value, str)):
            return _("运算符「%(op)s」的值必须是数字或日期(YYYY-MM-DD)") % {"op": op}
        return None
    if not isinstance(value, str | int | float | bool):
        return _("值只能是文字、数字或真假值")
    return None


def _key(cond: dict) -> tuple:
    value = cond.get("value")
    if isinstance(value, list):
        value = tuple(sorted(map(str, value)))
    return (cond.get("fact"), cond.get("op"), value)


def _unsatisfiable(conds: list[dict]) -> str | None:
    """Why the conditions of one row can never all hold (same fact, incompatible), or None."""
    by_fact: dict[str, list[dict]] = {}
    for cond in conds:
        by_fact.setdefault(cond.get("fact"), []).append(cond)
    for fact, group in by_fact.items():
        equals = [c["value"] for c in group if c.get("op") == "=="]
        if len({repr(v) for v in equals}) > 1:
            return _("「%(fact)s」不能同时等于多个值") % {"fact": fact}
        exists = {c.get("value") in (None, True) for c in group if c.get("op") == "exists"}
        if len(exists) > 1:
            return _("「%(fact)s」不能既存在又不存在") % {"fact": fact}
        if equals:
            value = equals[0]
            for c in group:
                if c.get("op") in ("!=", "<", "<=", ">", ">=", "in", "not in") and not condition_holds(
                    value, c["op"], c.get("value")
                ):
                    return _("「%(fact)s」等于 %(value)s 时不满足「%(op)s %(other)s」") % {
                        "fact": fact,
                        "value": value,
                        "op": c["op"],
                        "other": c.get("value"),
                    }
        numeric = [c for c in group if c.get("op") in ("<", "<=", ">", ">=") and _number(c.get("value"))]
        low, low_open, high, high_open = None, False, None, False
        for c in numeric:
            v, op = c["value"], c["op"]
            if op in (">", ">=") and (low is None or v > low or (v == low and op == ">")):
                low, low_open = v, op == ">"
            if op in ("<", "<=") and (high is None or v < high or (v == high and op == "<")):
                high, high_open = v, op == "<"
        if low is not None and high is not None and (low > high or (low == high and (low_open or high_open))):
            return _("「%(fact)s」的取值范围为空(下限 %(low)s,上限 %(high)s)") % {
                "fact": fact,
                "low": low,
                "high": high,
            }
    return None


def check_table(
    table,
    *,
    form_schema: dict | None,
    registry_fields: dict[str, set[str]] | None = None,
    run_examples: bool = True,
) -> tuple[dict, list[TableProblem]]:
    """Normalize ``table`` and list every problem: its shape, facts the item cannot supply (a
    form field the form lacks), rows that can never match or that contradict an earlier row,
    and (``run_examples``) examples whose outcome differs from what they expect."""
    problems: list[TableProblem] = []
    if table in (None, "", {}):
        return {}, problems
    if not isinstance(table, dict):
        return {}, [TableProblem((), _("决策表必须是对象,含 rules、default 和 examples"))]
    for key in table:
        if key not in ("rules", "default", "examples", "note"):
            problems.append(TableProblem((key,), _("未知字段「%(key)s」") % {"key": key}))
    form_fields = _form_properties(form_schema or {})
    registry_fields = registry_fields or {}
    rules_in = table.get("rules") or []
    if not isinstance(rules_in, list) or not rules_in:
        problems.append(TableProblem(("rules",), _("至少需要一行规则")))
        rules_in = []
    if len(rules_in) > MAX_RULES:
        problems.append(TableProblem(("rules",), _("规则不能超过 %(n)d 行") % {"n": MAX_RULES}))
    rules: list[dict] = []
    for index, rule in enumerate(rules_in[:MAX_RULES], start=1):
        path = ("rules", index)
        if not isinstance(rule, dict):
            problems.append(TableProblem(path, _("每行规则必须是对象,含 when、outcome(和 reason)")))
            continue
        for key in rule:
            if key not in ("when", "outcome", "reason"):
                problems.append(TableProblem((*path, key), _("未知字段「%(key)s」") % {"key": key}))
        outcome = rule.get("outcome")
        if outcome not in OUTCOMES:
            problems.append(
                TableProblem((*path, "outcome"), _("结论必须是 approve(准予)、refuse(不予)或 refer(转人工)"))
            )
        reason = rule.get("reason") or ""
        if not isinstance(reason, str):
            problems.append(TableProblem((*path, "reason"), _("理由必须是文字")))
            reason = ""
        reason = reason.strip()
        if outcome == "refuse" and not reason:
            problems.append(TableProblem((*path, "reason"), _("不予的规则必须写明理由(申请人将看到)")))
        when = rule.get("when")
        if not isinstance(when, list) or not when:
            problems.append(TableProblem((*path, "when"), _("每行至少一个条件;无条件的结论请写在 default 中")))
            when = []
        conds = []
        for c_index, cond in enumerate(when, start=1):
            c_path = (*path, "when", c_index)
            if not isinstance(cond, dict) or set(cond) - {"fact", "op", "value"}:
                problems.append(TableProblem(c_path, _("条件必须是 {fact, op, value} 对象")))
                continue
            fact_problem = _check_fact(cond.get("fact"), form_fields=form_fields, registry_fields=registry_fields)
            if fact_problem:
                problems.append(TableProblem((*c_path, "fact"), fact_problem))
            op = cond.get("op")
            if op not in OPERATORS:
                problems.append(
                    TableProblem((*c_path, "op"), _("运算符必须是以下之一:%(ops)s") % {"ops": "、".join(OPERATORS)})
                )
                continue
            value_problem = _check_value(op, cond.get("value"))
            if value_problem:
                problems.append(TableProblem((*c_path, "value"), value_problem))
            conds.append({"fact": cond.get("fact"), "op": op, "value": cond.get("value")})
        why = _unsatisfiable(conds)
        if why:
            problems.append(TableProblem((*path, "when"), _("本行条件自相矛盾,永远不会命中:%(why)s") % {"why": why}))
        keys = {_key(c) for c in conds}
        for earlier_index, earlier in enumerate(rules, start=1):
            earlier_keys = {_key(c) for c in earlier["when"]}
            if earlier_keys and earlier_keys <= keys:
                if earlier["outcome"] != outcome:
                    message = _(
                        "与第 %(n)d 行矛盾:条件相同(或被其包含)而结论不同;第 %(n)d 行先命中,本行永远不会生效"
                    ) % {"n": earlier_index}
                else:
                    message = _("与第 %(n)d 行重复:第 %(n)d 行已包含本行的条件") % {"n": earlier_index}
                problems.append(TableProblem((*path, "when"), message))
                break
        rules.append({"when": conds, "outcome": outcome, **({"reason": reason} if reason else {})})
    out: dict = {"rules": rules}
    default = table.get("default")
    if default not in (None, {}):
        if (
            not isinstance(default, dict)
            or default.get("outcome") not in OUTCOMES
            or set(default)
            - {
                "outcome",
                "reason",
            }
        ):
            problems.append(TableProblem(("default",), _("default 必须是 {outcome, reason},outcome 为三种结论之一")))
        else:
            d_reason = (default.get("reason") or "").strip() if isinstance(default.get("reason"), str) else ""
            if default["outcome"] == "refuse" and not d_reason:
                problems.append(TableProblem(("default", "reason"), _("不予的结论必须写明理由")))
            out["default"] = {"outcome": default["outcome"], **({"reason": d_reason} if d_reason else {})}
    note = table.get("note")
    if isinstance(note, str) and note.strip():
        out["note"] = note.strip()
    examples_in = table.get("examples") or []
    if not isinstance(examples_in, list):
        problems.append(TableProblem(("examples",), _("examples 必须是列表")))
        examples_in = []
    if rules and not examples_in:
        problems.append(TableProblem(("examples",), _("请至少写一个示例案例(发布前逐一运行)")))
    examples = []
    for index, example in enumerate(examples_in[:MAX_EXAMPLES], start=1):
        path = ("examples", index)
        if (
            not isinstance(example, dict)
            or set(example) - {"name", "facts", "expect"}
            or not isinstance(example.get("facts"), dict)
            or example.get("expect") not in OUTCOMES
        ):
            problems.append(TableProblem(path, _("示例必须是 {name, facts: {事实: 值}, expect: 结论}")))
            continue
        for fact in example["facts"]:
            fact_problem = _check_fact(fact, form_fields=form_fields, registry_fields=registry_fields)
            if fact_problem:
                problems.append(TableProblem((*path, "facts", fact), fact_problem))
        examples.append(
            {"name": str(example.get("name") or f"#{index}"), "facts": example["facts"], "expect": example["expect"]}
        )
    out["examples"] = examples
    if run_examples and not problems:
        for index, result in enumerate(run_table_examples(out), start=1):
            if not result["passed"]:
                problems.append(
                    TableProblem(
                        ("examples", index),
                        _("示例「%(name)s」预期「%(expect)s」,实际「%(got)s」(第 %(row)s 行)")
                        % {
                            "name": result["name"],
                            "expect": outcome_label(result["expect"]),
                            "got": outcome_label(result["outcome"]),
                            "row": result["row"] or "default",
                        },
                    )
                )
    return out, problems


def run_table_examples(table: dict) -> list[dict]:
    """Each example run through the table: name, expect, outcome, row, reason, passed."""
    results = []
    for example in (table or {}).get("examples") or []:
        result = evaluate(table, example.get("facts") or {})
        results.append(
            {
                "name": example.get("name"),
                "expect": example.get("expect"),
                "outcome": result.outcome,
                "row": result.row,
                "reason": result.reason,
                "passed": result.outcome == example.get("expect"),
            }
        )
    return results
