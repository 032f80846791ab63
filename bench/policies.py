"""Benchmark `policies`: the eligibility run of one policy over 100,000 enterprises (issue 18:
< 30 s).

``bench.policies_worker`` loads the enterprises, their economy indicators and credit grades in
the scratch database (not timed), then times the publication of a policy whose 免申即享 benefit
reads the legal-entity and economy registries through the exchange (in batches of the
exchange's limit, every read in its evidence log) and the credit grades, runs the table for
each enterprise and lists the eligible ones. ``--set policies_enterprises=N`` changes N.

Not a request benchmark: no × floor. Wall and CPU seconds are both reported: on a shared,
loaded machine the CPU figure says what the code costs.
"""

import json
import subprocess
import sys

from bench.core import ROOT, Context, Row, Target, benchmark


@benchmark("policies", "eligibility of one policy over 100,000 enterprises (registry + economy + credit facts)")
def run(ctx: Context, target: Target) -> list[Row]:
    n = int(ctx.options.get("policies_enterprises") or 100_000)
    out = subprocess.run(
        [sys.executable, "-m", "bench.policies_worker", json.dumps({"enterprises": n})],
        env=target.env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"policies worker failed:\n{out.stderr[-3000:]}")
    d = json.loads(out.stdout.strip().splitlines()[-1])
    return [
        Row(
            "policies",
            target.name,
            f"eligibility run over {d['enterprises']:,} enterprises",
            d["enterprises"],
            d["wall_s"],
            unit="enterprises",
            peak_rss_mb=d["peak_rss_mb"],
            note=f"CPU {d['cpu_s']:.1f} s (target < 30 s); {d['listed']} listed; "
            f"{d['evidence_entries']} evidence-log entries (batches of {d['batch_limit']})",
            extra=d,
        )
    ]
