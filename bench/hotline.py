"""Benchmark `hotline`: ticket intake through the API and Open311 (× floor), dispatch suggestion
over many rules, and the hotspot job over a month of tickets.

Sizes (``--set``): ``hotline_rules`` (1,000), ``hotline_tickets`` existing tickets in the last
30 days (20,000 by default — the issue's 1,000,000 for the suggestion and 100,000 for the
hotspot job are reached with ``--set hotline_tickets=100000`` or ``--long``; the default is
scaled down so that a run stays within the time budget on a shared 2-core machine).

Rows: ``POST /api/v1/hotline/tickets`` and ``POST /open311/v2/requests.json`` under the run's
server (every request an audited write with jieba terms and a dispatch suggestion; target: ≤ 2
floor requests, i.e. ≥ 0.5 × floor); ``dispatch_suggest`` p50/p99 in one process; the
``hotspots_detect`` run time (target < 60 s for 100,000 tickets).
"""

import json
from urllib.parse import urlencode

from bench.core import HOST, Context, Row, Target, benchmark, latency_figures, measure_load, run_module


def requests(token: str) -> dict:
    """name → (path, body, whether form-encoded)."""
    return {
        "api": (
            "/api/v1/hotline/tickets",
            {
                "kind": "complaint",
                "category": "noise",
                "content": "夜间施工噪音扰民",
                "region_code": "610302",
                "address": "滨河路",
            },
            False,
        ),
        "open311": (
            "/open311/v2/requests.json",
            {"api_key": token, "service_code": "road", "lat": "34.36", "long": "107.2", "description": "路面坑洼"},
            True,
        ),
    }


def _worker(target: Target, task: str, **kwargs) -> dict:
    return run_module(target, "bench.hotline_worker", task, json.dumps(kwargs), what=f"hotline worker {task}")


def _post(port: int, path: str, body: bytes, content_type: str, token: str | None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n{auth}Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    ).encode() + body


@benchmark("hotline", "hotline intake (API, Open311) × floor, dispatch suggestion over 1,000 rules, hotspot job")
def run(ctx: Context, target: Target) -> list[Row]:
    opts = ctx.options
    tickets = int(opts.get("hotline_tickets") or (100_000 if opts.get("long") else 20_000))
    setup = _worker(target, "setup", rules=int(opts.get("hotline_rules") or 1000), tickets=tickets)
    token = setup["token"]
    bodies = requests(token)
    rows = []
    # jieba's dictionary loads on each web worker's first intake (seconds on a loaded machine):
    # warm longer than the floor does, so the rows measure intake, not the dictionary load.
    warmup = opts["warmup"]
    opts["warmup"] = max(warmup, float(opts.get("hotline_warmup") or 12))
    path, body, _form = bodies["api"]
    api_body = json.dumps(body, ensure_ascii=False).encode()
    rows.append(
        measure_load(
            ctx,
            target,
            benchmark="hotline",
            case="POST /api/v1/hotline/tickets (audited intake)",
            path="/api/v1/me",
            token=token,
            build=lambda port: [_post(port, path, api_body, "application/json", token)],
        )
    )
    o_path, o_body, _form = bodies["open311"]
    form = urlencode(o_body).encode()
    rows.append(
        measure_load(
            ctx,
            target,
            benchmark="hotline",
            case="POST /open311/v2/requests.json",
            path="/api/v1/me",
            token=token,
            build=lambda port: [_post(port, o_path, form, "application/x-www-form-urlencoded", None)],
        )
    )
    opts["warmup"] = warmup
    statuses = rows[0].extra.get("statuses", {})
    created = statuses.get(201) or statuses.get("201") or 0
    if created:  # the intake API answers 201 Created, which the generic loader counts as failed
        rows[0].ops += created
        rows[0].note = rows[0].note.replace(f"; {created} failed", "")
        if rows[0].seconds:
            rows[0].vs_floor = ctx.relative_to_floor(target.name, rows[0].ops / rows[0].seconds)
    for row, name in zip(rows, ("api", "open311"), strict=True):
        row.queries = setup["queries"][name]
        row.note += f"; {setup['tickets']:,} tickets and {setup['rules']:,} rules in the tables"
    timed = _worker(target, "suggest", samples=int(opts.get("hotline_samples") or 500))
    figures = latency_figures(timed["latencies"])
    rows.append(
        Row(
            "hotline",
            target.name,
            "dispatch_suggest() in one process",
            len(timed["latencies"]),
            sum(timed["latencies"]),
            unit="suggestions",
            p50_ms=figures["p50_ms"],
            p99_ms=figures["p99_ms"],
            note=f"{setup['rules']:,} rules; {timed['hits']} of {len(timed['latencies'])} got a department",
        )
    )
    spot = _worker(target, "hotspots")
    rows.append(
        Row(
            "hotline",
            target.name,
            "hotspots_detect() over 30 days",
            setup["tickets"],
            spot["seconds"],
            unit="tickets",
            note=f"{spot['seconds']:.1f} s for {setup['tickets']:,} tickets "
            f"({spot['groups']} place groups, {spot['created']} hotspots); target < 60 s for 100,000",
        )
    )
    return rows
