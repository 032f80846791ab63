"""The platform's one rule language: conditions ``{fact, op, value}`` over named facts, grouped in
rows of a decision table (the first row whose conditions all hold decides). 秒批 decision tables
(``catalog.decision``) and policy eligibility (``policies``) are both written in it.

Nothing is evaluated as code: an operator is one of ``OPERATORS`` (a fixed Python comparison),
a fact one of the names of the vocabulary below, and evaluation is pure and total — a missing
fact or a value of the wrong type makes a condition false, never an exception.

**The fact vocabulary** (``fact_info``), one for the whole platform; each user says which
sources it can supply (``sources=``):

* ``form.<field>`` — the application form (a field the item's form lacks is refused);
* ``applicant.age`` (周岁, persons), ``applicant.kind`` (natural_person / legal_person),
  ``applicant.years_in_business`` (成立年限, enterprises);
* ``registry.<registry>.<field>`` — the subject's own record in ``population``, ``legal_entity``
  or ``economy`` (the latest year's 经济 indicators), read through the exchange; the economy
  registry adds the 亩均 figures ``tax_per_mu`` (亩均税收, 万元/亩) and ``output_per_mu``
  (亩均产值, 万元/亩);
* ``credit.grade`` (信用等级 A–D) and ``credit.dishonest`` (在有效期内的黑名单记录, true/false);
* ``license.<type code>.valid`` / ``license.<type code>.<field>`` — the subject's valid license.

Older spellings are still read (``legacy_condition``): ops ``eq ne gt ge lt le not_in`` and the
policies' bare fact names (``kind`` = ``registry.legal_entity.kind``, ``years_in_business`` =
``applicant.years_in_business``…).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

OUTCOMES = ("approve", "refuse", "refer")
OPERATORS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in", "exists", "startswith")
COMPARISONS = ("<", "<=", ">", ">=")
SOURCES = ("form", "applicant", "registry", "credit", "license")
FACT_RE = re.compile(r"^(form|applicant|registry|credit|license)\.[A-Za-z0-9_.\-]{1,120}$")
FACT_REGISTRIES = ("population", "legal_entity", "economy")
MAX_RULES = 100
MAX_EXAMPLES = 50

OP_LABELS = {
    "==": gettext_lazy("等于"),
    "!=": gettext_lazy("不等于"),
    "<": gettext_lazy("小于"),
    "<=": gettext_lazy("不大于"),
    ">": gettext_lazy("大于"),
    ">=": gettext_lazy("不小于"),
    "in": gettext_lazy("属于"),
    "not in": gettext_lazy("不属于"),
    "exists": gettext_lazy("存在"),
    "startswith": gettext_lazy("开头为"),
}
LEGACY_OPS = {"eq": "==", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<=", "not_in": "not in"}
LEGACY_FACTS = {
    "kind": "registry.legal_entity.kind",
    "industry_code": "registry.legal_entity.industry_code",
    "region_code": "registry.legal_entity.region_code",
    "status": "registry.legal_entity.status",
    "registered_capital": "registry.legal_entity.registered_capital",
    "years_in_business": "applicant.years_in_business",
}


@dataclass(frozen=True)
class FactInfo:
    name: str
    label: Any
    kind: str  # "text" | "number" | "bool" | "date" | "any"


APPLICANT_FACTS = {
    "age": (gettext_lazy("年龄(周岁)"), "number"),
    "kind": (gettext_lazy("申请人类型"), "text"),
    "years_in_business": (gettext_lazy("成立年限(年)"), "number"),
}
CREDIT_FACTS = {
    "grade": (gettext_lazy("信用等级"), "text"),
    "dishonest": (gettext_lazy("失信(黑名单)"), "bool"),
}
ECONOMY_DERIVED = {
    "tax_per_mu": (gettext_lazy("亩均税收(万元/亩)"), "number"),
    "output_per_mu": (gettext_lazy("亩均产值(万元/亩)"), "number"),
}


def _registry_field(registry: str, name: str):
    from yiwang.registries import schema  # the registries' field list is the vocabulary's

    spec = schema.REGISTRIES.get(registry)
    return spec.field(name) if spec is not None else None


def registry_facts(registry: str) -> list[str]:
    """Every ``registry.<registry>.<field>`` fact name, derived 亩均 figures included."""
    from yiwang.registries import schema

    spec = schema.REGISTRIES.get(registry)
    names = [f.name for f in spec.fields if not f.key] if spec is not None else []
    if registry == "economy":
        names += list(ECONOMY_DERIVED)
    return [f"registry.{registry}.{n}" for n in names]


def vocabulary(*, sources=SOURCES, form_schema: dict | None = None) -> list[FactInfo]:
    """The facts a rule may name for a user that supplies ``sources`` (for the editors' lists)."""
    out = []
    if "form" in sources:
        out += [fact_info(f"form.{n}", form_schema=form_schema) for n in _form_properties(form_schema)]
    if "applicant" in sources:
        out += [fact_info(f"applicant.{n}") for n in APPLICANT_FACTS]
    if "registry" in sources:
        for registry in FACT_REGISTRIES:
            out += [fact_info(n) for n in registry_facts(registry)]
    if "credit" in sources:
        out += [fact_info(f"credit.{n}") for n in CREDIT_FACTS]
    return [f for f in out if isinstance(f, FactInfo)]


def _form_properties(form_schema: dict | None) -> dict:
    return dict(((form_schema or {}).get("properties") or {}).items())


def fact_info(
    name,
    *,
    form_schema: dict | None = None,
    sources=SOURCES,
    registries=FACT_REGISTRIES,
    check_form: bool = True,
) -> FactInfo | str:
    """The fact ``name`` (label, kind), or the problem with it as a message."""
    if not isinstance(name, str) or not FACT_RE.match(name):
        return _("没有名为“%(fact)s”的事实:事实名应以 %(sources)s 开头") % {
            "fact": name,
            "sources": "、".join(f"{s}." for s in sources),
        }
    source, _dot, rest = name.partition(".")
    if source not in sources:
        return _("这里不能使用“%(source)s.”类事实(可用:%(sources)s)") % {
            "source": source,
            "sources": "、".join(f"{s}." for s in sources),
        }
    if source == "form":
        top = rest.split(".")[0]
        spec = _form_properties(form_schema).get(top)
        if spec is None:
            if check_form:
                return _("决策表引用了申请表中没有的字段「%(field)s」") % {"field": top}
            spec = {}
        kind = {"number": "number", "integer": "number", "boolean": "bool"}.get(
            spec.get("type") if isinstance(spec, dict) else None, "any"
        )
        return FactInfo(name, (spec.get("title") if isinstance(spec, dict) else None) or top, kind)
    if source == "applicant":
        if rest not in APPLICANT_FACTS:
            return _("没有名为“%(fact)s”的事实;申请人事实只能是:%(names)s") % {
                "fact": name,
                "names": "、".join(f"applicant.{n}" for n in APPLICANT_FACTS),
            }
        label, kind = APPLICANT_FACTS[rest]
        return FactInfo(name, label, kind)
    if source == "credit":
        if rest not in CREDIT_FACTS:
            return _("没有名为“%(fact)s”的事实;信用事实只能是:%(names)s") % {
                "fact": name,
                "names": "、".join(f"credit.{n}" for n in CREDIT_FACTS),
            }
        label, kind = CREDIT_FACTS[rest]
        return FactInfo(name, label, kind)
    if source == "registry":
        registry, _dot, field_name = rest.partition(".")
        if registry not in registries:
            return _("基础库事实只能读取本人(本企业)的记录:%(names)s") % {
                "names": "、".join(f"registry.{r}.<字段>" for r in registries)
            }
        if registry == "economy" and field_name in ECONOMY_DERIVED:
            label, kind = ECONOMY_DERIVED[field_name]
            return FactInfo(name, label, kind)
        spec = _registry_field(registry, field_name)
        if spec is None:
            return _("基础库「%(registry)s」没有字段「%(field)s」") % {"registry": registry, "field": field_name}
        kind = {"decimal": "number", "int": "number", "date": "date"}.get(spec.kind, "text")
        return FactInfo(name, spec.label, kind)
    code, _dot, field_name = rest.partition(".")
    if not code or not field_name:
        return _("证照事实应写作 license.<证照类型编码>.valid 或 license.<证照类型编码>.<字段>")
    return FactInfo(name, f"{code}.{field_name}", "bool" if field_name == "valid" else "any")


def legacy_condition(cond):
    """A condition in an older spelling (``{"fact": "kind", "op": "eq"}``) in today's, else as is."""
    if not isinstance(cond, dict):
        return cond
    out = dict(cond)
    if out.get("op") in LEGACY_OPS:
        out["op"] = LEGACY_OPS[out["op"]]
    if out.get("fact") in LEGACY_FACTS:
        out["fact"] = LEGACY_FACTS[out["fact"]]
    return out


# --- evaluation ------------------------------------------------------------------------------------

MISSING = object()


def is_number(value) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _comparable(a, b) -> bool:
    return (is_number(a) and is_number(b)) or (isinstance(a, str) and isinstance(b, str))


def condition_holds(actual, op: str, value) -> bool:
    """Whether ``actual <op> value``; a missing fact or mismatched types make it false."""
    if op == "exists":
        present = actual is not MISSING and actual not in (None, "")
        return present if value in (None, True) else not present
    if actual is MISSING or actual is None:
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
    if op == "startswith":
        return isinstance(actual, str) and isinstance(value, str) and actual.startswith(value)
    if op not in COMPARISONS or not _comparable(actual, value):
        return False
    return {"<": actual < value, "<=": actual <= value, ">": actual > value, ">=": actual >= value}[op]


def _shown(value) -> str:
    if value is None or value is MISSING or value == "":
        return _("无")
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, list):
        return "、".join(_shown(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


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

    def reason(self) -> str:
        """One line a person reads: ``✓ 行业代码开头为C(实际:C3411)``."""
        label, op = _labels(self.fact, self.op, get_language())
        value = "" if self.op == "exists" else _shown(self.value)
        mark = "✓" if self.held else "✗"
        return f"{mark} {label}{op}{value}(实际:{_shown(self.actual)})"


@lru_cache(maxsize=4096)
def _labels(fact: str, op: str, language: str | None) -> tuple[str, str]:
    """(the fact's label, the operator's) as texts in ``language``: a run over many subjects
    words the same few conditions again and again."""
    info = fact_info(fact, check_form=False)
    return str(info.label if isinstance(info, FactInfo) else fact), str(OP_LABELS.get(op, op))


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

    def reasons(self) -> list[str]:
        """The findings of the deciding row (of every row tried when the default decided)."""
        rows = [f for f in self.findings if f.row == self.row] if self.row else self.findings
        return [f.reason() for f in rows]


def conditions_evaluate(conds, facts: dict, *, row: int = 0, stop_at_failure: bool = True) -> tuple[bool, list]:
    """(all held, findings) of ``conds`` over ``facts``; ``stop_at_failure`` ends at the first
    condition that does not hold (the 秒批 reviewer's view), else every condition is reported."""
    findings, held_all = [], True
    for cond in conds or []:
        actual = facts.get(cond.get("fact"), MISSING)
        held = condition_holds(actual, cond.get("op"), cond.get("value"))
        findings.append(
            Finding(
                row, cond.get("fact"), cond.get("op"), cond.get("value"), None if actual is MISSING else actual, held
            )
        )
        if not held:
            held_all = False
            if stop_at_failure:
                break
    return held_all, findings


def table_evaluate(table: dict, facts: dict, *, stop_at_failure: bool = True) -> Result:
    """Run the table over ``facts`` ({fact name: value}); the first row whose conditions all hold
    decides, else the default (refer when none is given)."""
    findings: list[Finding] = []
    for index, rule in enumerate((table or {}).get("rules") or [], start=1):
        held, found = conditions_evaluate(rule.get("when"), facts, row=index, stop_at_failure=stop_at_failure)
        findings += found
        if held:
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


def referenced_facts(table: dict) -> list[str]:
    names: list[str] = []
    for rule in (table or {}).get("rules") or []:
        for cond in rule.get("when") or []:
            if cond.get("fact") not in names:
                names.append(cond.get("fact"))
    return names


# --- checking ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableProblem:
    path: tuple
    message: str

    def __str__(self) -> str:
        where = ".".join(str(p) for p in self.path)
        return f"{where}:{self.message}" if where else self.message

    @property
    def where(self) -> str:
        return ".".join(str(p) for p in self.path)


def outcome_label(outcome: str) -> str:
    return {"approve": _("准予(自动批准)"), "refuse": _("不予(说明理由)"), "refer": _("转人工审查")}.get(
        outcome, outcome
    )


def _check_value(op: str, value, info: FactInfo | None):
    """(the value, normalized; problem or None). A number fact takes numbers (a numeric text is
    read as one), a true/false fact true/false."""
    kind = info.kind if info is not None else "any"
    if op in ("in", "not in"):
        if not isinstance(value, list) or not value:
            return value, _("运算符「%(op)s」的值必须是非空列表") % {"op": op}
        if not all(isinstance(v, str | int | float | bool) for v in value):
            return value, _("列表中只能是文字、数字或真假值")
        return value, None
    if op == "exists":
        if value not in (None, True, False):
            return value, _("运算符「exists」的值只能是 true 或 false(省略即 true)")
        return value, None
    label = info.label if info is not None else ""
    if kind == "number" and op != "startswith":
        if isinstance(value, str):
            try:
                number = Decimal(value.strip())
            except ArithmeticError:
                number = None
            if number is not None and number.is_finite():
                value = int(number) if number == number.to_integral_value() else float(number)
        if not is_number(value):
            return value, _("“%(fact)s”的值须为数字") % {"fact": label}
        return value, None
    if kind == "bool" and op in ("==", "!="):
        if not isinstance(value, bool):
            return value, _("“%(fact)s”的值须为 true 或 false") % {"fact": label}
        return value, None
    if op == "startswith":
        if not isinstance(value, str) or not value:
            return value, _("运算符「startswith」的值必须是文字")
        if kind in ("number", "bool"):
            return value, _("“%(fact)s”不能用运算“%(op)s”") % {"fact": label, "op": op}
        return value, None
    if op in COMPARISONS:
        if kind == "text":
            return value, _("“%(fact)s”是文字,不能比较大小") % {"fact": label}
        if not (is_number(value) or isinstance(value, str)):
            return value, _("运算符「%(op)s」的值必须是数字或日期(YYYY-MM-DD)") % {"op": op}
        if kind == "date" and isinstance(value, str):
            try:
                datetime.date.fromisoformat(value)
            except ValueError:
                return value, _("日期须写作 YYYY-MM-DD")
        return value, None
    if not isinstance(value, str | int | float | bool):
        return value, _("值只能是文字、数字或真假值")
    return value, None


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
                if c.get("op") in ("!=", *COMPARISONS, "in", "not in", "startswith") and not condition_holds(
                    value, c["op"], c.get("value")
                ):
                    return _("「%(fact)s」等于 %(value)s 时不满足「%(op)s %(other)s」") % {
                        "fact": fact,
                        "value": value,
                        "op": c["op"],
                        "other": c.get("value"),
                    }
        numeric = [c for c in group if c.get("op") in COMPARISONS and is_number(c.get("value"))]
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


def conditions_check(
    conds, *, path: tuple, sources=SOURCES, registries=FACT_REGISTRIES, form_schema=None, legacy: bool = False
):
    """(normalized conditions, problems) of one row's ``when`` list."""
    problems: list[TableProblem] = []
    out: list[dict] = []
    for c_index, cond in enumerate(conds, start=1):
        c_path = (*path, c_index)
        if legacy:
            cond = legacy_condition(cond)
        if not isinstance(cond, dict) or not {"fact", "op"} <= set(cond) or set(cond) - {"fact", "op", "value"}:
            problems.append(TableProblem(c_path, _("条件必须是 {fact, op, value} 对象")))
            continue
        info = fact_info(cond.get("fact"), form_schema=form_schema, sources=sources, registries=registries)
        if not isinstance(info, FactInfo):
            problems.append(TableProblem((*c_path, "fact"), info))
            info = None
        op = cond.get("op")
        if op not in OPERATORS:
            problems.append(
                TableProblem((*c_path, "op"), _("运算符必须是以下之一:%(ops)s") % {"ops": "、".join(OPERATORS)})
            )
            continue
        value, value_problem = _check_value(op, cond.get("value"), info)
        if value_problem:
            problems.append(TableProblem((*c_path, "value"), value_problem))
        out.append({"fact": cond.get("fact"), "op": op, "value": value})
    return out, problems


def table_check(
    table,
    *,
    form_schema: dict | None = None,
    sources=SOURCES,
    registries=FACT_REGISTRIES,
    run_examples: bool = True,
    require_examples: bool = True,
    legacy: bool = False,
) -> tuple[dict, list[TableProblem]]:
    """Normalize ``table`` and list every problem: its shape, facts the user cannot supply (a
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
        conds, found = conditions_check(
            when, path=(*path, "when"), sources=sources, registries=registries, form_schema=form_schema, legacy=legacy
        )
        problems += found
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
            or set(default) - {"outcome", "reason"}
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
    if require_examples and rules and not examples_in:
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
        facts = {}
        for fact, value in example["facts"].items():
            fact = LEGACY_FACTS.get(fact, fact) if legacy else fact
            info = fact_info(fact, form_schema=form_schema, sources=sources, registries=registries)
            if not isinstance(info, FactInfo):
                problems.append(TableProblem((*path, "facts", fact), info))
            facts[fact] = value
        examples.append({"name": str(example.get("name") or f"#{index}"), "facts": facts, "expect": example["expect"]})
    out["examples"] = examples
    if run_examples and not problems:
        problems += examples_problems(out)
    return out, problems


def examples_problems(table: dict) -> list[TableProblem]:
    problems = []
    for index, result in enumerate(run_examples(table), start=1):
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
    return problems


def run_examples(table: dict) -> list[dict]:
    """Each example run through the table: name, expect, outcome, row, reason, passed."""
    results = []
    for example in (table or {}).get("examples") or []:
        result = table_evaluate(table, example.get("facts") or {})
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
