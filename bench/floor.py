"""Benchmark `floor`: the bare floor every other figure of a run is measured against.

Requests/s and p50/p99 latency of Django answering "hello" with nothing else — no apps, no
middleware, no database (``bench/_bare_wsgi.py``) — served on loopback by the same server as
the platform (``--server``: gunicorn with sync workers as ``yiwang serve`` runs it, by default)
under a small asyncio HTTP/1.1 load generator with a fixed number of connections, for a
bounded time and request count. What the platform adds to a request is then a ratio: an
authenticated read at 0.67 × floor costs 1.5 bare requests (``bench.request``).
"""

from bench.core import Context, Row, Target, benchmark, measure_load

PATH = "/hello"
BARE_APP = "bench._bare_wsgi"


@benchmark("floor", "bare Django 'hello' (no middleware, no database) under the platform's server: req/s, p50/p99")
def run(ctx: Context, target: Target) -> list[Row]:
    row = measure_load(ctx, target, benchmark="floor", case=f"GET {PATH} (bare Django)", path=PATH, app=BARE_APP)
    if row.ops:
        row.vs_floor = 1.0
        ctx.floor[target.name] = {"rps": row.throughput, "p50_ms": row.p50_ms, "p99_ms": row.p99_ms}
    return [row]
