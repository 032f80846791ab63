"""Benchmark `cases`: complete case lifecycles per second over HTTP against gunicorn.

One lifecycle is five API requests, each by its own actor's bearer token, as a kiosk and the
staff's clients would send them: submit with one small PDF (multipart, idempotency key; the
application and its file in one transaction) → accept (window clerk) → review opinion
(reviewer) → approve (reviewer) → deliver (clerk).
Before the load, ``existing`` cases are bulk-inserted (``--set cases_existing=1000000``;
default 100,000), so the figures hold for a full table. Reports lifecycles/s, p50/p99 per
request (all requests and per step) and the ratio to the floor of the same run.
"""

import asyncio
import json
import tempfile
import time
import uuid

from bench.core import (
    HOST,
    HTTP_ERRORS,
    Context,
    Row,
    Target,
    benchmark,
    gunicorn,
    http_request,
    latency_figures,
    preflight,
    run_module,
    workers_peak_mb,
)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"0" * 2000
STEPS = ("submit", "accept", "review", "approve", "deliver")


def _json_request(port: int, token: str, path: str, body: dict, extra: str = "") -> bytes:
    data = json.dumps(body, ensure_ascii=False).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n{extra}Connection: keep-alive\r\n\r\n"
    )
    return head.encode() + data


def _submit_request(port: int, token: str, application: dict, requirement_id: int, key: str) -> bytes:
    """``POST /api/v1/cases/with-materials``: the application and one scanned PDF in one request."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="application"\r\n\r\n'
            f"{json.dumps(application, ensure_ascii=False)}\r\n"
            f'--{boundary}\r\nContent-Disposition: form-data; name="requirement_ids"\r\n\r\n{requirement_id}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="scan.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + PDF
        + f"\r\n--{boundary}--\r\n".encode()
    )
    head = (
        f"POST /api/v1/cases/with-materials HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Idempotency-Key: {key}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


async def lifecycles(port: int, setup: dict, *, connections: int, duration: float, warmup: float) -> dict:
    tokens, item, requirement_id = setup["tokens"], setup["item"], setup["requirement_id"]
    latencies: dict[str, list[float]] = {step: [] for step in STEPS}
    failures: dict[str, int] = {}
    done = 0
    loop = asyncio.get_running_loop()
    warm_until = loop.time() + warmup
    stop_at = warm_until + duration

    def build(step: str, cid, key: str) -> bytes:
        base = f"/api/v1/cases/{cid}"
        if step == "submit":
            application = {"item": item, "form_data": {"business_name": "压测小吃店"}}
            return _submit_request(port, tokens["applicant"], application, requirement_id, key)
        if step == "accept":
            return _json_request(port, tokens["clerk"], f"{base}/accept", {})
        if step == "review":
            return _json_request(port, tokens["reviewer"], f"{base}/opinion", {"opinion": "符合条件"})
        if step == "approve":
            return _json_request(port, tokens["reviewer"], f"{base}/decide", {"decision": "approve"})
        return _json_request(port, tokens["clerk"], f"{base}/deliver", {"method": "electronic"})

    async def slot() -> None:
        nonlocal done
        conns: dict[str, list] = {"applicant": [], "clerk": [], "reviewer": []}
        while loop.time() < stop_at:
            measured = loop.time() >= warm_until
            key = uuid.uuid4().hex
            plan = [
                ("submit", "applicant"),
                ("accept", "clerk"),
                ("review", "reviewer"),
                ("approve", "reviewer"),
                ("deliver", "clerk"),
            ]
            case_id = None
            ok = True
            for step, who in plan:
                t0 = time.perf_counter()
                try:
                    status, body = await http_request(port, build(step, case_id, key), conns[who])
                except HTTP_ERRORS:
                    conns[who].clear()
                    status, body = 0, b""
                elapsed = time.perf_counter() - t0
                if status not in (200, 201):
                    failures[f"{step}:{status}"] = failures.get(f"{step}:{status}", 0) + 1
                    ok = False
                    break
                if step == "submit":
                    case_id = json.loads(body)["id"]
                if measured:
                    latencies[step].append(elapsed)
            if ok and measured and loop.time() <= stop_at:
                done += 1
        for conn in conns.values():
            if conn:
                conn[1].close()

    began = time.perf_counter()
    await asyncio.gather(*(slot() for _ in range(connections)))
    return {
        "latencies": latencies,
        "failures": failures,
        "done": done,
        "seconds": max(time.perf_counter() - began - warmup, 1e-9),
    }


@benchmark("cases", "full case lifecycle over HTTP (submit with a file, accept, review, approve, deliver), full table")
def run(ctx: Context, target: Target) -> list[Row]:
    opts = ctx.options
    existing = int(opts.get("cases_existing", 100_000))
    setup = run_module(target, "bench.cases_worker", json.dumps({"existing": existing}), what="cases worker")
    workers = opts["web_workers"]
    connections = int(opts.get("cases_connections") or opts["connections"] or 2 * workers)
    with (
        tempfile.TemporaryDirectory(prefix="yiwang-bench-media-") as media,  # uploads never land in var/
        gunicorn(target, workers=workers, env={**target.env(), "YIWANG_MEDIA_ROOT": media}) as (server, port),
    ):
        preflight(port, "/api/v1/me", setup["tokens"]["applicant"])
        result = asyncio.run(
            lifecycles(port, setup, connections=connections, duration=opts["duration"], warmup=opts["warmup"])
        )
        peak = workers_peak_mb(server)
    every = [x for step in STEPS for x in result["latencies"][step]]
    figures = latency_figures(every)
    requests = len(every)
    note = f"{setup['existing']:,} cases in the table (seeded in {setup['seed_seconds']} s); {connections} connections"
    if result["failures"]:
        note += f"; failures {result['failures']}"
    rows = [
        Row(
            benchmark="cases",
            database=target.name,
            case=f"lifecycle ({len(STEPS)} requests)",
            ops=result["done"],
            seconds=result["seconds"],
            unit="lifecycle",
            p50_ms=figures["p50_ms"],
            p99_ms=figures["p99_ms"],
            peak_rss_mb=peak,
            note=note,
            extra={"requests": requests, "existing": setup["existing"], "failures": result["failures"]},
        )
    ]
    floor = ctx.floor.get(target.name)
    if floor:
        rows[0].vs_floor = ctx.relative_to_floor(target.name, requests / result["seconds"])
    for step in STEPS:
        fig = latency_figures(result["latencies"][step])
        rows.append(
            Row(
                benchmark="cases",
                database=target.name,
                case=f"  {step}",
                ops=len(result["latencies"][step]),
                seconds=result["seconds"],
                unit="req",
                p50_ms=fig["p50_ms"],
                p99_ms=fig["p99_ms"],
            )
        )
    return rows
