"""`python -m bench.supervision_worker '<json args>'`: one measured step of the `supervision`
benchmark, in its own process so that its peak memory (VmHWM) is its own. Prints one JSON line.

Steps:
* ``draw``: build a published plan of N entities (grades A 20 %, B 60 %, C 15 %, D 5 %), M
  inspectors and K 回避 pairs in memory — the pool hashing is timed apart — then time
  ``drawing.check_inputs`` + ``drawing.draw``; writes plan.json and result.json to ``dir``;
* ``verify``: time ``scripts/verify_draw.py`` on those two files (a subprocess: what an
  outsider runs), its peak memory from /proc;
* ``grade``: time ``grading.grade`` over N entities' credit records (pure), and, with the
  database, ``services.grades_recompute`` over the entities loaded in the scratch database.
"""

import json
import resource
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def draw(args: dict) -> dict:
    from yiwang.supervision import drawing

    n, m, k = args["entities"], args["inspectors"], args["conflicts"]
    began, began_cpu = time.perf_counter(), time.process_time()
    secret = secrets.token_bytes(32)
    hashes = [drawing.entity_hash(f"{i:018d}", drawing.entity_salt(secret, f"{i:018d}")) for i in range(n)]
    hashing, hashing_cpu = time.perf_counter() - began, time.process_time() - began_cpu
    entities = {"A": [], "B": [], "C": [], "D": []}
    for i, h in enumerate(hashes):
        r = i % 20
        entities["A" if r < 4 else "B" if r < 16 else "C" if r < 19 else "D"].append(h)
    for v in entities.values():
        v.sort()
    inspectors = sorted(drawing.inspector_hash(f"INS{i:06d}") for i in range(m))
    conflicts = sorted([hashes[(i * 7919) % n], inspectors[i % m]] for i in range(k))
    seed = secrets.token_hex(32)
    plan = {
        "algorithm": drawing.ALGORITHM,
        "entities": entities,
        "ratios_bp": {"A": 300, "B": 500, "C": 1500, "D": 3000},
        "inspectors": {"SCJG": inspectors},
        "team": {"SCJG": 2},
        "conflicts": conflicts,
        "commitment": drawing.commitment_of(seed),
    }
    t, c = time.perf_counter(), time.process_time()
    drawing.check_inputs(plan)
    checked, checked_cpu = time.perf_counter() - t, time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    selected = drawing.draw(plan, seed, "bench")
    drew, drew_cpu = time.perf_counter() - t, time.process_time() - c
    out = Path(args["dir"])
    body = drawing.canonical(plan)
    (out / "plan.json").write_bytes(body)
    drawn = {row["entity"] for row in selected}
    openings = {}
    for i, h in enumerate(hashes):  # one pass: the salts of the drawn entities only
        if h in drawn:
            uscc = f"{i:018d}"
            openings[h] = {"uscc": uscc, "salt": drawing.entity_salt(secret, uscc)}
    result = {
        "plan_digest": drawing.sm3(body).hex(),
        "seed": seed,
        "public_entropy": "bench",
        "selected": selected,
        "openings": openings,
    }
    (out / "result.json").write_bytes(drawing.canonical(result))
    return {
        "hashing_s": hashing,
        "hashing_cpu_s": hashing_cpu,
        "check_s": checked,
        "check_cpu_s": checked_cpu,
        "draw_s": drew,
        "draw_cpu_s": drew_cpu,
        "selected": len(selected),
        "places": sum(len(t) for r in selected for t in r["inspectors"].values()),
        "plan_mb": len(body) / 1e6,
        "peak_rss_mb": rss_mb(),
    }


def verify(args: dict) -> dict:
    out = Path(args["dir"])
    t = time.perf_counter()
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "verify_draw.py"), out / "plan.json", out / "result.json"],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - t
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = usage.ru_maxrss / 1024
    return {
        "verify_s": seconds,
        "verify_cpu_s": usage.ru_utime + usage.ru_stime,
        "returncode": run.returncode,
        "stdout": run.stdout[:120],
        "peak_rss_mb": peak,
    }


def grade(args: dict) -> dict:
    import datetime

    from yiwang.supervision import grading

    n = args["entities"]
    today = datetime.date(2026, 12, 1)
    kinds = ["penalty", "inspection", "redlist", "license", "blacklist"]
    records = {
        i: [
            {
                "record_number": f"R{i}-{j}",
                "kind": kinds[(i + j) % 5],
                "content": "检查:合格" if j % 2 else "检查:责令整改",
                "decided_on": datetime.date(2025, 1 + j, 1),
                "valid_from": datetime.date(2025, 1 + j, 1),
                "valid_to": None,
            }
            for j in range(i % 4)
        ]
        for i in range(n)
    }
    t, c = time.perf_counter(), time.process_time()
    grades = [grading.grade(records[i], grading.DEFAULT_RULE, today=today) for i in range(n)]
    seconds, cpu = time.perf_counter() - t, time.process_time() - c
    return {"grade_s": seconds, "grade_cpu_s": cpu, "entities": len(grades), "peak_rss_mb": rss_mb()}


def grade_db(args: dict) -> dict:
    """``services.grades_recompute`` over N legal entities with credit records in the scratch
    database (rows bulk-created directly: this measures the recomputation, not the import)."""
    import django

    django.setup()
    from yiwang.core.codes import make_uscc
    from yiwang.core.crypto import blind_index
    from yiwang.registries.models import CreditRecord, LegalEntity
    from yiwang.supervision import services

    n = args["entities"]
    usccs = [make_uscc(f"91610000MA{i:07d}") for i in range(n)]
    LegalEntity.objects.bulk_create(
        [LegalEntity(uscc=u, name=f"企业{i}", kind="enterprise", status="active") for i, u in enumerate(usccs)],
        batch_size=5000,
    )
    kinds = ["penalty", "inspection", "redlist", "license", "blacklist"]
    CreditRecord.objects.bulk_create(
        [
            CreditRecord(
                record_number=f"B{i}-{j}",
                subject_kind="legal_entity",
                subject_key=u,
                subject_key_index=blind_index(u),
                subject_name=f"企业{i}",
                kind=kinds[(i + j) % 5],
                content="检查:合格",
                decided_on="2025-03-01",
                valid_from="2025-03-01",
            )
            for i, u in enumerate(usccs)
            for j in range(i % 3)
        ],
        batch_size=5000,
    )
    t, c = time.perf_counter(), time.process_time()
    result = services.grades_recompute(actor="bench")
    return {
        "grade_db_s": time.perf_counter() - t,
        "grade_db_cpu_s": time.process_time() - c,
        "entities": result["entities"],
        "peak_rss_mb": rss_mb(),
    }


if __name__ == "__main__":
    step, args = sys.argv[1], json.loads(sys.argv[2])
    print(json.dumps({"draw": draw, "verify": verify, "grade": grade, "grade_db": grade_db}[step](args)))
