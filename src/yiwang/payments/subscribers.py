"""When a case ends before its fee is paid (withdrawn, refused, rejected), its open bills are
cancelled by the platform; a payment that arrives for one afterwards is refunded."""

from django.utils.translation import gettext as _

from yiwang.core import events
from yiwang.payments.models import Bill, BillState


def _cancel_open_bills(event) -> None:
    from yiwang.payments.services import SYSTEM_ACTOR, bill_cancel

    for pk in Bill.objects.filter(case_id=event.payload.get("case_id"), state=BillState.OPEN).values_list(
        "pk", flat=True
    ):
        bill_cancel(
            actor=SYSTEM_ACTOR, bill_id=pk, reason=_("办件已终止(%(event)s),缴款通知书作废") % {"event": event.name}
        )


@events.subscribe("case.withdrawn")
def on_case_withdrawn(event) -> None:
    _cancel_open_bills(event)


@events.subscribe("case.rejected")
def on_case_rejected(event) -> None:
    _cancel_open_bills(event)
