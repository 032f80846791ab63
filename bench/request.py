"""Benchmark `request`: what the platform adds to a request, as a ratio to the bare floor.

Three requests, each by a bearer-token client over keep-alive HTTP/1.1 against the platform
served like the floor (same server setup, same connections, same duration):

* ``GET /api/v1/me`` — the cheapest authenticated JSON read (target: ≥ 0.67 × floor, i.e. it
  costs at most 1.5 bare requests);
* ``GET /api/v1/cases/queue`` — a reviewer's paginated list, scoped by role grants;
* ``PUT /api/v1/cases/drafts/{id}`` — an audited write: lock the draft, write what changed, an
  event on the SM3 audit chain (target: ≥ 0.33 × floor, at most 3 bare requests). One draft
  per connection, so the writers do not queue on one row.

Each row also gives the database statements of that request (``queries``), counted in the
setup worker through Django's test client.
"""

import json
import uuid

from bench.core import HOST, Context, Row, Target, benchmark, measure_load, run_module

EXISTING = 1000  # cases already in the table (the queue's scope is filtered from them)


def _put(port: int, token: str, path: str, body: dict) -> bytes:
    data = json.dumps(body, ensure_ascii=False).encode()
    return (
        f"PUT {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\nConnection: keep-alive\r\n\r\n"
    ).encode() + data


@benchmark("request", "authenticated JSON read, a role-scoped list and an audited write over HTTP, × bare floor")
def run(ctx: Context, target: Target) -> list[Row]:
    opts = ctx.options
    existing = int(opts.get("request_existing", EXISTING))
    setup = run_module(
        target,
        "bench.request_worker",
        json.dumps({"existing": existing, "drafts": opts["connections"]}),
        what="request worker",
    )
    tokens, queries = setup["tokens"], setup["queries"]
    rows = [
        measure_load(
            ctx,
            target,
            benchmark="request",
            case="GET /api/v1/me (bearer)",
            path="/api/v1/me",
            token=tokens["applicant"],
        ),
        measure_load(
            ctx,
            target,
            benchmark="request",
            case="GET /api/v1/cases/queue (list)",
            path="/api/v1/cases/queue?page_size=20",
            token=tokens["reviewer"],
        ),
    ]

    def drafts(port: int) -> list[bytes]:
        return [
            _put(
                port,
                tokens["applicant"],
                f"/api/v1/cases/drafts/{draft}",
                {"form_data": {"business_name": f"压测草稿 {uuid.uuid4().hex[:8]}"}},
            )
            for draft in setup["drafts"]
        ]

    rows.append(
        measure_load(
            ctx,
            target,
            benchmark="request",
            case="PUT /api/v1/cases/drafts/{id} (audited)",
            path="/api/v1/me",
            token=tokens["applicant"],
            build=drafts,
        )
    )
    for row, name in zip(rows, ("me", "queue", "draft"), strict=True):
        row.queries = queries[name]
        row.note += f"; {setup['existing']:,} cases in the table" if name == "queue" else ""
    return rows
