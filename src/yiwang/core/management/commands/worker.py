"""`yiwang worker`: run background tasks from the database queue (Django's task API), and periodic jobs.

Run one per core, on as many machines as needed; they coordinate through the database.
Beside the queue, each worker runs a scheduler thread that enqueues the periodic jobs
(`yiwang schedule list`) when they are due; claims are atomic, so every due run is
enqueued once however many workers there are.
"""

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from yiwang.core.schedule import DEFAULT_TICK_SECONDS, SchedulerThread
from yiwang.core.taskqueue import requeue_abandoned


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
        argv = ["--queue-name", options["queue_name"], "--interval", str(options["interval"])]
        if options["batch"]:
            argv.append("--batch")
        requeue_abandoned()  # tasks a dead worker left RUNNING past their lease (core.taskqueue)
        scheduler = None
        if not options["batch"] and not options["no_scheduler"]:
            scheduler = SchedulerThread(period=options["schedule_interval"])
            scheduler.start()
        try:
            # db_worker handles SIGTERM/SIGINT: it finishes the running task (or exits at once
            # when idle, by SystemExit); either way the scheduler stops here before the process ends.
            call_command("db_worker", *argv)
        finally:
            if scheduler is not None:
                scheduler.stop()
