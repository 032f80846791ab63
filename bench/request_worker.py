"""`python -m bench.request_worker '<json args>'`: set up the request-path benchmark.

Reuses the cases benchmark's setup (a department tree, a published item, an applicant, a
window clerk and a reviewer with bearer tokens, ``existing`` seeded cases), then saves one
draft per connection for the applicant through ``cases.services.case_draft_save``, and counts
the database statements of each benchmarked request through Django's test client (the second
of two, so per-process one-offs are not counted). Prints one JSON line.
"""

import json
import sys

import django

django.setup()


def setup(args: dict) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.cases_worker import setup as cases_setup
    from yiwang.cases.services import case_draft_save
    from yiwang.catalog.selectors import item_get_published
    from yiwang.identity.models import User

    made = cases_setup({"existing": int(args.get("existing", 1000))})
    applicant = User.objects.get(username="bench_applicant")
    item = item_get_published(implementation_code=made["item"])
    drafts = [
        case_draft_save(actor=applicant, item=item, form_data={"business_name": f"草稿{n}"}).pk
        for n in range(int(args.get("drafts", 4)))
    ]

    client = Client(HTTP_HOST="127.0.0.1")
    queries = {}
    for name, (method, path, who, body) in requests(drafts).items():
        headers = {"HTTP_AUTHORIZATION": f"Bearer {made['tokens'][who]}", "HTTP_ACCEPT": "application/json"}
        for _ in range(2):
            with CaptureQueriesContext(connection) as captured:
                if method == "GET":
                    response = client.get(path, **headers)
                else:
                    response = client.put(path, json.dumps(body), content_type="application/json", **headers)
        if response.status_code != 200:
            raise SystemExit(f"{method} {path}: HTTP {response.status_code} {response.content[:300]!r}")
        queries[name] = len(captured)
    return {"tokens": made["tokens"], "drafts": drafts, "queries": queries, "existing": made["existing"]}


def requests(drafts: list[int]) -> dict[str, tuple[str, str, str, dict | None]]:
    """The benchmarked requests: name → (method, path, whose token, JSON body)."""
    return {
        "me": ("GET", "/api/v1/me", "applicant", None),
        "queue": ("GET", "/api/v1/cases/queue?page_size=20", "reviewer", None),
        "draft": ("PUT", f"/api/v1/cases/drafts/{drafts[0]}", "applicant", {"form_data": {"business_name": "改"}}),
    }


if __name__ == "__main__":
    print(json.dumps(setup(json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}"))), flush=True)
