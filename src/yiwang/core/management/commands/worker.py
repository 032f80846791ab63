"""`yiwang worker`: run background tasks from the database queue (Django's task API), and periodic jobs.

Run one per core, on as many machines as needed; they coordinate through the database.
Beside the queue, each worker runs a scheduler thread that enqueues the periodic jobs
(`yiwang schedule list`) when they are due; claims are atomic, so every due run is
enqueued once however many workers there are.

Each worker's task loop stamps a heartbeat row (``core.health``) every
``YIWANG_WORKER_HEARTBEAT_SECONDS``; the operator's health page shows a worker whose
heartbeat stopped.
"""

import logging
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS
from django_tasks_db.management.commands.db_worker import Worker

from yiwang.core import health
from yiwang.core.schedule import DEFAULT_TICK_SECONDS, SchedulerThread
from yiwang.core.taskqueue import requeue_abandoned

logger = logging.getLogger("yiwang.worker")


class HeartbeatWorker(Worker):
    """django-tasks-db's worker, stamping ``WorkerHeartbeat`` from its own loop.

    The loop tests ``self.running`` once per turn (after a task, or after the idle sleep), so
    the stamp is taken there: a worker stuck in its loop stops beating, unlike a side thread
    that would beat on regardless. At most one write per ``heartbeat_seconds``."""

    def __init__(self, *, scheduler: bool, **kwargs):
        self._running = True
        self._stopping = False
        self._next_beat = 0.0
        self.scheduler = scheduler
        self.started_at = timezone.now()
        super().__init__(**kwargs)

    @property
    def running(self) -> bool:
        if self._running and not self._stopping and not self.batch:
            self.beat()
        return self._running

    @running.setter
    def running(self, value: bool) -> None:
        self._running = value

    def beat(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self._next_beat:
            return
        self._next_beat = now + health.heartbeat_seconds()
        try:  # the loop itself closes stale connections each turn
            health.worker_beat(
                worker_id=self.worker_id,
                started_at=self.started_at,
                tasks_run=self._run_tasks,
                scheduler=self.scheduler,
            )
        except Exception:  # a database hiccup must not stop the worker; the next beat retries
            logger.exception("worker %s: heartbeat not recorded", self.worker_id)

    def shutdown(self, signum, frame) -> None:
        self._stopping = True  # no database write from inside the signal handler
        super().shutdown(signum, frame)


class Command(BaseCommand):
    help = "Run background tasks (SLA sweeps, notifications, event delivery) from the database queue."

    def add_arguments(self, parser):
        parser.add_argument("--queue-name", default="default")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls when idle")
        parser.add_argument("--batch", action="store_true", help="process what is queued, then exit (no scheduler)")
        parser.add_argument(
            "--no-scheduler",
            action="store_true",
            help="do not enqueue periodic jobs from this worker (e.g. cron runs `yiwang schedule run-due`)",
        )
        parser.add_argument(
            "--schedule-interval",
            type=float,
            default=DEFAULT_TICK_SECONDS,
            help="seconds between checks for due periodic jobs",
        )

    def handle(self, *args, **options):
        polling = not options["batch"]  # --batch drains the queue once: no idle polling, no scheduler
        if polling and not options["no_scheduler"] and options["schedule_interval"] <= 0:
            raise CommandError("--schedule-interval: more than 0 seconds (0 would poll the database non-stop)")
        if options["interval"] < 0 or (polling and options["interval"] == 0):
            raise CommandError("--interval: more than 0 seconds (0 only with --batch)")
        requeue_abandoned()  # tasks a dead worker left RUNNING past their lease (core.taskqueue)
        scheduler = None
        if not options["batch"] and not options["no_scheduler"]:
            scheduler = SchedulerThread(period=options["schedule_interval"])
            scheduler.start()
        worker = HeartbeatWorker(
            scheduler=scheduler is not None,
            queue_names=options["queue_name"].split(","),
            interval=options["interval"],
            batch=options["batch"],
            backend_name=DEFAULT_TASK_BACKEND_ALIAS,
            startup_delay=not options["batch"],
            max_tasks=None,
            worker_id=health.worker_id_for_this_process()[:64],
            excluded_queue_names=[],
        )
        try:
            # The worker handles SIGTERM/SIGINT: it finishes the running task (or exits at once
            # when idle, by SystemExit); either way the scheduler stops here before the process ends.
            worker.configure_signals()
            if polling:
                worker.beat(force=True)
            worker.run()
        finally:
            if scheduler is not None:
                scheduler.stop()
            if polling:
                try:
                    health.worker_stopped(worker_id=worker.worker_id)
                except Exception:
                    logger.exception("worker %s: heartbeat row not removed", worker.worker_id)
