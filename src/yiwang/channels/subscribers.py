"""Cross-region forwards follow the case: the decision sends the result back to the receiving
window, the delivery completes the forward. The cases app publishes; it knows nothing of this."""

from yiwang.core import events


@events.subscribe("case.approved")
@events.subscribe("case.rejected")
def result_back_to_receiving_window(event: events.DomainEvent) -> None:
    from yiwang.channels.services import forward_result_returned

    forward_result_returned(case_id=int(event.payload["case_id"]))


@events.subscribe("case.delivered")
def forward_done_on_delivery(event: events.DomainEvent) -> None:
    from yiwang.channels.services import forward_completed

    forward_completed(case_id=int(event.payload["case_id"]))


@events.subscribe("case.approved")
@events.subscribe("case.rejected")
@events.subscribe("case.delivered")
def result_back_to_forwarding_installation(event: events.DomainEvent) -> None:
    """A case another installation forwarded to us: call it back with the result (signed API)."""
    from yiwang.channels.services import inbound_result_notify

    inbound_result_notify(case_id=int(event.payload["case_id"]))
