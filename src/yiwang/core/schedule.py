"""Periodic jobs (定时任务): registered in code, coordinated through the database.

An app registers a job in its own ``tasks.py`` (imported at startup by core's
``AppConfig.ready()``, which autodiscovers every app's ``tasks`` module)::

    from django_tasks import task
    from yiwang.core.schedule import every

    @every(hours=1, name="cases.sweep", description="五个工作日视为受理;刷新时限状态")
    @task()
    def case_sweep() -> dict:
        return services.case_sweep()

Every ``yiwang worker`` runs a scheduler thread that calls :func:`run_due` every few
seconds (``yiwang schedule run-due`` does the same once, for cron-only setups). Each
job has a ``core.ScheduledJob`` row; claiming a due run locks the row
(``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite every transaction begins
``IMMEDIATE`` and so holds the write lock), re-checks that it is still due, moves
``next_due_at`` and enqueues the task in the same transaction: however many workers poll,
each due run is enqueued exactly once, or not at all if the transaction fails.

The next run is due one interval after the previous *due time* (not after the moment it
was claimed), skipping whatever was missed: a worker that was down for a day runs a
missed hourly job once, then keeps its cadence. The interval is, first found: the row's
``interval_seconds`` (set in the admin, audited), ``settings.YIWANG_SCHEDULE[name]``
(seconds; env ``YIWANG_SCHEDULE="cases.sweep=30m,licenses.expire=1d"``), the code's
default. Jobs must be idempotent: a run may start while the previous one still runs.
"""

import datetime
import inspect
import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core import checks
from django.db import OperationalError, close_old_connections, connections, transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext as _
from django_tasks.base import Task
from django_tasks_db.utils import is_locked_database_exception

from yiwang.core import events
from yiwang.core.audit import audit_record
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.models import MAX_INTERVAL_SECONDS, MIN_INTERVAL_SECONDS, ScheduledJob
from yiwang.core.taskqueue import requeue_abandoned

logger = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
DEFAULT_TICK_SECONDS = 5.0


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: Task
    interval: int  # seconds: the code's default
    description: str = ""  # shown in the admin and `yiwang schedule list`; pass gettext_lazy(...)

    @property
    def task_path(self) -> str:
        return self.task.module_path


@dataclass
class Registry:
    """Named periodic jobs. The platform has one (:data:`registry`); tests may build their own."""

    jobs: dict[str, PeriodicJob] = field(default_factory=dict)

    def register(self, *, name: str, task: Task, interval: int, description: str = "") -> PeriodicJob:
        if not isinstance(task, Task):
            raise TypeError(f"periodic job {name!r}: apply @every(...) above @task(), to a django-tasks Task")
        if not NAME_RE.match(name) or len(name) > 100:
            raise ValueError(f"periodic job name {name!r}: use '<app>.<job>' in lower case, e.g. 'cases.sweep'")
        if not MIN_INTERVAL_SECONDS <= interval <= MAX_INTERVAL_SECONDS:
            raise ValueError(f"periodic job {name!r}: interval must be 60 s to 366 days, got {interval} s")
        required = [
            p.name
            for p in inspect.signature(task.func).parameters.values()
            if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        if required or task.takes_context:
            raise ValueError(f"periodic job {name!r}: the task must take no arguments, it takes {required}")
        job = PeriodicJob(name=name, task=task, interval=interval, description=description)
        existing = self.jobs.get(name)
        if existing is not None and existing.task_path != job.task_path:
            raise ValueError(f"periodic job {name!r} is already registered for {existing.task_path}")
        self.jobs[name] = job
        _periodic_task_paths.add(job.task_path)
        return job

    def get(self, name: str) -> PeriodicJob | None:
        return self.jobs.get(name)

    def all(self) -> list[PeriodicJob]:
        return [self.jobs[name] for name in sorted(self.jobs)]


registry = Registry()
# Task paths of every registered job, so a finished task costs a query only if it is one.
_periodic_task_paths: set[str] = set()
_discovered = False
_discover_lock = threading.Lock()


def every(
    *, name: str, seconds: int = 0, minutes: int = 0, hours: int = 0, days: int = 0, description: str = ""
) -> Callable[[Task], Task]:
    """Register the decorated task (no arguments) to run every so often under ``name``."""
    interval = seconds + 60 * minutes + 3600 * hours + 86400 * days

    def register(task: Task) -> Task:
        registry.register(name=name, task=task, interval=interval, description=description)
        return task

    return register


def autodiscover() -> Registry:
    """Import every installed app's ``tasks`` module once, so their ``@every`` jobs register."""
    global _discovered
    if not _discovered:
        with _discover_lock:
            if not _discovered:
                autodiscover_modules("tasks")
                _discovered = True
    return registry


# ---------------------------------------------------------------------------
# Intervals and due times
# ---------------------------------------------------------------------------


def interval_for(job: PeriodicJob, row: ScheduledJob | None = None) -> tuple[int, str]:
    """The job's interval in seconds and where it comes from: ``admin``, ``settings`` or ``default``."""
    if row is not None and row.interval_seconds:
        return row.interval_seconds, "admin"
    configured = getattr(settings, "YIWANG_SCHEDULE", {}).get(job.name)
    if configured:
        return int(configured), "settings"
    return job.interval, "default"


def next_due_after(previous_due: datetime.datetime | None, now: datetime.datetime, interval: int) -> datetime.datetime:
    """The first due time after ``now`` on the cadence of ``previous_due``; missed runs are skipped."""
    step = datetime.timedelta(seconds=interval)
    if previous_due is None or previous_due > now:
        return now + step
    return previous_due + ((now - previous_due) // step + 1) * step


def format_interval(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# ---------------------------------------------------------------------------
# The scheduler
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    name: str
    task_id: str
    outcome: str


def jobs_sync(*, jobs: Registry | None = None) -> dict[str, ScheduledJob]:
    """Every row by name, creating the rows of newly registered jobs (due at once)."""
    jobs = jobs or autodiscover()
    rows = {row.name: row for row in ScheduledJob.objects.all()}
    missing = [ScheduledJob(name=job.name) for job in jobs.all() if job.name not in rows]
    if missing:
        # Several workers may start together: the unique name keeps one row each.
        ScheduledJob.objects.bulk_create(missing, ignore_conflicts=True)
        rows = {row.name: row for row in ScheduledJob.objects.all()}
    return rows


def run_due(*, now: datetime.datetime | None = None, jobs: Registry | None = None) -> list[Run]:
    """Enqueue every enabled job that is due at ``now``; what another scheduler claimed first is skipped."""
    jobs = jobs or autodiscover()
    now = now or timezone.now()
    runs = []
    for name, row in jobs_sync(jobs=jobs).items():
        if jobs.get(name) is None or not row.is_due(now):
            continue
        run = _claim_logged(name, now=now, jobs=jobs, force=False)
        if run is not None:
            runs.append(run)
    return runs


def run_now(name: str, *, now: datetime.datetime | None = None, jobs: Registry | None = None) -> Run:
    """Enqueue ``name`` now, due or not, enabled or not. A run before it is due leaves ``next_due_at`` alone."""
    jobs = jobs or autodiscover()
    if jobs.get(name) is None:
        raise NotFound(_("没有名为 %(name)s 的定时任务") % {"name": name}, fields={"name": _("未注册")})
    jobs_sync(jobs=jobs)
    run = claim(name, now=now or timezone.now(), jobs=jobs, force=True)
    if run is None:  # only if another scheduler changed the row between our read and our write
        raise Conflict()
    return run


def _claim_logged(name: str, *, now, jobs: Registry, force: bool) -> Run | None:
    try:
        return claim(name, now=now, jobs=jobs, force=force)
    except OperationalError as exc:
        if not is_locked_database_exception(exc):
            raise
        # SQLite stayed busy past its timeout (a long write elsewhere): nothing was claimed,
        # the next tick tries again.
        logger.warning("periodic job %s not claimed: the database is busy", name)
        return None
    except Exception as exc:
        # Nothing was claimed (the transaction rolled back): the next tick tries again.
        logger.exception("periodic job %s could not be enqueued", name)
        ScheduledJob.objects.filter(name=name).update(
            last_outcome=ScheduledJob.Outcome.FAILED,
            last_summary=_summary(f"enqueue failed: {type(exc).__name__}: {exc}"),
        )
        return None


def claim(name: str, *, now: datetime.datetime, jobs: Registry, force: bool = False) -> Run | None:
    """Enqueue ``name`` if it is (still) due at ``now``, or if ``force``; ``None`` if another claimed it first."""
    job = jobs.get(name)
    with transaction.atomic():
        # PostgreSQL: a row another scheduler is claiming right now is skipped, not waited for.
        # SQLite: BEGIN IMMEDIATE (settings) already made this transaction the only writer.
        rows = ScheduledJob.objects.select_for_update(skip_locked=not force, no_key=True)
        row = rows.filter(name=name).first()
        if row is None or not (force or row.is_due(now)):
            return None
        interval, _source = interval_for(job, row)
        next_due = next_due_after(row.next_due_at, now, interval) if row.is_due(now) else row.next_due_at
        # Compare-and-set on what was read: should the lock ever not hold (a database without
        # row locks, a SQLite file opened DEFERRED), a second claimant updates nothing.
        claimed = ScheduledJob.objects.filter(
            pk=row.pk, next_due_at=row.next_due_at, last_enqueued_at=row.last_enqueued_at
        ).update(next_due_at=next_due, last_enqueued_at=now)
        if claimed != 1:
            return None
        result = job.task.enqueue()
        outcome = _outcome_fields(result)
        ScheduledJob.objects.filter(pk=row.pk).update(
            last_task_id=str(result.id), run_count=row.run_count + 1, **outcome
        )
    logger.info("periodic job %s enqueued as task %s (next due %s)", name, result.id, next_due)
    return Run(name=name, task_id=str(result.id), outcome=outcome["last_outcome"])


def _summary(text: str) -> str:
    return text if len(text) <= 500 else text[:499] + "…"


def _outcome_fields(result) -> dict:
    status = str(getattr(result.status, "value", result.status))
    if status == "SUCCESSFUL":
        try:
            value = json.dumps(result.return_value, ensure_ascii=False, default=str, sort_keys=True)
        except Exception:
            value = ""
        return {
            "last_outcome": ScheduledJob.Outcome.SUCCEEDED,
            "last_finished_at": result.finished_at or timezone.now(),
            "last_summary": _summary(value),
        }
    if status == "FAILED":
        error = result.errors[-1] if result.errors else None
        lines = (error.traceback or "").strip().splitlines() if error else []
        text = lines[-1] if lines else (error.exception_class_path if error else "failed")
        return {
            "last_outcome": ScheduledJob.Outcome.FAILED,
            "last_finished_at": result.finished_at or timezone.now(),
            "last_summary": _summary(text),
        }
    return {"last_outcome": ScheduledJob.Outcome.QUEUED, "last_finished_at": None, "last_summary": ""}


def record_outcome(sender, task_result, **kwargs) -> None:
    """``task_finished`` receiver: write a periodic job's outcome on its row (never raises)."""
    try:
        if task_result.task.module_path not in _periodic_task_paths:
            return
        ScheduledJob.objects.filter(last_task_id=str(task_result.id)).update(**_outcome_fields(task_result))
    except Exception:
        # A signal receiver that raised would mark the task itself as failed.
        logger.exception("could not record the outcome of task %s", getattr(task_result, "id", "?"))


class SchedulerThread(threading.Thread):
    """Calls :func:`run_due` every ``period`` seconds on its own database connection until stopped."""

    def __init__(self, *, period: float = DEFAULT_TICK_SECONDS, jobs: Registry | None = None):
        super().__init__(name="yiwang-scheduler", daemon=True)
        self.period = period
        self.jobs = jobs
        self.ticks = 0
        self._stopping = threading.Event()

    def run(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    close_old_connections()
                    requeue_abandoned()
                    run_due(jobs=self.jobs)
                except Exception:
                    logger.exception("scheduler tick failed; trying again in %s s", self.period)
                self.ticks += 1
                self._stopping.wait(self.period)
        finally:
            connections.close_all()  # this thread's connections only

    def stop(self, timeout: float = 15.0) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join(timeout)


# ---------------------------------------------------------------------------
# Reads and the audited write (the admin)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class JobView:
    name: str
    description: str
    registered: bool
    enabled: bool
    interval: int | None
    interval_source: str
    next_due_at: datetime.datetime | None
    last_enqueued_at: datetime.datetime | None
    last_outcome: str
    last_summary: str
    run_count: int


def scheduled_job_list(*, jobs: Registry | None = None) -> list[JobView]:
    """Every job with its effective interval; rows of jobs no longer in the code are listed as unregistered."""
    jobs = jobs or autodiscover()
    views = []
    for name, row in sorted(jobs_sync(jobs=jobs).items()):
        job = jobs.get(name)
        if job is not None:
            interval, source = interval_for(job, row)
        else:
            interval, source = row.interval_seconds, "admin" if row.interval_seconds else ""
        views.append(
            JobView(
                name=name,
                description=job.description if job else "",
                registered=job is not None,
                enabled=row.enabled,
                interval=interval,
                interval_source=source,
                next_due_at=row.next_due_at,
                last_enqueued_at=row.last_enqueued_at,
                last_outcome=row.last_outcome,
                last_summary=row.last_summary,
                run_count=row.run_count,
            )
        )
    return views


_UNSET = object()


@transaction.atomic
def scheduled_job_update(
    *, actor, name: str, enabled=_UNSET, interval_seconds=_UNSET, next_due_at=_UNSET, jobs: Registry | None = None
) -> ScheduledJob:
    """Enable/disable a job, override its interval (``None``: back to settings/default) or move its next run.

    Audited as ``schedule.update`` with before/after values; an unchanged job is not audited.
    A new interval without a new ``next_due_at`` counts from the last run, so a shorter
    interval takes effect at once. Users need ``core.change_scheduledjob``.
    """
    if not isinstance(actor, str) and actor is not None and not actor.has_perm("core.change_scheduledjob"):
        raise Forbidden()
    row = ScheduledJob.objects.select_for_update(no_key=True).filter(name=name).first()
    if row is None:
        raise NotFound(_("没有名为 %(name)s 的定时任务") % {"name": name}, fields={"name": _("未注册")})
    if interval_seconds not in (_UNSET, None) and (
        not isinstance(interval_seconds, int)
        or isinstance(interval_seconds, bool)
        or not MIN_INTERVAL_SECONDS <= interval_seconds <= MAX_INTERVAL_SECONDS
    ):
        raise ValidationFailed(
            _("间隔须在60秒到366天之间"),
            code="schedule_interval",
            fields={"interval_seconds": _("间隔须在60秒到366天之间")},
        )
    if enabled is not _UNSET and not isinstance(enabled, bool):
        raise ValidationFailed(code="schedule_enabled", fields={"enabled": _("请选择是否启用")})
    before = {f: getattr(row, f) for f in ("enabled", "interval_seconds", "next_due_at")}
    if enabled is not _UNSET:
        row.enabled = enabled
    if interval_seconds is not _UNSET:
        row.interval_seconds = interval_seconds
    if next_due_at is not _UNSET:
        row.next_due_at = next_due_at
    elif row.interval_seconds != before["interval_seconds"] and row.last_enqueued_at is not None:
        job = (jobs or autodiscover()).get(name)
        if job is not None:
            row.next_due_at = row.last_enqueued_at + datetime.timedelta(seconds=interval_for(job, row)[0])
    changes = {f: [_plain(before[f]), _plain(getattr(row, f))] for f in before if before[f] != getattr(row, f)}
    if not changes:
        return row
    row.save(update_fields=list(changes))
    audit_record(actor=actor, action="schedule.update", obj=row, changes=changes)
    events.publish("schedule.updated", name=row.name, enabled=row.enabled, interval_seconds=row.interval_seconds)
    return row


def _plain(value):
    return value.isoformat() if isinstance(value, datetime.datetime) else value


# ---------------------------------------------------------------------------
# System check: a YIWANG_SCHEDULE entry that names no job is almost surely a typo.
# ---------------------------------------------------------------------------


@checks.register()
def check_schedule_settings(app_configs=None, **kwargs) -> list:
    problems = []
    names = {job.name for job in autodiscover().all()}
    for name, seconds in getattr(settings, "YIWANG_SCHEDULE", {}).items():
        if name not in names:
            problems.append(
                checks.Warning(
                    f"YIWANG_SCHEDULE names {name!r}, which is not a registered periodic job",
                    hint="`yiwang schedule list` shows the registered jobs",
                    id="yiwang.W001",
                )
            )
        elif not isinstance(seconds, int) or not MIN_INTERVAL_SECONDS <= seconds <= MAX_INTERVAL_SECONDS:
            problems.append(
                checks.Error(
                    f"YIWANG_SCHEDULE[{name!r}] must be 60 to {MAX_INTERVAL_SECONDS} seconds, got {seconds!r}",
                    id="yiwang.E001",
                )
            )
    return problems
