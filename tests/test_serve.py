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
    subprocess.run([BIN / "yiwang", "migrate", "--noinput", "-v0"], env=env, check=True, timeout=300)
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
    children = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(proc.pid)], capture_output=True, text=True)
    assert "worker" in children.stdout and "gunicorn" in children.stdout
    child_pids = [int(line.split()[0]) for line in children.stdout.splitlines() if line.strip()]
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
