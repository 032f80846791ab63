"""Benchmark `exchange`: gateway lookups over HTTP, with masking and the evidence log, full registry.

``persons`` people are seeded into the population registry first (``--set exchange_persons=1000000``
for the issue's million; default 100,000, 1,000,000 with ``--long``). Then a consuming system
reads one record per request — ``GET /api/v1/exchange/gateway/population/<身份证号>?purpose=…&fields=
name,phone,sex`` with its client credential (HTTP Basic) — for random people, under gunicorn as
the floor runs it: every lookup checks the credential and grant (cached per process), reads the
record (one query), masks name and phone and appends one SM3-chained evidence-log entry. Rows:

* ``lookup`` — lookups/s, p50/p99, × floor (the issue's target: ≥ 0.66, p99 < 50 ms);
* ``queries/lookup`` — captured in a worker (generation, record, head lock, append);
* ``log append`` — single-entry appends/s, each its own transaction (what a lookup adds), and
  100-entry batches (what a batch lookup adds);
* ``verify-log`` — ``verify_log`` over ``verify_entries`` entries (default 200,000; 1,000,000 with
  ``--long``): entries/s (target ≥ 20,000).
"""

import asyncio
import base64
import json
from urllib.parse import quote

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

PURPOSE = quote("社会保险参保登记核验")


@benchmark("exchange", "gateway lookups over HTTP (credential, grant, masking, evidence log) against a full registry")
def run(ctx: Context, target: Target) -> list[Row]:
    opts = ctx.options
    long = bool(opts.get("long"))
    persons = int(opts.get("exchange_persons") or (1_000_000 if long else 100_000))
    verify_entries = int(opts.get("exchange_verify_entries") or (1_000_000 if long else 200_000))
    setup = run_module(
        target, "bench.exchange_worker", "setup", json.dumps({"persons": persons}), what="exchange setup"
    )
    auth = base64.b64encode(f"{setup['client_id']}:{setup['secret']}".encode()).decode()
    workers = opts["web_workers"]
    with gunicorn(target, workers=workers, worker_class=opts["worker_class"], threads=opts["threads"]) as (
        server,
        port,
    ):
        preflight(port, "/api/v1/exchange/catalog?registry=population")  # gunicorn is up
        requests = [
            (
                f"GET /api/v1/exchange/gateway/population/{key}?purpose={PURPOSE}&fields=name,phone,sex HTTP/1.1\r\n"
                f"Host: {HOST}:{port}\r\nAuthorization: Basic {auth}\r\nAccept: application/json\r\n"
                "Connection: keep-alive\r\n\r\n"
            ).encode()
            for key in setup["keys"]
        ]
        # Warm every worker's cache and connection before the measured load.
        asyncio.run(load(port, requests[:50], connections=opts["connections"], duration=1.0, warmup=0.0))
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
        peak = workers_peak_mb(server)
    ok = result["statuses"].get(200, 0)
    failed = failed_count(result)
    figures = latency_figures(result["latencies"])
    evidence = run_module(
        target,
        "bench.exchange_worker",
        "evidence",
        json.dumps({"verify_entries": verify_entries}),
        what="exchange evidence",
    )
    note = f"{persons:,} persons (seeded in {setup['seed_s']} s); {opts['connections']} connections"
    if failed:
        note += f"; {failed} failed {result['statuses']}"
    lookup = Row(
        benchmark="exchange",
        database=target.name,
        case="lookup (masked, logged)",
        ops=ok,
        seconds=result["seconds"],
        unit="req",
        p50_ms=figures["p50_ms"],
        p99_ms=figures["p99_ms"],
        peak_rss_mb=peak,
        note=note,
        extra={"statuses": result["statuses"], "persons": persons, "mean_ms": figures["mean_ms"]},
    )
    lookup.vs_floor = ctx.relative_to_floor(target.name, lookup.throughput)
    single, batch, verify = evidence["append_single"], evidence["append_batch100"], evidence["verify"]
    return [
        lookup,
        Row(
            "exchange",
            target.name,
            "  queries/lookup",
            evidence["queries_per_lookup"],
            1.0,
            unit="queries",
            note="generation, record, head lock, append (+ head move on SQLite)",
        ),
        Row(
            "exchange",
            target.name,
            "log append (1 entry/tx)",
            single["ops"],
            single["seconds"],
            unit="entry",
            p50_ms=single["p50_ms"],
            p99_ms=single["p99_ms"],
        ),
        Row("exchange", target.name, "log append (100/tx)", batch["ops"], batch["seconds"], unit="entry"),
        Row(
            "exchange",
            target.name,
            "verify-log",
            verify["ops"],
            verify["seconds"],
            unit="entry",
            peak_rss_mb=evidence["peak_rss_mb"],
            note=("chain intact" if verify["ok"] else "BROKEN") + f"; filled in {evidence['fill_seconds']} s",
        ),
    ]
