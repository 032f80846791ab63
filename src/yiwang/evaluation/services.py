"""好差评 writes. Every change is audited in its own transaction (``core.audit``); rows are
locked with ``select_for_update(no_key=True)``.

Guarantees:
* ``rating_submit`` — only the case's applicant (anybody else: ``NotFound``, as for a missing
  case), only once the case is delivered or refused (``409 case_not_concluded``), once per case
  (``409 rating_exists``). A 差评 opens a rectification due in 15 working days and notifies
  the department's reviewers and heads.
* ``rating_change`` — once, within ``YIWANG_RATING_CHANGE_DAYS`` days of the first rating
  (``409 rating_change_closed``); after a rectification is done the applicant may re-rate
  once more (``rating_rerate``).
* rectification steps — verify, contact, rectify, each by the department's reviewers or heads,
  in order; past the due date the sweep marks it ``overdue`` and escalates once (the heads of
  the department and of the department above it); a late rectification is still accepted
  and stays counted as overdue (``was_overdue``).
* invalidation — requested with a reason by the department's staff, decided by a
  department head or city admin who is not the requester.
"""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.cases import selectors as cases_selectors
from yiwang.core.audit import audit_record
from yiwang.core.calendar import add_working_days
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.inputs import ensure_storable
from yiwang.evaluation.models import (
    BAD_LEVELS,
    OPEN_RECTIFICATION_STATES,
    Rating,
    RatingChannel,
    RatingLevel,
    RatingValidity,
    Rectification,
    RectificationState,
)
from yiwang.identity.models import Department, Role
from yiwang.identity.selectors import actor_has_role, department_ancestors, users_with_role

SYSTEM_ACTOR = "task:evaluation.sweep"
HANDLER_ROLES = (Role.REVIEWER, Role.DEPARTMENT_HEAD)
APPROVER_ROLES = (Role.DEPARTMENT_HEAD, Role.CITY_ADMIN)
MAX_COMMENT = 500


def _level(value) -> str:
    if value not in RatingLevel.values:
        message = _("评价等级只能是非常满意、满意、基本满意、不满意或非常不满意")
        raise ValidationFailed(message, code="invalid_level", fields={"level": [message]})
    return value


def _text(value, field: str, *, required: bool = False, message: str = "") -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    if value is not None and not isinstance(value, str):
        raise ValidationFailed(fields={field: [_("须为文本")]})
    ensure_storable(text, field=field)
    if required and not text:
        raise ValidationFailed(message, code="required", fields={field: [message]})
    if len(text) > MAX_COMMENT * 4:
        raise ValidationFailed(fields={field: [_("内容过长")]})
    return text


def _change_window(rating: Rating) -> timedelta:
    return timedelta(days=int(getattr(settings, "YIWANG_RATING_CHANGE_DAYS", 5)))


def _lock_rating(rating_id) -> Rating:
    try:
        pk = int(rating_id)
    except (TypeError, ValueError):
        raise NotFound(_("未找到该评价。"), code="rating_not_found") from None
    rating = Rating.objects.select_for_update(no_key=True, of=("self",)).filter(pk=pk).first()
    if rating is None:
        raise NotFound(_("未找到该评价。"), code="rating_not_found")
    return rating


def _notify(*, recipients, template_code: str, rating: Rating, rectification: Rectification | None, key: str):
    from yiwang.messaging.services import Ref, message_send_many

    people = [person for person in recipients if person is not None]
    if not people:
        return
    context = {
        "number": rating.case_number,
        "item_name": rating.item_name,
        "level": str(rating.get_level_display()),
        "due_date": rectification.due_date.isoformat() if rectification else "",
    }
    staff_side = template_code != "evaluation.rectified"
    url = f"/workbench/evaluation/ratings/{rating.pk}/" if staff_side else f"/evaluation/cases/{rating.case_id}/rate/"
    message_send_many(
        actor=SYSTEM_ACTOR,
        recipients=people,
        template_code=template_code,
        context=context,
        ref=Ref("rating", rating.pk, url),
        dedupe_key=key,
    )


def _handlers(department: Department) -> list:
    people = {}
    for role in HANDLER_ROLES:
        for user in users_with_role(role=role, department=department):
            people[user.pk] = user
    return list(people.values())


def _open_rectification(*, rating: Rating, actor) -> Rectification:
    now = timezone.now()
    department = Department.objects.get(pk=rating.department_id)
    days = int(getattr(settings, "YIWANG_RECTIFICATION_WORKING_DAYS", 15))
    rectification = Rectification.objects.create(
        rating=rating,
        department=department,
        state=RectificationState.OPEN,
        opened_at=now,
        due_date=add_working_days(timezone.localdate(now), days),
        level_at_opening=rating.level,
    )
    audit_record(
        actor=actor,
        action="rectification.open",
        obj=rectification,
        changes={"rating": rating.pk, "level": rating.level, "due_date": rectification.due_date.isoformat()},
    )
    _notify(
        recipients=_handlers(department),
        template_code="evaluation.rectification_opened",
        rating=rating,
        rectification=rectification,
        key=f"rectification:{rectification.pk}:opened",
    )
    return rectification


@transaction.atomic
def rating_submit(*, actor, case_id, level: str, comment: str = "", channel: str = RatingChannel.PORTAL) -> Rating:
    """The applicant's rating of his concluded case (see the module docstring)."""
    level = _level(level)
    comment = _text(comment, "comment")
    if channel not in RatingChannel.values:
        raise ValidationFailed(fields={"channel": [_("评价渠道无效")]})
    facts = cases_selectors.case_rating_facts(actor=actor, case_id=case_id)  # NotFound unless his
    if not facts["ratable"]:
        raise Conflict(_("办件办结(送达或不予受理)后才能评价。"), code="case_not_concluded")
    if Rating.objects.filter(case_id=facts["case_id"], rater=actor).exists():
        raise Conflict(
            _("您已评价过该办件。评价后 %(days)d 天内可修改一次。") % {"days": settings.YIWANG_RATING_CHANGE_DAYS},
            code="rating_exists",
        )
    now = timezone.now()
    try:
        with transaction.atomic():
            rating = Rating.objects.create(
                case_id=facts["case_id"],
                case_number=facts["number"],
                rater=actor,
                level=level,
                first_level=level,
                comment=comment[:MAX_COMMENT],
                channel=channel,
                item_code=facts["item_code"],
                item_name=facts["item_name"],
                department_id=facts["department_id"],
                window_id=facts["intake_department_id"],
                staff_id=facts["staff_id"],
                rated_at=now,
            )
    except IntegrityError:  # a concurrent first rating won
        raise Conflict(_("您已评价过该办件。"), code="rating_exists") from None
    audit_record(actor=actor, action="rating.submit", obj=rating, changes={"level": level, "channel": channel})
    if level in BAD_LEVELS:
        _open_rectification(rating=rating, actor=actor)
    return rating


def _own_rating(*, actor, rating_id) -> Rating:
    rating = _lock_rating(rating_id)
    if rating.rater_id != getattr(actor, "pk", None):
        raise NotFound(_("未找到该评价。"), code="rating_not_found")
    return rating


@transaction.atomic
def rating_change(*, actor, rating_id, level: str, comment: str | None = None) -> Rating:
    """The applicant changes his rating: once, within the configured days. A change to 差评
    opens a rectification (if none was opened); a change away from 差评 leaves an open
    rectification to run (the department still answers for it)."""
    level = _level(level)
    rating = _own_rating(actor=actor, rating_id=rating_id)
    now = timezone.now()
    if rating.changed_at is not None:
        raise Conflict(_("评价只能修改一次。"), code="rating_change_closed")
    if now > rating.rated_at + _change_window(rating):
        raise Conflict(
            _("评价后 %(days)d 天内才能修改。") % {"days": settings.YIWANG_RATING_CHANGE_DAYS},
            code="rating_change_closed",
        )
    if rating.validity != RatingValidity.VALID:
        raise Conflict(_("该评价正在认定或已认定无效,不能修改。"), code="rating_not_valid")
    old = rating.level
    rating.level = level
    if comment is not None:
        rating.comment = _text(comment, "comment")[:MAX_COMMENT]
    rating.changed_at = now
    rating.save(update_fields=["level", "comment", "changed_at"])
    audit_record(actor=actor, action="rating.change", obj=rating, changes={"level": [old, level]})
    if level in BAD_LEVELS and not Rectification.objects.filter(rating=rating).exists():
        _open_rectification(rating=rating, actor=actor)
    return rating


@transaction.atomic
def rating_rerate(*, actor, rating_id, level: str, comment: str | None = None) -> Rating:
    """After the rectification is done, the applicant rates again (once)."""
    level = _level(level)
    rating = _own_rating(actor=actor, rating_id=rating_id)
    rectification = Rectification.objects.filter(rating=rating).first()
    if rectification is None or rectification.state != RectificationState.RECTIFIED:
        raise Conflict(_("整改完成后才能再次评价。"), code="rerate_not_open")
    if rating.rerated_at is not None:
        raise Conflict(_("整改后只能再评价一次。"), code="rerate_closed")
    old = rating.level
    rating.level = level
    if comment is not None:
        rating.comment = _text(comment, "comment")[:MAX_COMMENT]
    rating.rerated_at = timezone.now()
    rating.save(update_fields=["level", "comment", "rerated_at"])
    audit_record(actor=actor, action="rating.rerate", obj=rating, changes={"level": [old, level]})
    return rating


# --- rectification ----------------------------------------------------------------------------


def _lock_rectification(*, actor, rectification_id) -> Rectification:
    try:
        pk = int(rectification_id)
    except (TypeError, ValueError):
        raise NotFound(_("未找到该整改。"), code="rectification_not_found") from None
    rectification = (
        Rectification.objects.select_for_update(no_key=True, of=("self",))
        .select_related("department", "rating")
        .filter(pk=pk)
        .first()
    )
    if rectification is None or not actor_has_role(
        actor, roles=(*HANDLER_ROLES, Role.AUDITOR, Role.CITY_ADMIN), department=rectification.department
    ):
        raise NotFound(_("未找到该整改。"), code="rectification_not_found")
    if not actor_has_role(actor, roles=HANDLER_ROLES, department=rectification.department):
        raise Forbidden(_("只有本部门审核人员或负责人可以办理整改。"))
    return rectification


def _require_step(rectification: Rectification, *states) -> None:
    if rectification.state not in states:
        raise Conflict(
            _("整改当前为“%(state)s”,不能执行此操作。") % {"state": rectification.get_state_display()},
            code="rectification_state",
        )


@transaction.atomic
def rectification_verify(*, actor, rectification_id, finding: str) -> Rectification:
    """核实: the department states what it found."""
    finding = _text(finding, "finding", required=True, message=_("请填写核实情况"))
    rectification = _lock_rectification(actor=actor, rectification_id=rectification_id)
    _require_step(rectification, RectificationState.OPEN, RectificationState.OVERDUE)
    if rectification.verified_at is not None:
        raise Conflict(_("已核实。"), code="rectification_state")
    rectification.finding = finding
    rectification.verified_at = timezone.now()
    rectification.verified_by = actor
    if rectification.state == RectificationState.OPEN:
        rectification.state = RectificationState.VERIFIED
    rectification.save()
    audit_record(actor=actor, action="rectification.verify", obj=rectification, changes={"state": rectification.state})
    return rectification


@transaction.atomic
def rectification_contact(*, actor, rectification_id, note: str) -> Rectification:
    """联系申请人: how the department reached the applicant and what was agreed."""
    note = _text(note, "note", required=True, message=_("请填写与申请人沟通的情况"))
    rectification = _lock_rectification(actor=actor, rectification_id=rectification_id)
    _require_step(rectification, RectificationState.VERIFIED, RectificationState.OVERDUE)
    if rectification.verified_at is None:
        raise Conflict(_("请先核实。"), code="rectification_state")
    if rectification.contacted_at is not None:
        raise Conflict(_("已联系申请人。"), code="rectification_state")
    rectification.contact_note = note
    rectification.contacted_at = timezone.now()
    rectification.contacted_by = actor
    if rectification.state == RectificationState.VERIFIED:
        rectification.state = RectificationState.CONTACTED
    rectification.save()
    audit_record(actor=actor, action="rectification.contact", obj=rectification, changes={"state": rectification.state})
    return rectification


@transaction.atomic
def rectification_complete(*, actor, rectification_id, measures: str) -> Rectification:
    """整改完成: the measures taken. The applicant is invited to re-rate. Past the due date it is
    still recorded, and the rectification stays counted as overdue (``was_overdue``)."""
    measures = _text(measures, "measures", required=True, message=_("请填写整改措施"))
    rectification = _lock_rectification(actor=actor, rectification_id=rectification_id)
    _require_step(rectification, RectificationState.CONTACTED, RectificationState.OVERDUE)
    if rectification.contacted_at is None:
        raise Conflict(_("请先核实并联系申请人。"), code="rectification_state")
    now = timezone.now()
    if timezone.localdate(now) > rectification.due_date:
        rectification.was_overdue = True
    old = rectification.state
    rectification.state = RectificationState.RECTIFIED
    rectification.measures = measures
    rectification.rectified_at = now
    rectification.rectified_by = actor
    rectification.closed_at = now
    rectification.save()
    audit_record(
        actor=actor,
        action="rectification.complete",
        obj=rectification,
        changes={"state": [old, rectification.state], "was_overdue": rectification.was_overdue},
    )
    rating = rectification.rating
    from django.contrib.auth import get_user_model

    _notify(
        recipients=[get_user_model().objects.filter(pk=rating.rater_id, is_active=True).first()],
        template_code="evaluation.rectified",
        rating=rating,
        rectification=rectification,
        key=f"rectification:{rectification.pk}:rectified",
    )
    return rectification


def rectification_sweep(*, today=None) -> dict:
    """The daily look at open rectifications: a reminder N working days before the due date
    (once a day at most), and past the due date ``overdue`` with one escalation to the heads
    of the department and of the department above it. Idempotent."""
    today = today or timezone.localdate()
    remind_days = int(getattr(settings, "YIWANG_RECTIFICATION_REMIND_DAYS", 3))
    reminded = escalated = 0
    ids = list(
        Rectification.objects.filter(state__in=OPEN_RECTIFICATION_STATES).values_list("pk", flat=True).order_by("pk")
    )
    for pk in ids:
        with transaction.atomic():
            rectification = (
                Rectification.objects.select_for_update(no_key=True, of=("self",))
                .select_related("department", "rating")
                .filter(pk=pk, state__in=OPEN_RECTIFICATION_STATES)
                .first()
            )
            if rectification is None:
                continue
            if today > rectification.due_date and rectification.escalated_at is None:
                old = rectification.state
                rectification.state = RectificationState.OVERDUE
                rectification.was_overdue = True
                rectification.escalated_at = timezone.now()
                rectification.save(update_fields=["state", "was_overdue", "escalated_at"])
                audit_record(
                    actor=SYSTEM_ACTOR,
                    action="rectification.overdue",
                    obj=rectification,
                    changes={"state": [old, rectification.state], "due_date": rectification.due_date.isoformat()},
                )
                heads = {
                    u.pk: u for u in users_with_role(role=Role.DEPARTMENT_HEAD, department=rectification.department)
                }
                for above in department_ancestors(department=rectification.department)[-1:]:
                    heads.update({u.pk: u for u in users_with_role(role=Role.DEPARTMENT_HEAD, department=above)})
                recipients = list(heads.values()) + _handlers(rectification.department)
                _notify(
                    recipients=list({u.pk: u for u in recipients}.values()),
                    template_code="evaluation.rectification_overdue",
                    rating=rectification.rating,
                    rectification=rectification,
                    key=f"rectification:{rectification.pk}:overdue",
                )
                escalated += 1
            elif (
                rectification.state != RectificationState.OVERDUE
                and add_working_days(today, remind_days) >= rectification.due_date
                and rectification.reminded_on != today
            ):
                rectification.reminded_on = today
                rectification.save(update_fields=["reminded_on"])
                audit_record(actor=SYSTEM_ACTOR, action="rectification.remind", obj=rectification, changes={})
                _notify(
                    recipients=_handlers(rectification.department),
                    template_code="evaluation.rectification_reminder",
                    rating=rectification.rating,
                    rectification=rectification,
                    key=f"rectification:{rectification.pk}:remind:{today.isoformat()}",
                )
                reminded += 1
    return {"open": len(ids), "reminded": reminded, "escalated": escalated}


# --- invalid (malicious) ratings: two people --------------------------------------------------


def _lock_for_staff(*, actor, rating_id) -> Rating:
    rating = _lock_rating(rating_id)
    department = Department.objects.get(pk=rating.department_id)
    if not actor_has_role(actor, roles=(*HANDLER_ROLES, Role.AUDITOR, Role.CITY_ADMIN), department=department):
        raise NotFound(_("未找到该评价。"), code="rating_not_found")
    rating._department = department
    return rating


@transaction.atomic
def rating_invalid_request(*, actor, rating_id, reason: str) -> Rating:
    """Ask that a rating be recognised as malicious (恶意差评): a reason is required; it takes
    effect only when a second person approves."""
    reason = _text(reason, "reason", required=True, message=_("请填写认定无效的理由"))
    rating = _lock_for_staff(actor=actor, rating_id=rating_id)
    if not actor_has_role(actor, roles=HANDLER_ROLES, department=rating._department):
        raise Forbidden(_("只有本部门审核人员或负责人可以申请认定无效。"))
    if rating.validity != RatingValidity.VALID:
        raise Conflict(_("该评价已申请认定或已认定无效。"), code="rating_not_valid")
    rating.validity = RatingValidity.INVALID_REQUESTED
    rating.invalid_reason = reason
    rating.invalid_requested_by = actor
    rating.invalid_requested_at = timezone.now()
    rating.save(update_fields=["validity", "invalid_reason", "invalid_requested_by", "invalid_requested_at"])
    audit_record(actor=actor, action="rating.invalid_request", obj=rating, changes={"validity": rating.validity})
    return rating


@transaction.atomic
def rating_invalid_decide(*, actor, rating_id, approve: bool) -> Rating:
    """The second person (a department head or city admin, never the requester) approves —
    the rating leaves the figures and its rectification closes — or declines."""
    rating = _lock_for_staff(actor=actor, rating_id=rating_id)
    if not actor_has_role(actor, roles=APPROVER_ROLES, department=rating._department):
        raise Forbidden(_("只有部门负责人或市级管理员可以审批。"))
    if rating.validity != RatingValidity.INVALID_REQUESTED:
        raise Conflict(_("该评价没有待审批的无效认定申请。"), code="no_invalid_request")
    if rating.invalid_requested_by_id == actor.pk:
        raise Forbidden(_("认定无效须由申请人以外的另一人审批。"), code="second_person_required")
    rating.validity = RatingValidity.INVALID if approve else RatingValidity.VALID
    rating.invalid_approved_by = actor if approve else None
    rating.invalid_decided_at = timezone.now()
    rating.save(update_fields=["validity", "invalid_approved_by", "invalid_decided_at"])
    audit_record(
        actor=actor,
        action="rating.invalid_approve" if approve else "rating.invalid_decline",
        obj=rating,
        changes={"validity": rating.validity},
    )
    if approve:
        rectification = (
            Rectification.objects.select_for_update(no_key=True, of=("self",))
            .filter(rating=rating, state__in=OPEN_RECTIFICATION_STATES)
            .first()
        )
        if rectification is not None:
            old = rectification.state
            rectification.state = RectificationState.CLOSED_INVALID
            rectification.closed_at = timezone.now()
            rectification.save(update_fields=["state", "closed_at"])
            audit_record(
                actor=actor,
                action="rectification.close_invalid",
                obj=rectification,
                changes={"state": [old, rectification.state]},
            )
    return rating


# --- the window's QR code ---------------------------------------------------------------------


def rating_qr_token(*, case_id: int) -> str:
    """A signed, expiring token naming a case: the QR code at the window opens the rating page
    of that case (the applicant still signs in; nobody else can rate it)."""
    from django.core import signing

    return signing.dumps({"case": int(case_id)}, salt="evaluation.rating-qr", compress=True)


def rating_qr_case_id(*, token: str) -> int:
    from django.core import signing

    try:
        data = signing.loads(
            token, salt="evaluation.rating-qr", max_age=timedelta(days=int(settings.YIWANG_RATING_QR_DAYS))
        )
        return int(data["case"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise NotFound(_("二维码无效或已过期。"), code="qr_invalid") from None
