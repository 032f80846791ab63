"""Module-level subscribers used by test_events (subscribers must be importable by path)."""

from yiwang.core import events
from yiwang.core.audit import audit_record


@events.subscribe("test.thing_happened")
def record_thing(event: events.DomainEvent) -> None:
    audit_record(actor="task:test", action="test.thing_seen", object_type="test", object_id=str(event.payload["n"]))


@events.subscribe("test.thing_happened")
def second_listener(event: events.DomainEvent) -> None:
    audit_record(actor="task:test", action="test.thing_seen_twice", object_type="test", object_id="x")


@events.subscribe("test.fails")
def failing_listener(event: events.DomainEvent) -> None:
    raise RuntimeError("subscriber failure must not undo the publisher")


@events.subscribe("test.kind_happened", only={"kind": ("wanted", "also")})
def picky_listener(event: events.DomainEvent) -> None:
    audit_record(actor="task:test", action="test.kind_seen", object_type="test", object_id=event.payload["kind"])
