"""`python -m bench.opendata_worker <task> '<json args>'`: the Django side of the `opendata`
benchmark (against the scratch database named by DATABASE_URL; prints one JSON line last)."""

import json
import random
import sys
import time

import django

django.setup()

from bench.core import peak_rss_mb  # noqa: E402

THEMES = ["economy", "transport", "society", "health", "environment", "education", "market", "housing"]
WORDS = ["企业", "公交", "人口", "医疗", "空气", "学校", "住房", "道路", "税收", "养老", "就业", "旅游"]


def task_fill(args: dict) -> dict:
    from yiwang.demo.services import demo_load
    from yiwang.identity.models import Department
    from yiwang.opendata.models import Dataset, DatastoreRow, Distribution

    began = time.perf_counter()
    demo_load()
    departments = list(Department.objects.filter(level__lte=2)[:20])
    rng = random.Random(20261203)
    datasets, dists = [], []
    for n in range(args["datasets"]):
        dept = departments[n % len(departments)]
        words = rng.sample(WORDS, 3)
        title = f"{dept.short_name or dept.name}{words[0]}{words[1]}统计 第{n}号"
        ds = Dataset(
            name=f"bench-{n:06d}",
            title=title,
            description=f"{title}:{words[2]}相关数据,按月更新。",
            publisher=dept,
            theme=THEMES[n % len(THEMES)],
            keywords=words,
            frequency="monthly",
            open_type="open" if n % 5 else "conditional",
            search_text=f"bench-{n:06d} {title} {words[2]} {' '.join(words)} {dept.name}".lower(),
            tag_index="|" + "|".join(words) + "|",
        )
        datasets.append(ds)
        dists.append(Distribution(dataset=ds, name=f"{title}.csv", format="CSV", fields=[{"id": "v", "type": "text"}]))
    Dataset.objects.bulk_create(datasets, batch_size=2000)
    Distribution.objects.bulk_create(dists, batch_size=2000)
    big_ds = datasets[1]
    fields = [{"id": c, "type": t} for c, t in (("区县", "text"), ("年份", "int"), ("指标", "text"), ("值", "int"))]
    big = Distribution.objects.create(dataset=big_ds, name="大表", format="CSV", fields=fields, row_count=args["rows"])
    batch = []
    for number in range(1, args["rows"] + 1):
        batch.append(
            DatastoreRow(
                distribution=big,
                number=number,
                data={
                    "区县": f"区{number % 37}",
                    "年份": 2000 + number % 26,
                    "指标": WORDS[number % 12],
                    "值": number % 997,
                },
            )
        )
        if len(batch) >= 5000:
            DatastoreRow.objects.bulk_create(batch)
            batch = []
    if batch:
        DatastoreRow.objects.bulk_create(batch)
    return {
        "datasets": Dataset.objects.count(),
        "rows": args["rows"],
        "resource_id": str(big.pk),
        "seconds": round(time.perf_counter() - began, 1),
        "peak_rss_mb": peak_rss_mb(),
    }


def _timed(client, paths: list[str], repeat: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for path in paths:  # warm-up
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
    latencies, queries, per_path = [], [], {}
    for _ in range(repeat):
        for path in paths:
            with CaptureQueriesContext(connection) as captured:
                t0 = time.perf_counter()
                response = client.get(path)
                dt = time.perf_counter() - t0
            assert response.status_code == 200, (path, response.content[:300])
            latencies.append(dt)
            queries.append(len(captured.captured_queries))
            per_path.setdefault(path, []).append(dt)
    worst = sorted(per_path.items(), key=lambda kv: -sorted(kv[1])[len(kv[1]) // 2])[:2]
    slowest = ", ".join(f"{p[:70]} {round(sorted(v)[len(v) // 2] * 1000, 1)} ms" for p, v in worst)
    return {"latencies": latencies, "queries": queries, "slowest": slowest}


def task_query(args: dict) -> dict:
    from urllib.parse import quote

    from django.db import connection
    from django.test import Client

    from yiwang.opendata.models import Distribution

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    client = Client(HTTP_HOST="127.0.0.1")
    facets = quote(json.dumps(["organization", "groups", "tags", "res_format"]))
    search = [
        "/api/3/action/package_search",
        f"/api/3/action/package_search?q={quote('公交')}",
        f"/api/3/action/package_search?q={quote('人口 养老')}&rows=20",
        "/api/3/action/package_search?fq=groups:transport&sort=name%20asc",
        f"/api/3/action/package_search?fq={quote('+organization:sfs-sjj +tags:企业')}",
        f"/api/3/action/package_search?facet.field={facets}&rows=0",
        "/api/3/action/package_search?start=9000&rows=20&sort=metadata_modified%20desc",
        f"/api/3/action/package_search?q={quote('量子望远镜')}",
    ]
    big = Distribution.objects.order_by("-row_count").first()
    n = big.row_count
    rid = big.pk
    datastore = [f"/api/3/action/datastore_search?resource_id={rid}&limit=100&offset={o}" for o in (0, n // 2, n - 100)]
    datastore += [
        f"/api/3/action/datastore_search?resource_id={rid}&limit=100&filters={quote(json.dumps({'区县': '区7'}))}",
        f"/api/3/action/datastore_search?resource_id={rid}&limit=10&fields={quote('区县,值')}",
    ]
    return {
        "search": _timed(client, search, args["repeat"]),
        "datastore": _timed(client, datastore, args["repeat"]),
        "peak_rss_mb": peak_rss_mb(),
    }


TASKS = {"fill": task_fill, "query": task_query}

if __name__ == "__main__":
    task, raw_args = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "{}"
    result = TASKS[task](json.loads(raw_args))
    print(json.dumps(result, ensure_ascii=False), flush=True)
