"""The tamper-evident audit chain (审计链).

Every state change in Yiwang goes through a service, and every service calls
``audit_record`` inside its transaction. Each event's hash covers the previous
event's hash, so the chain can be verified from the first row to the last.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Subquery
from django.utils.translation import gettext as _

from yiwang.core import db
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
    rest of the caller's transaction, so concurrent writers queue instead of forking:
    ``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite every transaction begins
    ``IMMEDIATE`` (settings), which takes the database write lock at ``BEGIN``. Should
    either ever fail, the unique ``sequence`` and ``prev_hash`` columns turn a fork
    into an ``IntegrityError`` rather than a second branch.
    """
    # Store exactly what was digested: datetimes, Decimals and UUIDs become strings once,
    # so the digest recomputed from the stored JSON by ``verify_chain`` matches.
    changes = json.loads(canonical_json(changes or {}))
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)
    actor_id, actor_repr = _actor_fields(actor)
    digest = sm3_hex(canonical_json(changes))
    # No savepoint: an audit failure must fail the caller's whole transaction anyway.
    # The head stays locked from here until the caller commits, so the statements inside
    # are plain SQL: every microsecond spent here is spent by every queued writer too.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        head = _lock_head(cursor)
        if head is None:  # only before the first migration's data, or after a test flush
            AuditChainHead.objects.get_or_create(pk=1, defaults={"sequence": 0, "hash": GENESIS_HASH})
            head = _lock_head(cursor)
        prev_hash = head[1]
        values = dict(
            sequence=head[0] + 1,
            created_at=datetime.now(UTC),
            actor_id=actor_id,
            actor_repr=actor_repr[:200],
            action=action,
            object_type=object_type,
            object_id=str(object_id)[:100],
            object_repr=str(object_repr)[:300],
            digest=digest,
        )
        new_hash = event_hash(prev_hash=prev_hash, **values)
        event = AuditEvent(changes=changes, prev_hash=prev_hash, hash=new_hash, **values)
        event.pk = _append(cursor, event)
        event._state.adding = False
        event._state.db = connection.alias
    return event


def audit_record_many(entries: list[dict]) -> list[AuditEvent]:
    """Append several events in order, each given as the keyword arguments of ``audit_record``,
    in the caller's transaction: the head is locked and moved once, the events inserted in one
    statement, so that writing N events (a bundle's cases) costs what writing one does."""
    if len(entries) <= 1:
        return [audit_record(**entry) for entry in entries]
    prepared = []
    for entry in entries:
        changes = json.loads(canonical_json(entry.get("changes") or {}))
        obj = entry.get("obj")
        object_type, object_id, object_repr = (
            entry.get("object_type", ""),
            entry.get("object_id", ""),
            entry.get("object_repr", ""),
        )
        if obj is not None:
            object_type = object_type or obj._meta.label_lower
            object_id = object_id or str(obj.pk)
            object_repr = object_repr or str(obj)
        actor_id, actor_repr = _actor_fields(entry.get("actor"))
        values = dict(
            actor_id=actor_id,
            actor_repr=actor_repr[:200],
            action=entry["action"],
            object_type=object_type,
            object_id=str(object_id)[:100],
            object_repr=str(object_repr)[:300],
            digest=sm3_hex(canonical_json(changes)),
        )
        prepared.append((changes, values))
    qn = connection.ops.quote_name
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        head = _lock_head(cursor)
        if head is None:
            AuditChainHead.objects.get_or_create(pk=1, defaults={"sequence": 0, "hash": GENESIS_HASH})
            head = _lock_head(cursor)
        sequence, prev_hash = head
        events = []
        for changes, values in prepared:
            sequence += 1
            values = dict(values, sequence=sequence, created_at=datetime.now(UTC))
            new_hash = event_hash(prev_hash=prev_hash, **values)
            events.append(AuditEvent(changes=changes, prev_hash=prev_hash, hash=new_hash, **values))
            prev_hash = new_hash
        AuditEvent.objects.bulk_create(events)
        cursor.execute(
            f"UPDATE {qn(AuditChainHead._meta.db_table)} SET {qn('sequence')} = %s, {qn('hash')} = %s "  # noqa: S608
            f"WHERE {qn('id')} = %s",
            [sequence, prev_hash, 1],
        )
    return events


def _append(cursor, event: AuditEvent) -> int:
    """Insert the event and move the head to it; return the event's id. On PostgreSQL this is
    one statement (a data-modifying WITH), so the head is held one round trip less."""
    qn = connection.ops.quote_name
    move_head = (
        f"UPDATE {qn(AuditChainHead._meta.db_table)} SET {qn('sequence')} = %s, {qn('hash')} = %s "  # noqa: S608
        f"WHERE {qn('id')} = %s"
    )
    head_params = [event.sequence, event.hash, 1]
    if connection.vendor == "postgresql":
        insert_sql, params = db.insert_statement(event)
        pk = qn(AuditEvent._meta.pk.column)
        cursor.execute(
            f"WITH e AS ({insert_sql} RETURNING {pk}) {move_head} RETURNING (SELECT {pk} FROM e)",  # noqa: S608
            [*params, *head_params],
        )
        return cursor.fetchone()[0]
    db.insert(event, cursor=cursor)
    cursor.execute(move_head, head_params)
    return event.pk


def _lock_head(cursor) -> tuple[int, str] | None:
    """(sequence, hash) of the chain head, locked until the transaction ends."""
    qn = connection.ops.quote_name
    sql = f"SELECT {qn('sequence')}, {qn('hash')} FROM {qn(AuditChainHead._meta.db_table)} WHERE {qn('id')} = %s"  # noqa: S608
    if connection.features.has_select_for_update:
        sql += " FOR UPDATE"  # PostgreSQL; SQLite's IMMEDIATE transaction already holds the write lock
    cursor.execute(sql, [1])
    row = cursor.fetchone()
    return None if row is None else (row[0], row[1])


# --- Verification -----------------------------------------------------------------------------


class BreakKind:
    """Stable machine codes for what is wrong at the first broken link."""

    EDITED = "edited"  # a row's content no longer matches its own hash or digest
    DELETED = "deleted"  # a sequence number is missing: a row was deleted
    INSERTED = "inserted"  # a row links to no event in the chain: forged and inserted
    REORDERED = "reordered"  # a row links to an event other than its predecessor
    TRUNCATED = "truncated"  # the head records events that are no longer there
    APPENDED = "appended"  # rows exist beyond the head: written around audit_record
    HEAD = "head"  # the head row is missing or disagrees with the last event


@dataclass(frozen=True)
class ChainBreak:
    """The first place where the stored chain disagrees with itself.

    ``sequence`` and ``event_id`` name the row where the break shows (for a truncated
    tail: the first missing sequence, and no row id); ``kind`` is a ``BreakKind`` code;
    ``problem`` says in words what is wrong and what it means.
    """

    sequence: int | None
    event_id: int | None
    problem: str
    kind: str = BreakKind.EDITED

    def __str__(self) -> str:
        where = _("序号 %(sequence)s") % {"sequence": self.sequence} if self.sequence is not None else _("链头")
        row = _("行 id %(id)s") % {"id": self.event_id} if self.event_id is not None else _("行 id 无")
        return f"{where}({row}):[{self.kind}] {self.problem}"


@dataclass
class ChainReport:
    """What ``verify_chain_report`` found: how many events it checked, in how long, and the first break."""

    checked: int = 0
    seconds: float = 0.0
    head_sequence: int = 0
    head_hash: str = GENESIS_HASH
    first_sequence: int = 1
    chain_break: ChainBreak | None = None

    @property
    def ok(self) -> bool:
        return self.chain_break is None

    @property
    def rate(self) -> float:
        return self.checked / self.seconds if self.seconds > 0 else 0.0


_VERIFY_FIELDS = (
    "id",
    "sequence",
    "created_at",
    "actor_id",
    "actor_repr",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "changes",
    "digest",
    "prev_hash",
    "hash",
)


def _describe_link(prev_hash: str, expected: str, prev_sequence: int) -> tuple[str, str]:
    """Tell a reordered row (links to another real event) from a forged one (links to none)."""
    target = AuditEvent.objects.filter(hash=prev_hash).values_list("sequence", "id").first()
    if target is not None:
        return BreakKind.REORDERED, _(
            "前一哈希指向序号 %(target_seq)s(行 id %(target_id)s)而不是前一条序号 %(prev_seq)s:行的顺序被调换"
        ) % {"target_seq": target[0], "target_id": target[1], "prev_seq": prev_sequence}
    return BreakKind.INSERTED, _(
        "前一哈希 %(found)s… 不是前一条序号 %(prev_seq)s 的哈希 %(expected)s…,也不属于链上任何事件:"
        "此行是伪造插入的(或其前一行被删除后重新编号)"
    ) % {"found": prev_hash[:12], "expected": expected[:12], "prev_seq": prev_sequence}


def verify_chain_report(
    *, start: int = 1, chunk_size: int = 2000, progress: Callable[[int, int], None] | None = None
) -> ChainReport:
    """Walk the chain from ``start`` to the head and report the first broken link.

    Reads in keyset-paginated chunks of ``chunk_size`` rows ordered by sequence, so memory
    stays constant at any chain length. Checks, per row and in this order: the sequence
    follows its predecessor (else a row was deleted); ``prev_hash`` is the predecessor's
    hash (else a row was inserted or rows were reordered); the stored changes still
    match their digest and the row still matches its hash (else the row was edited).
    Finally the head must name the last event (else the tail was truncated) and no row
    may lie beyond it. Writers may keep appending meanwhile: the walk stops at the head
    as read when it began.

    ``start`` > 1 verifies from that sequence on, trusting the row before it (its hash is
    the anchor); ``progress(checked, head_sequence)`` is called after every chunk.
    """
    began = time.perf_counter()
    report = ChainReport(first_sequence=start)
    head = AuditChainHead.objects.filter(pk=1).values_list("sequence", "hash").first()
    if head is None:
        first = AuditEvent.objects.order_by("sequence").values_list("sequence", "id").first()
        if first is not None:
            report.chain_break = ChainBreak(
                first[0], first[1], _("链头记录缺失,但存在审计事件:链头行被删除"), BreakKind.HEAD
            )
        report.seconds = time.perf_counter() - began
        return report
    report.head_sequence, report.head_hash = head

    expected_sequence = start
    expected_prev = GENESIS_HASH
    if start > 1:
        anchor = AuditEvent.objects.filter(sequence=start - 1).values_list("hash", flat=True).first()
        if anchor is None:
            raise ValueError(f"no event with sequence {start - 1} to anchor the verification on")
        expected_prev = anchor
    last_id: int | None = None
    last_hash = expected_prev
    cursor = start - 1

    def stop(chain_break: ChainBreak) -> ChainReport:
        report.chain_break = chain_break
        report.seconds = time.perf_counter() - began
        return report

    while cursor < report.head_sequence:
        rows = list(
            AuditEvent.objects.filter(sequence__gt=cursor, sequence__lte=report.head_sequence)
            .order_by("sequence")
            .values_list(*_VERIFY_FIELDS)[:chunk_size]
        )
        if not rows:
            break
        for (
            row_id,
            sequence,
            created_at,
            actor_id,
            actor_repr,
            action,
            object_type,
            object_id,
            object_repr,
            changes,
            digest,
            prev_hash,
            stored_hash,
        ) in rows:
            if sequence != expected_sequence:
                missing = (
                    str(expected_sequence)
                    if sequence == expected_sequence + 1
                    else f"{expected_sequence}–{sequence - 1}"
                )
                return stop(
                    ChainBreak(
                        sequence,
                        row_id,
                        _("序号不连续:应为 %(expected)s,实为 %(found)s;序号 %(missing)s 的事件已被删除")
                        % {"expected": expected_sequence, "found": sequence, "missing": missing},
                        BreakKind.DELETED,
                    )
                )
            if prev_hash != expected_prev:
                kind, problem = _describe_link(prev_hash, expected_prev, sequence - 1)
                return stop(ChainBreak(sequence, row_id, problem, kind))
            if sm3_hex(canonical_json(changes)) != digest:
                return stop(
                    ChainBreak(
                        sequence,
                        row_id,
                        _("变更内容与其摘要不符:此行的变更内容被修改"),
                        BreakKind.EDITED,
                    )
                )
            recomputed = event_hash(
                prev_hash=prev_hash,
                sequence=sequence,
                created_at=created_at,
                actor_id=actor_id,
                actor_repr=actor_repr,
                action=action,
                object_type=object_type,
                object_id=object_id,
                object_repr=object_repr,
                digest=digest,
            )
            if recomputed != stored_hash:
                return stop(
                    ChainBreak(
                        sequence,
                        row_id,
                        _("哈希不符:按内容重算为 %(recomputed)s…,存储为 %(stored)s…;此行被修改")
                        % {"recomputed": recomputed[:12], "stored": stored_hash[:12]},
                        BreakKind.EDITED,
                    )
                )
            report.checked += 1
            expected_sequence = sequence + 1
            expected_prev = stored_hash
            last_id = row_id
            last_hash = stored_hash
        cursor = rows[-1][1]
        if progress is not None:
            progress(report.checked, report.head_sequence)

    if cursor < report.head_sequence:
        last = (
            _("最后一条是序号 %(seq)s(行 id %(id)s)") % {"seq": cursor, "id": last_id}
            if last_id is not None
            else _("链上没有任何事件")
        )
        return stop(
            ChainBreak(
                cursor + 1,
                None,
                _("链尾被截断:链头记录最后序号为 %(head)s,但%(last)s;序号 %(first)s–%(head)s 的事件已被删除")
                % {"head": report.head_sequence, "last": last, "first": cursor + 1},
                BreakKind.TRUNCATED,
            )
        )
    if report.head_sequence >= start - 1 and last_hash != report.head_hash:
        return stop(
            ChainBreak(
                report.head_sequence,
                last_id,
                _("链头哈希 %(head)s… 与最后一条事件的哈希 %(last)s… 不符:最后一条被替换或链头被改")
                % {"head": report.head_hash[:12], "last": last_hash[:12]},
                BreakKind.HEAD,
            )
        )
    # One statement, one snapshot: rows past the head as it is now were not written by audit_record.
    beyond = (
        AuditEvent.objects.filter(sequence__gt=Subquery(AuditChainHead.objects.filter(pk=1).values("sequence")[:1]))
        .order_by("sequence")
        .values_list("sequence", "id")
        .first()
    )
    if beyond is not None:
        return stop(
            ChainBreak(
                beyond[0],
                beyond[1],
                _("此行位于链头(序号 %(head)s)之后:未经审计写入而被追加的伪造事件") % {"head": report.head_sequence},
                BreakKind.APPENDED,
            )
        )
    report.seconds = time.perf_counter() - began
    return report


def verify_chain(*, start: int = 1, chunk_size: int = 2000) -> ChainBreak | None:
    """The first broken link of the chain, or None when every event checks out (streaming)."""
    return verify_chain_report(start=start, chunk_size=chunk_size).chain_break
