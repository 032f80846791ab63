"""Benchmark `supervision`: the 双随机 draw at city scale, its outside verification, and credit
grade recomputation.

* ``draw``: 1,000,000 entities (grades A 20 %, B 60 %, C 15 %, D 5 %; ratios 3/5/15/30 %) ×
  5,000 inspectors, 20,000 回避 pairs, teams of two: ``drawing.check_inputs`` (what
  ``plan_publish`` checks before publishing) and ``drawing.draw`` (what ``plan_draw`` runs),
  timed apart from building the salted pool hashes (a plan-time cost). Targets: draw < 2 s,
  peak memory < 500 MB.
* ``verify``: ``scripts/verify_draw.py`` on the two files that draw wrote (a 70 MB plan),
  as an outsider runs it. Target < 5 s.
* ``grade``: ``grading.grade`` for 100,000 entities (pure), and ``services.grades_recompute``
  on the scratch database for ``--supervision-db-entities`` (default 10,000; the bulk load
  is not timed). Target: 100,000 in < 60 s.

Not a request benchmark: no × floor. Each step runs in its own process (its own peak RSS).
Wall and CPU seconds are both reported: on a shared, loaded machine the CPU figure is the
one that says what the code costs.
"""

import json
import subprocess
import sys
import tempfile

from bench.core import ROOT, Context, Row, Target, benchmark


def _step(target: Target, step: str, **args) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.supervision_worker", step, json.dumps(args)],
        env=target.env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"supervision {step} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


@benchmark("supervision", "双随机 draw of 1M entities × 5,000 inspectors, its verification, grade recomputation")
def run(ctx: Context, target: Target) -> list[Row]:
    rows = []
    db_entities = ctx.options.get("supervision_db_entities") or 10000
    if target.name == "sqlite" or not ctx.options.get("supervision_done"):
        ctx.options["supervision_done"] = True
        with tempfile.TemporaryDirectory() as folder:
            d = _step(target, "draw", entities=1_000_000, inspectors=5000, conflicts=20000, dir=folder)
            rows.append(
                Row(
                    "supervision",
                    "—",
                    "draw 1M × 5,000 (check + draw)",
                    1,
                    d["check_s"] + d["draw_s"],
                    unit="draws",
                    peak_rss_mb=d["peak_rss_mb"],
                    note=f"CPU {d['check_cpu_s'] + d['draw_cpu_s']:.2f} s (draw {d['draw_cpu_s']:.2f} s); "
                    f"{d['selected']} drawn, {d['places']} places; pool hashing {d['hashing_cpu_s']:.1f} s CPU",
                    extra=d,
                )
            )
            v = _step(target, "verify", dir=folder)
            rows.append(
                Row(
                    "supervision",
                    "—",
                    "verify_draw.py on the published files",
                    1,
                    v["verify_s"],
                    unit="verifications",
                    peak_rss_mb=v["peak_rss_mb"],
                    note=f"CPU {v['verify_cpu_s']:.2f} s; exit {v['returncode']}",
                    extra=v,
                )
            )
        g = _step(target, "grade", entities=100_000)
        rows.append(
            Row(
                "supervision",
                "—",
                "grade 100,000 (pure)",
                g["entities"],
                g["grade_s"],
                unit="entities",
                peak_rss_mb=g["peak_rss_mb"],
                note=f"CPU {g['grade_cpu_s']:.2f} s",
                extra=g,
            )
        )
    db = _step(target, "grade_db", entities=db_entities)
    rows.append(
        Row(
            "supervision",
            target.name,
            f"grades_recompute {db_entities:,} (database)",
            db["entities"],
            db["grade_db_s"],
            unit="entities",
            peak_rss_mb=db["peak_rss_mb"],
            note=f"CPU {db['grade_db_cpu_s']:.2f} s",
            extra=db,
        )
    )
    return rows
