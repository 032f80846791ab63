"""The demo applicants (citizen01…04) find their cases' notifications in the inbox; a rerun, or
the events delivered later by the worker, add nothing."""

from yiwang.cases import services as cases
from yiwang.cases.tests.factories import FORM, attach_required
from yiwang.messaging import demo_data
from yiwang.messaging.models import Channel, Message, MessageState
from yiwang.messaging.subscribers import notify_applicant


def test_demo_messages_follow_the_cases_and_are_idempotent(world):
    world.applicant.username = "citizen01"
    world.applicant.save(update_fields=["username"])
    world.other_citizen.username = "citizen03"
    world.other_citizen.save(update_fields=["username"])
    # As the cases demo does, in one transaction whose events reach the worker only later.
    case, _ = cases.case_submit(actor=world.applicant, item=world.market_item, form_data=FORM)
    attach_required(case.pk)  # acceptance needs the required materials
    cases.case_accept(actor=world.clerk, case_id=case.pk)
    cases.case_claim(actor=world.reviewer, case_id=case.pk)
    cases.case_record_opinion(actor=world.reviewer, case_id=case.pk, opinion="符合条件")
    cases.case_decide(actor=world.head, case_id=case.pk, decision="approve")
    cases.case_deliver(actor=world.clerk, case_id=case.pk, method="window")
    cases.case_submit(actor=world.other_citizen, item=world.police_item, form_data=FORM)  # waits at the window

    # Two notifications, in-app and SMS: 受理 is stale news once the case is decided.
    assert sum(demo_data.load(None)) == 4
    inbox = Message.objects.filter(recipient=world.applicant, channel=Channel.IN_APP)
    assert sorted(inbox.values_list("template_code", flat=True)) == [
        "case.approved",
        "case.delivered",
    ]
    assert all(m.state == MessageState.SENT for m in inbox)
    assert not Message.objects.filter(recipient=world.other_citizen).exists()
    count = Message.objects.count()
    assert sum(demo_data.load(None)) == 0
    assert notify_applicant(case.pk, "case.delivered") == 0  # the worker delivering the queued event
    assert Message.objects.count() == count
