"""The step tracker on a case page: 受理 → 审查 → 决定 → 送达, each with its date.

A step that happened shows when; a step still ahead shows the date the legal clock
(``cases.clock``) sets for it: acceptance within ``INTAKE_DAYS`` working days of submission
(else the case counts as accepted), review and decision by the due date (the promised limit
from acceptance, pauses and extensions included), delivery within ``DELIVERY_DAYS`` working
days of the decision (行政许可法第四十四条: 十日内向申请人颁发、送达).
"""

import datetime
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from yiwang.cases import clock
from yiwang.cases.models import Case, CaseState
from yiwang.core.calendar import working_calendar

DELIVERY_DAYS = 10

DONE, CURRENT, AHEAD, SKIPPED = "done", "current", "ahead", "skipped"


@dataclass
class TrackerStep:
    name: str
    status: str  # done | current | ahead | skipped
    date: datetime.date | None
    expected: bool  # the date is the latest the legal clock allows, not when it happened


def case_tracker(case: Case, today: datetime.date | None = None) -> list[TrackerStep]:
    """The four steps of ``case`` (empty for a draft, a withdrawal or a refusal, which the page says in words)."""
    if case.submitted_at is None or case.state in (CaseState.WITHDRAWN, CaseState.REFUSED, CaseState.DRAFT):
        return []
    cal = working_calendar()
    state = case.state
    decided = state in (CaseState.APPROVED, CaseState.REJECTED, CaseState.DELIVERED)
    accept_by = clock.intake_deadline(case, cal)
    if case.accepted_at:
        accepted_on = clock.local_day(case.accepted_at)
        due = case.due_date or clock.due_date(case, cal)
    else:  # not yet accepted: the latest acceptance day, then the limit from there
        accepted_on = None
        due = cal.add_working_days(accept_by, case.time_limit_days + case.extension_days)
    decided_on = clock.local_day(case.decided_at) if case.decided_at else None
    deliver_by = cal.add_working_days(decided_on or due, DELIVERY_DAYS)
    delivered_on = clock.local_day(case.delivered_at) if case.delivered_at else None

    steps = [
        TrackerStep(
            _("受理"),
            DONE if accepted_on else CURRENT,
            accepted_on or accept_by,
            expected=accepted_on is None,
        ),
        TrackerStep(
            _("审查"),
            DONE if decided else (CURRENT if accepted_on else AHEAD),
            decided_on or due,
            expected=not decided,
        ),
        TrackerStep(_("决定"), DONE if decided else AHEAD, decided_on or due, expected=not decided),
        TrackerStep(
            _("送达"),
            DONE if delivered_on else (CURRENT if decided else AHEAD),
            delivered_on or deliver_by,
            expected=delivered_on is None,
        ),
    ]
    if state == CaseState.REJECTED:
        steps[3].status = SKIPPED if not delivered_on else DONE
    return steps
