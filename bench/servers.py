"""Benchmark `servers`: the web server setups side by side, in one run.

For each setup — gunicorn with sync workers (what ``yiwang serve`` runs; one request per
connection), gunicorn with gthread workers (keep-alive, ``--threads`` each) and granian (a
Rust HTTP server, WSGI, keep-alive) — the bare floor (``GET /hello``) and the cheapest
authenticated read (``GET /api/v1/me``), same workers, connections and duration. ``× floor``
is against the run's floor (``--server``); the note gives /me ÷ that setup's own bare figure.
A setup that is not installed (granian) gives a SKIPPED row. Run it alone:
``python -m bench servers``.
"""

import os

from bench.core import SERVERS, Context, Row, Target, benchmark, measure_load, run_worker


@benchmark("servers", "bare floor and GET /api/v1/me under gunicorn sync, gunicorn gthread and granian, side by side")
def run(ctx: Context, target: Target) -> list[Row]:
    token = run_worker(target, "floor_setup", tag=f"servers{os.getpid()}")["token"]
    rows: list[Row] = []
    for server in SERVERS:
        try:
            bare = measure_load(
                ctx,
                target,
                benchmark="servers",
                case=f"{server}: GET /hello (bare)",
                path="/hello",
                app="bench._bare_wsgi",
                server=server,
            )
            me = measure_load(
                ctx,
                target,
                benchmark="servers",
                case=f"{server}: GET /api/v1/me",
                path="/api/v1/me",
                token=token,
                server=server,
            )
        except RuntimeError as exc:
            rows.append(Row("servers", target.name, f"{server}", 0, 0, unit="req", note=f"SKIPPED: {exc}"))
            continue
        if bare.throughput and me.throughput:
            me.note += f"; /me costs {bare.throughput / me.throughput:.2f} bare requests of this server"
        rows += [bare, me]
    return rows
