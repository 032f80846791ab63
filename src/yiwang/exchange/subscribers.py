"""The exchange's own events, turned into messages (``notify``) by background tasks."""

from yiwang.core import events
from yiwang.exchange import notify


@events.subscribe("exchange.request_created")
def on_request_created(event: events.DomainEvent) -> None:
    notify.request_created(event.payload["request_id"])


@events.subscribe("exchange.request_decided")
def on_request_decided(event: events.DomainEvent) -> None:
    notify.request_decided(event.payload["request_id"])


@events.subscribe("exchange.dispute_raised")
def on_dispute_raised(event: events.DomainEvent) -> None:
    notify.dispute_raised(event.payload["dispute_id"])


@events.subscribe("exchange.dispute_resolved")
def on_dispute_resolved(event: events.DomainEvent) -> None:
    notify.dispute_resolved(event.payload["dispute_id"])
