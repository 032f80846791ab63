"""`python -m bench.exchange_worker <setup|evidence> '<json args>'`: the Django side of `exchange`.

* ``setup``: a source department (公安局) for every population field, a consuming department
  (人社局) with a consuming system and a grant of name/phone/sex — all through the services —
  then ``persons`` people bulk-seeded into the population registry
  (``registries.demo_data.seed_persons``). Prints the credential and ``keys`` 身份证号 to look up.
* ``evidence``: the evidence log's own figures, after the HTTP load: queries per gateway lookup
  (captured), single-entry appends/s (one transaction each, as a lookup does), 100-entry batch
  appends/s, then ``verify_entries`` entries bulk-appended and ``verify_log`` over all of it.
"""

import json
import random
import sys
import time

import django

django.setup()

from bench.core import latency_figures, peak_rss_mb  # noqa: E402

SECRET = "bench-exchange-secret-0123456789"


def setup(args: dict) -> dict:
    import datetime

    from yiwang.exchange import services
    from yiwang.identity.models import Department
    from yiwang.identity.services import department_create, user_create
    from yiwang.registries import demo_data as registries_demo
    from yiwang.registries.schema import REGISTRIES
    from yiwang.registries.services import registry_field_source_set

    root = user_create(actor=None, username="bench_ex_root", password="Bench-Mima-2024x", kind="staff")
    root.is_superuser = True
    root.save(update_fields=["is_superuser"])

    def dept(name, code, parent=None):
        kind = Department.Kind.GOVERNMENT if parent is None else Department.Kind.AGENCY
        return department_create(
            actor=root,
            name=name,
            code=code,
            level=Department.Level.CITY,
            kind=kind,
            region_code="610300",
            parent=parent,
        )

    city = dept("基准市人民政府", "BX")
    police, hrss = dept("基准市公安局", "BX-GAJ", city), dept("基准市人力资源和社会保障局", "BX-RSJ", city)
    for spec in REGISTRIES["population"].fields:
        registry_field_source_set(actor=root, registry="population", field=spec.name, department=police)
    services.catalog_sync(actor=root)
    system, secret = services.consumer_system_create(
        actor=root, department=hrss, name="社保经办系统", client_id="ywx_bench", secret=SECRET
    )
    [request] = services.share_request_create(
        actor=root,
        consumer_department=hrss,
        registry="population",
        fields=["name", "phone", "sex"],
        purpose="社会保险参保登记核验",
        legal_basis="《社会保险法》",
        valid_until=datetime.date.today() + datetime.timedelta(days=30),
        system=system,
    )
    services.share_request_approve(actor=root, request=request)
    persons = int(args.get("persons", 100_000))
    began = time.perf_counter()
    registries_demo.seed_persons(persons)
    seeded = time.perf_counter() - began
    rng = random.Random(10)
    keys = [registries_demo.bench_id_number(rng.randrange(persons)) for _ in range(int(args.get("keys", 2000)))]
    return {
        "client_id": system.client_id,
        "secret": secret,
        "keys": keys,
        "persons": persons,
        "seed_s": round(seeded, 1),
    }


def evidence(args: dict) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from yiwang.exchange import gateway
    from yiwang.exchange.evidence import Entry, log_append, verify_log
    from yiwang.exchange.models import ExchangeLog
    from yiwang.registries import demo_data as registries_demo

    out: dict = {}
    gateway.invalidate()
    consumer = gateway.SystemConsumer(gateway.current().systems["ywx_bench"])
    key = registries_demo.bench_id_number(1)
    gateway.read_one(consumer=consumer, purpose="核验", registry="population", key=key, fields=["name"])
    with CaptureQueriesContext(connection) as queries:
        gateway.read_one(consumer=consumer, purpose="核验", registry="population", key=key, fields=["name", "phone"])
    out["queries_per_lookup"] = len(queries)
    out["queries"] = [q["sql"][:48] for q in queries.captured_queries]

    def entry(i: int) -> Entry:
        return Entry("system", "ywx_bench", None, 1, "核验", "population", f"{i:064x}", f"{i:064x}", ["name", "phone"])

    singles = int(args.get("appends", 3000))
    latencies = []
    began = time.perf_counter()
    for i in range(singles):
        t = time.perf_counter()
        log_append([entry(i)])
        latencies.append(time.perf_counter() - t)
    out["append_single"] = {"ops": singles, "seconds": time.perf_counter() - began, **latency_figures(latencies)}
    batches = max(1, singles // 100)
    began = time.perf_counter()
    for b in range(batches):
        log_append([entry(b * 100 + i) for i in range(100)])
    out["append_batch100"] = {"ops": batches * 100, "seconds": time.perf_counter() - began}

    target = int(args.get("verify_entries", 200_000))
    have = ExchangeLog.objects.count()
    began = time.perf_counter()
    while have < target:
        n = min(1000, target - have)
        log_append([entry(have + i) for i in range(n)])
        have += n
    out["fill_seconds"] = round(time.perf_counter() - began, 1)
    report = verify_log()
    out["verify"] = {"ops": report.checked, "seconds": report.seconds, "ok": report.ok}
    out["peak_rss_mb"] = peak_rss_mb()
    return out


if __name__ == "__main__":
    task, raw = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "{}"
    print(json.dumps({"setup": setup, "evidence": evidence}[task](json.loads(raw))), flush=True)
