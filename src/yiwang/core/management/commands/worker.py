"""`yiwang worker`: run background tasks from the database queue (Django's task API).

Run one per core, on as many machines as needed; they coordinate through the database.
"""

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run background tasks (SLA sweeps, notifications, event delivery) from the database queue."

    def add_arguments(self, parser):
        parser.add_argument("--queue-name", default="default")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls when idle")
        parser.add_argument("--batch", action="store_true", help="process what is queued, then exit")

    def handle(self, *args, **options):
        argv = ["--queue-name", options["queue_name"], "--interval", str(options["interval"])]
        if options["batch"]:
            argv.append("--batch")
        call_command("db_worker", *argv)
