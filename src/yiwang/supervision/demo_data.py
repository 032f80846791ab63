"""Demo supervision for the demo city, through the services; idempotent (what exists is kept).

* 抽查事项清单 of 市场监管局, 卫健委 and 交通运输局;
* their reviewers, clerks and heads as inspectors (执法证号 and 身份证号 made up) with a valid
  执法资格 of their department's kind, each in the 人口库 with a household — one of them in the
  household of a demo enterprise's legal representative, so the draw avoids him there;
* the credit rule 2026.1 and grades for every demo legal entity;
* this quarter's joint draw (市场监管局 + 卫健委) published and drawn — verifiable with the
  two files on /supervision/plans/<code>/ and scripts/verify_draw.py — two thirds of its
  inspections recorded and published (they become 信用库 records and move grades);
* the 亩均效益 evaluation of the last demo year, published.
"""

from __future__ import annotations

import datetime

from django.utils import timezone

from yiwang.core.codes import make_id_number

ITEMS = (
    (
        "SFS-SCJG",
        "SCJG-2026-01",
        "企业公示信息情况检查",
        "《企业信息公示暂行条例》第十四条",
        ["enterprise"],
        ["年度报告公示信息真实性", "即时公示信息及时性", "登记住所与实际经营场所一致"],
    ),
    (
        "SFS-SCJG",
        "SCJG-2026-02",
        "食品经营者经营条件检查",
        "《中华人民共和国食品安全法》第一百一十条",
        ["enterprise", "individual_business"],
        ["食品经营许可证", "从业人员健康证明", "进货查验记录"],
    ),
    (
        "SFS-WJW",
        "WJW-2026-01",
        "公共场所卫生监督检查",
        "《公共场所卫生管理条例》第十条",
        ["enterprise", "individual_business"],
        ["卫生许可证", "从业人员健康合格证明", "卫生检测报告"],
    ),
    (
        "SFS-JTJ",
        "JTJ-2026-01",
        "道路运输经营者经营行为检查",
        "《中华人民共和国道路运输条例》第五十八条",
        ["enterprise"],
        ["道路运输经营许可证", "车辆技术档案", "驾驶员从业资格"],
    ),
)
INSPECTOR_STEMS = {"SFS-SCJG": "scjg", "SFS-WJW": "wjw", "SFS-JTJ": "jtj"}
QUALIFICATION_KINDS = {"SFS-SCJG": "market", "SFS-WJW": "health", "SFS-JTJ": "transport"}
RESULTS = ("passed", "passed", "passed", "rectify", "passed", "case")


class Summary(dict):
    def summary(self) -> str:
        return ";".join(f"{label} {n}" for label, n in self.items())


def _quarter(today: datetime.date) -> str:
    return f"{today.year}Q{(today.month - 1) // 3 + 1}"


def _inspectors_in_population(actor, people: list[tuple[str, str, str]]) -> None:
    """The demo inspectors in the 人口库 (only those missing), each with his own household but the
    first, who shares the household of a demo enterprise's legal representative (read through the
    exchange like every read) — so the quarter's draw has a household 回避 to show."""
    from yiwang.core.errors import YiwangError
    from yiwang.exchange import services as exchange
    from yiwang.registries import selectors as registries
    from yiwang.registries import services as registry_services

    if not people:
        return
    purpose = "演示数据:登记检查人员户籍(回避核查)"
    try:
        known = exchange.registry_read_many(
            actor=actor, app="supervision", purpose=purpose, registry="population",
            keys=[p[0] for p in people], fields=["household_id"],
        )  # fmt: skip
        shared = ""
        entity = next(iter(registries.legal_entity_pool(kinds=["enterprise"])), None)
        if entity is not None:
            rep = exchange.registry_read(
                actor=actor, app="supervision", purpose=purpose, registry="legal_entity",
                key=entity["uscc"], fields=["legal_representative_id_number"],
            ).values.get("legal_representative_id_number")  # fmt: skip
            if rep:
                shared = exchange.registry_read(
                    actor=actor, app="supervision", purpose=purpose, registry="population",
                    key=rep, fields=["household_id"],
                ).values.get("household_id") or ""  # fmt: skip
    except YiwangError:  # no exchange grants (a city-only demo): the draw then skips the check
        return
    rows = []
    for index, (number, name, region) in enumerate(people):
        if number in known:
            continue
        birth = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        rows.append(
            {
                "id_number": number,
                "name": name[:50],
                "sex": "male" if int(number[16]) % 2 else "female",
                "birth_date": birth.isoformat(),
                "region_code": region,
                "address": "示范市政务服务中心集体户",
                "household_id": shared if index == 0 and shared else f"{region}9{index:07d}",
            }
        )
    if rows:
        registry_services.records_upsert(actor=actor, registry="population", rows=rows, channel="demo")


def load(actor=None) -> Summary:
    from yiwang.identity.models import Department, User
    from yiwang.supervision import grading, services
    from yiwang.supervision.models import CreditRule, DrawPlan, Inspector, MuEvaluation, SupervisionItem

    actor = actor or "system:demo"
    summary = Summary()
    departments = {d.code: d for d in Department.objects.filter(code__in=INSPECTOR_STEMS)}
    kind_of_item = {item[1]: QUALIFICATION_KINDS[item[0]] for item in ITEMS}
    if len(departments) < len(INSPECTOR_STEMS):
        return summary  # no demo city
    created = 0
    for code, item_code, name, basis, kinds, checklist in ITEMS:
        if not SupervisionItem.objects.filter(code=item_code).exists():
            services.item_create(
                actor=actor,
                department=departments[code],
                code=item_code,
                name=name,
                legal_basis=basis,
                entity_kinds=kinds,
                checklist=checklist,
                qualification_kind=kind_of_item[item_code],
            )
            created += 1
    summary["抽查事项"] = created
    created = 0
    people = []
    for d, (code, stem) in enumerate(INSPECTOR_STEMS.items()):
        users = User.objects.filter(username__in=[f"{stem}_{s}" for s in ("reviewer1", "reviewer2", "clerk", "head")])
        region = (departments[code].region_code or "110101")[:6]
        for n, user in enumerate(users.order_by("username"), start=1):
            # One distinct 身份证号 per inspector (department d, n-th user); odd order code: male.
            number = make_id_number(region, datetime.date(1970 + 5 * d + n, n, 11 + d), 2 * (n + 10 * d) + 701)
            kind = QUALIFICATION_KINDS[code]
            qualification = {
                "kind": kind,
                "certificate_number": f"{code[-4:].replace('-', '')}{kind[:2].upper()}{n:06d}",
                "issued_by": "示范市司法局",
                "valid_from": datetime.date(2024, 1, 1),
                "valid_to": datetime.date(2029, 12, 31),
            }
            inspector = Inspector.objects.filter(user=user).first()
            if inspector is None:
                services.inspector_register(
                    actor=actor,
                    user=user,
                    department=departments[code],
                    certificate_number=f"61{code[-4:].replace('-', '')}{n:04d}",
                    id_number=number,
                    qualifications=[qualification],
                )
                created += 1
            else:  # an older demo database: bring its inspectors up to date
                services.inspector_register(
                    actor=actor,
                    user=user,
                    department=inspector.department,
                    certificate_number=inspector.certificate_number,
                    id_number=number,
                    qualifications=[] if inspector.qualifications.exists() else [qualification],
                )
            people.append((number, user.real_name or user.username, region))
    _inspectors_in_population(actor, people)
    summary["执法检查人员"] = created
    if not CreditRule.objects.filter(version=grading.DEFAULT_VERSION).exists():
        services.credit_rule_publish(actor=actor, version=grading.DEFAULT_VERSION, rule=grading.DEFAULT_RULE)
    summary["信用等级"] = services.grades_recompute(actor=actor)["entities"]

    today = timezone.localdate()
    code = f"{_quarter(today)}-SFS-LH"
    if not DrawPlan.objects.filter(code=code).exists():
        items = list(SupervisionItem.objects.filter(code__in=["SCJG-2026-01", "WJW-2026-01"]))
        plan, seed = services.plan_publish(
            actor=actor,
            code=code,
            title=f"{today.year}年第{(today.month - 1) // 3 + 1}季度市场监管、卫生健康部门联合双随机抽查",
            lead_department=departments["SFS-SCJG"],
            departments=[departments["SFS-WJW"]],
            items=items,
            period=_quarter(today),
        )
        plan = services.plan_draw(actor=actor, plan_id=plan.pk, seed=seed, public_entropy="示范:福彩3D 2 7 1")
        tasks = list(plan.inspections.order_by("order"))
        for n, task in enumerate(tasks[: max(1, len(tasks) * 2 // 3)]):
            result = RESULTS[n % len(RESULTS)]
            services.inspection_record(
                actor=actor,
                inspection_id=task.pk,
                result=result,
                findings="" if result == "passed" else "年度报告中从业人数与社保缴费人数不一致",
                checklist=[{"item": c, "ok": result == "passed"} for i in items for c in i.checklist],
                inspected_on=today - datetime.timedelta(days=3),
                rectify_by=today + datetime.timedelta(days=30) if result == "rectify" else None,
            )
            services.inspection_publish(actor=actor, inspection_id=task.pk)
        summary["抽查计划"] = 1
        summary["抽中户数"] = len(tasks)
    from yiwang.registries import selectors as registries

    year = today.year - 1  # the last complete year
    if registries.economy_indicators(year=year) and not MuEvaluation.objects.filter(year=year).exists():
        # Score lines for the demo's narrow spread of figures (an operator sets them each year).
        services.mu_evaluation_run(actor=actor, year=year, thresholds={"A": 105, "B": 95, "C": 90})
        services.mu_evaluation_publish(actor=actor, year=year)
        summary["亩均效益评价"] = year
    return summary
