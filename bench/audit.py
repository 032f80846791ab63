"""Benchmark `audit`: what the tamper-evident chain costs.

* audited writes per second, one writer, against an un-audited insert of the same row in
  the same run (the difference is the cost per audited write);
* the same with N concurrent writer processes: every audited write takes the chain head's
  lock, so audited writers queue where plain inserts run side by side;
* ``yiwang audit verify`` speed (events/s) and its peak memory at two chain lengths, to
  show the walk streams (memory does not grow with the chain).
"""

from bench.core import Context, Row, Target, benchmark, latency_figures, run_worker, run_workers_together


def _writes_row(target: Target, case: str, results: list[dict], seconds: float, ops: int) -> Row:
    latencies = [x for r in results for x in r["latencies"]]
    return Row(
        benchmark="audit",
        database=target.name,
        case=case,
        ops=ops,
        seconds=seconds,
        unit="writes",
        peak_rss_mb=max(r["peak_rss_mb"] for r in results),
        extra={"mean_ms": latency_figures(latencies)["mean_ms"]},
        **{k: v for k, v in latency_figures(latencies).items() if k != "mean_ms"},
    )


@benchmark("audit", "audited writes/s (1 and N writers) vs plain inserts, and verify speed")
def run(ctx: Context, target: Target) -> list[Row]:
    opts = ctx.options
    rows: list[Row] = []
    run_worker(target, "prepare")
    count = opts["writes"]

    single = {}
    for mode in ("plain", "audited"):
        result = run_worker(target, "writes", mode=mode, count=count)
        single[mode] = _writes_row(target, f"{mode} write, 1 writer", [result], result["seconds"], count)
    cost_p50 = single["audited"].p50_ms - single["plain"].p50_ms
    cost_mean = single["audited"].extra["mean_ms"] - single["plain"].extra["mean_ms"]
    single["audited"].extra.update(cost_per_write_p50_ms=round(cost_p50, 3), cost_per_write_mean_ms=round(cost_mean, 3))
    single["audited"].note = f"cost per write vs plain: +{cost_p50:.2f} ms p50, +{cost_mean:.2f} ms mean"
    rows += [single["plain"], single["audited"]]

    writers = opts["writers"]
    if writers > 1:
        per_writer = max(1, count // writers)
        multi = {}
        for mode in ("plain", "audited"):
            results, wall = run_workers_together(target, "writes", writers, mode=mode, count=per_writer)
            multi[mode] = _writes_row(target, f"{mode} write, {writers} writers", results, wall, per_writer * writers)
        ratio = multi["audited"].throughput / multi["plain"].throughput if multi["plain"].throughput else 0
        multi["audited"].note = f"{ratio:.2f}× plain throughput"
        rows += [multi["plain"], multi["audited"]]

    events = opts["verify_events"]
    half = events // 2
    run_worker(target, "fill_chain", count=half)
    for step in (1, 2):
        if step == 2:
            run_worker(target, "fill_chain", count=events - half)
        result = run_worker(target, "verify")
        rows.append(
            Row(
                benchmark="audit",
                database=target.name,
                case=f"verify chain ({result['checked']:,} events)",
                ops=result["checked"],
                seconds=result["seconds"],
                unit="events",
                peak_rss_mb=result["peak_rss_mb"],
                note="ok" if result["ok"] else f"BROKEN: {result['problem']}",
            )
        )
    return rows
