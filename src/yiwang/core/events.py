"""Domain events: a service publishes, other apps subscribe, neither knows the other.

    # publisher (cases/services/), inside the service's transaction
    events.publish("case.approved", case_id=case.pk)

    # subscriber (licenses/subscribers.py), imported by its AppConfig.ready()
    @events.subscribe("case.approved")
    def issue_license_on_approval(event: events.DomainEvent) -> None: ...

Nothing is delivered unless the publishing transaction commits. Each subscriber
then runs as its own background task (Django's task API), so a slow or failing
subscriber neither blocks the request nor stops the others.

With the database task queue (production), the subscribers' tasks are written in the
publisher's own transaction — a transactional outbox: they exist exactly when the change
does, a crash right after the commit loses no event, and no extra transaction follows the
request. Other backends (the immediate one of the tests) enqueue once the transaction commits.
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils.module_loading import import_string
from django_tasks import task

logger = logging.getLogger(__name__)

_subscribers: dict[str, list[str]] = defaultdict(list)
# (event name, subscriber path) -> {payload key: accepted values}: events outside it enqueue nothing
_filters: dict[tuple[str, str], dict[str, frozenset]] = {}


@dataclass(frozen=True)
class DomainEvent:
    name: str
    payload: dict[str, Any] = field(default_factory=dict)
    occurred_at: str = ""


def subscribe(event_name: str, *, only: dict[str, Iterable] | None = None) -> Callable:
    """Register a module-level function to receive ``event_name``.

    ``only`` (``{"registry": ("legal_entity", "economy")}``) narrows it to the events whose payload
    has one of those values under each key: the others are not queued for it at all, so a
    subscriber interested in a few kinds of a busy event costs the rest no task.
    """

    def register(func: Callable) -> Callable:
        path = f"{func.__module__}.{func.__qualname__}"
        if "<locals>" in path:
            raise ValueError("event subscribers must be module-level functions")
        if path not in _subscribers[event_name]:
            _subscribers[event_name].append(path)
        if only:
            _filters[(event_name, path)] = {key: frozenset(values) for key, values in only.items()}
        return func

    return register


def subscribers(event_name: str, payload: dict[str, Any] | None = None) -> list[str]:
    """The subscribers of ``event_name``; with ``payload``, only those whose ``only`` accepts it."""
    paths = list(_subscribers.get(event_name, ()))
    if payload is None:
        return paths
    return [path for path in paths if _accepts(_filters.get((event_name, path)), payload)]


def _accepts(only: dict[str, frozenset] | None, payload: dict[str, Any]) -> bool:
    return only is None or all(payload.get(key) in values for key, values in only.items())


def _queue_in_database() -> bool:
    from django_tasks_db.backend import DatabaseBackend

    return isinstance(deliver_event.get_backend(), DatabaseBackend)


def publish(event_name: str, **payload: Any) -> None:
    """Deliver ``event_name`` to its subscribers once the current transaction commits.

    The payload must be JSON-serializable (ids, codes, not model instances).
    """
    paths = subscribers(event_name, payload)
    if not paths:
        return
    occurred_at = datetime.now(UTC).isoformat()

    def dispatch() -> None:
        for path in paths:
            deliver_event.enqueue(path, event_name, payload, occurred_at)

    if _queue_in_database():
        dispatch()  # the outbox: rows in this transaction, seen by workers once it commits
    else:
        transaction.on_commit(dispatch, robust=False)


@task()
def deliver_event(handler_path: str, event_name: str, payload: dict, occurred_at: str) -> None:
    handler = import_string(handler_path)
    logger.info("delivering %s to %s", event_name, handler_path)
    handler(DomainEvent(name=event_name, payload=payload, occurred_at=occurred_at))
