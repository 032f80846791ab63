"""The one rule language in the policies: economy (亩均), credit and legal-entity facts through the
exchange, a 失信 exclusion with its reason, examples before publication, the rule editor page,
即申即享, objections with their deadline, and eligibility run again when a registry record changes."""

import datetime
from decimal import Decimal

import pytest

from yiwang.core import rules as rule_language
from yiwang.core.errors import Conflict, Forbidden, ValidationFailed
from yiwang.exchange import services as exchange
from yiwang.exchange.models import ExchangeLog
from yiwang.messaging.models import Message
from yiwang.policies import rules, selectors, services
from yiwang.policies.models import Award, Benefit, Objection, Policy
from yiwang.policies.tests.test_policies import BIG, SHOP, SMALL, world  # noqa: F401 - the fixture
from yiwang.registries.models import Indicator, RegistryField
from yiwang.supervision.models import CreditGrade

pytestmark = pytest.mark.django_db

MU_TABLE = {
    "rules": [
        {
            "when": [{"fact": "credit.dishonest", "op": "==", "value": True}],
            "outcome": "refuse",
            "reason": "列入严重失信主体名单,不予享受",
        },
        {
            "when": [
                {"fact": "registry.economy.tax_per_mu", "op": ">=", "value": 5},
                {"fact": "applicant.years_in_business", "op": ">=", "value": 1},
            ],
            "outcome": "approve",
        },
    ],
    "default": {"outcome": "refuse", "reason": "亩均税收不足"},
    "examples": [
        {
            "name": "高亩均",
            "facts": {"registry.economy.tax_per_mu": 8, "applicant.years_in_business": 3},
            "expect": "approve",
        },
        {"name": "失信", "facts": {"credit.dishonest": True}, "expect": "refuse"},
    ],
}


@pytest.fixture
def economy(world):  # noqa: F811
    year = services.economy_year()
    for uscc, tax, land in ((BIG, "800", "100"), (SMALL, "100", "50"), (SHOP, "30", "1")):
        Indicator.objects.create(uscc=uscc, year=year, tax_paid=Decimal(tax), land_area_mu=Decimal(land))
    CreditGrade.objects.create(uscc=SHOP, grade="D", score=40, rule_version="t", lists=["blacklist"])
    RegistryField.objects.filter(registry="economy").update(source_department=world["reform"])
    exchange.catalog_sync(actor=world["root"])
    exchange.grant_for_app(
        actor=world["root"],
        app="policies",
        department=world["reform"],
        registry="economy",
        fields=rules.ECONOMY_FIELDS,
        purpose=services.PURPOSE,
        legal_basis="优化营商环境条例",
        valid_until=datetime.date.today() + datetime.timedelta(days=30),
    )
    return world


def _publish(world, table=MU_TABLE, mode="no_application"):  # noqa: F811
    policy = services.policy_create(
        actor=world["head"],
        department=world["reform"],
        title="亩均效益奖励办法",
        benefits=[{"name": "亩均领跑奖励", "kind": "award", "mode": mode, "amount": "100000", "rules": table}],
    )
    services.policy_publish(actor=world["head"], policy=policy)
    return Benefit.objects.get(policy=policy)


def test_both_languages_are_one_vocabulary_and_one_evaluator():
    from yiwang.catalog import decision

    assert decision.evaluate is not None and decision.OPERATORS == rule_language.OPERATORS
    legacy = rules.eligibility_check([{"fact": "registered_capital", "op": "le", "value": "500"}])
    assert legacy["rules"][0]["when"] == [
        {"fact": "registry.legal_entity.registered_capital", "op": "<=", "value": 500}
    ]
    # A fact of another family is refused where the user cannot supply it: a case has no credit facts.
    _t, problems = decision.check_table(
        {"rules": [{"when": [{"fact": "credit.grade", "op": "==", "value": "A"}], "outcome": "approve"}]},
        form_schema={},
    )
    assert any("credit." in str(p) for p in problems)
    with pytest.raises(ValidationFailed) as bad:
        rules.eligibility_check(
            {"rules": [{"when": [{"fact": "form.x", "op": "==", "value": 1}], "outcome": "approve"}]}
        )
    assert "rules.1.when.1.fact" in bad.value.fields


def test_economy_and_credit_facts_decide_and_the_dishonest_one_is_told_why(economy):
    benefit = _publish(economy)
    # BIG: 8 万元/亩; SMALL: 2 万元/亩; SHOP: 30 万元/亩 but on the 失信 list.
    assert set(Award.objects.filter(benefit=benefit).values_list("uscc", flat=True)) == {BIG}
    assert ExchangeLog.objects.filter(registry="economy", outcome="ok").count() == 3
    lines, _total = selectors.calculator(actor=economy["agents"][SHOP])
    assert not lines[0].eligible and lines[0].reasons[0] == "列入严重失信主体名单,不予享受"
    lines, _total = selectors.calculator(actor=economy["agents"][SMALL])
    assert any(r.startswith("✗ 亩均税收") for r in lines[0].reasons)


def test_examples_must_pass_before_publication(economy):
    wrong = {
        **MU_TABLE,
        "examples": [
            {
                "name": "高亩均",
                "facts": {"registry.economy.tax_per_mu": 8, "applicant.years_in_business": 3},
                "expect": "refuse",
            }
        ],
    }
    policy = services.policy_create(
        actor=economy["head"],
        department=economy["reform"],
        title="x",
        benefits=[{"name": "b", "kind": "award", "amount": "1", "rules": wrong}],
    )
    with pytest.raises(ValidationFailed) as failed:
        services.policy_publish(actor=economy["head"], policy=policy)
    assert failed.value.code == "rules_examples_failed" and "示例「高亩均」" in failed.value.message
    assert Policy.objects.get(pk=policy.pk).status == Policy.Status.DRAFT


def test_instant_benefit_is_applied_for_with_one_click_and_decided_by_the_rules(economy):
    benefit = _publish(economy, mode="instant")
    assert not Award.objects.exists()  # 即申即享: nobody is listed without applying
    award, reasons = services.benefit_apply(actor=economy["agents"][BIG], benefit=benefit)
    assert award.status == Award.Status.REVIEWED and award.applied_by == economy["agents"][BIG]
    assert any("亩均税收" in r for r in reasons)
    with pytest.raises(Conflict):
        services.benefit_apply(actor=economy["agents"][BIG], benefit=benefit)
    refused, why = services.benefit_apply(actor=economy["agents"][SHOP], benefit=benefit)
    assert refused is None and why[0] == "列入严重失信主体名单,不予享受"
    with pytest.raises(Forbidden):
        services.benefit_apply(actor=economy["head"], benefit=benefit)


def test_an_objection_is_answered_within_its_deadline_and_upheld_puts_the_enterprise_on_the_list(economy):
    benefit = _publish(economy)
    agent = economy["agents"][SMALL]
    with pytest.raises(ValidationFailed):
        services.objection_raise(actor=agent, benefit=benefit, text=" ")
    objection = services.objection_raise(actor=agent, benefit=benefit, text="去年厂房扩建,用地面积有误")
    assert objection.due_on > datetime.date.today() and any("亩均税收" in r for r in objection.reasons_seen)
    assert Message.objects.filter(recipient=economy["head"], subject__contains="政策异议").exists()
    with pytest.raises(Conflict):
        services.objection_raise(actor=agent, benefit=benefit, text="再次")
    with pytest.raises(Forbidden):
        services.objection_answer(actor=economy["outsider"], objection=objection, upheld=True, answer="x")
    services.objection_answer(actor=economy["head"], objection=objection, upheld=True, answer="经核实用地面积为 10 亩")
    award = Award.objects.get(benefit=benefit, uscc=SMALL)
    assert award.status == Award.Status.REVIEWED and "异议成立" in award.reasons[0]
    assert Objection.objects.get(pk=objection.pk).status == Objection.Status.UPHELD
    assert Message.objects.filter(recipient=agent, subject__contains="异议已答复").exists()


def test_a_changed_registry_record_runs_eligibility_again(economy, django_capture_on_commit_callbacks):
    from yiwang.registries.services import records_upsert

    benefit = _publish(economy)
    assert not Award.objects.filter(benefit=benefit, uscc=SMALL).exists()
    with django_capture_on_commit_callbacks(execute=True):
        records_upsert(
            actor="test:economy-import",  # a system import (the registry's own loader)
            registry="economy",
            rows=[{"uscc": SMALL, "year": services.economy_year(), "tax_paid": "600", "land_area_mu": "50"}],
        )
    award = Award.objects.get(benefit=benefit, uscc=SMALL)
    assert award.status == Award.Status.ELIGIBLE
    assert Message.objects.filter(recipient=economy["agents"][SMALL], subject__contains="亩均领跑奖励").exists()


def test_the_rule_editor_checks_each_row_and_runs_the_examples(economy, client):
    policy = services.policy_create(
        actor=economy["head"],
        department=economy["reform"],
        title="草稿政策",
        benefits=[{"name": "草稿待遇", "kind": "award", "amount": "1", "rules": MU_TABLE}],
    )
    benefit = Benefit.objects.get(policy=policy)
    url = f"/workbench/policies/benefits/{benefit.pk}/rules/"
    client.force_login(economy["outsider"])
    assert client.get(url).status_code == 404
    client.force_login(economy["head"])
    page = client.get(url).content.decode()
    assert "registry.economy.tax_per_mu" in page and 'id="example-results"' in page
    bad = "rules:\n  - when: [{fact: registry.economy.turnover, op: '>=', value: 1}]\n    outcome: approve\n"
    answer = client.post(url, {"content": bad, "action": "save"})
    assert answer.status_code == 422 and "rules.1.when.1.fact" in answer.content.decode()
    good = (
        "rules:\n  - when: [{fact: registry.economy.tax_per_mu, op: '>=', value: 3}]\n    outcome: approve\n"
        "examples:\n  - {name: 三万, facts: {registry.economy.tax_per_mu: 3}, expect: approve}\n"
    )
    assert client.post(url, {"content": good, "action": "save"}).status_code == 302
    assert Benefit.objects.get(pk=benefit.pk).rules["rules"][0]["when"][0]["value"] == 3
    client.post(f"/workbench/policies/{policy.pk}/publish/")
    assert Policy.objects.get(pk=policy.pk).status == Policy.Status.PUBLISHED


def test_the_data_migration_turns_old_rule_lists_into_tables():
    import importlib

    migration = importlib.import_module("yiwang.policies.migrations.0003_rules_as_tables_instant_objections")
    row = migration._condition({"fact": "registered_capital", "op": "le", "value": "500"})
    assert row == {"fact": "registry.legal_entity.registered_capital", "op": "<=", "value": 500}
    assert migration._condition({"fact": "kind", "op": "eq", "value": "enterprise"})["op"] == "=="
