"""The tamper-evident audit chain (审计链).

Every state change in Yiwang goes through a service, and every service calls
``audit_record`` inside its transaction. Each event's hash covers the previous
event's hash, so the chain can be verified from the first row to the last.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import models, transaction

from yiwang.core.crypto import sm3_hex
from yiwang.core.models import AuditChainHead, AuditEvent

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    """One byte-exact text for a value: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def event_hash(
    *,
    prev_hash: str,
    sequence: int,
    created_at: datetime,
    actor_id: int | None,
    actor_repr: str,
    action: str,
    object_type: str,
    object_id: str,
    object_repr: str,
    digest: str,
) -> str:
    fields = [
        prev_hash,
        str(sequence),
        created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "" if actor_id is None else str(actor_id),
        actor_repr,
        action,
        object_type,
        object_id,
        object_repr,
        digest,
    ]
    return sm3_hex(canonical_json(fields))


def hash_of(event: AuditEvent) -> str:
    return event_hash(
        prev_hash=event.prev_hash,
        sequence=event.sequence,
        created_at=event.created_at,
        actor_id=event.actor_id,
        actor_repr=event.actor_repr,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        object_repr=event.object_repr,
        digest=event.digest,
    )


def _actor_fields(actor) -> tuple[int | None, str]:
    if actor is None:
        return None, "system"
    if isinstance(actor, str):
        return None, actor
    if getattr(actor, "is_authenticated", False):
        return actor.pk, actor.get_username()
    return None, "anonymous"


def audit_record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    changes: dict | None = None,
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction.

    ``actor`` is a user, ``None`` for the platform itself, or a string naming a system
    actor (e.g. ``"task:sla_sweep"``). ``changes`` must not carry personal data in
    clear: pass masked values or field names only. The head row is locked for the
    rest of the caller's transaction, so concurrent writers queue instead of forking.
    """
    changes = changes or {}
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)
    actor_id, actor_repr = _actor_fields(actor)
    digest = sm3_hex(canonical_json(changes))
    with transaction.atomic():
        head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
        if head is None:
            head, _ = AuditChainHead.objects.get_or_create(pk=1, defaults={"hash": GENESIS_HASH})
            head = AuditChainHead.objects.select_for_update().get(pk=1)
        sequence = head.sequence + 1
        created_at = datetime.now(UTC)
        values = dict(
            sequence=sequence,
            created_at=created_at,
            actor_id=actor_id,
            actor_repr=actor_repr[:200],
            action=action,
            object_type=object_type,
            object_id=str(object_id)[:100],
            object_repr=str(object_repr)[:300],
            digest=digest,
        )
        new_hash = event_hash(prev_hash=head.hash, **values)
        event = AuditEvent.objects.create(changes=changes, prev_hash=head.hash, hash=new_hash, **values)
        AuditChainHead.objects.filter(pk=1).update(sequence=sequence, hash=new_hash)
    return event


@dataclass(frozen=True)
class ChainBreak:
    """The first place where the stored chain disagrees with itself."""

    sequence: int | None
    event_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"sequence {self.sequence}" if self.sequence is not None else "chain head"
        return f"{where} (row id {self.event_id}): {self.problem}"
