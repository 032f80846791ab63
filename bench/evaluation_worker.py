"""`python -m bench.evaluation_worker '<json args>'`: set up the evaluation benchmark.

Reuses the cases benchmark's setup (a department tree, a published item, ``existing`` seeded
cases in every state, a reviewer of the item's department with a bearer token), then adds one
rating per delivered case of the reviewer's department (bulk-inserted; every fifth a 差评 with
an open rectification), and counts the database statements of each benchmarked request
through Django's test client (the second of two). Prints one JSON line.
"""

import json
import sys

import django

django.setup()


def setup(args: dict) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from bench.cases_worker import setup as cases_setup
    from yiwang.cases.models import Case
    from yiwang.evaluation.models import Rating, RatingLevel, Rectification
    from yiwang.identity.models import RoleGrant, User

    made = cases_setup({"existing": int(args.get("existing", 1000))})
    reviewer = User.objects.get(username="bench_reviewer")
    department_id = RoleGrant.objects.filter(user=reviewer).values_list("department_id", flat=True).first()
    holder = User.objects.get(username="bench_holder")
    now = timezone.now()
    levels = [
        RatingLevel.VERY_SATISFIED,
        RatingLevel.SATISFIED,
        RatingLevel.BASICALLY_SATISFIED,
        RatingLevel.SATISFIED,
        RatingLevel.DISSATISFIED,
    ]
    cases = list(Case.objects.filter(department_id=department_id, state="delivered").values_list("pk", "number"))
    ratings = Rating.objects.bulk_create(
        [
            Rating(
                case_id=pk,
                case_number=number or "",
                rater=holder,
                level=levels[n % 5],
                first_level=levels[n % 5],
                channel="portal",
                item_code=made["item"],
                item_name="个体工商户设立登记",
                department_id=department_id,
                staff_id=reviewer.pk,
                rated_at=now,
            )
            for n, (pk, number) in enumerate(cases)
        ]
    )
    Rectification.objects.bulk_create(
        [
            Rectification(
                rating=rating,
                department_id=department_id,
                state="open",
                opened_at=now,
                due_date=now.date(),
                level_at_opening=rating.level,
            )
            for rating in ratings
            if rating.level == RatingLevel.DISSATISFIED
        ]
    )
    client = Client(HTTP_HOST="127.0.0.1")
    queries = {}
    for name, path in requests().items():
        headers = {"HTTP_AUTHORIZATION": f"Bearer {made['tokens']['reviewer']}", "HTTP_ACCEPT": "application/json"}
        for _ in range(2):
            with CaptureQueriesContext(connection) as captured:
                response = client.get(path, **headers)
        if response.status_code != 200:
            raise SystemExit(f"GET {path}: HTTP {response.status_code} {response.content[:300]!r}")
        queries[name] = len(captured)
    return {
        "tokens": made["tokens"],
        "queries": queries,
        "existing": made["existing"],
        "ratings": len(ratings),
    }


def requests() -> dict[str, str]:
    return {
        "stats": "/api/v1/evaluation/stats?group=staff",
        "metrics": "/api/v1/evaluation/metrics?group=department",
    }


if __name__ == "__main__":
    print(json.dumps(setup(json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}"))), flush=True)
