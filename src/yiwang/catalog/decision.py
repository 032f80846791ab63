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

The language itself — operators, the fact vocabulary, evaluation and the checks — is the
platform's one rule language, ``yiwang.core.rules``, shared with the policies' eligibility rules;
this module is the catalog's use of it (the sources an item's case can supply).

``check_table`` lists every problem (unknown operator, a form field the form lacks, a row that
can never match, two rows that contradict each other, a failing example) with a path and a
Chinese message, as the catalog's content checks do; ``evaluate`` is pure and total: a missing
fact or a value of the wrong type makes a condition false, never an exception.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from yiwang.core import rules as rule_language
from yiwang.core.rules import (  # noqa: F401 - the catalog's names for the shared language
    MAX_EXAMPLES,
    MAX_RULES,
    OPERATORS,
    OUTCOMES,
    Finding,
    Result,
    TableProblem,
    condition_holds,
    outcome_label,
    referenced_facts,
)

# What a case can supply: its form, the applicant's identity, his registry records and licenses.
SOURCES = ("form", "applicant", "registry", "license")
REGISTRY_FACT_REGISTRIES = ("population", "legal_entity")
APPLICANT_FACTS = tuple(rule_language.APPLICANT_FACTS)


def evaluate(table: dict, facts: dict) -> Result:
    """Run the table over ``facts`` ({fact name: value}); the first row whose conditions all hold
    decides, else the default (refer when none is given). Records what each tried condition found."""
    return rule_language.table_evaluate(table, facts)


def check_table(
    table,
    *,
    form_schema: dict | None,
    registry_fields: dict[str, set[str]] | None = None,
    run_examples: bool = True,
) -> tuple[dict, list[TableProblem]]:
    """Normalize ``table`` and list every problem: its shape, facts the item cannot supply (a
    form field the form lacks, a registry field this installation does not keep), rows that can
    never match or that contradict an earlier row, and (``run_examples``) examples whose outcome
    differs from what they expect."""
    out, problems = rule_language.table_check(
        table,
        form_schema=form_schema,
        sources=SOURCES,
        registries=REGISTRY_FACT_REGISTRIES,
        run_examples=False,
    )
    for index, rule in enumerate(out.get("rules") or [], start=1):
        for c_index, cond in enumerate(rule["when"], start=1):
            source, _dot, rest = str(cond.get("fact")).partition(".")
            registry, _dot, field_name = rest.partition(".")
            known = (registry_fields or {}).get(registry) if source == "registry" else None
            if known is not None and field_name not in known:
                problems.append(
                    TableProblem(
                        ("rules", index, "when", c_index, "fact"),
                        _("基础库「%(registry)s」没有字段「%(field)s」") % {"registry": registry, "field": field_name},
                    )
                )
    if run_examples and not problems:
        problems += rule_language.examples_problems(out)
    return out, problems


def run_table_examples(table: dict) -> list[dict]:
    """Each example run through the table: name, expect, outcome, row, reason, passed."""
    return rule_language.run_examples(table)
