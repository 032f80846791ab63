"""Is the platform alive: the database answers, and background workers are turning.

The web side answering says nothing about the worker: when ``yiwang worker`` dies, scheduled
jobs (SLA sweep, deemed acceptance, license expiry, message retries) stop without a sound.
Each worker stamps a ``WorkerHeartbeat`` row from its task loop (``worker_beat``); this module
reads them for the operator's health page (``/workbench/health/``) and ``GET /api/v1/health``.
"""

import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from yiwang.core.models import ScheduledJob, WorkerHeartbeat

logger = logging.getLogger("yiwang.health")

PRUNE_AFTER = timedelta(days=1)


def heartbeat_seconds() -> int:
    return max(1, int(getattr(settings, "YIWANG_WORKER_HEARTBEAT_SECONDS", 15)))


def stale_after() -> timedelta:
    """A worker silent for three beats (at least a minute) is reported as stopped."""
    return timedelta(seconds=max(60, 3 * heartbeat_seconds()))


def worker_id_for_this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_beat(*, worker_id: str, started_at: datetime, tasks_run: int, scheduler: bool) -> None:
    """Stamp this worker's row (created on the first beat); prune rows silent for a day."""
    now = timezone.now()
    hostname, _sep, pid = worker_id.rpartition(":")
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "hostname": hostname or worker_id,
            "pid": int(pid) if pid.isdigit() else 0,
            "started_at": started_at,
            "beat_at": now,
            "tasks_run": tasks_run,
            "scheduler": scheduler,
        },
    )
    WorkerHeartbeat.objects.filter(beat_at__lt=now - PRUNE_AFTER).delete()


def worker_stopped(*, worker_id: str) -> None:
    """A clean stop: the row goes, so only live and crashed workers are listed."""
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


@dataclass(frozen=True)
class WorkerView:
    worker_id: str
    hostname: str
    pid: int
    started_at: datetime
    beat_at: datetime
    seconds_since_beat: int
    tasks_run: int
    scheduler: bool
    alive: bool


@dataclass(frozen=True)
class Health:
    status: str  # ok | degraded (no live worker) | unavailable (database down)
    database: bool
    workers: list[WorkerView]
    live_workers: int
    scheduled_jobs: list[ScheduledJob]
    checked_at: datetime


def health_check() -> Health:
    """The platform's health; never raises (a failing database is a result, not an error)."""
    now = timezone.now()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        rows = list(WorkerHeartbeat.objects.order_by("-beat_at")[:50])
        jobs = list(ScheduledJob.objects.order_by("name"))
    except Exception:
        logger.exception("health check: the database did not answer")
        return Health("unavailable", False, [], 0, [], now)
    limit = stale_after()
    workers = [
        WorkerView(
            worker_id=row.worker_id,
            hostname=row.hostname,
            pid=row.pid,
            started_at=row.started_at,
            beat_at=row.beat_at,
            seconds_since_beat=max(0, int((now - row.beat_at).total_seconds())),
            tasks_run=row.tasks_run,
            scheduler=row.scheduler,
            alive=now - row.beat_at <= limit,
        )
        for row in rows
    ]
    live = sum(1 for w in workers if w.alive)
    return Health("ok" if live else "degraded", True, workers, live, jobs, now)


def may_see_health_details(user) -> bool:
    """Operators: superusers and city administrators (市级管理员)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    from yiwang.identity.models import Role
    from yiwang.identity.selectors import roles_for_actor

    return roles_for_actor(actor=user).filter(role=Role.CITY_ADMIN).exists()
