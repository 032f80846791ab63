"""`yiwang serve`: the web server (gunicorn) and a background worker, together.

The worker also runs the periodic jobs (the hourly SLA sweep, daily license expiry; see
docs/operations.md), so nothing needs cron.

Enough for a county on one machine. At scale, run `gunicorn yiwang.wsgi` and
`yiwang worker` as separate services on several machines instead (README).
"""

import os
import signal
import subprocess
import sys

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the platform with gunicorn and run one background worker beside it."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=int(os.environ.get("YIWANG_WEB_WORKERS", "2")))
        parser.add_argument("--no-worker", action="store_true", help="do not start a background worker")

    def handle(self, *args, **options):
        bin_dir = os.path.dirname(sys.executable)
        children: list[subprocess.Popen] = []
        if not options["no_worker"]:
            children.append(subprocess.Popen([os.path.join(bin_dir, "yiwang"), "worker"]))
        web = subprocess.Popen(
            [
                os.path.join(bin_dir, "gunicorn"),
                "yiwang.wsgi",
                "--bind",
                f"{options['host']}:{options['port']}",
                "--workers",
                str(options["workers"]),
                "--access-logfile",
                "-",
            ]
        )
        children.append(web)
        self.stdout.write(
            self.style.SUCCESS(f"一网 serving on http://{options['host']}:{options['port']}/ (Ctrl-C to stop)")
        )

        def stop(signum, frame):
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            web.wait()
        finally:
            stop(None, None)
            for child in children:
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()
