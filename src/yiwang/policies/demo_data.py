"""Policies in the demo city 示范市 (after the registries and the exchange):

* the exchange grants the app ``policies`` the legal-entity, economy and population facts it judges on;
* the 市场监管局 publishes 《示范市支持市场主体纾困发展若干措施》 with two 免申即享 benefits and one
  即申即享 (亩均效益领跑企业奖励, on the economy registry's 亩均税收); publishing
  pushes each eligible demo enterprise (ent01…) a message saying what it can get and why, and lists
  them for review on the 市场监管局's side (``scjg_head``).

Idempotent: a policy with the same title is left alone.
"""

from __future__ import annotations

import datetime

from yiwang.identity.models import Department, User
from yiwang.policies import rules, services
from yiwang.policies.models import Policy

TITLE = "示范市支持市场主体纾困发展若干措施"
BENEFITS = [
    {
        "name": "个体工商户纾困补贴",
        "kind": "subsidy",
        "mode": "no_application",
        "amount": "3000",
        "rules": {
            "rules": [
                {
                    "when": [{"fact": "credit.dishonest", "op": "==", "value": True}],
                    "outcome": "refuse",
                    "reason": "列入严重失信主体名单,依联合惩戒措施不予享受",
                },
                {
                    "when": [
                        {"fact": "registry.legal_entity.kind", "op": "==", "value": "individual_business"},
                        {"fact": "registry.legal_entity.status", "op": "==", "value": "active"},
                    ],
                    "outcome": "approve",
                },
            ],
            "default": {"outcome": "refuse", "reason": "不是存续的个体工商户"},
            "examples": [
                {
                    "name": "存续个体户",
                    "facts": {
                        "registry.legal_entity.kind": "individual_business",
                        "registry.legal_entity.status": "active",
                    },
                    "expect": "approve",
                },
                {
                    "name": "失信个体户",
                    "facts": {"credit.dishonest": True, "registry.legal_entity.kind": "individual_business"},
                    "expect": "refuse",
                },
            ],
        },
    },
    {
        "name": "成长型企业奖励",
        "kind": "award",
        "mode": "no_application",
        "amount": "50000",
        "rules": {
            "rules": [
                {
                    "when": [
                        {"fact": "registry.legal_entity.kind", "op": "==", "value": "enterprise"},
                        {"fact": "registry.legal_entity.status", "op": "==", "value": "active"},
                        {"fact": "applicant.years_in_business", "op": ">=", "value": 3},
                    ],
                    "outcome": "approve",
                },
            ],
            "default": {"outcome": "refuse", "reason": "成立不满三年或不是存续企业"},
            "examples": [
                {
                    "name": "成立五年的企业",
                    "facts": {
                        "registry.legal_entity.kind": "enterprise",
                        "registry.legal_entity.status": "active",
                        "applicant.years_in_business": 5,
                    },
                    "expect": "approve",
                },
                {"name": "新设企业", "facts": {"applicant.years_in_business": 1}, "expect": "refuse"},
            ],
        },
    },
    {
        "name": "亩均效益领跑企业奖励",
        "kind": "award",
        "mode": "instant",
        "amount": "100000",
        "rules": {
            "rules": [
                {
                    "when": [{"fact": "credit.dishonest", "op": "==", "value": True}],
                    "outcome": "refuse",
                    "reason": "列入严重失信主体名单,依联合惩戒措施不予享受",
                },
                {
                    "when": [
                        {"fact": "registry.economy.tax_per_mu", "op": ">=", "value": 5},
                        {"fact": "registry.economy.tax_paid", "op": ">=", "value": 50},
                    ],
                    "outcome": "approve",
                },
            ],
            "default": {"outcome": "refuse", "reason": "亩均税收未达 5 万元/亩或年纳税不足 50 万元"},
            "examples": [
                {
                    "name": "亩均税收 8 万元",
                    "facts": {"registry.economy.tax_per_mu": 8, "registry.economy.tax_paid": 400},
                    "expect": "approve",
                },
                {"name": "亩均税收 2 万元", "facts": {"registry.economy.tax_per_mu": 2}, "expect": "refuse"},
            ],
        },
    },
]


class Summary(dict):
    def summary(self) -> str:
        return ";".join(f"{k} {v}" for k, v in self.items())


def load(actor=None) -> Summary:
    from yiwang.exchange.services import grant_for_app

    summary = Summary()
    if Policy.objects.filter(title=TITLE).exists():
        return summary
    root = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    market = Department.objects.filter(code="SFS-SCJG", is_active=True).first()
    head = User.objects.filter(username="scjg_head", is_active=True).first() or root
    if root is None or market is None:
        return summary
    for registry, fields, unmasked in (
        ("legal_entity", rules.REGISTRY_FIELDS, []),
        ("economy", rules.ECONOMY_FIELDS, []),
        ("population", rules.POPULATION_FIELDS, ["birth_date"]),  # a person's age is a fact
    ):
        grant_for_app(
            actor=root,
            app="policies",
            department=market,
            registry=registry,
            fields=fields,
            purpose=services.PURPOSE,
            legal_basis="《优化营商环境条例》第二十五条",
            valid_until=datetime.date.today() + datetime.timedelta(days=3 * 365),
            unmasked_fields=unmasked,
        )
    policy = services.policy_create(
        actor=head,
        department=market,
        title=TITLE,
        document="为支持市场主体纾困发展,对符合条件的个体工商户和企业给予补贴和奖励,免于申请,直接兑现。",
        valid_from=datetime.date.today(),
        benefits=BENEFITS,
    )
    counts = services.policy_publish(actor=head, policy=policy)
    summary["惠企政策推送"] = counts["notified"]
    summary["免申即享待审核名单"] = counts["listed"]
    return summary
