"""Demo supervision for the demo city, through the services; idempotent (what exists is kept).

* 抽查事项清单 of 市场监管局, 卫健委 and 交通运输局;
* their reviewers, clerks and heads as inspectors (执法证号 made up), one 回避 declared;
* the credit rule 2026.1 and grades for every demo legal entity;
* this quarter's joint draw (市场监管局 + 卫健委) published and drawn — verifiable with the
  two files on /supervision/plans/<code>/ and scripts/verify_draw.py — two thirds of its
  inspections recorded and published (they become 信用库 records and move grades);
* the 亩均效益 evaluation of the last demo year, published.
"""

from __future__ import annotations

import datetime

from django.utils import timezone

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
RESULTS = ("passed", "passed", "passed", "rectify", "passed", "case")


class Summary(dict):
    def summary(self) -> str:
        return ";".join(f"{label} {n}" for label, n in self.items())


def _quarter(today: datetime.date) -> str:
    return f"{today.year}Q{(today.month - 1) // 3 + 1}"


def load(actor=None) -> Summary:
    from yiwang.identity.models import Department, User
    from yiwang.supervision import grading, services
    from yiwang.supervision.models import CreditRule, DrawPlan, Inspector, MuEvaluation, SupervisionItem

    actor = actor or "system:demo"
    summary = Summary()
    departments = {d.code: d for d in Department.objects.filter(code__in=INSPECTOR_STEMS)}
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
            )
            created += 1
    summary["抽查事项"] = created
    created = 0
    for code, stem in INSPECTOR_STEMS.items():
        users = User.objects.filter(username__in=[f"{stem}_{s}" for s in ("reviewer1", "reviewer2", "clerk", "head")])
        for n, user in enumerate(users.order_by("username"), start=1):
            if not Inspector.objects.filter(user=user).exists():
                services.inspector_register(
                    actor=actor,
                    user=user,
                    department=departments[code],
                    certificate_number=f"61{code[-4:].replace('-', '')}{n:04d}",
                    qualifications=["行政执法证"],
                )
                created += 1
    summary["执法检查人员"] = created
    if not CreditRule.objects.exists():
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
