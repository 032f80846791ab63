"""Intake: accept, refuse, the one supplement notice and its answer."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.cases import clock
from yiwang.cases.models import (
    Case,
    CaseState,
    SlaStatus,
    StepKind,
    Supplement,
)
from yiwang.cases.services.base import (
    _has_role,
    _lock,
    _lock_for_agent,
    _publish,
    _require,
    _require_state,
    _required_text,
    _save,
    _step,
    is_window_clerk,
    remedy_notice,
)
from yiwang.cases.services.files import (
    MaterialUpload,
    _check_material,
    _remove_files,
    _requirements_of,
    _store_materials,
)
from yiwang.core.calendar import WorkingCalendar, working_calendar
from yiwang.core.errors import Conflict, ValidationFailed
from yiwang.identity.models import Role, User


def _may_take_in(actor, case: Case) -> bool:
    return is_window_clerk(actor, case) or _has_role(actor, (Role.REVIEWER, Role.DEPARTMENT_HEAD), case)


def _start_clock(case: Case, cal: WorkingCalendar, *, deemed: bool, actor) -> None:
    case.state = CaseState.ACCEPTED
    case.deemed_accepted = deemed
    case.accepted_at = case.submitted_at if deemed else timezone.now()
    case.accepted_by = actor if isinstance(actor, User) else None
    case.due_date = clock.due_date(case, cal)
    case.sla_status = clock.sla_status(case, timezone.localdate(), cal)


def _deemed_note(case: Case) -> str:
    return _(
        "自提交之日起五个工作日内未告知补正,依据《中华人民共和国行政许可法》第三十二条,自收到申请之日(%(day)s)起即为受理。"
    ) % {"day": clock.local_day(case.submitted_at).isoformat()}


@transaction.atomic
def case_accept(*, actor, case_id, expected_version: int | None = None) -> Case:
    """受理. If the five-working-day intake period has already passed without a supplement
    notice, the acceptance dates back to submission (the case counts as accepted then)."""
    case = _lock(actor=actor, case_id=case_id, expected_version=expected_version)
    _require(_may_take_in(actor, case), _("只有窗口受理人员或本部门审核人员可以受理。"))
    _require_state(case, CaseState.SUBMITTED)
    cal = working_calendar()
    deemed = not hasattr_supplement(case) and timezone.localdate() > clock.intake_deadline(case, cal)
    if not deemed:  # past the five days the law counts it accepted: the back office asks instead
        _require_materials(case)
    _start_clock(case, cal, deemed=deemed, actor=actor)
    _step(
        case,
        StepKind.DEEMED_ACCEPTED if deemed else StepKind.ACCEPTED,
        actor,
        note=_deemed_note(case) if deemed else "",
    )
    _save(
        case,
        actor=actor,
        action="case.accept",
        changes={"state": [CaseState.SUBMITTED, case.state], "deemed": deemed, "due_date": case.due_date},
    )
    _publish("case.accepted", case)
    return case


def _require_materials(case: Case) -> None:
    """Acceptance needs every required material the applicant must supply (source
    ``applicant``, requirement ``required`` in the case's item version) to have a file.
    Materials the government holds (licenses, registry data) are never demanded here."""
    from yiwang.cases.selectors import case_missing_materials

    missing = case_missing_materials(case=case)
    if not missing:
        return
    names = "、".join(f"「{m.name}」" for m in missing)
    raise ValidationFailed(
        _("必需材料%(names)s尚未提交,不能受理。请一次性告知申请人补正。") % {"names": names},
        code="materials_missing",
        fields={f"materials.{m.pk}": _("材料「%(name)s」尚未提交") % {"name": m.name} for m in missing},
    )


def hasattr_supplement(case: Case) -> bool:
    """Whether the case has had its one supplement notice (read with the case by ``_lock``)."""
    from yiwang.cases.selectors import case_supplement

    return case_supplement(case=case) is not None


@transaction.atomic
def case_refuse(*, actor, case_id, reason: str, expected_version: int | None = None) -> Case:
    """不予受理, with the reason and the applicant's right to reconsideration or litigation."""
    case = _lock(actor=actor, case_id=case_id, expected_version=expected_version)
    _require(_may_take_in(actor, case), _("只有窗口受理人员或本部门审核人员可以作出不予受理决定。"))
    reason = _required_text(reason, "reason", _("请填写不予受理的理由"))  # after the gate: says nothing to others
    _require_state(case, CaseState.SUBMITTED)
    case.state = CaseState.REFUSED
    case.refusal_reason = reason
    case.remedy_notice = remedy_notice(case.department)
    case.sla_status = SlaStatus.DONE
    _step(case, StepKind.REFUSED, actor, note=reason)
    _save(case, actor=actor, action="case.refuse", changes={"state": [CaseState.SUBMITTED, case.state]})
    _publish("case.refused", case)
    return case


def _clean_supplement_items(items) -> list[dict]:
    message = _("请逐项列出需要补正的材料和问题(一次性告知)")
    if not isinstance(items, list) or not items:
        raise ValidationFailed(message, code="supplement_items", fields={"items": message})
    clean = []
    for index, entry in enumerate(items, start=1):
        material = (entry.get("material") or "").strip() if isinstance(entry, dict) else ""
        problem = (entry.get("problem") or "").strip() if isinstance(entry, dict) else ""
        if not material or not problem:
            text = _("第 %(n)d 项须写明材料名称和问题") % {"n": index}
            raise ValidationFailed(text, code="supplement_items", fields={f"items.{index - 1}": text})
        clean.append({"material": material[:200], "problem": problem[:500]})
    return clean


@transaction.atomic
def case_request_supplement(
    *, actor, case_id, items: list[dict], note: str = "", expected_version: int | None = None
) -> Supplement:
    """The one supplement notice (一次性告知补正) listing everything missing.

    Before acceptance (within five working days of submission) by a window clerk or the
    department's reviewers; after acceptance by the department's reviewers, and the time
    limit pauses until the applicant answers. A second notice is refused.
    """
    clean = _clean_supplement_items(items)
    case = _lock(actor=actor, case_id=case_id, expected_version=expected_version)
    if hasattr_supplement(case):
        raise Conflict(
            _("办件 %(number)s 已发出过补正告知;依法应一次性告知全部需补正内容,不能再次告知。")
            % {"number": case.number},
            code="supplement_once",
        )
    before = case.state == CaseState.SUBMITTED
    if before:
        _require(_may_take_in(actor, case), _("只有窗口受理人员或本部门审核人员可以告知补正。"))
        cal = working_calendar()
        deadline = clock.intake_deadline(case, cal)
        if timezone.localdate() > deadline:
            raise ValidationFailed(
                _("补正告知期限(提交后五个工作日,至 %(day)s)已过,依法视为受理,请直接受理。") % {"day": deadline},
                code="intake_period_over",
            )
    else:
        _require_state(case, CaseState.SUBMITTED, CaseState.ACCEPTED, CaseState.UNDER_REVIEW)
        _require(
            _has_role(actor, (Role.REVIEWER, Role.DEPARTMENT_HEAD), case),
            _("只有本部门审核人员可以告知补正。"),
        )
        case.paused_since = timezone.localdate()
        case.sla_status = SlaStatus.PAUSED
    supplement = Supplement.objects.create(
        case=case, items=clean, note=(note or "").strip(), before_acceptance=before, requested_by=actor
    )
    old = case.state
    case.state = CaseState.SUPPLEMENT_REQUESTED
    listing = ";".join(f"{i['material']}:{i['problem']}" for i in clean)
    _step(case, StepKind.SUPPLEMENT_REQUESTED, actor, note=listing)
    _save(
        case,
        actor=actor,
        action="case.request_supplement",
        changes={"state": [old, case.state], "items": len(clean), "before_acceptance": before},
    )
    _publish("case.supplement_requested", case)
    return supplement


def case_supplement_answer(
    *,
    actor,
    case_id,
    note: str = "",
    expected_version: int | None = None,
    acting_for=None,
    materials: Sequence[MaterialUpload] = (),
) -> Case:
    """The applicant (or a window clerk for them) has supplied what was asked; the clock resumes.

    ``materials``: the files of the answer, checked and stored in the same transaction (one bad
    file, named in the error, and nothing is handed in). ``acting_for``: an agent answers through
    an ``identity`` delegation in force that covers the item, for a case he submitted for its
    principal (``base._lock_for_agent``: anything else is ``NotFound``); the steps and the audit
    events then record who acted for whom.
    """
    stored: list[str] = []
    try:
        with transaction.atomic():
            return _supplement_answer(
                actor=actor,
                case_id=case_id,
                note=note,
                expected_version=expected_version,
                acting_for=acting_for,
                materials=materials,
                stored=stored,
            )
    except BaseException:
        _remove_files(stored)
        raise


def _supplement_answer(*, actor, case_id, note, expected_version, acting_for, materials, stored) -> Case:
    on_behalf = None
    if acting_for is not None:
        case, on_behalf = _lock_for_agent(
            actor=actor, delegation=acting_for, case_id=case_id, expected_version=expected_version, doing="supplement"
        )
    else:
        case = _lock(actor=actor, case_id=case_id, expected_version=expected_version)
        _require(
            case.applicant_id == getattr(actor, "pk", None) or is_window_clerk(actor, case),
            _("只有申请人或窗口受理人员可以提交补正。"),
        )
    _require_state(case, CaseState.SUPPLEMENT_REQUESTED)
    added = []
    if materials:
        requirements = _requirements_of(case.item_version_id)
        checked = [_check_material(upload, requirements) for upload in materials]
        added = _store_materials([(case, one) for one in checked], actor=actor, stored=stored)
        for one in checked:
            label = one.label if on_behalf is None else f"{one.label} · {on_behalf['note']}"
            _step(case, StepKind.MATERIAL_ADDED, actor, note=label)
    supplement = Supplement.objects.select_for_update(no_key=True).get(case=case)
    supplement.answered_at = timezone.now()
    supplement.answer_note = (note or "").strip()
    supplement.save(update_fields=["answered_at", "answer_note"])
    if supplement.before_acceptance:
        case.state = CaseState.SUBMITTED
    else:
        cal = working_calendar()
        case.paused_days += max(cal.working_days_between(case.paused_since, timezone.localdate()), 0)
        case.paused_since = None
        case.state = CaseState.UNDER_REVIEW
        case.due_date = clock.due_date(case, cal)
        case.sla_status = clock.sla_status(case, timezone.localdate(), cal)
    step_note = supplement.answer_note
    changes = {
        "state": [CaseState.SUPPLEMENT_REQUESTED, case.state],
        "paused_days": case.paused_days,
        "materials": [{"name": m.name, "sm3": m.sm3, "size": m.size} for m in added],
    }
    if on_behalf is not None:
        changes["on_behalf_of"] = on_behalf["record"]
        step_note = on_behalf["note"] + (f" · {step_note}" if step_note else "")
    _step(case, StepKind.SUPPLEMENT_ANSWERED, actor, note=step_note)
    _save(case, actor=actor, action="case.supplement_answer", changes=changes)
    _publish("case.supplement_answered", case)
    return case
