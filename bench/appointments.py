"""Benchmark `appointments`: 200 clients book the same popular slot at the same moment.

Each client is a different citizen with a bearer token and its own connection; all requests
are released together against the platform's web server. Exactly ``capacity`` must be
answered 201 and the rest 409 ``slot_full``, and the slot's counter and its bookings must
both equal the capacity afterwards (the note says whether they did). Reported: the wall time
of the burst, p50/p99 latency per booking request, and throughput × the bare floor.
"""

import asyncio
import json
import time

from bench.core import (
    HOST,
    Context,
    Row,
    Target,
    benchmark,
    http_once,
    http_request,
    latency_figures,
    preflight,
    run_module,
    web_server,
    workers_peak_mb,
)

CLIENTS, CAPACITY = 200, 20


def _booking_request(port: int, token: str, slot_id: int) -> bytes:
    data = json.dumps({"slot_id": slot_id}).encode()
    head = (
        f"POST /api/v1/appointments/bookings HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + data


async def burst(port: int, tokens: list[str], slot_id: int) -> dict:
    go = asyncio.Event()
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    errors: list[str] = []

    async def one(token: str) -> None:
        conn: list = []
        request = _booking_request(port, token, slot_id)
        await go.wait()
        began = time.perf_counter()
        try:
            status, _body = await http_request(port, request, conn)
            statuses[status] = statuses.get(status, 0) + 1
            latencies.append(time.perf_counter() - began)
        except (OSError, ConnectionError, asyncio.IncompleteReadError) as exc:
            errors.append(type(exc).__name__)
        finally:
            if conn:
                conn[1].close()

    tasks = [asyncio.create_task(one(t)) for t in tokens]
    await asyncio.sleep(0.2)
    began = time.perf_counter()
    go.set()
    await asyncio.gather(*tasks)
    return {"statuses": statuses, "latencies": latencies, "errors": errors, "seconds": time.perf_counter() - began}


@benchmark("appointments", "200 concurrent clients book one popular slot: exactly capacity succeed; p99, × floor")
def run(ctx: Context, target: Target) -> list[Row]:
    opts = ctx.options
    clients = int(opts.get("appointment_clients", CLIENTS))
    capacity = int(opts.get("appointment_capacity", CAPACITY))
    made = run_module(
        target,
        "bench.appointments_worker",
        "setup",
        json.dumps({"clients": clients, "capacity": capacity}),
        what="appointments worker setup",
    )
    server = opts.get("server", "sync")
    with web_server(target, server=server, workers=opts["web_workers"], threads=opts["threads"]) as (process, port):
        status = preflight(port, "/api/v1/appointments/halls")
        if status != 200:
            return [Row("appointments", target.name, "slot race", 0, 0, unit="req", note=f"SKIPPED: HTTP {status}")]
        for _ in range(opts["web_workers"] * 2):  # every worker has loaded the application
            asyncio.run(http_once(port, "/api/v1/appointments/halls"))
        result = asyncio.run(burst(port, made["tokens"], made["slot"]))
        peak = workers_peak_mb(process)
    after = run_module(target, "bench.appointments_worker", "check", json.dumps({"slot": made["slot"]}), what="check")
    ok = result["statuses"].get(201, 0)
    exact = ok == capacity == after["booked"] == after["bookings"]
    figures = latency_figures(result["latencies"])
    statuses = ", ".join(f"{k}×{v}" for k, v in sorted(result["statuses"].items()))
    return [
        Row(
            benchmark="appointments",
            database=target.name,
            case=f"{clients} clients, 1 slot of {capacity}",
            ops=sum(result["statuses"].values()),
            seconds=result["seconds"],
            unit="req",
            p50_ms=figures["p50_ms"],
            p99_ms=figures["p99_ms"],
            peak_rss_mb=peak,
            note=(
                f"{'exactly capacity' if exact else 'CAPACITY BROKEN'}: {statuses}; "
                f"counter {after['booked']}, bookings {after['bookings']}; {opts['web_workers']} {server} workers"
                + (f"; {len(result['errors'])} connection errors" if result["errors"] else "")
            ),
            extra={"statuses": result["statuses"], "errors": result["errors"], "exact": exact, **after},
        )
    ]
