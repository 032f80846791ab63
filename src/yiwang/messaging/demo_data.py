"""Demo messages (loaded by ``yiwang demo`` after the demo cases): the demo applicants get the
notifications their cases' events would have brought them, through the same code the event
subscribers run. Idempotent: the dedupe keys are the subscribers' own, so a rerun, or the
worker later delivering the demo cases' queued events, adds nothing."""

from django.contrib.auth import get_user_model


def events_for(case) -> list[str]:
    """What a demo case has been through, as the events the subscribers handle."""
    if case.state == "refused":
        return ["case.refused"]
    if case.state == "supplement_requested":
        return ["case.supplement_requested"]
    events = ["case.accepted"] if case.accepted_at else []
    if case.decision:
        events.append("case.approved" if case.decision == "approve" else "case.rejected")
    if case.state == "delivered":
        events.append("case.delivered")
    return events


class Summary(list):
    def summary(self) -> str:
        return f"消息 {sum(self)} 条(新建,站内和短信),已有的不变"


def load(actor=None):
    from yiwang.cases.selectors import case_list_for_applicant
    from yiwang.messaging.subscribers import notify_applicant

    created = Summary()
    users = get_user_model().objects.filter(username__regex=r"^citizen0[1-4]$", is_active=True).order_by("username")
    for user in users:
        for case in case_list_for_applicant(actor=user).order_by("pk"):
            for event in events_for(case):
                created.append(notify_applicant(case.pk, event))
    return created
