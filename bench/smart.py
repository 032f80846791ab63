"""Benchmark `smart`: 秒批 — submit-to-approved over HTTP, against the same submission without it.

Two rows, each ``POST /api/v1/cases/`` by the applicant's bearer token under gunicorn (as the
floor), a fresh idempotency key per request:

* ``submit (plain item)`` — an item with no 免提交 material and no decision table: the request
  the automatic decision rides on.
* ``submit → approved + license (秒批)`` — the same form for an item whose only material is the
  applicant's e-ID card (免提交: found, read through the exchange with its evidence-log entry,
  SM2 signature verified) and whose decision table reads his age, his population record
  (through the exchange) and the license: accepted, approved by ``cases.auto_decision`` and the
  就业创业证 issued and signed, all inside the request (the server runs with the immediate task
  backend, so the ``case.approved`` subscriber issues the license on commit, before the answer).

Reports requests/s, p50/p99, × floor, the statements of one request of each (counted
in-process), and the cost of the automatic decision in floor requests:
``floor_rps × (1/auto_rps − 1/plain_rps)``. Target (issue 12): ≤ 2.

Then the same two rows with the production task queue (``django_tasks_db``, the transactional
outbox): the request accepts and approves the case and writes the subscribers' tasks (the
approval's notification, the license issuance) in its own transaction; the worker runs them at
its next tick (``db_worker --batch``, timed: cases/s and the worker's cost per case in floor
requests). Issue 12 allows either ("within the submission request or the next worker tick").
"""

import asyncio
import json
import uuid

from bench.core import (
    HOST,
    Context,
    Row,
    Target,
    benchmark,
    failed_count,
    gunicorn,
    latency_figures,
    load,
    preflight,
    run_module,
    workers_peak_mb,
)


def _requests(port: int, token: str, item: str, count: int) -> list[bytes]:
    out = []
    for _ in range(count):
        data = json.dumps({"item": item, "form_data": {"status": "失业"}}, ensure_ascii=False).encode()
        head = (
            f"POST /api/v1/cases/ HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Idempotency-Key: {uuid.uuid4().hex}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\nConnection: keep-alive\r\n\r\n"
        )
        out.append(head.encode() + data)
    return out


@benchmark("smart", "秒批: submit-to-approved (免提交 read, table, license issued) over HTTP vs a plain submission")
def run(ctx: Context, target: Target) -> list[Row]:
    setup = run_module(target, "bench.smart_worker", "{}", what="smart worker")
    rows = []
    for backend, label in (("immediate", ""), ("outbox", " [outbox]")):
        rows += _run_backend(ctx, target, setup, backend, label)
    return rows


def _drain(target: Target) -> tuple[int, float]:
    """Run the database worker until the queue is empty: (tasks run, seconds)."""
    import subprocess
    import sys
    import time

    from bench.core import ROOT

    count = run_module(target, "bench.smart_worker", json.dumps({"step": "queued"}), what="smart queue")["queued"]
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "yiwang", "db_worker", "--batch", "--no-startup-delay", "--interval", "0"],
        env=target.env(),
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    return count, time.perf_counter() - began


def _run_backend(ctx: Context, target: Target, setup: dict, backend: str, label: str) -> list[Row]:
    opts = ctx.options
    env = target.env()
    if backend == "immediate":
        env["YIWANG_TASK_BACKEND"] = "django_tasks.backends.immediate.ImmediateBackend"
    rows, rps, created_total = [], {}, {}
    with gunicorn(
        target, workers=opts["web_workers"], worker_class=opts["worker_class"], threads=opts["threads"], env=env
    ) as (server, port):
        preflight(port, "/api/v1/me", setup["token"])
        for name, case in (("plain", "submit (plain item)"), ("auto", "submit → approved + license (秒批)")):
            case += label
            # Each request carries its own idempotency key: every one makes a case.
            requests = _requests(port, setup["token"], setup["items"][name], 20_000)
            result = asyncio.run(
                load(
                    port,
                    requests,
                    connections=opts["connections"],
                    duration=opts["duration"],
                    warmup=opts["warmup"],
                    max_requests=opts["max_requests"],
                )
            )
            figures = latency_figures(result["latencies"])
            created = result["statuses"].get(201, 0)
            created_total[name] = created
            rps[name] = created / result["seconds"] if result["seconds"] else 0.0
            failed = failed_count(result) - created  # 201 is this benchmark's success
            note = f"state after the request: {setup['states'][name]}"
            if backend == "outbox" and name == "auto":
                note += "; license issued by the worker (next row)"
            if failed > 0:
                note += f"; {failed} not 201: {result['statuses']}"
            row = Row(
                "smart",
                target.name,
                case,
                created,
                result["seconds"],
                unit="req",
                p50_ms=figures["p50_ms"],
                p99_ms=figures["p99_ms"],
                peak_rss_mb=workers_peak_mb(server),
                # Counted in-process at setup, with the production queue (the outbox rows included).
                queries=setup["queries"][name] if backend == "outbox" else None,
                note=note,
                extra={"statuses": result["statuses"], "queries": setup["queries"][name], "backend": backend},
            )
            row.vs_floor = ctx.relative_to_floor(target.name, rps[name])
            rows.append(row)
    floor = ctx.floor.get(target.name) or {}
    floor_rps = floor.get("rps") if isinstance(floor, dict) else None
    if floor_rps and rps.get("plain") and rps.get("auto"):
        extra_floor_requests = floor_rps * (1 / rps["auto"] - 1 / rps["plain"])
        rows.append(
            Row(
                "smart",
                target.name,
                "  秒批 cost in floor requests" + label,
                0,
                0,
                unit="req",
                note=f"{extra_floor_requests:.1f} floor requests beyond the plain submission (target ≤ 2)",
                extra={"extra_floor_requests": round(extra_floor_requests, 2), "backend": backend},
            )
        )
    if backend == "outbox":
        tasks, seconds = _drain(target)
        cases = created_total.get("auto", 0)
        per_case = floor_rps * seconds / cases if floor_rps and cases else None
        rows.append(
            Row(
                "smart",
                target.name,
                "  worker: queued tasks → license issued" + label,
                tasks,
                seconds,
                unit="tasks",
                note=f"{cases} 秒批 cases' and {created_total.get('plain', 0)} plain cases' tasks; "
                + (f"{per_case:.1f} floor requests per 秒批 case (all tasks counted)" if per_case else ""),
                extra={"tasks": tasks, "seconds": round(seconds, 2), "floor_requests_per_case": per_case},
            )
        )
    return rows
