"""The legal clock of a case, in working days of the foundation calendar (``core.calendar``).

* Acceptance deadline (行政许可法第三十二条): a supplement notice must be given within
  ``INTAKE_DAYS`` (5) working days of submission; if none is given, the case counts as
  accepted on the day it was submitted.
* The time limit (the item version's promised limit, snapshotted on the case) runs from the
  day of acceptance; the acceptance day itself is not counted (民法典第二百零一条).
* A supplement requested after acceptance pauses it: the working days from the day after
  the request up to the day of the answer are added to ``paused_days``.
* An extension (第四十二条) adds ``extension_days`` once.

So ``due_date = add_working_days(accepted_on, time_limit + extension + paused)``, and the
SLA status compares the working days used with the promised limit: warning at ≥ 80 %,
overdue after the due date, paused while a supplement is outstanding.
"""

import datetime

from django.utils import timezone

from yiwang.cases.models import CLOCK_STATES, Case, CaseState, SlaStatus
from yiwang.core.calendar import WorkingCalendar

INTAKE_DAYS = 5
WARNING_RATIO = 0.8
MAX_EXTENSION_DAYS = 10


def local_day(value: datetime.datetime) -> datetime.date:
    return timezone.localtime(value).date()


def intake_deadline(case: Case, cal: WorkingCalendar) -> datetime.date:
    """The last day on which a supplement notice may be given before acceptance."""
    return cal.add_working_days(local_day(case.submitted_at), INTAKE_DAYS)


def due_date(case: Case, cal: WorkingCalendar) -> datetime.date | None:
    if case.accepted_at is None:
        return None
    total = case.time_limit_days + case.extension_days + case.paused_days
    return cal.add_working_days(local_day(case.accepted_at), total)


def days_used(case: Case, today: datetime.date, cal: WorkingCalendar) -> int:
    """Working days of the time limit used by ``today`` (a running pause stops the count)."""
    if case.accepted_at is None:
        return 0
    end = case.paused_since or today
    return max(cal.working_days_between(local_day(case.accepted_at), end) - case.paused_days, 0)


def sla_status(case: Case, today: datetime.date, cal: WorkingCalendar) -> str:
    if case.state not in CLOCK_STATES or case.accepted_at is None:
        pending = (CaseState.DRAFT, CaseState.SUBMITTED, CaseState.SUPPLEMENT_REQUESTED)
        return SlaStatus.NONE if case.state in pending else SlaStatus.DONE
    if case.paused_since is not None:
        return SlaStatus.PAUSED
    due = case.due_date or due_date(case, cal)
    if today > due:
        return SlaStatus.OVERDUE
    limit = case.time_limit_days + case.extension_days
    if limit > 0 and days_used(case, today, cal) >= WARNING_RATIO * limit:
        return SlaStatus.WARNING
    return SlaStatus.NORMAL
