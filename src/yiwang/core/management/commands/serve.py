"""`yiwang serve`: the web server (gunicorn) and a background worker, together, supervised.

The worker also runs the periodic jobs (the hourly SLA sweep, daily license expiry; see
docs/operations.md), so nothing needs cron. When the worker dies (a crash, the OOM killer,
kill -9) it is started again after a back-off (1 s, doubling to at most a minute; reset once
it has run for a minute), and the restart is logged; its heartbeat shows on the operator's
health page. When gunicorn itself ends, `yiwang serve` stops the worker and exits with
gunicorn's status, so the service manager (systemd) restarts the whole.

Each instance gives gunicorn its own control socket under its var dir (gunicorn ≥ 23 would
otherwise share ``~/.gunicorn/gunicorn.ctl`` between two instances on one machine).

Enough for a county on one machine. At scale, run `gunicorn yiwang.wsgi` and
`yiwang worker` as separate services on several machines instead (README).
"""

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

logger = logging.getLogger("yiwang.serve")

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 60.0
HEALTHY_RUN = 60.0  # a worker that ran this long before dying restarts without waiting long
POLL = 0.5
# AF_UNIX paths are limited to 108 bytes on Linux; a longer var dir gets no control socket.
MAX_SOCKET_PATH = 100


def control_socket_args(var_dir: Path, port: int) -> list[str]:
    path = Path(var_dir) / f"gunicorn-{port}.ctl"
    if len(str(path)) > MAX_SOCKET_PATH:
        return ["--no-control-socket"]
    return ["--control-socket", str(path)]


class Supervised:
    """One child command, started again with back-off when it ends unexpectedly."""

    def __init__(self, name: str, argv: list[str]):
        self.name = name
        self.argv = argv
        self.process: subprocess.Popen | None = None
        self.started = 0.0
        self.backoff = BACKOFF_FIRST
        self.restart_at: float | None = None
        self.restarts = 0

    def start(self) -> None:
        self.process = subprocess.Popen(self.argv)
        self.started = time.monotonic()
        self.restart_at = None

    def poll(self) -> None:
        """Notice an exit and schedule the restart; restart when due."""
        now = time.monotonic()
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.restarts += 1
                logger.warning("restarting the %s (restart #%d)", self.name, self.restarts)
                self.start()
            return
        code = self.process.poll() if self.process else None
        if code is None:
            return
        ran = now - self.started
        if ran >= HEALTHY_RUN:
            self.backoff = BACKOFF_FIRST
        delay = self.backoff
        self.backoff = min(self.backoff * 2, BACKOFF_MAX)
        logger.error(
            "the %s (pid %s) ended with status %s after %.0f s; starting it again in %.0f s",
            self.name,
            self.process.pid,
            code,
            ran,
            delay,
        )
        self.restart_at = now + delay

    def stop(self) -> None:
        self.restart_at = None
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Command(BaseCommand):
    help = "Serve the platform with gunicorn and run one supervised background worker beside it."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=int(os.environ.get("YIWANG_WEB_WORKERS", "2")))
        parser.add_argument("--no-worker", action="store_true", help="do not start a background worker")
        parser.add_argument(
            "--timeout",
            type=int,
            default=int(os.environ.get("YIWANG_WEB_TIMEOUT", "120")),
            help="seconds a web worker may stay silent (loading the app, one request) before gunicorn "
            "restarts it; gunicorn's own 30 s killed workers still loading on a slow or busy host",
        )

    def handle(self, *args, **options):
        bin_dir = os.path.dirname(sys.executable)
        from yiwang.core.siteurl import bind_mismatch, serve_site_url

        site_url = serve_site_url(options["host"], options["port"])
        if site_url:  # QR codes follow the port served (make demo PORT=…); children inherit it
            os.environ["YIWANG_SITE_URL"] = site_url
        warning = bind_mismatch(options["host"], options["port"], site_url or settings.SITE_URL)
        if warning:
            self.stderr.write(self.style.WARNING(warning))
        worker = None
        if not options["no_worker"]:
            worker = Supervised("background worker", [os.path.join(bin_dir, "yiwang"), "worker"])
            worker.start()
        web = subprocess.Popen(
            [
                os.path.join(bin_dir, "gunicorn"),
                "yiwang.wsgi",
                "--bind",
                f"{options['host']}:{options['port']}",
                "--workers",
                str(options["workers"]),
                "--timeout",
                str(options["timeout"]),
                "--access-logfile",
                "-",
                *control_socket_args(settings.VAR_DIR, options["port"]),
            ]
        )
        self.stdout.write(
            self.style.SUCCESS(f"一网 serving on http://{options['host']}:{options['port']}/ (Ctrl-C to stop)")
        )
        self.stdout.flush()
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True
            if web.poll() is None:
                web.send_signal(signal.SIGTERM)
            if worker is not None:
                worker.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            while web.poll() is None:
                if worker is not None and not stopping:
                    worker.poll()
                time.sleep(POLL)
        finally:
            stop(None, None)
            try:
                web.wait(timeout=15)
            except subprocess.TimeoutExpired:
                web.kill()
            if worker is not None:
                worker.wait(timeout=15)
        if web.returncode and not stopping:
            logger.error("gunicorn ended with status %s; stopping", web.returncode)
            sys.exit(web.returncode)
