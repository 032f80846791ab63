"""Benchmark `payments`: payment callbacks handled per second.

Rows (one worker process, on the scratch database; ``BENCH_PAYMENTS=N`` callbacks, default 100):

* ``SM2 verify`` — ``yiwang.core.gm`` alone on a callback body (the signature check's floor).
* ``callback`` — ``POST /payments/callback/paysim`` through Django's test client (middleware, view,
  service): SM2 signature check, nonce record, payment and bill paid, receipt sealed with the
  department's SM2 key, audit events, the case clock resumed where paused.
* ``duplicate callback`` — the same payments notified again (fresh nonce): verified, recognised,
  nothing written but the callback record.

``× floor`` compares with the bare Django floor of the same run (over HTTP there, in-process
here: the floor's HTTP costs are not in these rows, so the ratio flatters them a little).
"""

import json
import os

from bench.core import Context, Row, Target, benchmark, run_module


def _row(target: Target, case: str, fig: dict, note: str = "") -> Row:
    return Row(
        "payments",
        target.name,
        case,
        fig["ops"],
        fig["seconds"],
        p50_ms=fig.get("p50_ms"),
        p99_ms=fig.get("p99_ms"),
        note=note,
    )


@benchmark("payments", "payment callbacks: signature check + state change + sealed receipt, per second")
def run(ctx: Context, target: Target) -> list[Row]:
    n = int(os.environ.get("BENCH_PAYMENTS", "100"))
    fig = run_module(target, "bench.payments_worker", json.dumps({"callbacks": n}), what="payments worker")
    return [
        _row(target, "SM2 verify (core.gm)", fig["sm2_verify"]),
        _row(target, "callback (verify + paid + receipt)", fig["callback"], note=f"peak {fig['peak_rss_mb']} MB"),
        _row(target, "duplicate callback (no-op)", fig["duplicate"]),
    ]
