"""Benchmark `evaluation`: the 好差评 figures and the service metrics over HTTP, × bare floor.

* ``GET /api/v1/evaluation/stats?group=staff`` — 好评率 / 差评整改率 of a reviewer's department,
  one aggregate query over the ratings (one rating per delivered case of the department);
* ``GET /api/v1/evaluation/metrics?group=department`` — the service metrics computed from every
  case of the department (``existing`` seeded cases in the table, default 1000), in Python.

Each row gives the database statements of that request (``queries``).
"""

import json

from bench.core import Context, Row, Target, benchmark, measure_load, run_module

EXISTING = 1000


@benchmark("evaluation", "好差评 figures and service metrics computed from the cases, × bare floor")
def run(ctx: Context, target: Target) -> list[Row]:
    existing = int(ctx.options.get("evaluation_existing", EXISTING))
    setup = run_module(target, "bench.evaluation_worker", json.dumps({"existing": existing}), what="evaluation worker")
    rows = []
    for name, path in (
        ("stats", "/api/v1/evaluation/stats?group=staff"),
        ("metrics", "/api/v1/evaluation/metrics?group=department"),
    ):
        row = measure_load(
            ctx, target, benchmark="evaluation", case=f"GET {path}", path=path, token=setup["tokens"]["reviewer"]
        )
        row.queries = setup["queries"][name]
        row.note += f"; {setup['existing']:,} cases, {setup['ratings']:,} ratings"
        rows.append(row)
    return rows
