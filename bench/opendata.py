"""Benchmark `opendata`: the CKAN Action API at scale (issue 18: p95 < 50 ms).

Sizes: ``opendata_datasets`` datasets (10,000 by default, the issue's size) and one resource of
``opendata_rows`` rows (200,000 by default on this shared machine; 1,000,000 with ``--long`` or
``--set opendata_rows=1000000``, the issue's size).

1. ``fill`` (a worker process): the demo city's departments, then the datasets (each with one CSV
   distribution, themes, keywords and publishers varied) and the large resource, bulk-inserted.
2. ``query`` (a worker process, Django's test client, the whole middleware stack, no network):
   ``package_search`` over a mix (free text, fq on organization/group/tag, facets, paging deep
   into the result) and ``datastore_search`` (pages at offsets from 0 to the end, a filter, a
   sort), each timed and its SQL statements counted. Rows report p50/p99 and the p95 against
   the 50 ms target; the runner adds × floor.
"""

import json

from bench.core import Context, Row, Target, benchmark, latency_figures, percentile, run_module

DEFAULT_DATASETS = 10_000
DEFAULT_ROWS = 200_000
LONG_ROWS = 1_000_000
DEFAULT_REPEAT = 10


def _worker(target: Target, task: str, **kwargs) -> dict:
    return run_module(target, "bench.opendata_worker", task, json.dumps(kwargs), what=f"opendata worker {task}")


def _p95_ms(latencies: list[float]) -> float | None:
    value = percentile(latencies, 95)
    return None if value is None else round(value * 1000, 3)


@benchmark("opendata", "CKAN package_search over 10,000 datasets and datastore_search over a large resource")
def run(ctx: Context, target: Target) -> list[Row]:
    opts = ctx.options
    datasets = int(opts.get("opendata_datasets") or DEFAULT_DATASETS)
    rows = int(opts.get("opendata_rows") or (LONG_ROWS if opts.get("long") else DEFAULT_ROWS))
    fill = _worker(target, "fill", datasets=datasets, rows=rows)
    timed = _worker(target, "query", repeat=int(opts.get("opendata_repeat") or DEFAULT_REPEAT))
    result = []
    for case, key in (("package_search", "search"), ("datastore_search", "datastore")):
        latencies = timed[key]["latencies"]
        figures = latency_figures(latencies)
        p95 = _p95_ms(latencies)
        verdict = "meets" if p95 is not None and p95 < 50 else "MISSES"
        size = f"{fill['datasets']:,} datasets" if key == "search" else f"{fill['rows']:,} rows"
        note = f"p95 {p95} ms ({verdict} < 50 ms); {size}; queries/request max {max(timed[key]['queries'])}"
        note += f"; slowest p50: {timed[key]['slowest']}"
        result.append(
            Row(
                benchmark="opendata",
                database=target.name,
                case=f"{case} (mix, in-process client)",
                ops=len(latencies),
                seconds=sum(latencies),
                unit="req",
                p50_ms=figures["p50_ms"],
                p99_ms=figures["p99_ms"],
                peak_rss_mb=timed["peak_rss_mb"],
                note=note,
                extra={"p95_ms": p95, "mean_ms": figures["mean_ms"], "fill_seconds": fill["seconds"]},
            )
        )
    return result
