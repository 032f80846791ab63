"""`python -m bench.catalog_search_worker <task> '<json args>'`: the Django side of the
`catalog_search` benchmark (run against the scratch database named by DATABASE_URL; prints its
result as one JSON line last).

* ``fill`` — the demo city and the real demo catalog (49 items, 3 bundles) through the real
  loaders, then synthetic entries up to ``items`` in total, made by varying the demo items
  (a place and a variant in the name, a county or township department) and indexed by the
  same code as a publication (``search.terms_for``), in bulk.
* ``query`` — the query mix, each ``search()`` timed in this process after a warm-up.
"""

import json
import random
import sys
import time

import django

django.setup()

from bench.catalog_search import QUERIES, SUGGEST  # noqa: E402
from bench.core import peak_rss_mb  # noqa: E402

PLACES = [
    "市本级",
    "明湖区",
    "东原县",
    "西岭县",
    "滨河街道",
    "文昌街道",
    "新城街道",
    "东城街道",
    "青石镇",
    "柳河乡",
    "城关镇",
    "龙泉镇",
    "石门乡",
    "高新区",
    "经开区",
    "综合保税区",
    "港务区",
    "旅游度假区",
    "农业示范园区",
    "城东片区",
    "城西片区",
    "北部新区",
    "南湖片区",
    "老城片区",
    "工业园区",
    "物流园区",
    "大学城",
    "科技城",
    "临空经济区",
    "生态新区",
]
VARIANTS = ["", "变更", "延续", "注销", "补办", "跨省通办", "告知承诺制"]


def task_fill(args: dict) -> dict:
    from yiwang.catalog import demo_data, search
    from yiwang.catalog.models import SearchEntry, SearchTerm
    from yiwang.demo.services import demo_load
    from yiwang.identity.models import Department

    began = time.perf_counter()
    demo_load()
    demo_data.load(None)
    real = SearchEntry.objects.count()
    templates = demo_data.document()["items"]
    local = list(Department.objects.filter(level__gte=3).values_list("pk", "name"))
    rng = random.Random(20261122)
    entries = []
    for n in range(max(0, args["items"] - real)):
        t = templates[n % len(templates)]
        round_ = n // len(templates)
        place = PLACES[round_ % len(PLACES)]
        variant = VARIANTS[(round_ // len(PLACES)) % len(VARIANTS)]
        dept_id, dept_name = rng.choice(local)
        qualifier = f"{place}·{variant}" if variant else place
        entries.append(
            search.EntryData(
                kind=SearchEntry.Kind.ITEM,
                code=f"SYN-{n:06d}",
                name=f"{t['name']}({qualifier})",
                department_id=dept_id,
                department_name=dept_name,
                department_names=[dept_name],
                item_kind=t["kind"],
                targets=t["targets"],
                aliases=t.get("aliases", []),
                keywords=t.get("keywords", []),
                materials=[m["name"] for m in t.get("materials", [])],
                description=t.get("description", ""),
                promised_time_limit=t["promised_time_limit"],
                onsite_visits=t.get("onsite_visits", 0),
            )
        )
    indexed = time.perf_counter()
    postings = search.bulk_index(entries)
    done = time.perf_counter()
    return {
        "entries": SearchEntry.objects.count(),
        "postings": SearchTerm.objects.count(),
        "synthetic_postings": postings,
        "load_seconds": round(indexed - began, 1),
        "index_seconds": round(done - indexed, 1),
        "peak_rss_mb": peak_rss_mb(),
    }


def task_query(args: dict) -> dict:
    from django.db import connection

    from yiwang.catalog import search

    if connection.vendor == "postgresql":
        # What autovacuum does soon after a bulk load: statistics, and the visibility map that
        # lets the postings be read by index-only scans.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    for q in QUERIES + SUGGEST:  # warm-up: jieba, pinyin, connection, caches
        search.search(q)
    latencies, cpu, per_query, totals = [], [], {}, {}
    for _ in range(args["repeat"]):
        for q in QUERIES:
            c0, t0 = time.process_time(), time.perf_counter()
            page = search.search(q, page_size=20)
            dt = time.perf_counter() - t0
            cpu.append(time.process_time() - c0)
            latencies.append(dt)
            per_query.setdefault(q, []).append(dt)
            totals[q] = page.total
    suggest = []
    for _ in range(args["repeat"]):
        for q in SUGGEST:
            t0 = time.perf_counter()
            search.suggest(q)
            suggest.append(time.perf_counter() - t0)
    worst = sorted(per_query.items(), key=lambda kv: -sorted(kv[1])[len(kv[1]) // 2])[:3]
    return {
        "latencies": latencies,
        "cpu": cpu,
        "suggest_latencies": suggest,
        "slowest": [(q, round(sorted(v)[len(v) // 2] * 1000, 2), totals[q]) for q, v in worst],
        "peak_rss_mb": peak_rss_mb(),
    }


TASKS = {"fill": task_fill, "query": task_query}

if __name__ == "__main__":
    task, raw_args = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "{}"
    result = TASKS[task](json.loads(raw_args))
    print(json.dumps(result, ensure_ascii=False), flush=True)
