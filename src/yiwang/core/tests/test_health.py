"""Worker heartbeats and the health answers: the load balancer learns only the status, the
operator sees the workers; a worker that stopped beating is reported as stopped."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from yiwang.core import health
from yiwang.core.management.commands.worker import HeartbeatWorker
from yiwang.core.models import WorkerHeartbeat
from yiwang.identity import mfa
from yiwang.identity.services import api_token_create
from yiwang.identity.tests.auth_helpers import make_admin, make_citizen, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cheap_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def operator_client(user) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    session[mfa.SESSION_VERIFIED] = True  # as after a TOTP check (tested in identity)
    session.save()
    return client


def make_worker(**overrides) -> HeartbeatWorker:
    options = {
        "scheduler": True,
        "queue_names": ["default"],
        "interval": 1.0,
        "batch": False,
        "backend_name": "default",
        "startup_delay": False,
        "max_tasks": None,
        "worker_id": "host-a:4242",
        "excluded_queue_names": [],
    }
    return HeartbeatWorker(**{**options, **overrides})


def test_the_worker_loop_stamps_its_heartbeat_at_most_once_per_interval(settings):
    settings.YIWANG_WORKER_HEARTBEAT_SECONDS = 3600
    worker = make_worker()
    assert worker.running  # the loop's test of ``running`` is the beat
    row = WorkerHeartbeat.objects.get(worker_id="host-a:4242")
    assert (row.hostname, row.pid, row.scheduler) == ("host-a", 4242, True)
    first = row.beat_at
    assert worker.running
    assert WorkerHeartbeat.objects.get().beat_at == first  # not one write per turn
    worker.beat(force=True)
    assert WorkerHeartbeat.objects.get().beat_at > first


def test_a_batch_worker_and_a_stopping_worker_do_not_beat():
    assert make_worker(batch=True, worker_id="batch:1").running
    stopping = make_worker(worker_id="stop:2")
    stopping._stopping = True
    assert stopping.running
    assert not WorkerHeartbeat.objects.exists()


def test_health_reports_live_and_stopped_workers_and_prunes_old_rows():
    now = timezone.now()
    health.worker_beat(worker_id="host-a:1", started_at=now, tasks_run=3, scheduler=True)
    WorkerHeartbeat.objects.create(
        worker_id="host-b:2", hostname="host-b", pid=2, started_at=now, beat_at=now - timedelta(minutes=5)
    )
    result = health.health_check()
    assert result.status == "ok" and result.database and result.live_workers == 1
    assert {w.worker_id: w.alive for w in result.workers} == {"host-a:1": True, "host-b:2": False}
    WorkerHeartbeat.objects.filter(worker_id="host-a:1").update(beat_at=now - timedelta(minutes=2))
    assert health.health_check().status == "degraded"
    WorkerHeartbeat.objects.filter(worker_id="host-b:2").update(beat_at=now - timedelta(days=2))
    health.worker_beat(worker_id="host-c:3", started_at=now, tasks_run=0, scheduler=False)
    assert set(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == {"host-a:1", "host-c:3"}
    health.worker_stopped(worker_id="host-c:3")
    assert not WorkerHeartbeat.objects.filter(worker_id="host-c:3").exists()


def test_anonymous_and_ordinary_users_get_the_status_only():
    health.worker_beat(worker_id="secret-host:99", started_at=timezone.now(), tasks_run=0, scheduler=True)
    citizen = make_citizen()
    clerk = make_staff()
    _t, raw = api_token_create(actor=clerk, user=clerk, name="监控")
    for client, headers in [
        (Client(), {}),
        (operator_client(citizen), {}),
        (Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw}"}),
    ]:
        response = client.get("/api/v1/health", **headers)
        assert response.status_code == 200 and response.json() == {"status": "ok"}
        assert "secret-host" not in response.content.decode()
    WorkerHeartbeat.objects.update(beat_at=timezone.now() - timedelta(hours=1))
    assert Client().get("/api/v1/health").json() == {"status": "degraded"}


def test_operators_get_the_details_by_api_and_page():
    health.worker_beat(worker_id="host-a:7", started_at=timezone.now(), tasks_run=5, scheduler=True)
    admin = make_admin()
    _t, raw = api_token_create(actor=admin, user=admin, name="监控")
    body = Client().get("/api/v1/health", HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert body["status"] == "ok" and body["database"] is True and body["live_workers"] == 1
    assert body["workers"][0]["worker_id"] == "host-a:7" and body["workers"][0]["tasks_run"] == 5
    page = operator_client(admin).get("/workbench/health/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-health-status="ok"' in html and "host-a:7" in html and "运行中" in html
    assert "/workbench/health/" in operator_client(admin).get("/workbench/").content.decode()


def test_the_health_page_is_a_404_for_everyone_else():
    assert Client().get("/workbench/health/").status_code == 302  # to the login page
    assert operator_client(make_staff()).get("/workbench/health/").status_code == 404
    assert operator_client(make_citizen()).get("/workbench/health/").status_code == 404


def test_database_down_is_503_unavailable(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("connection refused")

    monkeypatch.setattr(health.WorkerHeartbeat.objects, "order_by", broken)
    response = Client().get("/api/v1/health")
    assert response.status_code == 503 and response.json() == {"status": "unavailable"}
