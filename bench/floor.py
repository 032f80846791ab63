"""Benchmark `floor`: the framework floor every later benchmark is measured against.

Requests/s and p50/p99 latency of the cheapest authenticated request: ``GET /api/v1/me``
with a bearer API token (one token lookup in the database, the user joined in), served by
gunicorn on loopback exactly as ``yiwang serve`` runs it, under a small asyncio HTTP/1.1
load generator with a fixed number of connections, for a bounded time and request count.
"""

import asyncio
import os

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
    run_worker,
    workers_peak_mb,
)

PATH = "/api/v1/me"


@benchmark("floor", "GET /api/v1/me with a bearer token under gunicorn on loopback: requests/s, p50/p99")
def run(ctx: Context, target: Target) -> list[Row]:
    opts = ctx.options
    token = run_worker(target, "floor_setup", tag=str(os.getpid()))["token"]
    config = f"{opts['web_workers']} {opts['worker_class']} workers, {opts['connections']} connections"
    with gunicorn(target, workers=opts["web_workers"], worker_class=opts["worker_class"], threads=opts["threads"]) as (
        server,
        port,
    ):
        status = preflight(port, PATH, token)
        if status != 200:
            return [
                Row(
                    benchmark="floor",
                    database=target.name,
                    case=f"GET {PATH}",
                    ops=0,
                    seconds=0,
                    unit="req",
                    note=f"SKIPPED: {PATH} answered HTTP {status} (endpoint or token auth not there yet)",
                )
            ]
        request = (
            f"GET {PATH} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer {token}\r\n"
            "Accept: application/json\r\nConnection: keep-alive\r\n\r\n"
        ).encode()
        result = asyncio.run(
            load(
                port,
                [request],
                connections=opts["connections"],
                duration=opts["duration"],
                warmup=opts["warmup"],
                max_requests=opts["max_requests"],
            )
        )
        peak = workers_peak_mb(server)
    ok = result["statuses"].get(200, 0)
    failed = failed_count(result)
    figures = latency_figures(result["latencies"])
    row = Row(
        benchmark="floor",
        database=target.name,
        case=f"GET {PATH} (bearer)",
        ops=ok,
        seconds=result["seconds"],
        unit="req",
        p50_ms=figures["p50_ms"],
        p99_ms=figures["p99_ms"],
        peak_rss_mb=peak,
        vs_floor=1.0,
        note=config + (f"; {failed} failed" if failed else ""),
        extra={"statuses": result["statuses"], "errors": result["errors"], "mean_ms": figures["mean_ms"]},
    )
    ctx.floor[target.name] = {"rps": row.throughput, "p50_ms": row.p50_ms, "p99_ms": row.p99_ms}
    return [row]
