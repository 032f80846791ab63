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
    _publish,
    _require,
    _require_state,
    _save,
    _step,
    is_window_clerk,
)
from yiwang.core.errors import ValidationFailed
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


@transaction.atomic
def case_withdraw(*, actor, case_id, reason: str = "", expected_version: int | None = None) -> Case:
    """The applicant withdraws before a decision."""
    case = _lock(actor=actor, case_id=case_id, expected_version=expected_version)
    _require(case.applicant_id == getattr(actor, "pk", None), _("只有申请人本人可以撤回申请。"), "not_applicant")
    _require_state(case, *OPEN_STATES)
    old = case.state
    case.state = CaseState.WITHDRAWN
    case.withdrawn_at = timezone.now()
    case.paused_since = None
    case.sla_status = SlaStatus.DONE
    _step(case, StepKind.WITHDRAWN, actor, note=(reason or "").strip())
    _save(case, actor=actor, action="case.withdraw", changes={"state": [old, case.state]})
    _publish("case.withdrawn", case)
    return case
