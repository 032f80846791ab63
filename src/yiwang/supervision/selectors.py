"""Supervision reads.

Public (一公开): the item lists, published plans with their two files, published inspection
results, the current scoring rule and the 亩均 lists once published. Scoped: an inspector's
tasks (a task of someone else's team is a 404 like a missing one), an entity's grade and its
explanation (the entity's own agents and staff only).

``credit_measures_for`` is the joint rewards/punishments service other apps ask (cases may
import this module — tests/test_architecture.py): it says which measures apply to an entity
and why.
"""

from __future__ import annotations

import datetime

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from yiwang.core.errors import NotFound
from yiwang.identity.models import Department, Role
from yiwang.identity.selectors import actor_has_role
from yiwang.registries import selectors as registries
from yiwang.supervision.models import (
    CreditGrade,
    CreditRepair,
    CreditRule,
    DrawPlan,
    Inspection,
    Inspector,
    InspectorQualification,
    MuEvaluation,
    MuResult,
    SupervisionItem,
)

# 联合奖惩措施清单: per grade and per list. ``effect`` is what a consuming app acts on.
MEASURES = (
    {
        "code": "strict_review",
        "applies_to": ["D", "blacklist"],
        "effect": "strict_review",
        "title": _("办件列为重点审查,不适用告知承诺和容缺受理"),
        "basis": _("《关于建立完善守信联合激励和失信联合惩戒制度加快推进社会诚信建设的指导意见》(国发〔2016〕33号)"),
    },
    {
        "code": "no_auto_policy",
        "applies_to": ["D", "blacklist"],
        "effect": "no_auto_policy",
        "title": _("不适用免申即享政策,不予财政资金支持"),
        "basis": _("国发〔2016〕33号 第三部分"),
    },
    {
        "code": "frequent_inspection",
        "applies_to": ["C", "D", "blacklist"],
        "effect": "higher_inspection_ratio",
        "title": _("提高双随机抽查比例和频次"),
        "basis": _("《国务院关于在市场监管领域全面推行部门联合“双随机、一公开”监管的意见》(国发〔2019〕5号)"),
    },
    {
        "code": "tolerance_acceptance",
        "applies_to": ["A", "redlist"],
        "effect": "tolerance_acceptance",
        "title": _("信用承诺容缺受理,优先办理"),
        "basis": _("国发〔2016〕33号 第二部分"),
    },
    {
        "code": "light_inspection",
        "applies_to": ["A"],
        "effect": "lower_inspection_ratio",
        "title": _("降低双随机抽查比例,无事不扰"),
        "basis": _("国发〔2019〕5号"),
    },
)


def measure_list() -> list[dict]:
    return [{**m, "title": str(m["title"]), "basis": str(m["basis"])} for m in MEASURES]


def credit_measures_for(*, entity_code: str) -> dict:
    """The joint rewards/punishments that apply to an entity (by USCC), and why.

    ``{"uscc", "grade" (None if not graded), "score", "lists", "measures": [...],
    "strict_review": bool, "why": str}``. One query. Platform-side: the caller shows it to
    its own authorized users (a case's reviewer) and records the application with
    ``services.credit_measure_apply``.
    """
    code = (entity_code or "").strip().upper()
    row = CreditGrade.objects.filter(uscc=code).first() if code else None
    if row is None:
        return {
            "uscc": code,
            "grade": None,
            "score": None,
            "lists": [],
            "measures": [],
            "strict_review": False,
            "why": "",
        }
    keys = {row.grade, *row.lists}
    measures = [m for m in measure_list() if keys & set(m["applies_to"])]
    reasons = [
        str(_("信用等级 %(grade)s(%(score)d 分,规则 %(version)s)"))
        % {"grade": row.grade, "score": row.score, "version": row.rule_version}
    ]
    if "blacklist" in row.lists:
        reasons.append(str(_("列入严重失信主体名单")))
    if "redlist" in row.lists:
        reasons.append(str(_("列入守信激励名单")))
    return {
        "uscc": code,
        "grade": row.grade,
        "score": row.score,
        "lists": list(row.lists),
        "measures": measures,
        "strict_review": any(m["effect"] == "strict_review" for m in measures),
        "why": ";".join(reasons),
    }


# ---------------------------------------------------------------------------------- public


def item_list(*, department_id: int | None = None) -> QuerySet[SupervisionItem]:
    items = SupervisionItem.objects.filter(is_active=True).select_related("department")
    return items.filter(department_id=department_id) if department_id else items


def plan_list() -> QuerySet[DrawPlan]:
    """Every published plan, superseded ones included (nothing is hidden after a redraw)."""
    return DrawPlan.objects.select_related("lead_department", "supersedes").defer(
        "plan_document", "result_document", "pool_keys", "inspector_keys"
    )


def plan_get(*, code: str) -> DrawPlan:
    plan = DrawPlan.objects.select_related("lead_department", "supersedes").filter(code=code).first()
    if plan is None:
        raise NotFound(_("未找到该抽查计划。"), code="supervision_plan_not_found")
    return plan


def results_published(*, plan: DrawPlan | None = None) -> QuerySet[Inspection]:
    rows = Inspection.objects.filter(status=Inspection.Status.PUBLISHED).select_related("plan__lead_department")
    return (rows.filter(plan=plan) if plan else rows).order_by("-published_at", "-pk")


def rule_current() -> tuple[str, dict]:
    from yiwang.supervision import grading

    row = CreditRule.objects.filter(is_current=True).first()
    return (row.version, row.rule) if row else (grading.DEFAULT_VERSION, grading.DEFAULT_RULE)


def rule_versions() -> QuerySet[CreditRule]:
    return CreditRule.objects.all()


def mu_evaluations_published() -> QuerySet[MuEvaluation]:
    return MuEvaluation.objects.filter(published_at__isnull=False)


def mu_results(*, evaluation: MuEvaluation) -> QuerySet[MuResult]:
    return evaluation.results.all()


# ---------------------------------------------------------------------------------- scoped


def _signed_in(actor) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and getattr(actor, "is_active", False)


def inspector_of(*, actor) -> Inspector | None:
    if not _signed_in(actor):
        return None
    return Inspector.objects.filter(user=actor, is_active=True).select_related("department").first()


def inspectors_managed_by(*, actor) -> QuerySet[Inspector]:
    """The 执法检查人员 of the departments the actor heads or administers (superuser: all), with
    their qualifications; nobody else's (an empty list)."""
    rows = Inspector.objects.select_related("department", "user").prefetch_related("qualifications")
    if not _signed_in(actor):
        return rows.none()
    if actor.is_superuser:
        return rows
    departments = {i.department for i in Inspector.objects.select_related("department").distinct()}
    mine = [
        d.pk
        for d in departments
        if actor_has_role(actor, roles=(Role.DEPARTMENT_HEAD, Role.DEPARTMENT_ADMIN), department=d)
    ]
    return rows.filter(department_id__in=mine)


def inspector_get_managed(*, actor, certificate_number: str) -> Inspector:
    """One inspector of the actor's departments by 执法证号; anybody else's is ``NotFound``."""
    row = inspectors_managed_by(actor=actor).filter(certificate_number=certificate_number).first()
    if row is None:
        raise NotFound(code="supervision_inspector_not_found")
    return row


def inspection_list_for_actor(*, actor) -> QuerySet[Inspection]:
    """The inspector's tasks in drawn (not superseded) plans, open ones first."""
    me = inspector_of(actor=actor)
    if me is None:
        return Inspection.objects.none()
    return (
        Inspection.objects.filter(inspectors=me, plan__status=DrawPlan.Status.DRAWN)
        .select_related("plan")
        .order_by("status", "plan_id", "order")
    )


def inspection_get_for_actor(*, actor, id: int) -> Inspection:
    row = inspection_list_for_actor(actor=actor).filter(pk=id).prefetch_related("inspectors__user").first()
    if row is None:
        raise NotFound(_("未找到该检查任务。"), code="supervision_inspection_not_found")
    return row


def _credit_staff(actor) -> bool:
    if actor.is_superuser:
        return True
    department = credit_department()
    return department is not None and actor_has_role(
        actor, roles=(Role.REVIEWER, Role.DEPARTMENT_HEAD, Role.AUDITOR), department=department
    )


def grade_get_for_actor(*, actor, uscc: str) -> CreditGrade:
    """An entity's grade with its explanation: for its own agents, and for the credit
    department's reviewers and heads and auditors (other departments meet a grade only through
    ``credit_measures_for`` on their own cases)."""
    row = None
    if _signed_in(actor) and (actor.enterprise_uscc == uscc or _credit_staff(actor)):
        row = CreditGrade.objects.filter(uscc=uscc).first()
    if row is None:
        raise NotFound(_("未找到该主体的信用等级。"), code="supervision_grade_not_found")
    return row


def credit_department() -> Department | None:
    """The credit registry's source department (一数一源 of the field ``kind``): it decides 信用修复."""
    info = next((f for f in registries.registry_fields(registry="credit") if f.field == "kind"), None)
    if info is None or info.source_department_id is None:
        return None
    return Department.objects.filter(pk=info.source_department_id).first()


def economy_department() -> Department | None:
    """The 经济 registry's source department (of ``tax_paid``): it organizes 亩均效益评价."""
    info = next((f for f in registries.registry_fields(registry="economy") if f.field == "tax_paid"), None)
    if info is None or info.source_department_id is None:
        return None
    return Department.objects.filter(pk=info.source_department_id).first()


def mu_evaluation_get_published(*, year: int) -> MuEvaluation:
    row = MuEvaluation.objects.filter(year=year, published_at__isnull=False).first()
    if row is None:
        raise NotFound(_("未找到该年度已公布的亩均效益评价。"), code="supervision_mu_not_found")
    return row


def repairs_for_actor(*, actor) -> QuerySet[CreditRepair]:
    """An enterprise's own applications; the credit department's reviewers see all of them."""
    if not _signed_in(actor):
        return CreditRepair.objects.none()
    department = credit_department()
    if department is not None and actor_has_role(
        actor, roles=(Role.REVIEWER, Role.DEPARTMENT_HEAD), department=department
    ):
        return CreditRepair.objects.all()
    if actor.enterprise_uscc:
        return CreditRepair.objects.filter(uscc=actor.enterprise_uscc)
    return CreditRepair.objects.none()


# --- Figures for the dashboards' rollups (analytics) --------------------------------------------


def supervision_figures() -> dict:
    """Supervision now, for the analytics rollup (grouped queries, no personal data):
    ``coverage`` — per lead department of the drawn plans, ``drawn`` inspections and
    ``inspected`` ones (recorded or published): 双随机 coverage; ``grades`` — how many entities
    hold each credit grade (A–D), city-wide."""
    from django.db.models import Count, Q

    coverage = (
        Inspection.objects.filter(plan__status=DrawPlan.Status.DRAWN)
        .values("plan__lead_department_id", "plan__lead_department__region_code")
        .annotate(
            drawn=Count("id"),
            inspected=Count("id", filter=~Q(status=Inspection.Status.ASSIGNED)),
        )
        .order_by()
    )
    grades = CreditGrade.objects.values("grade").annotate(count=Count("id")).order_by()
    return {
        "coverage": [
            {
                "department_id": row["plan__lead_department_id"],
                "region_code": row["plan__lead_department__region_code"] or "",
                "drawn": row["drawn"],
                "inspected": row["inspected"],
            }
            for row in coverage
        ],
        "grades": [{"grade": row["grade"], "count": row["count"]} for row in grades],
    }


def credit_grades_of(*, usccs) -> dict[str, dict]:
    """{USCC: {"grade", "dishonest"}} of graded entities among ``usccs`` (chunked IN lists), for
    the policies' credit facts: ``dishonest`` when the entity is on the 严重失信 list. Entities
    not graded yet are absent. Platform-side, no personal data."""
    found: dict[str, dict] = {}
    usccs = list(dict.fromkeys(usccs))
    for first in range(0, len(usccs), 1000):
        rows = CreditGrade.objects.filter(uscc__in=usccs[first : first + 1000]).values_list("uscc", "grade", "lists")
        for uscc, grade, lists in rows:
            found[uscc] = {"grade": grade, "dishonest": "blacklist" in (lists or [])}
    return found


def qualification_get_managed(*, actor, qualification_id) -> InspectorQualification:
    """One 执法资格 of an inspector of the actor's departments; anybody else's is ``NotFound``."""
    try:
        pk = int(qualification_id)
    except (TypeError, ValueError):
        raise NotFound(code="supervision_qualification_not_found") from None
    inspector = inspectors_managed_by(actor=actor).filter(qualifications__pk=pk).first()
    if inspector is None:
        raise NotFound(code="supervision_qualification_not_found")
    return InspectorQualification.objects.select_related("inspector__user", "inspector__department").get(pk=pk)


EXPIRING_DAYS = 30


def qualification_status(qualification: InspectorQualification, today: datetime.date) -> str:
    """How a 执法资格 stands today: revoked | expired | not_yet | expiring (within 30 days) | valid."""
    if qualification.revoked_at is not None:
        return "revoked"
    if qualification.valid_to < today:
        return "expired"
    if qualification.valid_from > today:
        return "not_yet"
    if (qualification.valid_to - today).days <= EXPIRING_DAYS:
        return "expiring"
    return "valid"
