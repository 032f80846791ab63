"""`python -m bench.analytics_worker '<json args>'`: set up the dashboards benchmark.

Reuses the cases benchmark's setup (a city 610300 with two agencies and ``cases`` seeded cases
over 400 days, bulk-inserted), adds the city's three districts, seeds ``tickets`` 12345
tickets over 400 days with one ``executemany``/COPY (region, department, satisfaction
varied), then runs the REAL rollup (``analytics.services.indicator_rollup``) over the whole
period — the rollup rows are the ones the platform itself would keep — and times it. A city
operator (city_admin) gets a bearer token and a signed-in session. The database statements
of each benchmarked request are counted through Django's test client (the second of two).
Prints one JSON line.
"""

import json
import sys
import time

import django

django.setup()

from bench.analytics import DUTY, requests  # noqa: E402


def _seed_tickets(total: int, *, departments: list[int]) -> None:
    import datetime

    from django.db import connection, transaction
    from django.utils import timezone

    from yiwang.hotline.models import Ticket

    qn = connection.ops.quote_name
    template = Ticket(
        number="",
        kind="complaint",
        channel="phone",
        status="closed",
        title="存量工单",
        content="存量工单内容",
        region_code="610302001001",
        created_at=timezone.now(),
    )
    fields = [f for f in Ticket._meta.concrete_fields if not f.primary_key]
    constant = {}
    for f in fields:
        value = f.get_db_prep_save(f.pre_save(template, True), connection)
        constant[f.attname] = value.dumps(value.obj) if hasattr(value, "dumps") else value
    regions = ["610302001001", "610302001002", "610323101001", "610324201200"]
    start = timezone.now() - datetime.timedelta(days=400)
    step = datetime.timedelta(seconds=max(1, 400 * 86400 // max(total, 1)))

    def row(i: int) -> dict:
        created = start + step * i
        return {
            **constant,
            "number": f"B{i:012d}",
            "region_code": regions[i % 4],
            "department_id": departments[i % len(departments)],
            "satisfaction": (None, 3, 3, 2, 1)[i % 5],
            "created_at": created,
            "updated_at": created,
        }

    names = [f.attname for f in fields]
    columns = ", ".join(qn(f.column) for f in fields)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {qn(Ticket._meta.db_table)} ({columns}) FROM STDIN") as copy:
                for i in range(total):
                    values = row(i)
                    copy.write_row([values[name] for name in names])
        else:
            marks = ", ".join(["%s"] * len(fields))
            sql = f"INSERT INTO {qn(Ticket._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608
            for first in range(0, total, 50_000):
                params = []
                for i in range(first, min(first + 50_000, total)):
                    values = row(i)
                    params.append([values[name] for name in names])
                cursor.executemany(sql, params)


def setup(args: dict) -> dict:
    import datetime

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from bench.cases_worker import setup as cases_setup
    from yiwang.analytics import services
    from yiwang.analytics.models import IndicatorValue
    from yiwang.cases.models import Case
    from yiwang.hotline.models import Ticket
    from yiwang.identity import services as identity
    from yiwang.identity.mfa import SESSION_VERIFIED
    from yiwang.identity.models import Department, Role, User

    made = cases_setup({"existing": int(args.get("cases", 1_000_000))})
    root = User.objects.get(username="bench_root")
    city = Department.objects.get(code="B")
    for code, name, region in (
        ("B-MHQ", "明湖区", "610302"),
        ("B-DYX", "东原县", "610323"),
        ("B-XLX", "西岭县", "610324"),
    ):
        identity.department_create(
            actor=root,
            name=f"{name}人民政府",
            short_name=name,
            code=code,
            level=3,
            kind="government",
            region_code=region,
            parent=city,
        )
    departments = list(Department.objects.filter(code__in=["B-SCJG", "B-GAJ"]).values_list("pk", flat=True))
    began = time.perf_counter()
    _seed_tickets(int(args.get("tickets", 1_000_000)), departments=departments)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(Ticket._meta.db_table)}")
    tickets_seconds = time.perf_counter() - began

    today = timezone.localdate()
    began = time.perf_counter()
    rolled = services.indicator_rollup(actor="bench:setup", since=today - datetime.timedelta(days=401), today=today)
    rollup_seconds = time.perf_counter() - began
    began = time.perf_counter()
    services.indicator_rollup(actor="bench:setup", today=today)  # what the 15-minute job does
    incremental_seconds = time.perf_counter() - began

    operator = User.objects.create_user(username="bench_operator", password=None, kind="staff", is_staff=True)
    identity.role_grant_create(actor=root, user=operator, role=Role.CITY_ADMIN, department=city)
    token = identity.api_token_create(actor=operator, user=operator, name="bench analytics")[1]
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(operator)
    session = client.session
    session[SESSION_VERIFIED] = True
    session.save()
    cookie = client.cookies["sessionid"].value

    queries = {}
    for name, path in {**requests(), "page": "/workbench/dashboards/?scope=city", "duty": DUTY}.items():
        api = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_ACCEPT": "application/json"}
        headers = {} if name in ("page", "duty") else api
        for _ in range(2):
            with CaptureQueriesContext(connection) as captured:
                response = client.get(path, **headers)
        if response.status_code != 200:
            raise SystemExit(f"GET {path}: HTTP {response.status_code} {response.content[:300]!r}")
        queries[name] = len(captured)
    return {
        "token": token,
        "cookie": cookie,
        "queries": queries,
        "cases": Case.objects.count(),
        "tickets": Ticket.objects.count(),
        "rollup_rows": IndicatorValue.objects.count(),
        "rolled": rolled["day_rows"] + rolled["month_rows"],
        "cases_seed_seconds": made["seed_seconds"],
        "tickets_seed_seconds": round(tickets_seconds, 2),
        "rollup_seconds": round(rollup_seconds, 2),
        "incremental_seconds": round(incremental_seconds, 2),
    }


if __name__ == "__main__":
    print(json.dumps(setup(json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}"))), flush=True)
