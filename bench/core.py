"""What every benchmark shares: scratch databases, worker processes, figures and the table.

Benchmarks never assert on time. They print figures and write them as JSON; a human
(or a later comparison) judges them. Every figure of a later benchmark is also given as
a ratio to the framework floor measured in the same run, on the same database, so runs
on different machines can be compared.
"""

from __future__ import annotations

import json
import os
import resource
import secrets
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


def run_worker(target: Target, task: str, **kwargs) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.worker", task, json.dumps(kwargs)],
        env=target.env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"bench worker {task} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


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
    headers = ["benchmark", "db", "case", "ops", "per second", "p50 ms", "p99 ms", "peak MB", "× floor", "note"]
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
            r.note,
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(headers)]
    right = {3, 4, 5, 6, 7, 8}

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
