"""Supervision endpoints of the JSON API, mounted at /api/v1/supervision/.

Public (一公开, no sign-in): the item lists, the plans with their two published files (the
plan with its commitment before the draw, the result after it), published inspection results
and the current scoring rule. Signed in: department managers publish plans and draw;
inspectors read their tasks, record and publish results; an entity's agents and staff read
its grade with the explanation of every point and the joint measures that apply.
"""

import datetime

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema
from ninja.responses import Status

from yiwang.core.api_errors import ErrorOut
from yiwang.core.errors import NotFound, ValidationFailed
from yiwang.identity.auth import api_auth
from yiwang.identity.models import Department
from yiwang.supervision import selectors, services
from yiwang.supervision.models import SupervisionItem

router = Router(tags=["supervision"], auth=api_auth)
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class ItemOut(Schema):
    code: str
    name: str
    department: str
    legal_basis: str
    entity_kinds: list[str]
    checklist: list[str]


class PlanOut(Schema):
    code: str
    title: str
    period: str
    status: str = Field(description="published (commitment public, not drawn) | drawn | superseded")
    lead_department: str
    commitment: str = Field(description="SM3 of the secret seed, published before the draw")
    plan_digest: str = Field(description="SM3 of plan.json's bytes")
    result_digest: str
    entity_count: int
    inspector_count: int
    supersedes: str | None
    redraw_reason: str
    published_at: datetime.datetime
    drawn_at: datetime.datetime | None


class PlanIn(Schema):
    code: str
    title: str
    lead_department: str = Field(description="Department code")
    items: list[str] = Field(description="Item codes")
    departments: list[str] = Field(default_factory=list, description="Other departments of a joint draw")
    ratios_bp: dict[str, int] | None = Field(default=None, description="Per grade A–D, in basis points (0–10000)")
    team: dict[str, int] | None = Field(default=None, description="Inspectors per entity, per department code")
    region_prefixes: list[str] = Field(default_factory=list)
    period: str = ""
    supersedes: str | None = Field(default=None, description="Code of the plan this redraw replaces")
    redraw_reason: str = ""


class PlanCreatedOut(PlanOut):
    seed: str = Field(description="The secret seed: shown ONCE, not stored; bring it to the draw")


class DrawIn(Schema):
    seed: str
    public_entropy: str = Field(default="", description="e.g. the lottery numbers of the day")


class ResultOut(Schema):
    id: int
    plan: str
    entity_uscc: str
    entity_name: str
    authority: str
    result: str = Field(description="passed | rectify | case")
    result_label: str
    inspected_on: datetime.date | None
    published_at: datetime.datetime | None


class TaskOut(Schema):
    id: int
    plan: str
    order: int
    entity_uscc: str
    entity_name: str
    grade: str
    status: str
    result: str
    checklist: list[dict]
    findings: str
    inspected_on: datetime.date | None
    publish_by: datetime.date | None


class RecordIn(Schema):
    result: str = Field(description="passed | rectify | case")
    findings: str = ""
    checklist: list[dict] = Field(default_factory=list, description='[{"item", "ok", "note"}]')
    inspected_on: datetime.date | None = None
    rectify_by: datetime.date | None = None


class GradeOut(Schema):
    uscc: str
    name: str
    grade: str
    score: int
    rule_version: str
    lists: list[str]
    explanation: list[dict]
    measures: list[dict]


class RuleOut(Schema):
    version: str
    rule: dict


def _plan(plan) -> dict:
    return {
        **{k: getattr(plan, k) for k in ("code", "title", "period", "status", "commitment", "plan_digest")},
        **{k: getattr(plan, k) for k in ("result_digest", "entity_count", "inspector_count", "redraw_reason")},
        "lead_department": plan.lead_department.name,
        "supersedes": plan.supersedes.code if plan.supersedes_id else None,
        "published_at": plan.published_at,
        "drawn_at": plan.drawn_at,
    }


def _result(row) -> dict:
    return {
        "id": row.pk,
        "plan": row.plan.code,
        "entity_uscc": row.entity_uscc,
        "entity_name": row.entity_name,
        "authority": row.plan.lead_department.name,
        "result": row.result,
        "result_label": row.get_result_display(),
        "inspected_on": row.inspected_on,
        "published_at": row.published_at,
    }


def _task(row) -> dict:
    return {
        **{k: getattr(row, k) for k in ("id", "order", "entity_uscc", "entity_name", "grade", "status", "result")},
        **{k: getattr(row, k) for k in ("checklist", "findings", "inspected_on", "publish_by")},
        "plan": row.plan.code,
    }


# --- public ------------------------------------------------------------------------------------


@router.get("/items", response=list[ItemOut], auth=None, summary="抽查事项清单 (public)")
def items(request: HttpRequest, department: str = ""):
    rows = selectors.item_list()
    if department:
        rows = rows.filter(department__code=department)
    return [
        {
            **{k: getattr(i, k) for k in ("code", "name", "legal_basis", "entity_kinds", "checklist")},
            "department": i.department.name,
        }
        for i in rows
    ]


@router.get("/plans", response=list[PlanOut], auth=None, summary="Draw plans, superseded ones included (public)")
def plans(request: HttpRequest):
    return [_plan(p) for p in selectors.plan_list()[:500]]


@router.get("/plans/{code}", response={200: PlanOut, 404: ErrorOut}, auth=None, summary="One draw plan (public)")
def plan_detail(request: HttpRequest, code: str):
    return _plan(selectors.plan_get(code=code))


@router.get(
    "/plans/{code}/plan.json",
    response={200: dict, 404: ErrorOut},
    auth=None,
    summary="The published plan file (verify its SM3 against plan_digest)",
)
def plan_file(request: HttpRequest, code: str):
    plan = selectors.plan_get(code=code)
    return HttpResponse(plan.plan_document.encode(), content_type="application/json")


@router.get(
    "/plans/{code}/result.json",
    response={200: dict, 404: ErrorOut},
    auth=None,
    summary="The published result file (after the draw)",
)
def result_file(request: HttpRequest, code: str):
    plan = selectors.plan_get(code=code)
    if not plan.result_document:
        raise NotFound(code="supervision_not_drawn")
    return HttpResponse(plan.result_document.encode(), content_type="application/json")


@router.get("/results", response=list[ResultOut], auth=None, summary="Published inspection results (一公开)")
def results(request: HttpRequest, plan: str = ""):
    rows = selectors.results_published()
    if plan:
        rows = rows.filter(plan__code=plan)
    return [_result(r) for r in rows[:1000]]


@router.get("/credit-rule", response=RuleOut, auth=None, summary="The current credit scoring rule (public)")
def credit_rule(request: HttpRequest):
    version, rule = selectors.rule_current()
    return {"version": version, "rule": rule}


# --- managers ----------------------------------------------------------------------------------


def _department(code: str, field: str) -> Department:
    dept = Department.objects.filter(code=code, is_active=True).first()
    if dept is None:
        raise ValidationFailed(fields={field: ["未知的部门编码"]})
    return dept


@router.post("/plans", response={201: PlanCreatedOut, **ERRORS}, summary="Publish a draw plan and its commitment")
def plan_create(request: HttpRequest, payload: PlanIn):
    lead = _department(payload.lead_department, "lead_department")
    others = [_department(c, f"departments.{i}") for i, c in enumerate(payload.departments)]
    found = {i.code: i for i in SupervisionItem.objects.filter(code__in=payload.items)}
    missing = [c for c in payload.items if c not in found]
    if missing:
        raise ValidationFailed(fields={"items": [f"未知的抽查事项:{', '.join(missing)[:200]}"]})
    supersedes = selectors.plan_get(code=payload.supersedes) if payload.supersedes else None
    plan, seed = services.plan_publish(
        actor=request.user,
        code=payload.code,
        title=payload.title,
        lead_department=lead,
        items=[found[c] for c in payload.items],
        departments=others,
        ratios_bp=payload.ratios_bp,
        team=payload.team,
        region_prefixes=payload.region_prefixes,
        period=payload.period,
        supersedes=supersedes,
        redraw_reason=payload.redraw_reason,
    )
    return Status(201, {**_plan(plan), "seed": seed})


@router.post("/plans/{code}/draw", response={200: PlanOut, **ERRORS}, summary="Reveal the seed and draw")
def plan_draw(request: HttpRequest, code: str, payload: DrawIn):
    plan = selectors.plan_get(code=code)
    return _plan(
        services.plan_draw(
            actor=request.user, plan_id=plan.pk, seed=payload.seed, public_entropy=payload.public_entropy
        )
    )


# --- inspectors --------------------------------------------------------------------------------


@router.get("/inspections", response={200: list[TaskOut], **ERRORS}, summary="My inspection tasks")
def my_tasks(request: HttpRequest):
    return [_task(t) for t in selectors.inspection_list_for_actor(actor=request.user)[:500]]


@router.get("/inspections/{inspection_id}", response={200: TaskOut, **ERRORS}, summary="One of my tasks")
def my_task(request: HttpRequest, inspection_id: int):
    return _task(selectors.inspection_get_for_actor(actor=request.user, id=inspection_id))


@router.post("/inspections/{inspection_id}/record", response={200: TaskOut, **ERRORS}, summary="Record the result")
def record(request: HttpRequest, inspection_id: int, payload: RecordIn):
    selectors.inspection_get_for_actor(actor=request.user, id=inspection_id)
    row = services.inspection_record(actor=request.user, inspection_id=inspection_id, **payload.dict())
    return _task(row)


@router.post("/inspections/{inspection_id}/publish", response={200: TaskOut, **ERRORS}, summary="Publish the result")
def publish(request: HttpRequest, inspection_id: int):
    selectors.inspection_get_for_actor(actor=request.user, id=inspection_id)
    return _task(services.inspection_publish(actor=request.user, inspection_id=inspection_id))


# --- 执法检查人员名录 and their 执法资格 (managers of the department) ------------------------------


class QualificationOut(Schema):
    id: int
    kind: str = Field(description="market | health | transport | ecology | emergency | agriculture | culture | …")
    certificate_number: str
    issued_by: str
    valid_from: datetime.date
    valid_to: datetime.date
    revoked: bool


class InspectorOut(Schema):
    certificate_number: str = Field(description="执法证号: the inspector's key (hashed in plan files)")
    name: str
    department: str
    is_active: bool
    has_id_number: bool = Field(description="A 身份证号 is registered (needed for the household 回避 check)")
    qualifications: list[QualificationOut]


class QualificationIn(Schema):
    inspector: str = Field(description="The inspector's 执法证号")
    kind: str
    certificate_number: str
    valid_from: datetime.date
    valid_to: datetime.date
    issued_by: str = ""


class QualificationRevokeIn(Schema):
    qualification: int
    reason: str


def _qualification(q) -> dict:
    return {
        **{k: getattr(q, k) for k in ("id", "kind", "certificate_number", "issued_by", "valid_from", "valid_to")},
        "revoked": q.revoked_at is not None,
    }


@router.get("/inspectors", response={200: list[InspectorOut], **ERRORS}, summary="Inspectors of my departments")
def inspector_list(request: HttpRequest):
    return [
        {
            "certificate_number": i.certificate_number,
            "name": i.user.real_name or i.user.username,
            "department": i.department.code,
            "is_active": i.is_active,
            "has_id_number": bool(i.id_number),
            "qualifications": [_qualification(q) for q in i.qualifications.all()],
        }
        for i in selectors.inspectors_managed_by(actor=request.user)[:2000]
    ]


@router.post("/qualifications", response={201: QualificationOut, **ERRORS}, summary="Register a 执法资格")
def qualification_add(request: HttpRequest, payload: QualificationIn):
    inspector = selectors.inspector_get_managed(actor=request.user, certificate_number=payload.inspector)
    values = payload.dict()
    values.pop("inspector")
    return Status(201, _qualification(services.qualification_add(actor=request.user, inspector=inspector, **values)))


@router.post("/qualifications/revoke", response={200: QualificationOut, **ERRORS}, summary="Revoke a 执法资格")
def qualification_revoke(request: HttpRequest, payload: QualificationRevokeIn):
    managed = selectors.inspectors_managed_by(actor=request.user)
    if not managed.filter(qualifications__pk=payload.qualification).exists():
        raise NotFound(code="supervision_qualification_not_found")
    row = services.qualification_revoke(
        actor=request.user, qualification_id=payload.qualification, reason=payload.reason
    )
    return _qualification(row)


# --- credit ------------------------------------------------------------------------------------


@router.get("/grades/{uscc}", response={200: GradeOut, **ERRORS}, summary="An entity's grade, why, and its measures")
def grade(request: HttpRequest, uscc: str):
    row = selectors.grade_get_for_actor(actor=request.user, uscc=uscc)
    measures = selectors.credit_measures_for(entity_code=row.uscc)["measures"]
    return {
        **{k: getattr(row, k) for k in ("uscc", "name", "grade", "score", "rule_version", "lists", "explanation")},
        "measures": measures,
    }


# --- 亩均效益评价 ------------------------------------------------------------------------------


class MuRunIn(Schema):
    weights: dict[str, float] | None = Field(default=None, description="Percent per indicator; must sum to 100")
    thresholds: dict[str, float] | None = Field(default=None, description="Score lines A > B > C")


class MuResultOut(Schema):
    uscc: str
    name: str
    score: float
    klass: str = Field(description="A | B | C | D")
    indicators: dict
    measures: list[str]


class MuOut(Schema):
    year: int
    weights: dict
    thresholds: dict
    published_at: datetime.datetime | None
    results: list[MuResultOut]


def _mu(evaluation) -> dict:
    return {
        "year": evaluation.year,
        "weights": evaluation.weights,
        "thresholds": evaluation.thresholds,
        "published_at": evaluation.published_at,
        "results": [
            {
                "uscc": r.uscc,
                "name": r.name,
                "score": float(r.score),
                "klass": r.klass,
                "indicators": r.indicators,
                "measures": r.measures,
            }
            for r in evaluation.results.all()
        ],
    }


@router.get("/mu/{year}", response={200: MuOut, 404: ErrorOut}, auth=None, summary="A published 亩均效益 evaluation")
def mu_published(request: HttpRequest, year: int):
    return _mu(selectors.mu_evaluation_get_published(year=year))


@router.post("/mu/{year}/run", response={200: MuOut, **ERRORS}, summary="Configure and compute a year's evaluation")
def mu_run(request: HttpRequest, year: int, payload: MuRunIn):
    return _mu(
        services.mu_evaluation_run(
            actor=request.user, year=year, weights=payload.weights, thresholds=payload.thresholds
        )
    )


@router.post("/mu/{year}/publish", response={200: MuOut, **ERRORS}, summary="Publish a year's evaluation")
def mu_publish(request: HttpRequest, year: int):
    return _mu(services.mu_evaluation_publish(actor=request.user, year=year))


# --- 信用修复 ----------------------------------------------------------------------------------


class RepairIn(Schema):
    uscc: str
    record_number: str
    reason: str = Field(description="The rectification done")


class RepairDecideIn(Schema):
    approve: bool
    note: str


class RepairOut(Schema):
    id: int
    uscc: str
    record_number: str
    reason: str
    status: str = Field(description="pending | approved | rejected")
    decision_note: str
    created_at: datetime.datetime
    decided_at: datetime.datetime | None


def _repair(r) -> dict:
    return {
        k: getattr(r, k)
        for k in ("id", "uscc", "record_number", "reason", "status", "decision_note", "created_at", "decided_at")
    }


@router.get("/repairs", response={200: list[RepairOut], **ERRORS}, summary="信用修复 applications I may see")
def repairs(request: HttpRequest):
    return [_repair(r) for r in selectors.repairs_for_actor(actor=request.user)[:500]]


@router.post("/repairs", response={201: RepairOut, **ERRORS}, summary="Apply for 信用修复 (the enterprise's agent)")
def repair_apply(request: HttpRequest, payload: RepairIn):
    row = services.credit_repair_apply(
        actor=request.user, uscc=payload.uscc, record_number=payload.record_number, reason=payload.reason
    )
    return Status(201, _repair(row))


@router.post("/repairs/{repair_id}/decide", response={200: RepairOut, **ERRORS}, summary="Decide (credit department)")
def repair_decide(request: HttpRequest, repair_id: int, payload: RepairDecideIn):
    if not selectors.repairs_for_actor(actor=request.user).filter(pk=repair_id).exists():
        raise NotFound(code="supervision_repair_not_found")
    row = services.credit_repair_decide(
        actor=request.user, repair_id=repair_id, approve=payload.approve, note=payload.note
    )
    return _repair(row)
