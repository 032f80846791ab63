"""Delivery of the decision and the applicant's withdrawal."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.cases.models import (
    OPEN_STATES,
    Case,
    CaseState,
    SlaStatus,
    StepKind,
)
from yiwang.cases.services.base import (
    _has_role,
    _lock,
    _lock_for_agent,
    _publish,
    _require,
    _require_state,
    _save,
    _step,
    is_window_clerk,
)
from yiwang.core.audit import audit_record
from yiwang.core.errors import NotFound, ValidationFailed
from yiwang.identity.models import Role

DELIVERY_METHODS = {
    "window": _("窗口领取"),
    "mail": _("邮寄送达"),
    "electronic": _("电子送达"),
}


@transaction.atomic
def case_deliver(*, actor, case_id, method: str = "window", expected_version: int | None = None) -> Case:
    """送达 of the decision (one delivery window, post, or electronically)."""
    if method not in DELIVERY_METHODS:
        raise ValidationFailed(_("送达方式无效"), fields={"method": _("送达方式只能是窗口领取、邮寄或电子送达")})
    case = _lock(actor=actor, case_id=case_id, expected_version=expected_version)
    _require(
        is_window_clerk(actor, case) or _has_role(actor, (Role.REVIEWER, Role.DEPARTMENT_HEAD), case),
        _("只有窗口人员或本部门人员可以送达。"),
    )
    _require_state(case, CaseState.APPROVED, CaseState.REJECTED)
    old = case.state
    case.state = CaseState.DELIVERED
    case.delivered_at = timezone.now()
    case.delivery_method = method
    _step(case, StepKind.DELIVERED, actor, note=str(DELIVERY_METHODS[method]))
    _save(case, actor=actor, action="case.deliver", changes={"state": [old, case.state], "method": method})
    _publish("case.delivered", case)
    return case


# The timeline kinds another app (``channels``: postal delivery, 异地代收) may write.
CHANNEL_STEP_KINDS = (StepKind.POSTAL, StepKind.CROSS_REGION)


@transaction.atomic
def case_channel_note(*, actor, case_id, kind: str, note: str, public: bool = True) -> None:
    """One entry on the case's timeline from a service channel (the courier's tracking, a
    cross-region forward), written in the caller's transaction, audited as ``case.channel_note``.

    The caller (``channels.services``) has already decided that ``actor`` — a user, or a system
    name such as ``"courier:simulator"`` — may report this; the case is not changed, only its
    timeline. ``NotFound`` for a missing case or a draft."""
    if kind not in CHANNEL_STEP_KINDS:
        raise ValidationFailed(_("办理记录类型无效"), fields={"kind": _("办理记录类型无效")})
    case = Case.objects.select_for_update().filter(pk=case_id).exclude(state=CaseState.DRAFT).first()
    if case is None:
        raise NotFound(_("未找到该办件。"), code="case_not_found")
    _step(case, kind, actor, note=note[:1000], public=public)
    audit_record(actor=actor, action="case.channel_note", obj=case, changes={"kind": kind, "note": note[:200]})


@transaction.atomic
def case_deliver_by_post(*, actor, case_id, note: str = "") -> Case:
    """送达 by post, on the courier's report that the addressee signed for the result: the
    decided case becomes ``delivered`` with method ``mail``. ``actor`` is the courier's system
    name; the caller (``channels.services``) verified the courier's signed callback. Repeating
    it on a delivered case changes nothing."""
    case = Case.objects.select_for_update().filter(pk=case_id).exclude(state=CaseState.DRAFT).first()
    if case is None:
        raise NotFound(_("未找到该办件。"), code="case_not_found")
    if case.state == CaseState.DELIVERED:
        return case
    _require_state(case, CaseState.APPROVED, CaseState.REJECTED)
    case._loaded = {f.attname: getattr(case, f.attname) for f in Case._meta.concrete_fields}
    old = case.state
    case.state = CaseState.DELIVERED
    case.delivered_at = timezone.now()
    case.delivery_method = "mail"
    _step(case, StepKind.DELIVERED, actor, note=note or str(DELIVERY_METHODS["mail"]))
    _save(case, actor=actor, action="case.deliver", changes={"state": [old, case.state], "method": "mail"})
    _publish("case.delivered", case)
    return case


@transaction.atomic
def case_withdraw(*, actor, case_id, reason: str = "", expected_version: int | None = None, acting_for=None) -> Case:
    """The applicant withdraws before a decision; or an agent through ``acting_for`` (an
    ``identity`` delegation in force covering the item) a case he submitted for its principal
    (``base._lock_for_agent``: anything else is ``NotFound``); the step and the audit event then
    record who acted for whom."""
    on_behalf = None
    if acting_for is not None:
        case, on_behalf = _lock_for_agent(
            actor=actor, delegation=acting_for, case_id=case_id, expected_version=expected_version, doing="withdraw"
        )
    else:
        case = _lock(actor=actor, case_id=case_id, expected_version=expected_version)
        _require(case.applicant_id == getattr(actor, "pk", None), _("只有申请人本人可以撤回申请。"), "not_applicant")
    _require_state(case, *OPEN_STATES)
    old = case.state
    case.state = CaseState.WITHDRAWN
    case.withdrawn_at = timezone.now()
    case.paused_since = None
    case.sla_status = SlaStatus.DONE
    reason = (reason or "").strip()
    changes = {"state": [old, case.state]}
    if on_behalf is not None:
        changes["on_behalf_of"] = on_behalf["record"]
        reason = f"{on_behalf['note']}" + (f" · {reason}" if reason else "")
    _step(case, StepKind.WITHDRAWN, actor, note=reason)
    _save(case, actor=actor, action="case.withdraw", changes=changes)
    _publish("case.withdrawn", case)
    return case
