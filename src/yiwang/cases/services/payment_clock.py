"""The clock while a fee is owed: a case waiting for the applicant's payment (缴费) does not use
its time limit. Called by the payments app when it raises a bill and when the bill is paid or
cancelled; it knows nothing of bills, only of the pause.

The pause reuses the supplement's mechanism (``paused_since`` → ``paused_days``). A case
already paused (a supplement outstanding) is not paused twice: the pause that is running
covers the wait, and resuming leaves a supplement's pause alone.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.cases import clock
from yiwang.cases.models import Case, CaseState, SlaStatus, StepKind
from yiwang.cases.services.base import _lock, _require_state, _save, _step
from yiwang.core import events
from yiwang.core.calendar import working_calendar

PAYMENT_PAUSE_STATES = (CaseState.ACCEPTED, CaseState.UNDER_REVIEW)


def _locked(actor, case_id) -> Case:
    """The case locked for ``actor``; a system actor (a string such as ``"payments.callback"``:
    the channel's confirmation arrives with no user) reads it by its key."""
    if isinstance(actor, str):
        return Case.objects.select_for_update(of=("self",), no_key=True).select_related("department").get(pk=case_id)
    return _lock(actor=actor, case_id=case_id, expected_version=None)


@transaction.atomic
def case_clock_pause_for_payment(*, actor, case_id, note: str) -> bool:
    """Pause the time limit of an accepted case while a fee is owed. ``actor`` must see the
    case (``NotFound`` otherwise); the caller (payments) has checked its own role rules.
    Returns whether this call started a pause (False: a pause was already running)."""
    case = _locked(actor, case_id)
    _require_state(case, *PAYMENT_PAUSE_STATES)
    if case.paused_since is not None:
        return False
    case.paused_since = timezone.localdate()
    case.sla_status = SlaStatus.PAUSED
    _step(case, StepKind.SLA_CHANGED, actor, note=note)
    _save(case, actor=actor, action="case.payment_pause", changes={"paused_since": case.paused_since})
    events.publish("case.sla_changed", case_id=case.pk, sla_status=case.sla_status)
    return True


@transaction.atomic
def case_clock_resume_after_payment(*, actor, case_id, note: str) -> bool:
    """Resume the time limit when the fee is paid (or the bill cancelled): the working days of the
    wait are added to ``paused_days`` and the due date moves. A case in a supplement keeps its
    pause (the answer resumes it). Returns whether the clock resumed."""
    case = _locked(actor, case_id)
    if case.state not in PAYMENT_PAUSE_STATES or case.paused_since is None:
        return False
    cal = working_calendar()
    today = timezone.localdate()
    waited = max(cal.working_days_between(case.paused_since, today), 0)
    case.paused_days += waited
    case.paused_since = None
    case.due_date = clock.due_date(case, cal)
    case.sla_status = clock.sla_status(case, today, cal)
    _step(case, StepKind.SLA_CHANGED, actor, note=note)
    _save(
        case,
        actor=actor,
        action="case.payment_resume",
        changes={"paused_days": case.paused_days, "due_date": case.due_date},
    )
    events.publish("case.sla_changed", case_id=case.pk, sla_status=case.sla_status)
    return True


def payment_pause_note() -> str:
    return _("等待申请人缴费,办理时限暂停计算。")


def payment_resume_note() -> str:
    return _("缴费已完成,办理时限恢复计算。")
