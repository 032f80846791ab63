"""惠企政策 endpoints of the JSON API, mounted at /api/v1/policies/.

* Public: the published policies with their benefits and each benefit's eligibility table
  (the conditions, in the one rule language).
* An enterprise agent (or a citizen, on the facts about persons): the 政策计算器 of its own
  enterprise, its benefits on the lists (免申即享, 即申即享) and its objections; 即申即享 with one
  click; an objection to a decision.
* The issuing department's staff: the objections to their policies, and the answer.

The same selectors and services as the pages: a benefit of an unpublished policy, or an
objection of another department, answers 404 exactly like a missing one.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import Status as Respond

from yiwang.core.api_errors import ErrorOut
from yiwang.identity.auth import api_auth
from yiwang.policies import selectors, services
from yiwang.policies.models import Award, Benefit, Objection, Policy

router = Router(tags=["policies"])
READ = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut}
WRITE = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
LIMIT = 200


class PolicyBenefitOut(Schema):
    id: int
    name: str
    kind: str = Field(description="subsidy 补贴 | relief 减免 | award 奖励")
    mode: str = Field(description="no_application 免申即享 | instant 即申即享")
    amount: Decimal
    conditions: dict = Field(
        description="The eligibility table in the one rule language: {rules: [{when, outcome, reason}], default, "
        "examples} (docs/policies.md)"
    )


class PolicyLibraryOut(Schema):
    id: int
    title: str
    department: str = Field(description="Issuing department's code")
    department_name: str
    valid_from: datetime.date | None
    valid_to: datetime.date | None
    published_at: datetime.datetime | None
    benefits: list[PolicyBenefitOut]


class PolicyDetailOut(PolicyLibraryOut):
    document: str


class EligibilityLineOut(Schema):
    policy_id: int
    policy: str
    benefit_id: int
    benefit: str
    mode: str
    eligible: bool
    amount: Decimal = Field(description="What this benefit gives the caller (0 when not eligible)")
    reasons: list[str] = Field(description="One reason per condition of the deciding row")


class EligibilityOut(Schema):
    total: Decimal
    lines: list[EligibilityLineOut]


class PolicyAwardOut(Schema):
    id: int
    benefit_id: int
    benefit: str
    policy: str
    uscc: str
    name: str
    amount: Decimal
    status: str = Field(description="eligible 待审核 | reviewed 已审核 | excluded 已剔除 | confirmed | paid 已兑现")
    reasons: list[str]
    payment_reference: str
    applied: bool = Field(description="True for 即申即享 (applied with one click), false for 免申即享")


class BenefitApplyOut(Schema):
    outcome: str = Field(description="approve 符合 (listed, reviewed) | refer 需人工核实 (listed) | refuse 不符合")
    reasons: list[str]
    award: PolicyAwardOut | None


class ObjectionIn(Schema):
    text: str = Field(max_length=2000, description="What is objected to, and why")


class ObjectionOut(Schema):
    id: int
    benefit_id: int
    benefit: str
    uscc: str
    text: str
    reasons_seen: list[str]
    status: str = Field(description="open 待处理 | upheld 异议成立 | dismissed 异议不成立")
    due_on: datetime.date = Field(description="The department answers by this date (10 working days)")
    overdue: bool
    answer: str
    decided_at: datetime.datetime | None
    created_at: datetime.datetime


class ObjectionDecideIn(Schema):
    upheld: bool = Field(description="True: 异议成立 (the enterprise goes on the list as reviewed)")
    answer: str = Field(max_length=2000)


def _benefit_out(benefit: Benefit) -> dict:
    return {
        "id": benefit.pk,
        "name": benefit.name,
        "kind": benefit.kind,
        "mode": benefit.mode,
        "amount": benefit.amount,
        "conditions": benefit.rules if isinstance(benefit.rules, dict) else {"rules": benefit.rules},
    }


def _policy_out(policy: Policy, *, detail: bool = False) -> dict:
    out = {
        "id": policy.pk,
        "title": policy.title,
        "department": policy.department.code,
        "department_name": policy.department.name,
        "valid_from": policy.valid_from,
        "valid_to": policy.valid_to,
        "published_at": policy.published_at,
        "benefits": [_benefit_out(b) for b in policy.benefits.all()],
    }
    return {**out, "document": policy.document} if detail else out


def _award_out(award: Award) -> dict:
    return {
        "id": award.pk,
        "benefit_id": award.benefit_id,
        "benefit": award.benefit.name,
        "policy": award.benefit.policy.title,
        "uscc": award.uscc,
        "name": award.name,
        "amount": award.amount,
        "status": award.status,
        "reasons": [str(r) for r in award.reasons or []],
        "payment_reference": award.payment_reference,
        "applied": award.applied_by_id is not None,
    }


def _objection_out(objection: Objection) -> dict:
    return {
        "id": objection.pk,
        "benefit_id": objection.benefit_id,
        "benefit": objection.benefit.name,
        "uscc": objection.uscc,
        "text": objection.text,
        "reasons_seen": [str(r) for r in objection.reasons_seen or []],
        "status": objection.status,
        "due_on": objection.due_on,
        "overdue": objection.overdue,
        "answer": objection.answer,
        "decided_at": objection.decided_at,
        "created_at": objection.created_at,
    }


@router.get("/policies", response=list[PolicyLibraryOut], auth=None, summary="Published policies and their benefits")
def policies_library(request: HttpRequest):
    rows = selectors.policies_published().prefetch_related("benefits")
    return [_policy_out(p) for p in rows[:LIMIT]]


@router.get(
    "/policies/{int:policy_id}",
    response={200: PolicyDetailOut, 404: ErrorOut},
    auth=None,
    summary="A published policy with its document and conditions",
)
def policies_policy(request: HttpRequest, policy_id: int):
    return _policy_out(selectors.policy_get_published(id=policy_id), detail=True)


@router.get(
    "/eligibility",
    response={200: EligibilityOut, **READ, 409: ErrorOut},
    auth=api_auth,
    summary="政策计算器: every published benefit for my enterprise (or me, a citizen)",
)
def policies_eligibility(request: HttpRequest):
    """For an enterprise agent, its enterprise's registry, economy and credit facts; for a citizen
    with a verified 身份证号, his population record. Anyone else: 404."""
    lines, total = selectors.calculator(actor=request.auth)
    return {
        "total": total,
        "lines": [
            {
                "policy_id": line.policy.pk,
                "policy": line.policy.title,
                "benefit_id": line.benefit.pk,
                "benefit": line.benefit.name,
                "mode": line.benefit.mode,
                "eligible": line.eligible,
                "amount": line.amount,
                "reasons": [str(r) for r in line.reasons],
            }
            for line in lines
        ],
    }


@router.get(
    "/awards", response={200: list[PolicyAwardOut], 401: ErrorOut}, auth=api_auth, summary="My enterprise's benefits"
)
def policies_awards(request: HttpRequest):
    return [_award_out(a) for a in selectors.awards_of_enterprise(actor=request.auth)[:LIMIT]]


@router.post(
    "/benefits/{int:benefit_id}/apply",
    response={200: BenefitApplyOut, 201: BenefitApplyOut, **WRITE},
    auth=api_auth,
    summary="即申即享: apply with one click, decided by the rules",
)
def policies_benefit_apply(request: HttpRequest, benefit_id: int):
    """Nothing is typed: the facts are read from the registries. 201 when the enterprise is put on
    the list (符合, or 需人工核实); 200 with the reasons when it does not qualify (nothing recorded)."""
    benefit = selectors.benefit_get_published(id=benefit_id)
    award, reasons = services.benefit_apply(actor=request.auth, benefit=benefit)
    if award is None:
        return {"outcome": "refuse", "reasons": [str(r) for r in reasons], "award": None}
    outcome = "approve" if award.status == Award.Status.REVIEWED else "refer"
    return Respond(201, {"outcome": outcome, "reasons": [str(r) for r in reasons], "award": _award_out(award)})


@router.get(
    "/objections/mine",
    response={200: list[ObjectionOut], 401: ErrorOut},
    auth=api_auth,
    summary="My enterprise's objections and their answers",
)
def policies_objections_mine(request: HttpRequest):
    return [_objection_out(o) for o in selectors.objections_of_enterprise(actor=request.auth)[:LIMIT]]


@router.post(
    "/benefits/{int:benefit_id}/objections",
    response={201: ObjectionOut, **WRITE},
    auth=api_auth,
    summary="Object to what was decided about a benefit (异议)",
)
def policies_objection_raise(request: HttpRequest, benefit_id: int, payload: ObjectionIn):
    benefit = selectors.benefit_get_published(id=benefit_id)
    objection = services.objection_raise(actor=request.auth, benefit=benefit, text=payload.text)
    return Respond(201, _objection_out(objection))


@router.get(
    "/objections",
    response={200: list[ObjectionOut], 401: ErrorOut},
    auth=api_auth,
    summary="Objections to my departments' policies (staff), open ones first",
)
def policies_objections(request: HttpRequest, status: str = ""):
    rows = selectors.objections_for_department(actor=request.auth)
    if status:
        rows = rows.filter(status=status[:20])
    return [_objection_out(o) for o in rows[:LIMIT]]


@router.post(
    "/objections/{int:objection_id}/decide",
    response={200: ObjectionOut, **WRITE},
    auth=api_auth,
    summary="Answer an objection: upheld or dismissed (the issuing department)",
)
def policies_objection_decide(request: HttpRequest, objection_id: int, payload: ObjectionDecideIn):
    objection = selectors.objection_get_for_department(actor=request.auth, id=objection_id)
    objection = services.objection_answer(
        actor=request.auth, objection=objection, upheld=payload.upheld, answer=payload.answer
    )
    return _objection_out(objection)
