"""Back office: claim, assign, opinions, extension, decision."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.cases import clock
from yiwang.cases.models import (
    Case,
    CaseState,
    CaseStep,
    Decision,
    SlaStatus,
    StepKind,
)
from yiwang.cases.services.base import (
    _actor_name,
    _has_role,
    _lock,
    _publish,
    _require,
    _require_state,
    _required_text,
    _save,
    _step,
    remedy_notice,
)
from yiwang.core.calendar import working_calendar
from yiwang.core.errors import Conflict, ValidationFailed
from yiwang.identity.models import Role, User
from yiwang.identity.selectors import actor_has_role

if TYPE_CHECKING:  # annotations only: catalog rows are read through catalog.selectors
    from yiwang.catalog.models import ServiceItemVersion


def review_steps(version: ServiceItemVersion) -> list[dict]:
    """The item's process steps done in the back office (intake steps are the acceptance)."""
    return [step for step in (version.process or []) if step.get("role") != Role.WINDOW_CLERK]


@transaction.atomic
def case_claim(*, actor, case_id, expected_version: int | None = None) -> Case:
    case = _lock(actor=actor, case_id=case_id, expected_version=expected_version)
    _require(
        _has_role(actor, Role.REVIEWER, case),
        _("只有本部门审核人员可以认领。"),
    )
    _require_state(case, CaseState.ACCEPTED, CaseState.UNDER_REVIEW)
    if case.assignee_id and case.assignee_id != actor.pk:
        raise Conflict(
            _("办件 %(number)s 已由%(name)s认领。") % {"number": case.number, "name": _actor_name(case.assignee)},
            code="case_claimed",
        )
    old = case.state
    case.assignee = actor
    case.state = CaseState.UNDER_REVIEW
    _step(case, StepKind.CLAIMED, actor, public=False)
    _save(case, actor=actor, action="case.claim", changes={"state": [old, case.state], "assignee": actor.pk})
    return case


@transaction.atomic
def case_assign(*, actor, case_id, assignee: User | None, expected_version: int | None = None) -> Case:
    """The head gives the case to a reviewer of its department. The caller's right to the case
    is checked before anything about the assignee is said (``None``: no such active account),
    so the answer never tells an outsider which staff accounts exist."""
    case = _lock(actor=actor, case_id=case_id, expected_version=expected_version)
    _require(
        _has_role(actor, Role.DEPARTMENT_HEAD, case),
        _("只有部门负责人可以分派办件。"),
    )
    _require_state(case, CaseState.ACCEPTED, CaseState.UNDER_REVIEW)
    if assignee is None:
        message = _("未找到该工作人员")
        raise ValidationFailed(message, code="assignee_not_found", fields={"assignee_id": message})
    if not actor_has_role(assignee, roles=Role.REVIEWER, department=case.department):
        message = _("%(name)s不是本部门的审核人员") % {"name": _actor_name(assignee)}
        raise ValidationFailed(message, code="not_reviewer", fields={"assignee_id": message})
    old = case.state
    case.assignee = assignee
    case.state = CaseState.UNDER_REVIEW
    _step(case, StepKind.ASSIGNED, actor, note=_actor_name(assignee), public=False)
    _save(case, actor=actor, action="case.assign", changes={"state": [old, case.state], "assignee": assignee.pk})
    return case


OPINION_OUTCOMES = ("agree", "disagree")


@transaction.atomic
def case_record_opinion(
    *, actor, case_id, opinion: str, outcome: str = "agree", expected_version: int | None = None
) -> CaseStep:
    """The opinion of the current process step; the actor must hold that step's role."""
    opinion = _required_text(opinion, "opinion", _("请填写审查意见"))
    if outcome not in OPINION_OUTCOMES:
        raise ValidationFailed(_("结论只能是同意或不同意"), fields={"outcome": _("结论无效")})
    case = _lock(actor=actor, case_id=case_id, expected_version=expected_version)
    _require_state(case, CaseState.ACCEPTED, CaseState.UNDER_REVIEW)
    steps = review_steps(case.item_version)
    if case.step_index >= len(steps):
        raise Conflict(
            _("办件 %(number)s 的审查环节均已完成,请作出决定。") % {"number": case.number}, code="steps_done"
        )
    step = steps[case.step_index]
    role = step.get("role") or Role.REVIEWER
    _require(
        _has_role(actor, role, case),
        _("环节「%(step)s」须由本部门%(role)s办理。") % {"step": step["name"], "role": Role(role).label},
    )
    if role == Role.REVIEWER and case.assignee_id not in (None, actor.pk):
        raise Conflict(
            _("办件 %(number)s 由%(name)s承办。") % {"number": case.number, "name": _actor_name(case.assignee)},
            code="case_claimed",
        )
    if role == Role.REVIEWER and case.assignee_id is None:
        case.assignee = actor
    entry = _step(
        case,
        StepKind.OPINION,
        actor,
        note=opinion,
        public=False,
        process_step=case.step_index,
        process_step_name=step["name"][:100],
        outcome=outcome,
    )
    old = case.state
    case.step_index += 1
    case.state = CaseState.UNDER_REVIEW
    _save(
        case,
        actor=actor,
        action="case.opinion",
        changes={"state": [old, case.state], "step": step["name"], "outcome": outcome},
    )
    return entry


@transaction.atomic
def case_extend(*, actor, case_id, days: int, reason: str, expected_version: int | None = None) -> Case:
    """Extend the time limit once, with the department head's approval and a reason (第四十二条)."""
    reason = _required_text(reason, "reason", _("请填写延长办理期限的理由"))
    if not isinstance(days, int) or not 1 <= days <= clock.MAX_EXTENSION_DAYS:
        message = _("延长天数须为 1 至 %(max)d 个工作日") % {"max": clock.MAX_EXTENSION_DAYS}
        raise ValidationFailed(message, code="extension_days", fields={"days": message})
    case = _lock(actor=actor, case_id=case_id, expected_version=expected_version)
    _require(
        _has_role(actor, Role.DEPARTMENT_HEAD, case),
        _("延长办理期限须经本部门负责人批准。"),
    )
    _require_state(case, CaseState.ACCEPTED, CaseState.UNDER_REVIEW, CaseState.SUPPLEMENT_REQUESTED)
    if case.accepted_at is None:
        raise Conflict(_("办件尚未受理,无需延长。"), code="not_accepted")
    if case.extension_days:
        raise Conflict(
            _("办件 %(number)s 已延长过一次办理期限,依法不能再次延长。") % {"number": case.number},
            code="extension_once",
        )
    cal = working_calendar()
    old_due = case.due_date
    case.extension_days = days
    case.extension_reason = reason
    case.extension_approved_by = actor
    case.due_date = clock.due_date(case, cal)
    case.sla_status = clock.sla_status(case, timezone.localdate(), cal)
    _step(
        case,
        StepKind.EXTENDED,
        actor,
        note=_("延长 %(days)d 个工作日,办结期限由 %(old)s 延至 %(new)s。理由:%(reason)s")
        % {"days": days, "old": old_due, "new": case.due_date, "reason": reason},
    )
    _save(case, actor=actor, action="case.extend", changes={"days": days, "due_date": [old_due, case.due_date]})
    _publish("case.extended", case)
    return case


def decision_roles(version: ServiceItemVersion) -> set[str]:
    steps = review_steps(version)
    roles = {Role.DEPARTMENT_HEAD}
    if not steps or steps[-1].get("role") == Role.REVIEWER:
        roles.add(Role.REVIEWER)
    return roles


@transaction.atomic
def case_decide(*, actor, case_id, decision: str, reasons: str = "", expected_version: int | None = None) -> Case:
    """准予 or 不予. A rejection states its reasons and the applicant's right to
    reconsideration or litigation (第三十八条). Every review step before the last must have
    its opinion; the decision itself concludes the last step."""
    if decision not in Decision.values:
        raise ValidationFailed(_("决定只能是准予或不予"), fields={"decision": _("决定无效")})
    reasons = (reasons or "").strip()
    if decision == Decision.REJECT and not reasons:
        message = _("不予许可须说明理由")
        raise ValidationFailed(message, code="reasons_required", fields={"reasons": message})
    case = _lock(actor=actor, case_id=case_id, expected_version=expected_version)
    _require(
        _has_role(actor, decision_roles(case.item_version), case),
        _("只有本部门负责人可以作出决定。"),
    )
    _require_state(case, CaseState.ACCEPTED, CaseState.UNDER_REVIEW)
    steps = review_steps(case.item_version)
    if case.step_index < len(steps) - 1:
        pending = steps[case.step_index]["name"]
        raise Conflict(_("环节「%(step)s」尚未办理,不能作出决定。") % {"step": pending}, code="steps_pending")
    old = case.state
    case.decision = decision
    case.decision_reasons = reasons
    case.decided_at = timezone.now()
    case.decided_by = actor
    case.step_index = max(case.step_index, len(steps))
    case.sla_status = SlaStatus.DONE
    if decision == Decision.APPROVE:
        case.state = CaseState.APPROVED
        kind, event = StepKind.APPROVED, "case.approved"
    else:
        case.state = CaseState.REJECTED
        case.remedy_notice = remedy_notice(case.department)
        kind, event = StepKind.REJECTED, "case.rejected"
    _step(case, kind, actor, note=reasons)
    _save(case, actor=actor, action="case.decide", changes={"state": [old, case.state], "decision": decision})
    _publish(event, case)
    return case


def case_review_actions(actor, case: Case) -> set[str]:
    """The review actions ``actor`` may take on ``case`` at its stage (issue #14: the workbench
    shows each role only these). Read-only; the services still check every action themselves."""
    out: set[str] = set()
    if case.state not in (CaseState.ACCEPTED, CaseState.UNDER_REVIEW):
        return out
    if _has_role(actor, Role.REVIEWER, case) and case.assignee_id is None:
        out.add("claim")
    steps = review_steps(case.item_version)
    if case.step_index < len(steps):
        role = steps[case.step_index].get("role") or Role.REVIEWER
        taken = role == Role.REVIEWER and case.assignee_id not in (None, actor.pk)
        if _has_role(actor, role, case) and not taken:
            out.add("opinion")
    if _has_role(actor, decision_roles(case.item_version), case):
        out.add("decide")
    if _has_role(actor, Role.DEPARTMENT_HEAD, case):
        out.add("extend")
    if _has_role(actor, (Role.REVIEWER, Role.DEPARTMENT_HEAD), case):
        out.add("supplement")
    return out
