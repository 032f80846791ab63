"""Tasks abandoned by a worker that died (SIGKILL, power loss, OOM) are picked up again.

django-tasks-db marks a task RUNNING when a worker claims it and SUCCESSFUL/FAILED when it ends;
a worker killed in between leaves it RUNNING for ever — and with it, say, the message to the
applicant that the task was sending. Every worker therefore, at start and on each scheduler tick,
puts back to READY the tasks that have been RUNNING longer than the lease
(``YIWANG_TASK_LEASE_SECONDS``, default 15 minutes: longer than any task of ours runs), so the
queue delivers **at least once**; the handlers are idempotent (messages by their dedupe key,
licenses by their case, sweeps by state), which makes the effect exactly once. A task claimed
``YIWANG_TASK_MAX_CLAIMS`` times (default 3) without finishing is marked FAILED instead of being
retried for ever, with the reason in its exception fields for the operator.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

logger = logging.getLogger("yiwang.tasks")


def requeue_abandoned(*, lease_seconds: float | None = None, max_claims: int | None = None) -> tuple[int, int]:
    """Put tasks RUNNING past their lease back in the queue; fail those claimed too often.

    Returns (requeued, failed).
    """
    lease = settings.TASK_LEASE_SECONDS if lease_seconds is None else lease_seconds
    limit = settings.TASK_MAX_CLAIMS if max_claims is None else max_claims
    cutoff = timezone.now() - timedelta(seconds=lease)
    stale = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, started_at__lt=cutoff)
    # Each claim appends the worker's id to the row; there are few stale rows, so count in Python.
    too_often = [pk for pk, workers in stale.values_list("pk", "worker_ids") if len(workers or []) >= limit]
    failed = stale.filter(pk__in=too_often).update(
        status=TaskResultStatus.FAILED,
        finished_at=timezone.now(),
        exception_class_path="yiwang.core.taskqueue.Abandoned",
        traceback=f"claimed {limit} times by workers that died before finishing it",
    )
    requeued = stale.update(status=TaskResultStatus.READY, started_at=None)
    if requeued or failed:
        logger.warning(
            "tasks abandoned by a dead worker: %d requeued, %d failed after %d claims", requeued, failed, limit
        )
    return requeued, failed
