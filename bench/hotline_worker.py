"""`python -m bench.hotline_worker <task> '<json args>'`: the hotline benchmark's database work.

``setup``: a city with ``agencies`` departments, a hotline agent with a bearer token, ``rules``
dispatch rules and ``tickets`` existing tickets over the last 30 days (bulk inserts, as the
model stores them), then the statements of one intake per interface through Django's test
client. ``suggest``: p50/p99 of ``dispatch_suggest`` over ``samples`` new tickets. ``hotspots``:
the run time of ``hotspots_detect`` over the 30-day window. Prints one JSON line.
"""

import json
import random
import sys
import time

import django

django.setup()

CATEGORIES = ["noise", "road", "sanitation", "water", "heating", "traffic", "market", "labour", "housing"]
WORDS = [
    "噪音",
    "施工",
    "积水",
    "井盖",
    "路灯",
    "垃圾",
    "停水",
    "暖气",
    "公交",
    "停车",
    "价格",
    "欠薪",
    "物业",
    "电梯",
    "漏雨",
    "异味",
    "拥堵",
    "食品",
]


def _text(rng) -> str:
    return "市民反映" + "".join(rng.sample(WORDS, 3)) + "问题"


def setup(args: dict) -> dict:
    import datetime
    import secrets

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from yiwang.hotline import rules as hrules
    from yiwang.hotline import services
    from yiwang.hotline.models import Category, DispatchRule, Member, Ticket
    from yiwang.identity import services as identity
    from yiwang.identity.models import Department, User

    rng = random.Random(7)
    # Another benchmark of the same run (cases, analytics) may have made the city already: join it,
    # with the hotline's own agencies, agent and ticket numbers (its tickets stay in the tables).
    root = User.objects.filter(username="bench_root").first()
    if root is None:
        root = identity.user_create(
            actor="bench:setup",
            username="bench_root",
            kind="staff",
            is_staff=True,
            password=f"Qz7!{secrets.token_urlsafe(16)}",
        )
        root.is_superuser = True
        root.save(update_fields=["is_superuser"])
    city = Department.objects.filter(code="B").first() or identity.department_create(
        actor=root, name="压测市人民政府", code="B", level=2, kind="government", region_code="610300"
    )
    agencies = [
        identity.department_create(
            actor=root,
            name=f"压测市第{n}局",
            code=f"B-HL-{n:03d}",
            level=2,
            kind="agency",
            region_code="610300",
            parent=city,
        )
        for n in range(int(args.get("agencies", 30)))
    ]
    agent = identity.user_create(
        actor="bench:setup",
        username="bench_hotline_agent",
        kind="staff",
        is_staff=True,
        password=f"Qz7!{secrets.token_urlsafe(16)}",
    )
    services.member_set(actor="bench:setup", user=agent, role=Member.Role.AGENT)
    token = identity.api_token_create(actor=agent, user=agent, name="bench hotline")[1]
    categories = {c.code: c.pk for c in Category.objects.all()}
    DispatchRule.objects.bulk_create(
        [
            DispatchRule(
                name=f"规则{n}",
                category_id=categories[rng.choice(CATEGORIES)] if rng.random() < 0.6 else None,
                keywords=" ".join(rng.sample(WORDS, 2)) if rng.random() < 0.7 else "",
                region_prefix=rng.choice(["", "610302", "610323", "610324", "610302001"]),
                department=rng.choice(agencies),
                priority=rng.randrange(5),
            )
            for n in range(int(args.get("rules", 1000)))
        ]
    )
    now = timezone.now()
    total = int(args.get("tickets", 20000))
    began = time.perf_counter()
    batch = []
    for n in range(total):
        text = _text(rng)
        batch.append(
            Ticket(
                number=f"H{n:012d}",
                kind="complaint",
                channel="phone",
                status="closed",
                category_id=categories[rng.choice(CATEGORIES)],
                title=text[:40],
                content=text,
                terms=" ".join(hrules.terms(text)),
                region_code=rng.choice(["610302001001", "610302001002", "610323101001", "610324201200"]),
                department=rng.choice(agencies),
                created_at=now - datetime.timedelta(minutes=rng.uniform(1, 43000)),
            )
        )
        if len(batch) == 5000:
            Ticket.objects.bulk_create(batch)
            batch = []
    Ticket.objects.bulk_create(batch)
    fill_s = time.perf_counter() - began

    client = Client(HTTP_HOST="127.0.0.1")
    queries = {}
    from bench.hotline import requests

    bodies = requests(token)
    for name, (path, body, form) in bodies.items():
        for _ in range(2):
            with CaptureQueriesContext(connection) as captured:
                if form:
                    response = client.post(path, body)
                else:
                    response = client.post(
                        path, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
                    )
        if response.status_code not in (200, 201):
            raise SystemExit(f"POST {path}: HTTP {response.status_code} {response.content[:300]!r}")
        queries[name] = len(captured)
    return {
        "token": token,
        "queries": queries,
        "tickets": Ticket.objects.count(),  # with those another benchmark of the run left
        "rules": DispatchRule.objects.count(),
        "fill_s": round(fill_s, 1),
    }


def suggest(args: dict) -> dict:
    from yiwang.hotline import rules as hrules
    from yiwang.hotline.models import Category, Ticket
    from yiwang.hotline.services import dispatch_suggest

    rng = random.Random(11)
    categories = list(Category.objects.values_list("pk", flat=True))
    latencies = []
    hits = 0
    for _ in range(int(args.get("samples", 500))):
        text = _text(rng)
        ticket = Ticket(
            title=text,
            content=text,
            terms=" ".join(hrules.terms(text)),
            category_id=rng.choice(categories),
            region_code=rng.choice(["610302001001", "610323101001", "610324201200", ""]),
        )
        began = time.perf_counter()
        result = dispatch_suggest(ticket=ticket)
        latencies.append(time.perf_counter() - began)
        hits += result.department is not None
    return {"latencies": latencies, "hits": hits}


def hotspots(args: dict) -> dict:
    from yiwang.hotline.services import hotspots_detect

    began = time.perf_counter()
    result = hotspots_detect(window_hours=24 * 30, min_count=3)
    return {"seconds": time.perf_counter() - began, **result}


if __name__ == "__main__":
    task = sys.argv[1]
    arguments = json.loads(sys.argv[2] if len(sys.argv) > 2 else "{}")
    print(json.dumps({"setup": setup, "suggest": suggest, "hotspots": hotspots}[task](arguments)), flush=True)
