"""``yiwang schedule``: the periodic jobs (registered in code; see docs/operations.md).

yiwang schedule list          every job: enabled, interval (and where it comes from), last and next run, outcome
yiwang schedule run-due       enqueue what is due now (for setups where cron, not the worker, drives the schedule)
yiwang schedule run NAME      enqueue one job now, due or not (its next due time stays as it is)
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from yiwang.core import schedule
from yiwang.core.errors import YiwangError


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


class Command(BaseCommand):
    help = "List periodic jobs, enqueue the due ones, or run one now."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="list the periodic jobs")
        sub.add_parser("run-due", help="enqueue every enabled job that is due now")
        run = sub.add_parser("run", help="enqueue one job now")
        run.add_argument("name")

    def handle(self, *args, action, **options):
        try:
            return getattr(self, "handle_" + action.replace("-", "_"))(**options)
        except YiwangError as exc:
            raise CommandError(str(exc.message)) from exc

    def handle_list(self, **options):
        rows = [("NAME", "ENABLED", "INTERVAL", "LAST RUN", "NEXT RUN", "RUNS", "OUTCOME", "SUMMARY")]
        for job in schedule.scheduled_job_list():
            interval = f"{schedule.format_interval(job.interval)} ({job.interval_source})" if job.interval else "-"
            next_run = _when(job.next_due_at) if job.next_due_at else "now"
            rows.append(
                (
                    job.name if job.registered else f"{job.name} (not registered)",
                    "yes" if job.enabled else "no",
                    interval,
                    _when(job.last_enqueued_at),
                    next_run if job.enabled else "- (disabled)",
                    str(job.run_count),
                    job.last_outcome,
                    job.last_summary,
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)] + [row[-1]]
            self.stdout.write("  ".join(cells).rstrip())

    def handle_run_due(self, **options):
        runs = schedule.run_due()
        for run in runs:
            self.stdout.write(f"enqueued {run.name} (task {run.task_id}, {run.outcome})")
        if not runs:
            self.stdout.write("nothing due")

    def handle_run(self, *, name, **options):
        run = schedule.run_now(name)
        self.stdout.write(f"enqueued {run.name} (task {run.task_id}, {run.outcome})")
