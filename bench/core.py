"""What every benchmark shares: scratch databases, worker processes, figures and the table.

Benchmarks never assert on time. They print figures and write them as JSON; a human
(or a later comparison) judges them. Every figure of a later benchmark is also given as
a ratio to the framework floor measured in the same run, on the same database, so runs
on different machines can be compared.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
SCRATCH_DIR = ROOT / "var" / "bench"


# --- Figures ---------------------------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float | None:
    """The q-th percentile (0–100) by nearest rank; None for no samples."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def latency_figures(latencies_s: list[float]) -> dict:
    return {
        "p50_ms": _ms(percentile(latencies_s, 50)),
        "p99_ms": _ms(percentile(latencies_s, 99)),
        "mean_ms": _ms(statistics.fmean(latencies_s)) if latencies_s else None,
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


@dataclass
class Row:
    """One line of the results table."""

    benchmark: str
    database: str
    case: str
    ops: int
    seconds: float
    unit: str = "ops"
    p50_ms: float | None = None
    p99_ms: float | None = None
    peak_rss_mb: float | None = None
    vs_floor: float | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)
    queries: float | None = None  # database statements per request, counted in-process (None: not counted)

    @property
    def throughput(self) -> float:
        return self.ops / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "throughput": round(self.throughput, 1)}


# --- Scratch databases -------------------------------------------------------------------------


@dataclass
class Target:
    """A scratch database a run creates, migrates, benchmarks and drops."""

    name: str  # "sqlite" or "postgres"
    url: str

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.url,
            "DJANGO_SETTINGS_MODULE": "yiwang.settings",
            "YIWANG_LOG_LEVEL": "WARNING",
            "YIWANG_DEBUG": "0",
            # WhiteNoise warns when collectstatic has not run; static files are not measured here.
            "PYTHONWARNINGS": "ignore:No directory at",
        }


@contextmanager
def sqlite_target(keep: bool = False) -> Iterator[Target]:
    SCRATCH_DIR.mkdir(parents=True, exist_ok=True)
    path = SCRATCH_DIR / f"bench-{os.getpid()}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    try:
        yield Target("sqlite", f"sqlite:///{path}")
    finally:
        if not keep:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextmanager
def postgres_target(server_url: str, keep: bool = False) -> Iterator[Target]:
    """Create ``yiwang_bench_<random>`` on the server of ``server_url`` and drop it afterwards."""
    import psycopg

    parts = urlsplit(server_url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"bench: PostgreSQL must be on loopback, not {parts.hostname!r}")
    name = f"yiwang_bench_{secrets.token_hex(4)}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield Target("postgres", urlunsplit(parts._replace(path=f"/{name}")))
    finally:
        if not keep:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(target: Target) -> float:
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "yiwang", "migrate", "--noinput", "-v", "0"],
        env=target.env(),
        check=True,
        cwd=ROOT,
    )
    return time.perf_counter() - began


# --- Worker processes ------------------------------------------------------------------------
# Anything that needs Django runs in `python -m bench.worker <task>` against the target, so
# one run can measure SQLite and PostgreSQL and the runner itself stays small.


def run_module(target: Target, module: str, *args: str, what: str) -> dict:
    """Run ``python -m <module> <args>`` against the target; return the JSON of its last output line."""
    out = subprocess.run(
        [sys.executable, "-m", module, *args],
        env=target.env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_worker(target: Target, task: str, **kwargs) -> dict:
    return run_module(target, "bench.worker", task, json.dumps(kwargs), what=f"bench worker {task}")


def run_workers_together(target: Target, task: str, processes: int, **kwargs) -> tuple[list[dict], float]:
    """Start ``processes`` workers, wait until each has set up, release them at once.

    Returns their results and the wall time from the release until the last finished.
    """
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.worker", task, json.dumps({**kwargs, "wait": True, "tag": f"w{n}"})],
            env=target.env(),
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(processes)
    ]
    for proc in procs:
        line = proc.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"bench worker {task} did not start:\n{proc.stderr.read()[-3000:]}")
    began = time.perf_counter()
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"bench worker {task} failed:\n{err[-3000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results, time.perf_counter() - began


# --- gunicorn on loopback and a small HTTP/1.1 client --------------------------------------------

HOST = "127.0.0.1"  # loopback only: the load generator never leaves the machine
HTTP_ERRORS = (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def vm_hwm_mb(pid: int) -> float | None:
    """Peak resident memory of a process (Linux /proc), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def workers_peak_mb(server: subprocess.Popen) -> float | None:
    """The largest peak resident memory among the server's worker processes."""
    peaks = [m for pid in children(server.pid) if (m := vm_hwm_mb(pid)) is not None]
    return max(peaks) if peaks else None


@contextmanager
def gunicorn(
    target: Target,
    *,
    workers: int,
    worker_class: str = "sync",
    threads: int = 1,
    env: dict[str, str] | None = None,
    app: str = "yiwang.wsgi",
) -> Iterator[tuple[subprocess.Popen, int]]:
    """``app`` (default ``yiwang.wsgi``) under gunicorn on a free loopback port, as ``yiwang serve``
    runs it; yields (server, port)."""
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        app,
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    if worker_class != "sync":
        command += ["--worker-class", worker_class, "--threads", str(threads)]
    with _server_process(command, env or target.env()) as server:
        yield server, port


@contextmanager
def granian(
    target: Target,
    *,
    workers: int,
    threads: int = 1,
    env: dict[str, str] | None = None,
    app: str = "yiwang.wsgi:application",
) -> Iterator[tuple[subprocess.Popen, int]]:
    """``app`` under granian (a Rust HTTP server; WSGI interface, ``threads`` blocking threads per
    worker, keep-alive) on a free loopback port; yields (server, port). Needs ``pip install granian``."""
    executable = Path(sys.executable).with_name("granian")
    if not executable.exists():
        raise RuntimeError("granian is not installed in this environment (pip install granian)")
    port = free_port()
    command = [
        str(executable),
        "--interface",
        "wsgi",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--blocking-threads",
        str(threads),
        "--log-level",
        "warning",
        "--no-access-log",
        app,
    ]
    with _server_process(command, env or target.env()) as server:
        yield server, port


SERVERS = ("sync", "gthread", "granian")  # the web server setups a benchmark can compare


@contextmanager
def web_server(
    target: Target,
    *,
    server: str,
    workers: int,
    threads: int = 4,
    env: dict[str, str] | None = None,
    app: str = "yiwang.wsgi",
) -> Iterator[tuple[subprocess.Popen, int]]:
    """One of ``SERVERS``: gunicorn with sync workers (``yiwang serve``), gunicorn with gthread
    workers (``threads`` each; keeps connections alive), or granian; yields (server, port)."""
    if server == "granian":
        spec = app if ":" in app else f"{app}:application"
        with granian(target, workers=workers, threads=threads, env=env, app=spec) as running:
            yield running
    elif server in ("sync", "gthread"):
        with gunicorn(target, workers=workers, worker_class=server, threads=threads, env=env, app=app) as running:
            yield running
    else:
        raise ValueError(f"unknown server {server!r}; one of {', '.join(SERVERS)}")


@contextmanager
def _server_process(command: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen]:
    server = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        yield server
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


async def http_request(port: int, request: bytes, conn: list) -> tuple[int, bytes]:
    """Send one raw request on the slot's keep-alive connection ``conn``; return (status, body)."""
    if not conn:
        conn.extend(await asyncio.open_connection(HOST, port))
    reader, writer = conn
    writer.write(request)
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("server closed the connection")
    headers = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        key, _, value = line.decode("latin-1").partition(":")
        headers[key.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    else:
        body = await reader.read()
        headers["connection"] = "close"
    if headers.get("connection", "").lower() == "close":
        writer.close()
        conn.clear()
    return int(status_line.split()[1]), body


async def http_once(port: int, path: str, token: str | None = None) -> int:
    """One GET on a fresh connection; returns the status."""
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    request = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n{auth}Connection: close\r\n\r\n".encode()
    conn: list = []
    try:
        return (await http_request(port, request, conn))[0]
    finally:
        if conn:
            conn[1].close()


async def warm_workers(port: int, path: str, token: str | None, workers: int) -> None:
    """Concurrent first requests, so that every worker has loaded the application (its first
    request imports and builds what it needs: seconds on a busy machine) before the warm-up."""
    await asyncio.gather(*(http_once(port, path, token) for _ in range(2 * workers)), return_exceptions=True)


def preflight(port: int, path: str, token: str | None = None, timeout: float = 30.0) -> int:
    """Wait for gunicorn to answer; return the status of one request."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return asyncio.run(http_once(port, path, token))
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


async def load(
    port: int,
    requests: list[bytes],
    *,
    connections: int,
    duration: float,
    warmup: float,
    max_requests: int | None = None,
    stagger: int = 0,
) -> dict:
    """``connections`` keep-alive slots send ``requests`` in turn (slot i starts at ``i * stagger``)
    for ``warmup`` + ``duration`` seconds; latencies and statuses count after the warm-up only."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    loop = asyncio.get_running_loop()
    warm_until = loop.time() + warmup
    stop_at = warm_until + duration

    async def slot(n: int) -> None:
        nonlocal errors
        conn: list = []
        while (now := loop.time()) < stop_at and (max_requests is None or len(latencies) < max_requests):
            request = requests[n % len(requests)]
            n += 1
            t0 = time.perf_counter()
            try:
                status, _body = await http_request(port, request, conn)
            except HTTP_ERRORS:
                errors += now >= warm_until
                conn.clear()
                continue
            if now >= warm_until:
                latencies.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1
        if conn:
            conn[1].close()

    began = time.perf_counter()
    await asyncio.gather(*(slot(i * stagger) for i in range(connections)))
    measured = time.perf_counter() - began - warmup
    return {"latencies": latencies, "statuses": statuses, "errors": errors, "seconds": max(measured, 1e-9)}


def failed_count(result: dict) -> int:
    """Requests of a ``load`` result that did not answer 200, connection errors included."""
    return sum(n for s, n in result["statuses"].items() if s != 200) + result["errors"]


# --- The run: options, the floor, and the benchmarks registered by name ----------------------


@dataclass
class Context:
    """What a benchmark gets: the run's options and the floor measured so far, per database."""

    options: dict
    floor: dict[str, dict] = field(default_factory=dict)

    def relative_to_floor(self, database: str, rps: float) -> float | None:
        """A throughput as a fraction of the floor's requests/s on the same database, this run."""
        return ratio_to_floor(self.floor.get(database), rps)


def ratio_to_floor(floor: dict | None, rps: float) -> float | None:
    """``rps`` divided by the floor's requests/s (None when no floor was measured).

    Later benchmarks report e.g. "case submissions/s = 0.31 × floor": what this machine does
    for that operation, relative to the cheapest authenticated request it can serve.
    """
    if not floor or not floor.get("rps"):
        return None
    return round(rps / floor["rps"], 4)


Benchmark = Callable[[Context, Target], list[Row]]
BENCHMARKS: dict[str, tuple[Benchmark, str]] = {}


def benchmark(name: str, help: str) -> Callable[[Benchmark], Benchmark]:
    def register(fn: Benchmark) -> Benchmark:
        BENCHMARKS[name] = (fn, help)
        return fn

    return register


# --- Output ------------------------------------------------------------------------------------


def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def table(rows: list[Row]) -> str:
    headers = ["benchmark", "db", "case", "ops", "per second", "p50 ms", "p99 ms", "peak MB", "× floor", "queries"]
    headers.append("note")
    lines = [
        [
            r.benchmark,
            r.database,
            r.case,
            _fmt(r.ops),
            f"{_fmt(r.throughput)} {r.unit}/s",
            _fmt(r.p50_ms, 2),
            _fmt(r.p99_ms, 2),
            _fmt(r.peak_rss_mb),
            _fmt(r.vs_floor, 3),
            _fmt(r.queries),
            r.note,
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(headers)]
    right = {3, 4, 5, 6, 7, 8, 9}

    def render(cells: list[str]) -> str:
        padded = (c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
        return "  ".join(padded).rstrip()

    return "\n".join([render(headers), render(["-" * w for w in widths]), *(render(line) for line in lines)])


def write_results(rows: list[Row], meta: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = RESULTS_DIR / f"bench-{stamp}.json"
    payload = {"meta": meta, "rows": [r.as_dict() for r in rows]}
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2))
    (RESULTS_DIR / "latest.json").write_text(json.dumps(payload, ensure_ascii=False, indent=2))
    return path


# --- One keep-alive load of GET requests against a served app -----------------------------------


def get_request(port: int, path: str, token: str | None = None) -> bytes:
    """The raw bytes of a keep-alive ``GET`` (with a bearer token if given)."""
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    head = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n{auth}"
    return (head + "Accept: application/json\r\nConnection: keep-alive\r\n\r\n").encode()


def measure_load(
    ctx: Context,
    target: Target,
    *,
    benchmark: str,
    case: str,
    path: str,
    token: str | None = None,
    app: str = "yiwang.wsgi",
    server: str | None = None,
    build: Callable[[int], list[bytes]] | None = None,
) -> Row:
    """Serve ``app`` with the run's server setup (or ``server``) and load it with ``path`` (or
    the requests ``build(port)`` returns) for the run's duration; one row with req/s and
    p50/p99. A first request that does not answer 200 gives a SKIPPED row instead."""
    opts = ctx.options
    server = server or opts.get("server", "sync")
    config = f"{opts['web_workers']} {server} workers, {opts['connections']} connections"
    with web_server(target, server=server, workers=opts["web_workers"], threads=opts["threads"], app=app) as (
        process,
        port,
    ):
        status = preflight(port, path, token)
        if status != 200:
            return Row(benchmark, target.name, case, 0, 0, unit="req", note=f"SKIPPED: {path} answered HTTP {status}")
        asyncio.run(warm_workers(port, path, token, opts["web_workers"]))
        result = asyncio.run(
            load(
                port,
                build(port) if build else [get_request(port, path, token)],
                connections=opts["connections"],
                duration=opts["duration"],
                warmup=opts["warmup"],
                max_requests=opts["max_requests"],
                stagger=1,
            )
        )
        peak = workers_peak_mb(process)
    failed = failed_count(result)
    figures = latency_figures(result["latencies"])
    return Row(
        benchmark=benchmark,
        database=target.name,
        case=case,
        ops=result["statuses"].get(200, 0),
        seconds=result["seconds"],
        unit="req",
        p50_ms=figures["p50_ms"],
        p99_ms=figures["p99_ms"],
        peak_rss_mb=peak,
        note=config + (f"; {failed} failed" if failed else ""),
        extra={"statuses": result["statuses"], "errors": result["errors"], "mean_ms": figures["mean_ms"]},
    )
