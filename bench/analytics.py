"""Benchmark `analytics`: the leader's dashboard and each panel's data endpoint, × bare floor.

Set-up (``bench.analytics_worker``): ``cases`` cases and ``tickets`` 12345 tickets (default a
million each; ``--set analytics_cases=N --set analytics_tickets=N`` for a smaller run), spread
over 400 days and bulk-inserted, then the real rollup over the whole period. Rows:

* ``GET /workbench/dashboards/?scope=city`` — the full page (HTML; its charts then fetch the
  panel endpoints below), as a signed-in city operator: target ≥ 0.33 × floor (≤ 3 floor
  requests);
* ``GET /workbench/dashboards/duty/?scope=city`` — who is on duty now (the fragment the page
  fetches after it is shown);
* ``GET /api/v1/analytics/panels/<code>?scope=city`` — every panel's data, and the district map:
  target p99 < 100 ms. They read rollup rows only, so their cost does not grow with the cases;
* ``rollup`` — the full rollup (400 days) and the incremental one the 15-minute job runs
  (seconds, not requests).

Each HTTP row gives the database statements of that request (``queries``).
"""

import asyncio
import json

from bench.core import (
    HOST,
    Context,
    Row,
    Target,
    benchmark,
    failed_count,
    http_request,
    latency_figures,
    load,
    measure_load,
    run_module,
    web_server,
    workers_peak_mb,
)

CASES = 1_000_000
TICKETS = 1_000_000
PANELS = (
    "cases_volume",
    "cases_states",
    "cases_sla",
    "cases_rates",
    "licenses",
    "evaluation",
    "hotline_volume",
    "hotline_hotspots",
    "hotline_satisfaction",
    "supervision_coverage",
    "credit_grades",
    "exchange_reads",
    "oversight_lights",
)
DUTY = "/workbench/dashboards/duty/?scope=city"  # who is on duty now: the fragment the page fetches


def requests() -> dict[str, str]:
    """The panel endpoints measured (a city operator's view), and the district map."""
    paths = {code: f"/api/v1/analytics/panels/{code}?scope=city" for code in PANELS}
    paths["district_map"] = "/api/v1/analytics/panels/district_map?scope=city&indicator=hotline.received"
    return paths


def _page_request(port: int, path: str, cookie: str, connection: str = "keep-alive") -> bytes:
    head = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nCookie: sessionid={cookie}\r\n"
    return (head + f"Accept: text/html\r\nConnection: {connection}\r\n\r\n").encode()


async def _once(port: int, request: bytes) -> int:
    conn: list = []
    try:
        return (await http_request(port, request, conn))[0]
    finally:
        if conn:
            conn[1].close()


async def _warm(port: int, request: bytes, count: int) -> None:
    await asyncio.gather(*(_once(port, request) for _ in range(count)), return_exceptions=True)


def _measure_page(ctx: Context, target: Target, path: str, cookie: str) -> Row:
    """``measure_load`` for a page behind a session cookie (the core helper sends bearer
    tokens, which pages do not take)."""
    import time

    opts = ctx.options
    config = f"{opts['web_workers']} {opts.get('server', 'sync')} workers, {opts['connections']} connections"
    with web_server(
        target, server=opts.get("server", "sync"), workers=opts["web_workers"], threads=opts["threads"]
    ) as (process, port):
        deadline = time.monotonic() + 30
        while True:
            try:
                status = asyncio.run(_once(port, _page_request(port, path, cookie, "close")))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        if status != 200:
            return Row("analytics", target.name, f"GET {path}", 0, 0, unit="req", note=f"SKIPPED: HTTP {status}")
        first = _page_request(port, path, cookie, "close")
        asyncio.run(_warm(port, first, 2 * opts["web_workers"]))
        result = asyncio.run(
            load(
                port,
                [_page_request(port, path, cookie)],
                connections=opts["connections"],
                duration=opts["duration"],
                warmup=opts["warmup"],
                max_requests=opts["max_requests"],
                stagger=1,
            )
        )
        peak = workers_peak_mb(process)
    failed = failed_count(result)
    figures = latency_figures(result["latencies"])
    return Row(
        benchmark="analytics",
        database=target.name,
        case=f"GET {path}",
        ops=result["statuses"].get(200, 0),
        seconds=result["seconds"],
        unit="req",
        p50_ms=figures["p50_ms"],
        p99_ms=figures["p99_ms"],
        peak_rss_mb=peak,
        note=config + (f"; {failed} failed" if failed else ""),
        extra={"statuses": result["statuses"], "errors": result["errors"], "mean_ms": figures["mean_ms"]},
    )


@benchmark("analytics", "dashboard page and panel endpoints over 1M cases + 1M tickets (rollups), × bare floor")
def run(ctx: Context, target: Target) -> list[Row]:
    cases = int(ctx.options.get("analytics_cases", CASES))
    tickets = int(ctx.options.get("analytics_tickets", TICKETS))
    setup = run_module(
        target, "bench.analytics_worker", json.dumps({"cases": cases, "tickets": tickets}), what="analytics worker"
    )
    size = f"{setup['cases']:,} cases, {setup['tickets']:,} tickets, {setup['rollup_rows']:,} rollup rows"
    rows = []
    page = "/workbench/dashboards/?scope=city"
    row = _measure_page(ctx, target, page, setup["cookie"])
    row.queries = setup["queries"]["page"]
    row.note += f"; {size}"
    rows.append(row)
    row = _measure_page(ctx, target, DUTY, setup["cookie"])
    row.queries = setup["queries"]["duty"]
    row.note += f"; {size}"
    rows.append(row)
    for name, path in requests().items():
        row = measure_load(ctx, target, benchmark="analytics", case=f"GET {path}", path=path, token=setup["token"])
        row.queries = setup["queries"][name]
        row.note += f"; {size}"
        rows.append(row)
    rows.append(
        Row(
            "analytics",
            target.name,
            "rollup: 400 days (full) / last 2 days (the 15-minute job)",
            1,
            setup["rollup_seconds"],
            unit="run",
            note=(
                f"full {setup['rollup_seconds']} s, incremental {setup['incremental_seconds']} s; "
                f"seeding: cases {setup['cases_seed_seconds']} s, tickets {setup['tickets_seed_seconds']} s; {size}"
            ),
        )
    )
    return rows
