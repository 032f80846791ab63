"""Periodic jobs: each due run is enqueued once, however many schedulers poll; missed runs run once;
disabled jobs never run; admins' changes are audited; `yiwang schedule` and the worker drive it.

The clock is passed in (``now=``); nothing here waits on wall-clock time to assert anything.
"""

import datetime
import threading
import time
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections
from django.test import override_settings
from django.utils import timezone
from django_tasks.signals import task_enqueued
from django_tasks_db.models import DBTaskResult

from yiwang.core import schedule
from yiwang.core.errors import Forbidden, NotFound, ValidationFailed
from yiwang.core.models import AuditEvent, ScheduledJob
from yiwang.core.schedule import Registry, claim, jobs_sync, run_due, scheduled_job_update
from yiwang.core.tests import scheduled_tasks
from yiwang.core.tests.scheduled_tasks import explode, tick

DB_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
T = timezone.make_aware(datetime.datetime(2026, 3, 2, 9, 0))  # a Monday, 09:00 Beijing time
MINUTE = datetime.timedelta(minutes=1)
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


@pytest.fixture
def jobs() -> Registry:
    registry = Registry()
    registry.register(name="test.tick", task=tick, interval=3600, description="每小时记录一次")
    return registry


def queued(task) -> int:
    return DBTaskResult.objects.filter(task_path=task.module_path).count()


def row(name: str = "test.tick") -> ScheduledJob:
    return ScheduledJob.objects.get(name=name)


# --- registry ----------------------------------------------------------------------------------


def test_the_platform_registers_the_sweep_hourly_and_license_expiry_daily():
    from yiwang.cases.tasks import case_sweep
    from yiwang.licenses.tasks import licenses_expire

    jobs = schedule.autodiscover()
    assert jobs.get("cases.sweep").task is case_sweep and jobs.get("cases.sweep").interval == 3600
    assert jobs.get("licenses.expire").task is licenses_expire and jobs.get("licenses.expire").interval == 86400


def test_registry_refuses_what_cannot_be_scheduled(jobs):
    with pytest.raises(TypeError):
        jobs.register(name="test.plain", task=scheduled_tasks.tick.func, interval=3600)
    with pytest.raises(ValueError, match="no arguments"):
        jobs.register(name="test.args", task=scheduled_tasks.needs_argument, interval=3600)
    with pytest.raises(ValueError, match="already registered"):
        jobs.register(name="test.tick", task=explode, interval=3600)
    with pytest.raises(ValueError, match="60 s"):
        jobs.register(name="test.fast", task=tick, interval=5)
    with pytest.raises(ValueError, match="name"):
        jobs.register(name="Tick", task=tick, interval=3600)
    jobs.register(name="test.tick", task=tick, interval=3600)  # the same registration again is harmless
    assert [job.name for job in jobs.all()] == ["test.tick"]


def test_next_due_keeps_the_cadence_and_skips_missed_runs():
    assert schedule.next_due_after(None, T, 3600) == T + HOUR
    assert schedule.next_due_after(T, T, 3600) == T + HOUR
    assert schedule.next_due_after(T, T + 3 * MINUTE, 3600) == T + HOUR
    assert schedule.next_due_after(T, T + DAY + 10 * MINUTE, 3600) == T + 25 * HOUR
    assert schedule.format_interval(86400) == "1d" and schedule.format_interval(5400) == "90m"


# --- due, not due, missed, disabled (database queue: count what is enqueued) ---------------------


@override_settings(TASKS=DB_QUEUE)
@pytest.mark.django_db
def test_a_new_job_runs_at_once_then_once_per_interval(jobs):
    assert [run.name for run in run_due(now=T, jobs=jobs)] == ["test.tick"]
    assert queued(tick) == 1
    assert row().next_due_at == T + HOUR and row().last_enqueued_at == T
    assert row().last_outcome == ScheduledJob.Outcome.QUEUED
    assert run_due(now=T, jobs=jobs) == []
    assert run_due(now=T + 59 * MINUTE, jobs=jobs) == []
    assert queued(tick) == 1
    assert len(run_due(now=T + HOUR + 2 * MINUTE, jobs=jobs)) == 1
    assert queued(tick) == 2
    assert row().next_due_at == T + 2 * HOUR  # on the cadence, not two minutes late from now on
    assert row().run_count == 2


@override_settings(TASKS=DB_QUEUE)
@pytest.mark.django_db
def test_a_missed_day_runs_once_not_24_times(jobs):
    run_due(now=T, jobs=jobs)
    later = T + DAY + 10 * MINUTE  # the workers were down for a day
    assert len(run_due(now=later, jobs=jobs)) == 1
    assert run_due(now=later + MINUTE, jobs=jobs) == []
    assert queued(tick) == 2
    assert row().next_due_at == T + 25 * HOUR


@override_settings(TASKS=DB_QUEUE)
@pytest.mark.django_db
def test_a_disabled_job_does_not_run_and_the_change_is_audited(jobs):
    jobs_sync(jobs=jobs)
    scheduled_job_update(actor="command:test", name="test.tick", enabled=False)
    assert run_due(now=T, jobs=jobs) == []
    assert run_due(now=T + 30 * DAY, jobs=jobs) == []
    assert queued(tick) == 0
    event = AuditEvent.objects.get(action="schedule.update")
    assert event.actor_repr == "command:test" and event.changes == {"enabled": [True, False]}
    scheduled_job_update(actor="command:test", name="test.tick", enabled=True)
    assert len(run_due(now=T + 30 * DAY, jobs=jobs)) == 1
    # an unchanged job is not audited again
    scheduled_job_update(actor="command:test", name="test.tick", enabled=True)
    assert AuditEvent.objects.filter(action="schedule.update").count() == 2


@override_settings(TASKS=DB_QUEUE)
@pytest.mark.django_db
def test_two_schedulers_one_after_the_other_enqueue_once(jobs):
    # Scheduler B read the rows (job due) before scheduler A claimed the run: B's claim finds it taken.
    stale = jobs_sync(jobs=jobs)["test.tick"]
    assert stale.is_due(T)
    assert [run.name for run in run_due(now=T, jobs=jobs)] == ["test.tick"]
    assert claim("test.tick", now=T, jobs=jobs) is None
    assert run_due(now=T, jobs=jobs) == []
    assert queued(tick) == 1


@override_settings(TASKS=DB_QUEUE)
@pytest.mark.django_db(transaction=True)
def test_schedulers_in_many_threads_at_the_same_moment_enqueue_once(jobs):
    """Each thread has its own connection: row locks on PostgreSQL, IMMEDIATE transactions on SQLite."""
    jobs_sync(jobs=jobs)
    barrier = threading.Barrier(6)
    results: list = []

    def scheduler():
        try:
            barrier.wait()
            results.append(run_due(now=T, jobs=jobs))
        except Exception as exc:
            results.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scheduler) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(isinstance(r, list) for r in results), results
    assert sorted(len(r) for r in results) == [0, 0, 0, 0, 0, 1]
    assert queued(tick) == 1 and row().run_count == 1


@pytest.mark.postgres
@override_settings(TASKS=DB_QUEUE)
@pytest.mark.django_db(transaction=True)
def test_on_postgres_a_job_being_claimed_is_skipped_not_waited_for(jobs):
    jobs_sync(jobs=jobs)
    a_inside, b_done, a_finished = threading.Event(), threading.Event(), threading.Event()
    a_runs: list = []

    def hold_inside_the_claim(sender, task_result, **kwargs):
        if threading.current_thread().name == "scheduler-a":
            a_inside.set()  # A holds the row lock, its run enqueued but not committed
            b_done.wait(20)

    def scheduler_a():
        try:
            a_runs.extend(run_due(now=T, jobs=jobs))
        finally:
            a_finished.set()
            connections.close_all()

    task_enqueued.connect(hold_inside_the_claim)
    try:
        thread = threading.Thread(target=scheduler_a, name="scheduler-a")
        thread.start()
        assert a_inside.wait(20)
        b_runs = run_due(now=T, jobs=jobs)
        b_returned_while_a_held_the_lock = not a_finished.is_set()
        b_done.set()
        thread.join(timeout=30)
    finally:
        task_enqueued.disconnect(hold_inside_the_claim)
    assert b_runs == [] and b_returned_while_a_held_the_lock
    assert [run.name for run in a_runs] == ["test.tick"]
    assert queued(tick) == 1


# --- intervals: code default, settings, admin -------------------------------------------------------


@override_settings(TASKS=DB_QUEUE, YIWANG_SCHEDULE={"test.tick": 600})
@pytest.mark.django_db
def test_settings_override_the_default_and_the_admin_overrides_settings(jobs):
    run_due(now=T, jobs=jobs)
    assert row().next_due_at == T + 10 * MINUTE
    assert schedule.interval_for(jobs.get("test.tick"), row()) == (600, "settings")
    # a longer interval set by an admin counts from the last run
    scheduled_job_update(actor="command:test", name="test.tick", interval_seconds=7200, jobs=jobs)
    assert row().next_due_at == T + 2 * HOUR
    assert schedule.interval_for(jobs.get("test.tick"), row()) == (7200, "admin")
    assert run_due(now=T + HOUR, jobs=jobs) == []
    # back to settings: None clears the override
    scheduled_job_update(actor="command:test", name="test.tick", interval_seconds=None, jobs=jobs)
    assert row().next_due_at == T + 10 * MINUTE
    assert len(run_due(now=T + HOUR, jobs=jobs)) == 1


@pytest.mark.django_db
def test_schedule_changes_are_validated_and_authorized(jobs, django_user_model):
    jobs_sync(jobs=jobs)
    with pytest.raises(ValidationFailed) as exc:
        scheduled_job_update(actor="command:test", name="test.tick", interval_seconds=10)
    assert "interval_seconds" in exc.value.fields
    with pytest.raises(NotFound):
        scheduled_job_update(actor="command:test", name="no.such_job", enabled=False)
    clerk = django_user_model.objects.create_user(username="clerk1", password="x", is_staff=True, kind="staff")
    with pytest.raises(Forbidden):
        scheduled_job_update(actor=clerk, name="test.tick", enabled=False)
    assert row().enabled and row().interval_seconds is None
    assert not AuditEvent.objects.filter(action="schedule.update").exists()


def test_env_variable_sets_intervals(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from yiwang.settings import env_schedule

    monkeypatch.setenv("YIWANG_SCHEDULE", "cases.sweep=30m, licenses.expire=1d,x.y=90")
    assert env_schedule("YIWANG_SCHEDULE") == {"cases.sweep": 1800, "licenses.expire": 86400, "x.y": 90}
    monkeypatch.setenv("YIWANG_SCHEDULE", "cases.sweep")
    with pytest.raises(ImproperlyConfigured):
        env_schedule("YIWANG_SCHEDULE")


@override_settings(YIWANG_SCHEDULE={"cases.swep": 600, "licenses.expire": 10})
def test_system_check_flags_unknown_names_and_bad_intervals():
    ids = sorted(problem.id for problem in schedule.check_schedule_settings())
    assert ids == ["yiwang.E001", "yiwang.W001"]


# --- outcomes on the row ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_outcomes_are_written_on_the_row_immediate_backend(jobs):
    jobs.register(name="test.explode", task=explode, interval=3600)
    run_due(now=T, jobs=jobs)
    assert row().last_outcome == ScheduledJob.Outcome.SUCCEEDED and row().last_summary == '{"ticked": true}'
    failed = row("test.explode")
    assert failed.last_outcome == ScheduledJob.Outcome.FAILED
    assert failed.last_summary == "RuntimeError: the job failed on purpose"
    # the runs are on the rows; only the ticks' own audit event is in the chain, no "run" events
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["test.tick"]


@override_settings(TASKS=DB_QUEUE)
@pytest.mark.django_db(transaction=True)
def test_outcomes_are_written_when_the_worker_finishes_the_task(jobs):
    jobs.register(name="test.explode", task=explode, interval=3600)
    run_due(now=T, jobs=jobs)
    assert row().last_outcome == row("test.explode").last_outcome == ScheduledJob.Outcome.QUEUED
    call_command("worker", "--batch", "--interval", "0", verbosity=0)
    assert row().last_outcome == ScheduledJob.Outcome.SUCCEEDED and row().last_finished_at is not None
    assert row("test.explode").last_outcome == ScheduledJob.Outcome.FAILED
    assert "the job failed on purpose" in row("test.explode").last_summary
    assert AuditEvent.objects.filter(action="test.tick").count() == 1


# --- the scheduler thread a worker runs -----------------------------------------------------------


@override_settings(TASKS=DB_QUEUE)
@pytest.mark.django_db(transaction=True)
def test_scheduler_thread_enqueues_a_due_job_once_over_many_ticks(jobs):
    thread = schedule.SchedulerThread(period=0.01, jobs=jobs)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while thread.ticks < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        thread.stop()
    assert not thread.is_alive()
    assert thread.ticks >= 5
    assert queued(tick) == 1  # due once at the first tick, then not for an hour


# --- `yiwang schedule` --------------------------------------------------------------------------------


def command(*args) -> str:
    out = StringIO()
    call_command("schedule", *args, stdout=out)
    return out.getvalue()


@override_settings(TASKS=DB_QUEUE)
@pytest.mark.django_db
def test_schedule_command_lists_runs_due_and_runs_one():
    from yiwang.cases.tasks import case_sweep
    from yiwang.licenses.tasks import licenses_expire

    listing = command("list")
    assert "cases.sweep" in listing and "1h (default)" in listing
    assert "licenses.expire" in listing and "1d (default)" in listing
    from yiwang.core.schedule import autodiscover

    assert listing.count(" now ") == len(autodiscover().jobs) >= 4  # never run: due at once

    out = command("run-due")
    assert "enqueued cases.sweep" in out and "enqueued licenses.expire" in out
    assert command("run-due") == "nothing due\n"
    assert queued(case_sweep) == 1 and queued(licenses_expire) == 1

    next_due = row("cases.sweep").next_due_at
    assert "enqueued cases.sweep" in command("run", "cases.sweep")
    assert queued(case_sweep) == 2
    assert row("cases.sweep").next_due_at == next_due  # an extra run does not move the schedule
    assert row("cases.sweep").run_count == 2

    scheduled_job_update(actor="command:test", name="licenses.expire", enabled=False)
    listing = command("list")
    line = next(line for line in listing.splitlines() if line.startswith("licenses.expire"))
    assert " no " in line and "- (disabled)" in line and "queued" in line
    with pytest.raises(CommandError, match=r"nope\.job"):
        command("run", "nope.job")


# --- the admin ------------------------------------------------------------------------------------------


@pytest.fixture
def admin_client_(client, django_user_model):
    user = django_user_model.objects.create_user(username="ops1", password="x", is_staff=True, kind="staff")
    for codename in ("view_scheduledjob", "change_scheduledjob"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    from yiwang.identity.tests.auth_helpers import admin_force_login

    admin_force_login(client, user)  # 三员分立: the system admin's area
    return client


@pytest.mark.django_db
def test_admin_lists_jobs_and_edits_go_through_the_audited_service(admin_client_):
    body = admin_client_.get("/admin/core/scheduledjob/").content.decode()
    assert "cases.sweep" in body and "licenses.expire" in body and "1h" in body
    assert "/admin/core/scheduledjob/add/" not in body
    job = row("cases.sweep")
    url = f"/admin/core/scheduledjob/{job.pk}/change/"
    assert admin_client_.get(url).status_code == 200
    response = admin_client_.post(url, {"interval_seconds": "30", "next_due_at_0": "", "next_due_at_1": ""})
    assert response.status_code == 200 and "间隔不能少于60秒" in response.content.decode()
    response = admin_client_.post(url, {"interval_seconds": "1800", "next_due_at_0": "", "next_due_at_1": ""})
    assert response.status_code == 302
    job.refresh_from_db()
    assert not job.enabled and job.interval_seconds == 1800
    event = AuditEvent.objects.get(action="schedule.update")
    assert event.actor_repr == "ops1"
    assert event.changes == {"enabled": [True, False], "interval_seconds": [None, 1800]}


@pytest.mark.django_db
def test_admin_action_runs_a_job_now(admin_client_):
    jobs_sync()
    job = row("licenses.expire")
    response = admin_client_.post(
        "/admin/core/scheduledjob/", {"action": "run_now", "_selected_action": [str(job.pk)]}, follow=True
    )
    assert response.status_code == 200
    job.refresh_from_db()
    assert job.run_count == 1 and job.last_outcome == ScheduledJob.Outcome.SUCCEEDED
    assert job.last_summary == '{"expired": 0}'


@pytest.mark.django_db
def test_staff_without_the_permission_cannot_see_or_change_jobs(client, django_user_model):
    user = django_user_model.objects.create_user(username="clerk2", password="x", is_staff=True, kind="staff")
    client.force_login(user)
    assert client.get("/admin/core/scheduledjob/").status_code == 403


@override_settings(TASKS={"default": {**DB_QUEUE["default"], "QUEUES": ["elsewhere"]}})
@pytest.mark.django_db
def test_a_job_that_cannot_be_enqueued_is_not_claimed_and_says_why(jobs):
    assert run_due(now=T, jobs=jobs) == []  # the task's queue "default" is not served any more
    job = row()
    assert job.last_outcome == ScheduledJob.Outcome.FAILED and job.last_summary.startswith("enqueue failed:")
    assert "default" in job.last_summary
    assert job.next_due_at is None and job.run_count == 0  # still due: the next tick tries again
    assert queued(tick) == 0


@pytest.mark.parametrize("argv", [["--schedule-interval", "0"], ["--schedule-interval", "-5"], ["--interval", "0"]])
def test_worker_refuses_intervals_that_would_poll_non_stop(argv):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="interval"):
        call_command("worker", *argv)
