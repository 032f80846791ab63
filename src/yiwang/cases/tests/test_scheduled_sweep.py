"""Nobody wires cron: a plain `yiwang worker` applies the five-working-day rule (行政许可法第三十二条)
on its own, because the sweep is a periodic job its scheduler enqueues, and it stops cleanly on SIGTERM."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from yiwang.cases import services
from yiwang.cases.models import CaseState, SlaStatus
from yiwang.cases.tests.factories import FORM
from yiwang.core.models import ScheduledJob

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

BIN = Path(sys.executable).parent


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = quote(s["USER"] or "") + (":" + quote(s["PASSWORD"]) if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def test_a_plain_worker_deems_an_old_case_accepted_and_stops_on_sigterm(world, at):
    at(2025, 9, 30, 16)  # submitted long ago; nobody accepted it in 5 working days
    case = services.case_submit(actor=world.applicant, item=world.market_item, form_data=FORM)[0]
    assert case.state == CaseState.SUBMITTED

    # The production settings (database queue), the test database, the real clock.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "yiwang.settings", "DATABASE_URL": database_url()}
    worker = subprocess.Popen(
        [BIN / "yiwang", "worker", "--interval", "0.2", "--schedule-interval", "0.2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and worker.poll() is None:
            case.refresh_from_db()
            job = ScheduledJob.objects.filter(name="cases.sweep").first()
            if job and job.last_outcome == ScheduledJob.Outcome.SUCCEEDED:
                break
            time.sleep(0.2)
        assert worker.poll() is None, "the worker died"
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0, output

    case.refresh_from_db()
    assert case.state == CaseState.ACCEPTED and case.deemed_accepted, output
    assert case.sla_status == SlaStatus.OVERDUE  # due 21 Oct 2025, long past
    job = ScheduledJob.objects.get(name="cases.sweep")
    assert job.run_count == 1 and job.last_outcome == ScheduledJob.Outcome.SUCCEEDED
    assert '"deemed_accepted": 1' in job.last_summary
    assert job.next_due_at > job.last_enqueued_at
