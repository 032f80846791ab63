"""``GET /api/v1/health``: for the load balancer and for the operator.

Anonymous callers (the load balancer) get only ``{"status": ...}``: 200 ``ok`` or ``degraded``
(the web side serves; no background worker is beating), 503 ``unavailable`` (the database does
not answer). An operator (superuser, 市级管理员) signed in or with a token also gets the
database, the workers and their heartbeats, and the periodic jobs' last outcomes.
"""

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import Status

from yiwang.core import health
from yiwang.identity.auth import ApiTokenAuth

router = Router(tags=["health"])


class WorkerOut(Schema):
    worker_id: str = Field(description="host:pid")
    started_at: datetime
    beat_at: datetime = Field(description="Last heartbeat from the worker's task loop")
    seconds_since_beat: int
    tasks_run: int
    scheduler: bool = Field(description="Whether this worker enqueues the periodic jobs")
    alive: bool = Field(description="Beat within the last three heartbeat intervals")


class JobOut(Schema):
    name: str
    enabled: bool
    last_enqueued_at: datetime | None
    last_outcome: str
    next_due_at: datetime | None


class HealthOut(Schema):
    status: str = Field(description="ok | degraded (no live background worker) | unavailable (database down)")
    database: bool | None = Field(None, description="Operators only")
    live_workers: int | None = Field(None, description="Operators only")
    workers: list[WorkerOut] | None = Field(None, description="Operators only")
    scheduled_jobs: list[JobOut] | None = Field(None, description="Operators only")
    checked_at: datetime | None = Field(None, description="Operators only")


def _caller(request: HttpRequest):
    if request.headers.get("Authorization", "").lower().startswith("bearer "):
        return ApiTokenAuth()(request)
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


@router.get(
    "",
    response={200: HealthOut, 503: HealthOut},
    auth=None,
    summary="Health: status for anyone, details for operators",
    exclude_none=True,
)
def health_view(request: HttpRequest):
    """200 ``ok`` / ``degraded``, 503 ``unavailable``; details only for operators."""
    result = health.health_check()
    body: dict = {"status": result.status}
    if health.may_see_health_details(_caller(request)):
        body.update(
            database=result.database,
            live_workers=result.live_workers,
            workers=[w.__dict__ for w in result.workers],
            scheduled_jobs=[
                {
                    "name": j.name,
                    "enabled": j.enabled,
                    "last_enqueued_at": j.last_enqueued_at,
                    "last_outcome": j.last_outcome,
                    "next_due_at": j.next_due_at,
                }
                for j in result.scheduled_jobs
            ],
            checked_at=result.checked_at,
        )
    return Status(503 if result.status == "unavailable" else 200, body)
