"""好差评 and service-metric endpoints, mounted at /api/v1/evaluation/.

Applicants rate their concluded cases (channel ``api``), change a rating once within the
configured days and re-rate after a rectification; staff of the case's department list
ratings, work rectifications and ask for (or approve) an invalidation; the figures are read
per item, department, window or staff; the public figures by department need no sign-in.
Thin: reads are selectors, writes are services.
"""

import datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status as Respond

from yiwang.core.api_errors import ErrorOut
from yiwang.core.pagination import PageNumberPagination
from yiwang.evaluation import selectors, services
from yiwang.evaluation.models import (
    Rating,
    RatingChannel,
    RatingLevel,
    RatingValidity,
    Rectification,
    RectificationState,
)
from yiwang.identity.auth import api_auth

router = Router(tags=["evaluation"], auth=api_auth)

READ_ERRORS = {401: ErrorOut, 404: ErrorOut}
LIST_ERRORS = {401: ErrorOut, 422: ErrorOut}
WRITE_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class RatingPagination(PageNumberPagination):
    """``?page=1&page_size=50`` (at most 200); answers ``{"items": [...], "count": N}``."""

    def __init__(self, **kwargs):
        super().__init__(page_size=50, max_page_size=200, **kwargs)


class RectificationOut(Schema):
    id: int
    state: RectificationState
    state_label: str
    due_date: datetime.date = Field(description="15 working days after the bad rating")
    level_at_opening: RatingLevel
    finding: str
    contact_note: str
    measures: str
    verified_at: datetime.datetime | None
    contacted_at: datetime.datetime | None
    rectified_at: datetime.datetime | None
    was_overdue: bool
    escalated_at: datetime.datetime | None


class RatingOut(Schema):
    id: int
    case_id: int
    case_number: str
    level: RatingLevel
    level_label: str
    first_level: RatingLevel
    comment: str
    channel: RatingChannel
    item_code: str
    item_name: str
    department_id: int
    department_name: str
    rated_at: datetime.datetime
    changed_at: datetime.datetime | None
    rerated_at: datetime.datetime | None
    validity: RatingValidity
    change_open: bool = Field(description="The rater may still change it (once, within the configured days)")
    rerate_open: bool = Field(description="The rectification is done and the rater may rate again")
    rectification: RectificationOut | None


class StaffRatingOut(RatingOut):
    window_id: int | None = Field(description="The hall whose window took the case in; None for an online case")
    window_name: str | None
    staff_id: int | None
    invalid_reason: str


class RatingIn(Schema):
    level: RatingLevel
    comment: str = Field("", max_length=500)


class RatingChangeIn(Schema):
    level: RatingLevel
    comment: str | None = Field(None, max_length=500)


class InvalidReasonIn(Schema):
    reason: str = Field(..., max_length=2000)


class InvalidDecisionIn(Schema):
    approve: bool


class RectificationStepIn(Schema):
    text: str = Field(..., max_length=2000, description="核实情况 / 沟通情况 / 整改措施")


class RatingStatsRow(Schema):
    key: int | str | None
    name: str
    total: int
    good: int
    bad: int
    good_rate: float | None = Field(description="好评率 (fraction); None without ratings")
    rectifications: int
    rectified: int
    rectification_rate: float | None = Field(description="差评整改率 (fraction)")
    overdue: int


class RatingStatsTotal(Schema):
    total: int
    good: int
    bad: int
    good_rate: float | None
    rectifications: int
    rectified: int
    rectification_rate: float | None
    overdue: int


class RatingStatsOut(Schema):
    group: str
    month: str
    rows: list[RatingStatsRow]
    total: RatingStatsTotal


class ServiceMetricsRow(Schema):
    key: int | str | None
    name: str
    cases: int
    concluded: int
    immediate_rate: float | None = Field(description="即办件比例")
    online_rate: float | None = Field(description="网上申报率")
    online_end_to_end_rate: float | None = Field(description="全程网办率 (no window visit recorded)")
    at_most_one_visit_rate: float | None = Field(description="最多跑一次")
    zero_visit_rate: float | None = Field(description="零跑腿")
    avg_visits: float | None
    time_compression: float | None = Field(description="承诺时限压缩比: 1 − promised/statutory")
    avg_handling_days: float | None
    p90_handling_days: float | None
    material_reduction: float | None = Field(description="材料减免比例")
    auto_rate: float | None = Field(description="秒批 share; None when not recorded")
    good_rate: float | None = Field(description="好评率")


class ServiceMetricsOut(Schema):
    group: str
    month: str
    rows: list[ServiceMetricsRow]
    auto_recorded: bool


def _rectification(rating: Rating) -> Rectification | None:
    try:
        return rating.rectification
    except Rectification.DoesNotExist:
        return None


def _rating_out(rating: Rating, *, staff: bool = False) -> dict:
    rectification = _rectification(rating)
    data = {
        "id": rating.pk,
        "case_id": rating.case_id,
        "case_number": rating.case_number,
        "level": rating.level,
        "level_label": str(rating.get_level_display()),
        "first_level": rating.first_level,
        "comment": rating.comment,
        "channel": rating.channel,
        "item_code": rating.item_code,
        "item_name": rating.item_name,
        "department_id": rating.department_id,
        "department_name": rating.department.name,
        "rated_at": rating.rated_at,
        "changed_at": rating.changed_at,
        "rerated_at": rating.rerated_at,
        "validity": rating.validity,
        "change_open": selectors.rating_change_open(rating=rating),
        "rerate_open": selectors.rating_rerate_open(rating=rating),
        "rectification": _rectification_out(rectification) if rectification else None,
    }
    if staff:
        data |= {
            "window_id": rating.window_id,
            "window_name": rating.window.name if rating.window_id else None,
            "staff_id": rating.staff_id,
            "invalid_reason": rating.invalid_reason,
        }
    return data


def _rectification_out(r: Rectification) -> dict:
    return {
        "id": r.pk,
        "state": r.state,
        "state_label": str(r.get_state_display()),
        "due_date": r.due_date,
        "level_at_opening": r.level_at_opening,
        "finding": r.finding,
        "contact_note": r.contact_note,
        "measures": r.measures,
        "verified_at": r.verified_at,
        "contacted_at": r.contacted_at,
        "rectified_at": r.rectified_at,
        "was_overdue": r.was_overdue,
        "escalated_at": r.escalated_at,
    }


def _fresh(rating_id: int, actor) -> Rating:
    return selectors.rating_get(actor=actor, rating_id=rating_id)


# --- the applicant ------------------------------------------------------------------------------


@router.post("/cases/{int:case_id}/rating", response={201: RatingOut, **WRITE_ERRORS}, summary="Rate my concluded case")
def rate_case(request: HttpRequest, case_id: int, payload: RatingIn):
    """Once per case, after delivery or refusal. ``404 case_not_found`` for anybody else's
    case; ``409 rating_exists`` for a second rating (change it with ``PUT /ratings/{id}``);
    ``409 case_not_concluded`` while the case runs. A 差评 opens a rectification."""
    rating = services.rating_submit(
        actor=request.auth, case_id=case_id, level=payload.level, comment=payload.comment, channel=RatingChannel.API
    )
    return Respond(201, _rating_out(_fresh(rating.pk, request.auth)))


@router.get("/cases/{int:case_id}/rating", response={200: RatingOut, **READ_ERRORS}, summary="My rating of a case")
def my_case_rating(request: HttpRequest, case_id: int):
    from yiwang.core.errors import NotFound

    _facts, rating = selectors.rating_for_case(actor=request.auth, case_id=case_id)
    if rating is None:
        raise NotFound(code="rating_not_found")
    return _rating_out(_fresh(rating.pk, request.auth))


@router.get("/ratings/mine", response={200: list[RatingOut], **READ_ERRORS}, summary="My ratings")
@paginate(RatingPagination)
def my_ratings(request: HttpRequest):
    ratings = selectors.rating_list_for_applicant(actor=request.auth).select_related("department")
    return [_rating_out(r) for r in ratings]


@router.put("/ratings/{int:rating_id}", response={200: RatingOut, **WRITE_ERRORS}, summary="Change my rating (once)")
def change_rating(request: HttpRequest, rating_id: int, payload: RatingChangeIn):
    """Once, within ``YIWANG_RATING_CHANGE_DAYS`` days (default 5) of rating: else ``409 rating_change_closed``."""
    services.rating_change(actor=request.auth, rating_id=rating_id, level=payload.level, comment=payload.comment)
    return _rating_out(_fresh(rating_id, request.auth))


@router.post(
    "/ratings/{int:rating_id}/rerate",
    response={200: RatingOut, **WRITE_ERRORS},
    summary="Rate again after rectification",
)
def rerate(request: HttpRequest, rating_id: int, payload: RatingChangeIn):
    services.rating_rerate(actor=request.auth, rating_id=rating_id, level=payload.level, comment=payload.comment)
    return _rating_out(_fresh(rating_id, request.auth))


# --- staff -----------------------------------------------------------------------------------------


@router.get("/ratings", response={200: list[StaffRatingOut], **LIST_ERRORS}, summary="Ratings of my departments")
@paginate(RatingPagination)
def rating_list(request: HttpRequest, validity: RatingValidity | None = None, bad_only: bool = False):
    ratings = selectors.rating_list(actor=request.auth, validity=validity, bad_only=bad_only)
    return [_rating_out(r, staff=True) for r in ratings]


@router.get("/ratings/{int:rating_id}", response={200: RatingOut, **READ_ERRORS}, summary="A rating")
def rating_detail(request: HttpRequest, rating_id: int):
    """For the staff of its department and for its rater; ``404`` for anybody else."""
    return _rating_out(_fresh(rating_id, request.auth))


@router.post(
    "/ratings/{int:rating_id}/invalid", response={200: RatingOut, **WRITE_ERRORS}, summary="Ask to mark invalid"
)
def invalid_request(request: HttpRequest, rating_id: int, payload: InvalidReasonIn):
    """A malicious rating: the reason is required; a second person decides."""
    services.rating_invalid_request(actor=request.auth, rating_id=rating_id, reason=payload.reason)
    return _rating_out(_fresh(rating_id, request.auth))


@router.post(
    "/ratings/{int:rating_id}/invalid/decision",
    response={200: RatingOut, **WRITE_ERRORS},
    summary="Approve or decline an invalidation",
)
def invalid_decide(request: HttpRequest, rating_id: int, payload: InvalidDecisionIn):
    """A department head or city admin other than the requester (``403 second_person_required``)."""
    services.rating_invalid_decide(actor=request.auth, rating_id=rating_id, approve=payload.approve)
    return _rating_out(_fresh(rating_id, request.auth))


@router.get(
    "/rectifications", response={200: list[RectificationOut], **LIST_ERRORS}, summary="Rectifications of my departments"
)
@paginate(RatingPagination)
def rectification_list(request: HttpRequest, open_only: bool = False):
    return [_rectification_out(r) for r in selectors.rectification_list(actor=request.auth, open_only=open_only)]


_STEPS = {
    "verify": (services.rectification_verify, "finding"),
    "contact": (services.rectification_contact, "note"),
    "complete": (services.rectification_complete, "measures"),
}


def _step(request, rectification_id: int, step: str, text: str) -> dict:
    service, argument = _STEPS[step]
    rectification = service(actor=request.auth, rectification_id=rectification_id, **{argument: text})
    return _rectification_out(rectification)


@router.post(
    "/rectifications/{int:rectification_id}/verify",
    response={200: RectificationOut, **WRITE_ERRORS},
    summary="Verify a bad rating",
)
def rectification_verify(request: HttpRequest, rectification_id: int, payload: RectificationStepIn):
    return _step(request, rectification_id, "verify", payload.text)


@router.post(
    "/rectifications/{int:rectification_id}/contact",
    response={200: RectificationOut, **WRITE_ERRORS},
    summary="Record contact with the applicant",
)
def rectification_contact(request: HttpRequest, rectification_id: int, payload: RectificationStepIn):
    return _step(request, rectification_id, "contact", payload.text)


@router.post(
    "/rectifications/{int:rectification_id}/complete",
    response={200: RectificationOut, **WRITE_ERRORS},
    summary="Record the rectification",
)
def rectification_complete(request: HttpRequest, rectification_id: int, payload: RectificationStepIn):
    """Past the due date it is still recorded; it stays counted as overdue."""
    return _step(request, rectification_id, "complete", payload.text)


# --- figures -------------------------------------------------------------------------------------

MONTH = Query(None, pattern=r"^\d{4}(-\d{2})?$", description="YYYY-MM (or YYYY with group=month)")


@router.get("/stats", response={200: RatingStatsOut, **LIST_ERRORS}, summary="好评率 and 差评整改率 of my departments")
def stats(
    request: HttpRequest,
    group: str = Query("department", pattern="^(item|department|window|staff)$"),
    month: str | None = Query(None, pattern=r"^\d{4}-\d{2}$", description="YYYY-MM"),
):
    return selectors.rating_stats(actor=request.auth, group=group, month=month)


@router.get(
    "/public/departments",
    response={200: list[RatingStatsRow], 422: ErrorOut},
    auth=None,
    summary="Public figures by department",
)
def public_departments(request: HttpRequest, month: str | None = Query(None, pattern=r"^\d{4}-\d{2}$")):
    return selectors.public_department_stats(month=month)


@router.get(
    "/metrics", response={200: ServiceMetricsOut, **LIST_ERRORS}, summary="Service metrics computed from the cases"
)
def metrics(
    request: HttpRequest,
    group: str = Query("department", pattern="^(item|department|month)$"),
    month: str | None = MONTH,
):
    """Per item, department or month (``group=month&month=2026``), over the cases of my departments."""
    return selectors.service_metrics(actor=request.auth, group=group, month=month)
