"""Tasks left RUNNING by a dead worker go back to the queue after their lease, and fail after N claims."""

import datetime

import pytest
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from yiwang.core.taskqueue import requeue_abandoned

pytestmark = pytest.mark.django_db


def _task(*, started_minutes_ago: float | None, claims: int, status=TaskResultStatus.RUNNING) -> DBTaskResult:
    started = None if started_minutes_ago is None else timezone.now() - datetime.timedelta(minutes=started_minutes_ago)
    return DBTaskResult.objects.create(
        status=status,
        args_kwargs={"args": [], "kwargs": {}},
        task_path="yiwang.core.tests.scheduled_tasks.noop",
        queue_name="default",
        backend_name="default",
        priority=0,
        started_at=started,
        worker_ids=[f"w{i}" for i in range(claims)],
    )


def test_running_past_the_lease_is_requeued_and_a_fresh_one_is_left_alone():
    dead = _task(started_minutes_ago=20, claims=1)
    alive = _task(started_minutes_ago=1, claims=1)
    done = _task(started_minutes_ago=20, claims=1, status=TaskResultStatus.SUCCESSFUL)
    assert requeue_abandoned(lease_seconds=600, max_claims=3) == (1, 0)
    dead.refresh_from_db(), alive.refresh_from_db(), done.refresh_from_db()
    assert dead.status == TaskResultStatus.READY and dead.started_at is None
    assert alive.status == TaskResultStatus.RUNNING
    assert done.status == TaskResultStatus.SUCCESSFUL
    assert requeue_abandoned(lease_seconds=600, max_claims=3) == (0, 0)


def test_a_task_that_kills_every_worker_fails_after_max_claims():
    poison = _task(started_minutes_ago=20, claims=3)
    assert requeue_abandoned(lease_seconds=600, max_claims=3) == (0, 1)
    poison.refresh_from_db()
    assert poison.status == TaskResultStatus.FAILED
    assert poison.exception_class_path == "yiwang.core.taskqueue.Abandoned"
    assert "3" in poison.traceback
