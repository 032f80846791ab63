"""Policies in the demo city 示范市 (after the registries and the exchange):

* the exchange grants the app ``policies`` the legal-entity facts it judges on;
* the 市场监管局 publishes 《示范市支持市场主体纾困发展若干措施》 with two 免申即享 benefits; publishing
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
        "rules": [
            {"fact": "kind", "op": "eq", "value": "individual_business"},
            {"fact": "status", "op": "eq", "value": "active"},
        ],
    },
    {
        "name": "成长型企业奖励",
        "kind": "award",
        "mode": "no_application",
        "amount": "50000",
        "rules": [
            {"fact": "kind", "op": "eq", "value": "enterprise"},
            {"fact": "status", "op": "eq", "value": "active"},
            {"fact": "years_in_business", "op": "ge", "value": 3},
        ],
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
    grant_for_app(
        actor=root,
        app="policies",
        department=market,
        registry="legal_entity",
        fields=rules.REGISTRY_FIELDS,
        purpose=services.PURPOSE,
        legal_basis="《优化营商环境条例》第二十五条",
        valid_until=datetime.date.today() + datetime.timedelta(days=3 * 365),
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
