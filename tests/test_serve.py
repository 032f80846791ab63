"""`yiwang serve` — the last step of `make demo` — really serves the platform and a worker."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.installs import migrated_sqlite_var

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    env = {**os.environ, "YIWANG_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "yiwang.settings"}
    env.pop("DATABASE_URL", None)  # the embedded default: SQLite under the var dir
    env.pop("YIWANG_SITE_URL", None)  # serve derives it from --host/--port (issue #14)
    migrated_sqlite_var(tmp_path)  # `yiwang migrate` into the var dir (migrated once per run, copied)
    port = free_port()
    proc = subprocess.Popen(
        [BIN / "yiwang", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(base + "/", timeout=2)
            break
        except httpx.TransportError:
            time.sleep(0.3)
    yield base, proc
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


def test_serve_answers_pages_api_and_static_and_stops_cleanly(served):
    base, proc = served
    home = httpx.get(base + "/", headers={"Accept-Language": "zh-hans"})
    assert home.status_code == 200
    assert "一网" in home.text
    assert httpx.get(base + "/api/v1/openapi.json").json()["openapi"].startswith("3.1")
    assert httpx.get(base + "/static/ninja/swagger-ui.css").status_code == 200
    assert proc.poll() is None
    # the worker runs beside the web server
    children = subprocess.run(
        ["ps", "-ww", "-o", "pid=,args=", "--ppid", str(proc.pid)], capture_output=True, text=True
    )
    assert "worker" in children.stdout and "gunicorn" in children.stdout
    child_pids = [int(line.split()[0]) for line in children.stdout.splitlines() if line.strip()]
    # QR codes follow the port served: the web workers got SITE_URL from --host/--port (issue #14)
    gunicorn_pid = next(int(line.split()[0]) for line in children.stdout.splitlines() if "gunicorn" in line)
    environ = Path(f"/proc/{gunicorn_pid}/environ").read_bytes().split(b"\0")
    assert f"YIWANG_SITE_URL={base}".encode() in environ
    # SIGTERM to `yiwang serve` alone (as systemd or Ctrl-C would): it must stop its children too
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(_alive(pid) for pid in child_pids):
        time.sleep(0.2)
    assert [pid for pid in child_pids if _alive(pid)] == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie that nobody reaped yet has stopped too
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


def _children(pid: int) -> dict[int, str]:
    out = subprocess.run(["ps", "-ww", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return {int(line.split()[0]): line for line in out.splitlines() if line.strip()}


def _worker_pid(serve_pid: int) -> int | None:
    return next((pid for pid, args in _children(serve_pid).items() if "worker" in args and _alive(pid)), None)


def _heartbeats(var_dir: Path) -> dict[int, str]:
    import sqlite3

    with sqlite3.connect(var_dir / "yiwang.sqlite3", timeout=10) as db:
        return dict(db.execute("SELECT pid, beat_at FROM core_workerheartbeat").fetchall())


def _wait(predicate, seconds: float):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    return predicate()


def test_serve_restarts_a_killed_worker_and_its_heartbeat_resumes(tmp_path):
    env = {
        **os.environ,
        "YIWANG_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "yiwang.settings",
        "YIWANG_WORKER_HEARTBEAT_SECONDS": "1",
    }
    env.pop("DATABASE_URL", None)
    migrated_sqlite_var(tmp_path)  # `yiwang migrate` into the var dir (migrated once per run, copied)
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [BIN / "yiwang", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        first = _wait(lambda: _worker_pid(proc.pid), 60)
        assert first, (tmp_path / "serve.log").read_text()
        assert _wait(lambda: first in _heartbeats(tmp_path), 60), (tmp_path / "serve.log").read_text()
        # gunicorn's control socket is this instance's own, under its var dir
        assert (tmp_path / f"gunicorn-{port}.ctl").exists()

        os.kill(first, signal.SIGKILL)
        restarted = _wait(lambda: (pid := _worker_pid(proc.pid)) not in (None, first) and pid, 30)
        assert restarted, (tmp_path / "serve.log").read_text()

        def new_beat():  # from whichever worker now runs (a slow start may itself be restarted)
            beats = {pid: at for pid, at in _heartbeats(tmp_path).items() if pid != first}
            return next(iter(beats.items()), None)

        found = _wait(new_beat, 90)
        assert found, (tmp_path / "serve.log").read_text()
        pid, beat = found
        assert _wait(lambda: _heartbeats(tmp_path).get(pid, beat) > beat, 30)  # and it keeps beating
        text = (tmp_path / "serve.log").read_text()
        assert "ended with status -9" in text and "restarting the background worker" in text
        # the web side answered throughout, and still does
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5).json() == {"status": "ok"}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


def test_control_socket_is_per_instance_or_off_when_the_path_is_too_long():
    from yiwang.core.management.commands.serve import control_socket_args

    assert control_socket_args(Path("/srv/yiwang/var"), 8000) == [
        "--control-socket",
        "/srv/yiwang/var/gunicorn-8000.ctl",
    ]
    assert control_socket_args(Path("/srv/yiwang/var"), 8001) != control_socket_args(Path("/srv/yiwang/var"), 8000)
    assert control_socket_args(Path("/" + "x" * 120), 8000) == ["--no-control-socket"]
