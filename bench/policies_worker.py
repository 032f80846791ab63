"""`python -m bench.policies_worker '<json args>'`: the eligibility run of one policy over N
enterprises in the scratch database. Prints one JSON line.

Loads N legal entities (valid USCCs; kinds, industries, capital, ages spread), the last year's
economy indicators of each (tax, output, land: the 亩均 figures), credit grades of 10 % of them
(1 % on the 严重失信 list), the exchange grants of the app ``policies`` — none of it timed —
then times ``services.policy_publish`` of a policy with one 免申即享 benefit whose table reads
the legal-entity registry, the economy registry (亩均税收) and the credit grade: every
enterprise's facts read through the exchange in batches (each read in its evidence log), the
table run, the eligible ones listed. Wall and CPU seconds, the count listed, the evidence-log
entries written.
"""

import json
import resource
import sys
import time

import django

django.setup()

TABLE = {
    "rules": [
        {
            "when": [{"fact": "credit.dishonest", "op": "==", "value": True}],
            "outcome": "refuse",
            "reason": "列入严重失信主体名单",
        },
        {
            "when": [
                {"fact": "registry.legal_entity.kind", "op": "==", "value": "enterprise"},
                {"fact": "registry.legal_entity.industry_code", "op": "startswith", "value": "C"},
                {"fact": "applicant.years_in_business", "op": ">=", "value": 3},
                {"fact": "registry.economy.tax_per_mu", "op": ">=", "value": 5},
            ],
            "outcome": "approve",
        },
    ],
    "default": {"outcome": "refuse", "reason": "不符合条件"},
    "examples": [
        {
            "name": "制造业,亩均税收 8 万",
            "facts": {
                "registry.legal_entity.kind": "enterprise",
                "registry.legal_entity.industry_code": "C3411",
                "applicant.years_in_business": 5,
                "registry.economy.tax_per_mu": 8,
            },
            "expect": "approve",
        },
        {"name": "失信", "facts": {"credit.dishonest": True}, "expect": "refuse"},
    ],
}


def eligibility(args: dict) -> dict:
    import datetime
    import secrets
    from decimal import Decimal

    from yiwang.core.codes import make_uscc
    from yiwang.exchange import gateway
    from yiwang.exchange import services as exchange
    from yiwang.exchange.models import ExchangeLog
    from yiwang.identity import services as identity
    from yiwang.policies import rules, services
    from yiwang.policies.models import Award
    from yiwang.registries.models import Indicator, LegalEntity
    from yiwang.supervision.models import CreditGrade

    n = int(args.get("enterprises", 100_000))
    root = identity.user_create(
        actor="bench:setup",
        username="bench_policy_root",
        password=f"Qz7!{secrets.token_urlsafe(16)}",
        kind="staff",
        is_staff=True,
        real_name="压测管理员",
    )
    root.is_superuser = True
    root.save(update_fields=["is_superuser"])
    city = identity.department_create(
        actor=root, name="压测市人民政府", code="P", level=2, kind="government", region_code="610300"
    )
    today = datetime.date.today()
    year = services.economy_year(today)
    entities, indicators, grades = [], [], []
    kinds = ("enterprise", "enterprise", "enterprise", "individual_business")
    industries = ("C3411", "C2710", "I6510", "F5211", "H6210")
    for i in range(n):
        uscc = make_uscc(f"91610302MA{i:07d}")
        entities.append(
            LegalEntity(
                uscc=uscc,
                name=f"压测企业{i:06d}",
                kind=kinds[i % 4],
                legal_representative="某某",
                registered_capital=Decimal(100 + i % 5000),
                industry_code=industries[i % 5],
                address="压测市",
                region_code="610302",
                established_on=today - datetime.timedelta(days=200 + (i * 37) % 7000),
                status="active",
            )
        )
        land = Decimal(10 + i % 90)
        indicators.append(
            Indicator(uscc=uscc, year=year, tax_paid=land * Decimal(i % 11), output_value=land * 80, land_area_mu=land)
        )
        if i % 10 == 0:
            grades.append(
                CreditGrade(
                    uscc=uscc,
                    grade="D" if i % 100 == 0 else "A",
                    score=50,
                    rule_version="bench",
                    lists=["blacklist"] if i % 100 == 0 else [],
                )
            )
    LegalEntity.objects.bulk_create(entities, batch_size=2000)
    Indicator.objects.bulk_create(indicators, batch_size=2000)
    CreditGrade.objects.bulk_create(grades, batch_size=2000)
    exchange.catalog_sync(actor=root)
    for registry, fields in (("legal_entity", rules.REGISTRY_FIELDS), ("economy", rules.ECONOMY_FIELDS)):
        exchange.grant_for_app(
            actor=root,
            app="policies",
            department=city,
            registry=registry,
            fields=fields,
            purpose=services.PURPOSE,
            legal_basis="压测",
            valid_until=today + datetime.timedelta(days=30),
        )
    gateway.invalidate()
    policy = services.policy_create(
        actor=root,
        department=city,
        title="压测惠企政策",
        benefits=[
            {"name": "亩均效益奖励", "kind": "award", "mode": "no_application", "amount": "10000", "rules": TABLE}
        ],
    )
    logs_before = ExchangeLog.objects.count()
    began, began_cpu = time.perf_counter(), time.process_time()
    counts = services.policy_publish(actor=root, policy=policy)
    wall, cpu = time.perf_counter() - began, time.process_time() - began_cpu
    return {
        "enterprises": n,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "listed": counts["listed"],
        "awards": Award.objects.count(),
        "evidence_entries": ExchangeLog.objects.count() - logs_before,
        "batch_limit": gateway.batch_limit(),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


if __name__ == "__main__":
    print(json.dumps(eligibility(json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}"))), flush=True)
