"""The periodic sweep: deemed acceptance (five working days) and SLA status."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from yiwang.cases import clock
from yiwang.cases.models import (
    Case,
    CaseState,
    SlaStatus,
    StepKind,
    Supplement,
)
from yiwang.cases.services.acceptance import _deemed_note, _start_clock
from yiwang.cases.services.base import _publish, _save, _step
from yiwang.core import events
from yiwang.core.calendar import working_calendar

SWEEP_ACTOR = "task:case_sweep"


def case_sweep(*, today=None) -> dict:
    """Apply the five-working-day rule and refresh every running case's SLA status.

    Each case changes in its own short transaction (locked, state re-checked), so the sweep
    never holds locks across the table and can run while staff work. Returns counts.
    """
    today = today or timezone.localdate()
    cal = working_calendar()
    counts = {"deemed_accepted": 0, "sla_changed": 0}
    # 5 working days after D are at least 5 calendar days after D: a cheap pre-filter.
    cutoff = timezone.make_aware(
        timezone.datetime.combine(today - timezone.timedelta(days=5), timezone.datetime.min.time())
    )
    candidates = Case.objects.filter(
        state=CaseState.SUBMITTED, supplement__isnull=True, submitted_at__lt=cutoff
    ).values_list("pk", "submitted_at")
    for pk, submitted_at in candidates.iterator():
        if today <= cal.add_working_days(clock.local_day(submitted_at), clock.INTAKE_DAYS):
            continue
        with transaction.atomic():
            case = Case.objects.select_for_update(no_key=True).filter(pk=pk, state=CaseState.SUBMITTED).first()
            if case is None or Supplement.objects.filter(case=case).exists():
                continue
            _start_clock(case, cal, deemed=True, actor=SWEEP_ACTOR)
            case.sla_status = clock.sla_status(case, today, cal)
            _step(case, StepKind.DEEMED_ACCEPTED, SWEEP_ACTOR, note=_deemed_note(case))
            _save(
                case,
                actor=SWEEP_ACTOR,
                action="case.deemed_accept",
                changes={"state": [CaseState.SUBMITTED, case.state], "due_date": case.due_date},
            )
            _publish("case.accepted", case)
            counts["deemed_accepted"] += 1
    running = Case.objects.filter(
        state__in=(CaseState.ACCEPTED, CaseState.UNDER_REVIEW), paused_since__isnull=True
    ).exclude(sla_status=SlaStatus.OVERDUE)
    for case in running.only(
        "pk",
        "state",
        "accepted_at",
        "time_limit_days",
        "extension_days",
        "paused_days",
        "paused_since",
        "due_date",
        "sla_status",
    ).iterator():
        status = clock.sla_status(case, today, cal)
        if status == case.sla_status:
            continue
        with transaction.atomic():
            locked = Case.objects.select_for_update(no_key=True).filter(pk=case.pk).first()
            if locked is None or locked.state not in (CaseState.ACCEPTED, CaseState.UNDER_REVIEW):
                continue
            status = clock.sla_status(locked, today, cal)
            if status == locked.sla_status:
                continue
            old = locked.sla_status
            locked.sla_status = status
            _step(locked, StepKind.SLA_CHANGED, SWEEP_ACTOR, note=SlaStatus(status).label, public=False)
            _save(locked, actor=SWEEP_ACTOR, action="case.sla", changes={"sla_status": [old, status]})
            events.publish("case.sla_changed", case_id=locked.pk, sla_status=status)
            counts["sla_changed"] += 1
    return counts
