"""Notifications of the exchange through the message centre (``messaging.services.message_send``):
new requests and disputes to the source department, decisions to the requester or the person who
raised the dispute, reminders before the working-day deadline and escalation after it.

Recipients: the deciders (``department_head``, ``department_admin``; for disputes also the
``reviewer``s) of the source department; escalation adds the heads of the department above it.
Each message has a dedupe key, so a retried event or an hourly sweep never sends twice.
"""

from django.urls import reverse
from django.utils import timezone

from yiwang.core.calendar import add_working_days
from yiwang.exchange.models import DataDispute, ShareRequest
from yiwang.identity.models import Department, Role
from yiwang.identity.selectors import users_with_role

SYSTEM_ACTOR = "task:exchange_notify"
REMIND_DAYS_BEFORE = 2


def _send(recipients, template: str, context: dict, ref_type: str, ref_id: int, url: str, dedupe: str) -> int:
    from yiwang.messaging.services import Ref, message_send

    sent = 0
    for user in recipients:
        sent += len(
            message_send(
                actor=SYSTEM_ACTOR,
                recipient=user,
                template_code=template,
                context=context,
                ref=Ref(ref_type, ref_id, url),
                dedupe_key=dedupe,
            )
        )
    return sent


def _people(department: Department | None, roles, *, escalate: bool = False) -> list:
    if department is None:
        return []
    found: dict = {}
    for role in roles:
        for user in users_with_role(role=role, department=department):
            found.setdefault(user.pk, user)
    if escalate and department.parent_id:
        parent = Department.objects.filter(pk=department.parent_id, is_active=True).first()
        for user in users_with_role(role=Role.DEPARTMENT_HEAD, department=parent) if parent else ():
            found.setdefault(user.pk, user)
    return list(found.values())


DECIDERS = (Role.DEPARTMENT_HEAD, Role.DEPARTMENT_ADMIN)
VERIFIERS = (Role.REVIEWER, Role.DEPARTMENT_HEAD, Role.DEPARTMENT_ADMIN)


def _request_context(request: ShareRequest) -> dict:
    return {
        "request_id": request.pk,
        "registry": request.registry,
        "fields": "、".join(request.fields),
        "consumer_department": request.consumer_department.name,
        "purpose": request.purpose,
        "due_date": request.due_date.isoformat(),
        "status": request.get_status_display(),
        "reason": request.decision_reason,
    }


def _dispute_context(dispute: DataDispute) -> dict:
    return {
        "dispute_id": dispute.pk,
        "registry": dispute.registry,
        "field": dispute.field,
        "due_date": dispute.due_date.isoformat(),
        "status": dispute.get_status_display(),
        "reason": dispute.decision_reason,
    }


def request_created(request_id: int) -> int:
    request = ShareRequest.objects.select_related("consumer_department", "source_department").get(pk=request_id)
    url = reverse("exchange_workbench:request", args=[request.pk])
    people = _people(request.source_department, DECIDERS)
    return _send(
        people,
        "exchange.request_new",
        _request_context(request),
        "share_request",
        request.pk,
        url,
        f"exreq:{request.pk}:new",
    )


def request_decided(request_id: int) -> int:
    request = ShareRequest.objects.select_related("consumer_department", "requested_by").get(pk=request_id)
    if request.requested_by is None:
        return 0
    url = reverse("exchange_workbench:request", args=[request.pk])
    ctx = _request_context(request)
    return _send(
        [request.requested_by],
        "exchange.request_decided",
        ctx,
        "share_request",
        request.pk,
        url,
        f"exreq:{request.pk}:decided",
    )


def dispute_raised(dispute_id: int) -> int:
    dispute = DataDispute.objects.select_related("source_department").get(pk=dispute_id)
    url = reverse("exchange_workbench:dispute", args=[dispute.pk])
    people = _people(dispute.source_department, VERIFIERS)
    return _send(
        people,
        "exchange.dispute_new",
        _dispute_context(dispute),
        "data_dispute",
        dispute.pk,
        url,
        f"exdis:{dispute.pk}:new",
    )


def dispute_resolved(dispute_id: int) -> int:
    dispute = DataDispute.objects.select_related("raised_by").get(pk=dispute_id)
    url = reverse("exchange_portal:usage")
    ctx = _dispute_context(dispute)
    return _send(
        [dispute.raised_by],
        "exchange.dispute_resolved",
        ctx,
        "data_dispute",
        dispute.pk,
        url,
        f"exdis:{dispute.pk}:done",
    )


def sweep(*, today=None) -> dict:
    """Remind the source departments of requests and disputes due within two working days, and
    escalate those past due to the heads above. Each once (``reminded_at`` / ``escalated_at``)."""
    today = today or timezone.localdate()
    soon = add_working_days(today, REMIND_DAYS_BEFORE)
    now = timezone.now()
    counts = {"request_reminders": 0, "request_escalations": 0, "dispute_reminders": 0, "dispute_escalations": 0}
    pending = ShareRequest.objects.filter(status=ShareRequest.Status.PENDING).select_related(
        "consumer_department", "source_department"
    )
    for request in pending.filter(due_date__lt=today, escalated_at__isnull=True):
        url = reverse("exchange_workbench:request", args=[request.pk])
        people = _people(request.source_department, DECIDERS, escalate=True)
        _send(
            people,
            "exchange.request_overdue",
            _request_context(request),
            "share_request",
            request.pk,
            url,
            f"exreq:{request.pk}:overdue",
        )
        ShareRequest.objects.filter(pk=request.pk).update(escalated_at=now, reminded_at=request.reminded_at or now)
        counts["request_escalations"] += 1
    for request in pending.filter(due_date__gte=today, due_date__lte=soon, reminded_at__isnull=True):
        url = reverse("exchange_workbench:request", args=[request.pk])
        people = _people(request.source_department, DECIDERS)
        _send(
            people,
            "exchange.request_due",
            _request_context(request),
            "share_request",
            request.pk,
            url,
            f"exreq:{request.pk}:due",
        )
        ShareRequest.objects.filter(pk=request.pk).update(reminded_at=now)
        counts["request_reminders"] += 1
    open_disputes = DataDispute.objects.filter(status=DataDispute.Status.OPEN).select_related("source_department")
    for dispute in open_disputes.filter(due_date__lt=today, escalated_at__isnull=True):
        url = reverse("exchange_workbench:dispute", args=[dispute.pk])
        people = _people(dispute.source_department, VERIFIERS, escalate=True)
        _send(
            people,
            "exchange.dispute_overdue",
            _dispute_context(dispute),
            "data_dispute",
            dispute.pk,
            url,
            f"exdis:{dispute.pk}:overdue",
        )
        DataDispute.objects.filter(pk=dispute.pk).update(escalated_at=now, reminded_at=dispute.reminded_at or now)
        counts["dispute_escalations"] += 1
    for dispute in open_disputes.filter(due_date__gte=today, due_date__lte=soon, reminded_at__isnull=True):
        url = reverse("exchange_workbench:dispute", args=[dispute.pk])
        people = _people(dispute.source_department, VERIFIERS)
        _send(
            people,
            "exchange.dispute_due",
            _dispute_context(dispute),
            "data_dispute",
            dispute.pk,
            url,
            f"exdis:{dispute.pk}:due",
        )
        DataDispute.objects.filter(pk=dispute.pk).update(reminded_at=now)
        counts["dispute_reminders"] += 1
    return counts
