"""Notifications on case events (the cases app publishes; messaging knows it only through
``cases.selectors.case_notification_facts`` and the identity selectors).

* ``case.sla_changed`` to warning or overdue → the case's handler (its assignee; with none,
  the department's reviewers) and the department heads (``department_head`` granted on the
  case's department, or above it with descendants): in-app and e-mail (and SMS when overdue).
* ``case.accepted`` / ``supplement_requested`` / ``refused`` / ``approved`` / ``rejected`` /
  ``delivered`` → the applicant: in-app and SMS.

Each notification carries a dedupe key per case and status (and due date, so a warning after
an extension is news), so an event delivered twice, or a sweep that runs every hour, never
sends the same notification twice.
"""

import logging

from django.contrib.auth import get_user_model
from django.urls import reverse

from yiwang.core import events
from yiwang.core.errors import NotFound
from yiwang.identity.models import Role
from yiwang.identity.selectors import department_get, users_with_role
from yiwang.messaging.services import Ref, message_send, message_send_many

logger = logging.getLogger(__name__)
User = get_user_model()

SYSTEM_ACTOR = "messaging.notify"
SLA_TEMPLATES = {"warning": "case.sla_warning", "overdue": "case.sla_overdue"}
APPLICANT_EVENTS = (
    "case.accepted",
    "case.supplement_requested",
    "case.refused",
    "case.approved",
    "case.rejected",
    "case.delivered",
)


def _facts(case_id) -> dict | None:
    from yiwang.cases.selectors import case_notification_facts

    try:
        return case_notification_facts(case_id=int(case_id))
    except NotFound:
        logger.info("case %s is gone; no notification", case_id)
        return None


def _context(facts: dict) -> dict:
    return {key: facts[key] for key in facts if key not in ("assignee_id", "applicant_id", "department_id")} | {
        "due_date": facts["due_date"] or "",
    }


def sla_recipients(facts: dict) -> list:
    """The handler (assignee, else the department's reviewers) and the department heads."""
    try:
        department = department_get(actor=None, id=facts["department_id"])
    except NotFound:  # deactivated meanwhile
        return []
    people: dict = {}
    assignee = User.objects.filter(pk=facts["assignee_id"], is_active=True).first() if facts["assignee_id"] else None
    handlers = [assignee] if assignee is not None else list(users_with_role(role=Role.REVIEWER, department=department))
    for user in [*handlers, *users_with_role(role=Role.DEPARTMENT_HEAD, department=department)]:
        people.setdefault(user.pk, user)
    return list(people.values())


def notify_sla(case_id, sla_status: str) -> int:
    """Notify about a case's SLA status; returns how many messages were created."""
    template = SLA_TEMPLATES.get(sla_status)
    if template is None:
        return 0
    facts = _facts(case_id)
    # Delivered late, after the case moved on (decided, extended): the news is stale.
    if facts is None or facts["sla_status"] != sla_status:
        return 0
    ref = Ref("case", facts["case_id"], reverse("cases_workbench:detail", args=[facts["case_id"]]))
    key = f"case:{facts['case_id']}:sla:{sla_status}:{facts['due_date'] or ''}"
    return len(
        message_send_many(
            actor=SYSTEM_ACTOR,
            recipients=sla_recipients(facts),
            template_code=template,
            context=_context(facts),
            ref=ref,
            dedupe_key=key,
        )
    )


# 受理 is stale news once the case is decided: an automatic decision (秒批) accepts and decides in
# one transaction, and the decision's own notification tells the applicant both.
DECIDED_STATES = ("approved", "rejected", "delivered", "withdrawn")


def notify_applicant(case_id, event_name: str) -> int:
    """Tell the applicant what happened to their case; returns how many messages were created."""
    facts = _facts(case_id)
    if facts is None:
        return 0
    if event_name == "case.accepted" and facts["state"] in DECIDED_STATES:
        return 0
    applicant = User.objects.filter(pk=facts["applicant_id"]).first()
    ref = Ref("case", facts["case_id"], reverse("cases:detail", args=[facts["case_id"]]))
    return len(
        message_send(
            actor=SYSTEM_ACTOR,
            recipient=applicant,
            template_code=event_name,
            context=_context(facts),
            ref=ref,
            dedupe_key=f"{event_name}:{facts['case_id']}",
        )
    )


@events.subscribe("case.sla_changed")
def on_case_sla_changed(event: events.DomainEvent) -> None:
    notify_sla(event.payload["case_id"], event.payload.get("sla_status", ""))


def on_case_event(event: events.DomainEvent) -> None:
    notify_applicant(event.payload["case_id"], event.name)


for _event_name in APPLICANT_EVENTS:  # the tuple is the one list of the applicant's events
    events.subscribe(_event_name)(on_case_event)
