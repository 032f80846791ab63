"""The evidence log (交换日志): every read of registry data, hash-chained with SM3 and sealed with SM2.

Guarantee, in the manner of X-Road's signed message log:

* **Chain.** Each entry's hash covers its content and the previous entry's hash; an append locks
  the one head row (``SELECT … FOR NO KEY UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` holds the
  write lock already) so concurrent reads never fork the chain, and the unique ``sequence`` and
  ``prev_hash`` columns turn a fork into an error. Editing, deleting, inserting or reordering a
  row breaks the chain where it happened, and ``verify_log`` names that row.
* **Seals.** Signing every entry with SM2 would cost more than the whole lookup, so the chain
  head is signed instead: ``log_seal`` (scheduled every few minutes, and on demand) signs
  ``(sequence, hash)`` of the head with the exchange's SM2 key, whose private half is stored
  SM4-encrypted under ``YIWANG_DATA_KEY`` — outside the database. Someone who can write the
  database could recompute every hash after an edit; he cannot forge a seal, so every entry up
  to the latest seal is protected even against him, and the entries after it (minutes' worth)
  only by the chain. ``verify_log`` checks every seal's signature and that the entry it names
  still carries the sealed hash.

The write path is plain SQL (``core.db``): a gateway lookup pays for one head read and one
insert-and-move-head statement on PostgreSQL (two on SQLite).
"""

import functools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.models import Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.core import gm
from yiwang.core.audit import GENESIS_HASH, BreakKind, ChainBreak
from yiwang.core.crypto import sm3_hex
from yiwang.exchange.models import ExchangeLog, ExchangeLogHead, ExchangeLogSeal, ExchangeSigningKey

# A seal whose signature or sealed hash no longer matches: the chain was rewritten before it.
SEAL_BROKEN = "seal"

# The content columns, in hashing order (sequence and prev_hash come first).
CONTENT = (
    "consumer_kind",
    "consumer",
    "department_id",
    "grant_id",
    "purpose",
    "registry",
    "key_index",
    "subject_index",
    "fields",
    "outcome",
)


@dataclass
class Entry:
    """What one log entry says; ``fields`` is a list of field names."""

    consumer_kind: str
    consumer: str
    department_id: int | None
    grant_id: int | None
    purpose: str
    registry: str
    key_index: str = ""
    subject_index: str = ""
    fields: list[str] = field(default_factory=list)
    outcome: str = "ok"


def entry_hash(prev_hash: str, sequence: int, created_at: datetime, values: tuple) -> str:
    """SM3 over the previous hash, the sequence, the UTC time and the content columns, separated
    by the unit separator (no field can contain it: they are codes, names and digests)."""
    parts = [prev_hash, str(sequence), created_at.astimezone(UTC).isoformat(timespec="microseconds")]
    parts.extend("" if v is None else str(v) for v in values)
    return sm3_hex("\x1f".join(parts))


def _lock_head(cursor) -> tuple[int, str]:
    qn = connection.ops.quote_name
    sql = f"SELECT {qn('sequence')}, {qn('hash')} FROM {qn(ExchangeLogHead._meta.db_table)} WHERE {qn('id')} = 1"  # noqa: S608
    if connection.features.has_select_for_no_key_update:
        sql += " FOR NO KEY UPDATE"  # PostgreSQL; SQLite's BEGIN IMMEDIATE holds the write lock already
    elif connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    cursor.execute(sql)
    row = cursor.fetchone()
    if row is None:  # after a test flush; the migration writes the row
        ExchangeLogHead.objects.get_or_create(pk=1, defaults={"sequence": 0, "hash": GENESIS_HASH})
        return _lock_head(cursor)
    return row[0], row[1]


_COLUMNS = ("sequence", "created_at", *CONTENT, "prev_hash", "hash")


@functools.cache
def _insert_sql_for(vendor: str, rows: int) -> str:
    qn = connection.ops.quote_name
    columns = ", ".join(qn(ExchangeLog._meta.get_field(c).column) for c in _COLUMNS)
    one = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
    return f"INSERT INTO {qn(ExchangeLog._meta.db_table)} ({columns}) VALUES " + ", ".join([one] * rows)  # noqa: S608


def _insert_sql(rows: int) -> str:
    """The INSERT of ``rows`` entries, built once per row count (each lookup appends one)."""
    return _insert_sql_for(connection.vendor, rows)


def log_append(entries: list[Entry]) -> int:
    """Append ``entries`` to the chain in one transaction of their own; returns the last sequence.

    Call it outside the caller's transaction (the gateway's reads have none): a refused read is
    logged even though the request fails.
    """
    if not entries:
        return 0
    now = timezone.now()
    created_param = ExchangeLog._meta.get_field("created_at").get_db_prep_save(now, connection)
    qn = connection.ops.quote_name
    head_table = qn(ExchangeLogHead._meta.db_table)
    # No savepoint inside a caller's transaction: a failed append must fail the caller's read too.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        sequence, prev = _lock_head(cursor)
        params: list = []
        for entry in entries:
            sequence += 1
            fields = ",".join(entry.fields)[:1000]
            values = (
                entry.consumer_kind,
                entry.consumer[:100],
                entry.department_id,
                entry.grant_id,
                entry.purpose[:300],
                entry.registry,
                entry.key_index,
                entry.subject_index,
                fields,
                entry.outcome[:40],
            )
            digest = entry_hash(prev, sequence, now, values)
            params.extend((sequence, created_param, *values, prev, digest))
            prev = digest
        move_head = f"UPDATE {head_table} SET {qn('sequence')} = %s, {qn('hash')} = %s WHERE {qn('id')} = 1"  # noqa: S608
        if connection.vendor == "postgresql":
            cursor.execute(f"WITH e AS ({_insert_sql(len(entries))}) {move_head}", [*params, sequence, prev])
        else:
            cursor.execute(_insert_sql(len(entries)), params)
            cursor.execute(move_head, [sequence, prev])
    return sequence


# --- seals ---------------------------------------------------------------------------------------


def seal_message(sequence: int, digest: str) -> bytes:
    return f"yiwang-exchange-log|{sequence}|{digest}".encode()


def signing_key() -> ExchangeSigningKey:
    """The current SM2 key, made on first use."""
    key = ExchangeSigningKey.objects.filter(retired_at__isnull=True).order_by("-pk").first()
    if key is None:
        private, public = gm.sm2_keypair()
        key = ExchangeSigningKey.objects.create(public_key=public, private_key=private.hex())
    return key


def log_seal() -> ExchangeLogSeal | None:
    """Sign the current chain head (if entries came since the last seal); returns the new seal."""
    head = ExchangeLogHead.objects.filter(pk=1).values_list("sequence", "hash").first()
    if head is None or head[0] == 0:
        return None
    if ExchangeLogSeal.objects.filter(sequence__gte=head[0]).exists():
        return None
    key = signing_key()
    signature = gm.sm2_sign(bytes.fromhex(key.private_key), seal_message(head[0], head[1]))
    return ExchangeLogSeal.objects.create(
        sequence=head[0], hash=head[1], sealed_at=timezone.now(), key=key, signature=signature
    )


# --- verification --------------------------------------------------------------------------------


@dataclass
class LogReport:
    """What ``verify_log`` found: every break (up to ``limit``), how many entries it checked, how fast."""

    checked: int = 0
    seconds: float = 0.0
    head_sequence: int = 0
    seals: int = 0
    breaks: list[ChainBreak] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks

    @property
    def rate(self) -> float:
        return self.checked / self.seconds if self.seconds > 0 else 0.0


_VERIFY = ("id", "sequence", "created_at", *CONTENT, "prev_hash", "hash")


def _link_break(sequence: int, row_id: int, prev_hash: str, expected: str) -> ChainBreak:
    target = ExchangeLog.objects.filter(hash=prev_hash).values_list("sequence", "id").first()
    if target is not None:
        return ChainBreak(
            sequence,
            row_id,
            _("前一哈希指向序号 %(target)s(行 id %(target_id)s)而不是前一条:日志条目的顺序被调换")
            % {"target": target[0], "target_id": target[1]},
            BreakKind.REORDERED,
        )
    return ChainBreak(
        sequence,
        row_id,
        _("前一哈希 %(found)s… 不是前一条的哈希 %(expected)s…,也不属于日志中的任何条目:此条是插入的")
        % {"found": prev_hash[:12], "expected": expected[:12]},
        BreakKind.INSERTED,
    )


def verify_log(*, chunk_size: int = 5000, limit: int = 100) -> LogReport:
    """Walk the whole log and report every broken entry (at most ``limit``), then check the seals.

    Unlike the audit chain's first-break walk, this one resynchronises after a break (on the
    stored hash and sequence of the broken row), so an edited row, a deleted one and a forged one
    further on are all named in one run.
    """
    began = time.perf_counter()
    report = LogReport()
    head = ExchangeLogHead.objects.filter(pk=1).values_list("sequence", "hash").first() or (0, GENESIS_HASH)
    report.head_sequence = head[0]
    expected_sequence, expected_prev = 1, GENESIS_HASH
    cursor_seq = 0
    hashes_at: dict[int, str] = {}
    seals = list(ExchangeLogSeal.objects.select_related("key").order_by("sequence"))
    sealed = {seal.sequence for seal in seals}

    def broken(item: ChainBreak) -> bool:
        report.breaks.append(item)
        return len(report.breaks) >= limit

    done = False
    while cursor_seq < head[0] and not done:
        rows = list(
            ExchangeLog.objects.filter(sequence__gt=cursor_seq, sequence__lte=head[0])
            .order_by("sequence")
            .values_list(*_VERIFY)[:chunk_size]
        )
        if not rows:
            break
        for row in rows:
            row_id, sequence, created_at = row[0], row[1], row[2]
            values, prev_hash, stored = row[3:-2], row[-2], row[-1]
            if sequence != expected_sequence:
                missing = (
                    str(expected_sequence)
                    if sequence == expected_sequence + 1
                    else f"{expected_sequence}–{sequence - 1}"
                )
                if broken(
                    ChainBreak(
                        sequence,
                        row_id,
                        _("序号不连续:应为 %(expected)s,实为 %(found)s;序号 %(missing)s 的日志条目已被删除")
                        % {"expected": expected_sequence, "found": sequence, "missing": missing},
                        BreakKind.DELETED,
                    )
                ):
                    done = True
                    break
            elif prev_hash != expected_prev:
                if broken(_link_break(sequence, row_id, prev_hash, expected_prev)):
                    done = True
                    break
            elif entry_hash(prev_hash, sequence, created_at, values) != stored and broken(
                ChainBreak(
                    sequence,
                    row_id,
                    _("哈希不符:此日志条目的内容被修改(使用方、用途、数据项、时间或结果)"),
                    BreakKind.EDITED,
                )
            ):
                done = True
                break
            report.checked += 1
            expected_sequence, expected_prev = sequence + 1, stored
            if sequence in sealed:
                hashes_at[sequence] = stored
        cursor_seq = rows[-1][1]

    if not done and cursor_seq < head[0] and expected_sequence <= head[0]:
        broken(
            ChainBreak(
                expected_sequence,
                None,
                _("日志尾部被截断:链头记录最后序号为 %(head)s;序号 %(first)s–%(head)s 的条目已被删除")
                % {"head": head[0], "first": expected_sequence},
                BreakKind.TRUNCATED,
            )
        )
    elif not done and head[0] and expected_prev != head[1]:
        broken(
            ChainBreak(head[0], None, _("链头哈希与最后一条日志的哈希不符:最后一条被替换或链头被改"), BreakKind.HEAD)
        )
    beyond = (
        ExchangeLog.objects.filter(sequence__gt=Subquery(ExchangeLogHead.objects.filter(pk=1).values("sequence")[:1]))
        .order_by("sequence")
        .values_list("sequence", "id")
        .first()
    )
    if beyond is not None:
        broken(
            ChainBreak(
                beyond[0],
                beyond[1],
                _("此条位于链头(序号 %(head)s)之后:绕过日志写入而追加的伪造条目") % {"head": head[0]},
                BreakKind.APPENDED,
            )
        )
    for seal in seals:
        report.seals += 1
        if not gm.sm2_verify(seal.key.public_key, seal_message(seal.sequence, seal.hash), seal.signature):
            broken(ChainBreak(seal.sequence, None, _("封存签名无效:封存记录被篡改或不是本平台密钥所签"), SEAL_BROKEN))
        elif seal.sequence <= head[0] and hashes_at.get(seal.sequence, seal.hash) != seal.hash:
            broken(
                ChainBreak(
                    seal.sequence,
                    None,
                    _("序号 %(seq)s 的哈希与其 SM2 封存不符:封存之前的日志被整体改写") % {"seq": seal.sequence},
                    SEAL_BROKEN,
                )
            )
    report.seconds = time.perf_counter() - began
    return report
