"""`python -m bench.worker <task> '<json args>'`: the part of a benchmark that runs Django.

Runs against the scratch database named by DATABASE_URL (set by the runner) and prints
its result as one JSON line last. With ``"wait": true`` it prints ``ready`` once set up
and starts only when a line arrives on stdin, so several workers start together.
"""

import json
import sys
import time
from datetime import UTC, datetime

import django

django.setup()

from django.db import connection, models, transaction  # noqa: E402

from bench.core import peak_rss_mb  # noqa: E402


class BenchRecord(models.Model):
    """A row shaped like a small domain object: the un-audited baseline writes these."""

    created_at = models.DateTimeField()
    actor_repr = models.CharField(max_length=200)
    action = models.CharField(max_length=100)
    object_id = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)

    class Meta:
        app_label = "core"
        db_table = "bench_record"
        managed = False

    def __str__(self) -> str:
        return f"bench record {self.pk}"


def wait_for_go(args: dict) -> None:
    if args.get("wait"):
        print("ready", flush=True)
        sys.stdin.readline()


def task_prepare(args: dict) -> dict:
    if BenchRecord._meta.db_table not in connection.introspection.table_names():
        with connection.schema_editor() as editor:
            editor.create_model(BenchRecord)
    return {"ok": True}


def task_writes(args: dict) -> dict:
    """``count`` writes, each its own transaction: a plain insert, plus ``audit_record`` if audited."""
    from yiwang.core.audit import audit_record

    audited = args["mode"] == "audited"
    tag = args.get("tag", "w")
    latencies = []
    wait_for_go(args)
    began = time.perf_counter()
    for i in range(args["count"]):
        t0 = time.perf_counter()
        with transaction.atomic():
            record = BenchRecord.objects.create(
                created_at=datetime.now(UTC),
                actor_repr=f"bench:{tag}",
                action="bench.write",
                object_id=str(i),
                payload={"i": i, "status": ["draft", "submitted"]},
            )
            if audited:
                audit_record(
                    actor=f"bench:{tag}",
                    action="bench.write",
                    obj=record,
                    changes={"i": i, "status": ["draft", "submitted"]},
                )
        latencies.append(time.perf_counter() - t0)
    return {"seconds": time.perf_counter() - began, "latencies": latencies, "peak_rss_mb": peak_rss_mb()}


def task_fill_chain(args: dict) -> dict:
    """Append ``count`` valid events quickly (bulk inserts, hashes computed here) for the verify benchmark."""
    from yiwang.core.audit import GENESIS_HASH, canonical_json, event_hash
    from yiwang.core.crypto import sm3_hex
    from yiwang.core.models import AuditChainHead, AuditEvent

    batch = 5000
    remaining = args["count"]
    began = time.perf_counter()
    while remaining > 0:
        n = min(batch, remaining)
        with transaction.atomic():
            head, _ = AuditChainHead.objects.select_for_update().get_or_create(
                pk=1, defaults={"sequence": 0, "hash": GENESIS_HASH}
            )
            prev, sequence = head.hash, head.sequence
            events = []
            now = datetime.now(UTC)
            for _i in range(n):
                sequence += 1
                changes = {"i": sequence, "status": ["draft", "submitted"]}
                values = dict(
                    sequence=sequence,
                    created_at=now,
                    actor_id=None,
                    actor_repr="bench:fill",
                    action="bench.fill",
                    object_type="core.benchrecord",
                    object_id=str(sequence),
                    object_repr=f"bench record {sequence}",
                    digest=sm3_hex(canonical_json(changes)),
                )
                digest = event_hash(prev_hash=prev, **values)
                events.append(AuditEvent(changes=changes, prev_hash=prev, hash=digest, **values))
                prev = digest
            AuditEvent.objects.bulk_create(events)
            AuditChainHead.objects.filter(pk=1).update(sequence=sequence, hash=prev)
        remaining -= n
    return {"seconds": time.perf_counter() - began, "head": sequence}


def task_verify(args: dict) -> dict:
    from yiwang.core.audit import verify_chain_report

    report = verify_chain_report(chunk_size=args.get("chunk_size", 2000))
    return {
        "ok": report.ok,
        "problem": str(report.chain_break) if report.chain_break else "",
        "checked": report.checked,
        "seconds": report.seconds,
        "peak_rss_mb": peak_rss_mb(),
    }


def task_floor_setup(args: dict) -> dict:
    """A citizen and a bearer token, made through the identity services like any client's."""
    import secrets
    from datetime import date

    from yiwang.core.codes import make_id_number
    from yiwang.core.errors import ValidationFailed
    from yiwang.identity import services

    try:
        user = services.user_create(
            actor="bench:setup",
            username=f"bench_{args['tag']}",
            password=f"Qz7!{secrets.token_urlsafe(16)}",
            kind="citizen",
            real_name="压测用户",
            id_number=make_id_number("110101", date(1990, 1, 1), secrets.randbelow(900) + 1),
        )
    except ValidationFailed as exc:
        raise SystemExit(f"user_create refused: {exc.fields}") from exc
    _token, raw = services.api_token_create(actor=user, user=user, name="bench floor")
    return {"token": raw, "user_id": user.pk}


TASKS = {
    "prepare": task_prepare,
    "writes": task_writes,
    "fill_chain": task_fill_chain,
    "verify": task_verify,
    "floor_setup": task_floor_setup,
}

if __name__ == "__main__":
    task, raw_args = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "{}"
    result = TASKS[task](json.loads(raw_args))
    print(json.dumps(result), flush=True)
