"""Benchmark `soak`: mixed traffic at 70 % of measured capacity for 30 minutes, sampled each minute.

First the capacity of the mix is measured closed-loop (as many requests as the server takes, for
``--set soak_capacity_seconds=20``). Then requests arrive open-loop at ``soak_load`` (default 0.7)
of that rate for ``soak_minutes`` (default 30), whether or not the server keeps up — so a slowing
server shows as latency and backlog, not as a politely slower client. The mix, per round: a case
lifecycle (submit with a file, accept, review, approve, deliver: five audited writes by three
actors) and five reads (``/me``, the case, the applicant's case list, the item's guide, the inbox).
Every minute it records throughput, p50/p99, errors, and the resident memory of each gunicorn
worker and of the task worker draining the event queue beside them. At the end it reports the
trend of memory and p99 across the minutes (least-squares slope, MB/min and ms/min, and the change
from the first to the last third): no growth and a stable p99 is what a soak should show.

    make bench BENCH_ARGS="soak --postgres"                     # the full 30 minutes
    make bench BENCH_ARGS="soak --set soak_minutes=3"           # a quick look
"""

import asyncio
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.cases import _json_request, _submit_request
from bench.core import (
    HOST,
    HTTP_ERRORS,
    ROOT,
    Context,
    Row,
    Target,
    benchmark,
    children,
    gunicorn,
    http_request,
    latency_figures,
    preflight,
    run_module,
)


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _get(port: int, token: str, path: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer {token}\r\nConnection: keep-alive\r\n\r\n"
    ).encode()


class Mix:
    """One round = a lifecycle plus five reads; a connection slot walks the rounds request by request."""

    def __init__(self, port: int, setup: dict):
        self.port, self.setup = port, setup
        self.tokens = setup["tokens"]

    def round(self):
        """Yield (name, actor, request builder taking the case id) for one round."""
        port, tokens, item = self.port, self.tokens, self.setup["item"]
        key = uuid.uuid4().hex
        application = {"item": item, "form_data": {"business_name": "浸泡测试小吃店"}}
        yield (
            "submit",
            "applicant",
            lambda cid: _submit_request(port, tokens["applicant"], application, self.setup["requirement_id"], key),
        )
        yield "read_me", "applicant", lambda cid: _get(port, tokens["applicant"], "/api/v1/me")
        yield "accept", "clerk", lambda cid: _json_request(port, tokens["clerk"], f"/api/v1/cases/{cid}/accept", {})
        yield "read_case", "applicant", lambda cid: _get(port, tokens["applicant"], f"/api/v1/cases/{cid}")
        yield (
            "review",
            "reviewer",
            lambda cid: _json_request(
                port, tokens["reviewer"], f"/api/v1/cases/{cid}/opinion", {"opinion": "符合条件"}
            ),
        )
        yield "read_list", "applicant", lambda cid: _get(port, tokens["applicant"], "/api/v1/cases/mine")
        yield (
            "approve",
            "reviewer",
            lambda cid: _json_request(port, tokens["reviewer"], f"/api/v1/cases/{cid}/decide", {"decision": "approve"}),
        )
        yield "read_item", "applicant", lambda cid: _get(port, tokens["applicant"], f"/api/v1/catalog/items/{item}")
        yield (
            "deliver",
            "clerk",
            lambda cid: _json_request(port, tokens["clerk"], f"/api/v1/cases/{cid}/deliver", {"method": "electronic"}),
        )
        yield "read_inbox", "applicant", lambda cid: _get(port, tokens["applicant"], "/api/v1/messages/")


ROUND_SIZE = 10


async def drive(mix: Mix, *, slots: int, seconds: float, rate: float | None, minute: float = 60.0) -> dict:
    """Closed loop (``rate`` None: each slot sends as fast as answered) or open loop at ``rate``
    requests/s (a ticket bucket the slots draw from; tickets not drawn in time are counted as
    backlog). Returns per-window samples of latency, statuses and errors."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    stop_at = start + seconds
    windows: list[dict] = []

    def window(now: float) -> dict:
        index = int((now - start) // minute)
        while len(windows) <= index:
            windows.append({"latencies": [], "errors": 0, "statuses": {}, "backlog": 0})
        return windows[index]

    issued = 0

    async def next_ticket() -> bool:
        nonlocal issued
        if rate is None:
            return loop.time() < stop_at
        due = start + issued / rate
        issued += 1
        now = loop.time()
        if due >= stop_at:
            return False
        if due > now:
            await asyncio.sleep(due - now)
        elif now - due > 1.0:
            window(now)["backlog"] += 1
        return True

    async def slot() -> None:
        conns: dict[str, list] = {"applicant": [], "clerk": [], "reviewer": []}
        while loop.time() < stop_at:
            case_id = None
            for name, who, build in mix.round():
                if not await next_ticket():
                    break
                t0 = time.perf_counter()
                bucket = window(loop.time())
                try:
                    status, body = await http_request(mix.port, build(case_id), conns[who])
                except HTTP_ERRORS:
                    conns[who].clear()
                    bucket["errors"] += 1
                    break
                bucket["latencies"].append(time.perf_counter() - t0)
                bucket["statuses"][status] = bucket["statuses"].get(status, 0) + 1
                if status not in (200, 201):
                    break
                if name == "submit":
                    case_id = json.loads(body)["id"]
            else:
                continue
            if loop.time() >= stop_at:
                break
        for conn in conns.values():
            if conn:
                conn[1].close()

    await asyncio.gather(*(slot() for _ in range(slots)))
    return {"windows": windows, "seconds": loop.time() - start}


def _slope(values: list[float]) -> float | None:
    """Least-squares slope per step of a series (None for fewer than 3 points)."""
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(points) < 3:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    den = sum((x - mean_x) ** 2 for x, _ in points)
    return round(sum((x - mean_x) * (y - mean_y) for x, y in points) / den, 3) if den else None


def _thirds(values: list[float]) -> tuple[float, float] | None:
    values = [v for v in values if v is not None]
    if len(values) < 3:
        return None
    third = max(len(values) // 3, 1)
    first, last = values[:third], values[-third:]
    return round(sum(first) / len(first), 1), round(sum(last) / len(last), 1)


@benchmark("soak", "mixed traffic (lifecycles + reads) at 70% of capacity for 30 minutes, memory and p99 per minute")
def run(ctx: Context, target: Target) -> list[Row]:
    opts = ctx.options
    minutes = float(opts.get("soak_minutes", 30))
    fraction = float(opts.get("soak_load", 0.7))
    capacity_seconds = float(opts.get("soak_capacity_seconds", 20))
    setup = run_module(target, "bench.cases_worker", json.dumps({"existing": 0}), what="cases worker")
    workers = opts["web_workers"]
    slots = int(opts.get("soak_connections") or opts["connections"] or 2 * workers)
    with tempfile.TemporaryDirectory(prefix="yiwang-bench-media-") as media:
        env = {**target.env(), "YIWANG_MEDIA_ROOT": media}
        task_worker = subprocess.Popen(
            [sys.executable, "-m", "yiwang", "worker", "--interval", "0.5"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with gunicorn(target, workers=workers, env=env) as (server, port):
                preflight(port, "/api/v1/me", setup["tokens"]["applicant"])
                mix = Mix(port, setup)
                capacity = asyncio.run(drive(mix, slots=slots, seconds=capacity_seconds, rate=None, minute=1e9))
                done = sum(len(w["latencies"]) for w in capacity["windows"])
                capacity_rps = done / capacity["seconds"]
                rate = capacity_rps * fraction
                samples = []

                async def soak() -> dict:
                    task = asyncio.create_task(drive(mix, slots=slots * 2, seconds=minutes * 60, rate=rate))
                    while not task.done():
                        await asyncio.sleep(min(60.0, minutes * 60))
                        pids = children(server.pid)
                        samples.append(
                            {
                                "web_rss_mb": [m for pid in pids if (m := _rss_mb(pid)) is not None],
                                "task_worker_rss_mb": _rss_mb(task_worker.pid),
                            }
                        )
                    return task.result()

                result = asyncio.run(soak())
        finally:
            task_worker.terminate()
            task_worker.wait(timeout=30)

    per_minute = []
    for index, window in enumerate(result["windows"]):
        figures = latency_figures(window["latencies"])
        memory = samples[min(index, len(samples) - 1)] if samples else {}
        web = memory.get("web_rss_mb") or []
        per_minute.append(
            {
                "minute": index + 1,
                "requests": len(window["latencies"]),
                "p50_ms": figures["p50_ms"],
                "p99_ms": figures["p99_ms"],
                "errors": window["errors"],
                "non_2xx": sum(n for s, n in window["statuses"].items() if s not in (200, 201)),
                "backlog": window["backlog"],
                "web_rss_mb": max(web) if web else None,
                "task_worker_rss_mb": memory.get("task_worker_rss_mb"),
            }
        )
    # The last window is cut short by the end of the run: leave it out of the trend.
    full = [m for m in per_minute[: max(int(minutes), 1)] if m["requests"]]
    rss = [m["web_rss_mb"] for m in full]
    p99 = [m["p99_ms"] for m in full]
    every = [x for w in result["windows"] for x in w["latencies"]]
    figures = latency_figures(every)
    trend = {
        "web_rss_slope_mb_per_min": _slope(rss),
        "web_rss_first_last_third_mb": _thirds(rss),
        "task_worker_rss_first_last_third_mb": _thirds([m["task_worker_rss_mb"] for m in full]),
        "p99_slope_ms_per_min": _slope(p99),
        "p99_first_last_third_ms": _thirds(p99),
    }
    print(f"\nsoak on {target.name}: capacity {capacity_rps:.1f} req/s, offered {rate:.1f} req/s ({fraction:.0%})")
    print(" min  requests  p50 ms  p99 ms  errors  non-2xx  backlog  web RSS MB  task worker RSS MB")
    for m in per_minute:
        print(
            f"{m['minute']:>4} {m['requests']:>9} {m['p50_ms'] or 0:>7.1f} {m['p99_ms'] or 0:>7.1f} {m['errors']:>7}"
            f" {m['non_2xx']:>8} {m['backlog']:>8} {m['web_rss_mb'] or 0:>11.1f} {m['task_worker_rss_mb'] or 0:>19.1f}"
        )
    print(f"trend: {trend}")
    row = Row(
        benchmark="soak",
        database=target.name,
        case=f"mixed at {fraction:.0%} of {capacity_rps:.0f} req/s, {minutes:g} min",
        ops=len(every),
        seconds=result["seconds"],
        unit="req",
        p50_ms=figures["p50_ms"],
        p99_ms=figures["p99_ms"],
        peak_rss_mb=max((r for r in rss if r is not None), default=None),
        note=(
            f"RSS slope {trend['web_rss_slope_mb_per_min']} MB/min, p99 slope {trend['p99_slope_ms_per_min']} ms/min; "
            f"errors {sum(m['errors'] for m in per_minute)}, non-2xx {sum(m['non_2xx'] for m in per_minute)}"
        ),
        extra={
            "capacity_rps": round(capacity_rps, 1),
            "offered_rps": round(rate, 1),
            "per_minute": per_minute,
            "trend": trend,
        },
    )
    row.vs_floor = ctx.relative_to_floor(target.name, capacity_rps)
    return [row]
