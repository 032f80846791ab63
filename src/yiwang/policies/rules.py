"""Eligibility rules of a benefit, in the platform's one rule language (``yiwang.core.rules``, the
language of the 秒批 decision tables): a table of rows ``{when: [{fact, op, value}…], outcome,
reason}``, the first row whose conditions all hold decides — ``approve`` 符合, ``refuse`` 不符合
(with the reason the enterprise is shown, e.g. a 失信 exclusion), ``refer`` 需人工核实 — and the
default decides the rest (不符合 when none is given). ``examples`` are example entities with the
outcome they expect: they must pass before the policy is published.

Facts (the shared vocabulary, the sources a policy can supply): ``registry.legal_entity.*``,
``registry.economy.*`` (the latest year's indicators: tax, output, land; ``tax_per_mu`` and
``output_per_mu`` the 亩均 figures), ``registry.population.*`` and ``applicant.age`` (for persons),
``applicant.years_in_business``, ``credit.grade`` and ``credit.dishonest``.

A list of conditions (the older shape, ``[{"fact": "kind", "op": "eq", …}]``) is still accepted
and read as one row that approves when all of them hold.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from yiwang.core import rules as rule_language
from yiwang.core.errors import ValidationFailed

SOURCES = ("applicant", "registry", "credit")
REGISTRIES = ("legal_entity", "economy", "population")
# The legal-entity fields the policies read (the exchange grant of the app ``policies``).
REGISTRY_FIELDS = ["established_on", "industry_code", "kind", "name", "region_code", "registered_capital", "status"]
ECONOMY_FIELDS = ["tax_paid", "output_value", "energy_use", "land_area_mu", "employees", "rd_spend"]
POPULATION_FIELDS = ["sex", "birth_date", "region_code"]  # 户号 and 婚姻状况 are not shared (不予共享)
DEFAULT = {"outcome": "refuse", "reason": "不符合本项待遇的条件"}


def _legacy_table(conditions: list, examples: list | None = None) -> dict:
    return {"rules": [{"when": conditions, "outcome": "approve"}], "default": dict(DEFAULT), "examples": examples or []}


def eligibility_check(
    value, *, examples: list | None = None, run_examples: bool = False, require_examples: bool = False
) -> dict:
    """The benefit's table, normalized; ``ValidationFailed`` naming every bad row (``rules.1.when.2.fact``;
    for the older list shape ``rules.<n>``, n from 0) — nothing is stored when one row is wrong."""
    legacy_list = isinstance(value, list)
    table = _legacy_table(value, examples) if legacy_list else value
    if not isinstance(table, dict) or not table.get("rules"):
        raise ValidationFailed(fields={"rules": [_("条件须为列表或决策表")]})
    table = {**table, "default": table.get("default") or dict(DEFAULT)}
    out, problems = rule_language.table_check(
        table,
        sources=SOURCES,
        registries=REGISTRIES,
        run_examples=run_examples,
        require_examples=require_examples,
        legacy=True,
    )
    if problems:
        fields: dict[str, list[str]] = {}
        for problem in problems:
            path = problem.path
            if legacy_list and len(path) >= 4 and path[0] == "rules" and path[2] == "when":
                where = f"rules.{path[3] - 1}"
            else:
                where = ".".join(str(p) for p in path) or "rules"
            fields.setdefault(where, []).append(problem.message)
        message = _("条件有误:") + ";".join(f"{k}:{m}" for k, ms in fields.items() for m in ms)
        raise ValidationFailed(message, code="rules_invalid", fields=fields)
    return out


def facts_needed(tables: list[dict]) -> dict[str, set[str]]:
    """{source: names} the tables refer to, with what derived facts are computed from:
    ``legal_entity``, ``economy``, ``population`` field names, ``credit`` and ``applicant`` fact names."""
    need: dict[str, set[str]] = {"legal_entity": set(), "economy": set(), "population": set(), "credit": set()}
    names = set()
    for table in tables:
        names.update(rule_language.referenced_facts(table))
        for example in ():
            names.update(example)
    for name in names:
        source, _dot, rest = str(name).partition(".")
        if source == "registry":
            registry, _dot, field = rest.partition(".")
            if registry == "economy" and field in rule_language.ECONOMY_DERIVED:
                need["economy"].update({"land_area_mu", "tax_paid" if field == "tax_per_mu" else "output_value"})
            elif registry in need:
                need[registry].add(field)
        elif source == "credit":
            need["credit"].add(rest)
        elif name == "applicant.years_in_business":
            need["legal_entity"].add("established_on")
        elif name == "applicant.age":
            need["population"].add("birth_date")
    return need


def _number(value):
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return None
    return number if number.is_finite() else None


def _years(since, today: datetime.date) -> int | None:
    if isinstance(since, str) and since:
        try:
            since = datetime.date.fromisoformat(since[:10])
        except ValueError:
            return None
    if not isinstance(since, datetime.date):
        return None
    return today.year - since.year - ((today.month, today.day) < (since.month, since.day))


def facts_of(
    *,
    entity: dict | None = None,
    economy: dict | None = None,
    person: dict | None = None,
    credit: dict | None = None,
    applicant_kind: str = "legal_person",
    today: datetime.date | None = None,
) -> dict[str, Any]:
    """The facts of one subject (enterprise or person) from the values read for it."""
    today = today or datetime.date.today()
    facts: dict[str, Any] = {"applicant.kind": applicant_kind}
    for registry, values in (("legal_entity", entity), ("economy", economy), ("population", person)):
        for name, value in (values or {}).items():
            number = _number(value) if name in ("registered_capital", *ECONOMY_FIELDS) else None
            facts[f"registry.{registry}.{name}"] = number if number is not None else value
    if entity is not None:
        facts["applicant.years_in_business"] = _years(entity.get("established_on"), today)
    if person is not None:
        facts["applicant.age"] = _years(person.get("birth_date"), today)
    if economy:
        land = _number(economy.get("land_area_mu"))
        if land:
            for field, derived in (("tax_paid", "tax_per_mu"), ("output_value", "output_per_mu")):
                value = _number(economy.get(field))
                if value is not None:
                    facts[f"registry.economy.{derived}"] = (value / land).quantize(Decimal("0.0001"))
    if credit is not None:
        facts["credit.grade"] = credit.get("grade")
        facts["credit.dishonest"] = bool(credit.get("dishonest"))
    return facts


def evaluate(table, facts: dict[str, Any]) -> tuple[bool, list[str]]:
    """(eligible, reasons): one line per condition of the deciding row, saying whether it held
    and what the fact was; a refusing row's reason (a 失信 exclusion…) comes first."""
    if isinstance(table, list):
        table = _legacy_table([rule_language.legacy_condition(c) for c in table])
    result = rule_language.table_evaluate(table, facts, stop_at_failure=False)
    reasons = result.reasons()
    if result.outcome != "approve" and result.reason and result.row:
        reasons.insert(0, result.reason)
    return result.outcome == "approve", reasons


def outcome_of(table, facts: dict[str, Any]):
    """The whole result (outcome approve / refuse / refer, row, findings) of one subject."""
    return rule_language.table_evaluate(table, facts, stop_at_failure=False)


def decide(table, facts: dict[str, Any]):
    """The result of one subject, stopping at each row's first failing condition (a bulk run):
    an approving row's findings are complete, so its reasons are the same as ``evaluate``'s."""
    if isinstance(table, list):
        table = _legacy_table([rule_language.legacy_condition(c) for c in table])
    return rule_language.table_evaluate(table, facts)
