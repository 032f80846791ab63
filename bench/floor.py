"""Benchmark `floor`: the framework floor every later benchmark is measured against.

Requests/s and p50/p99 latency of the cheapest authenticated request: ``GET /api/v1/me``
with a bearer API token (one token lookup in the database, the user joined in), served by
gunicorn on loopback exactly as ``yiwang serve`` runs it, under a small asyncio HTTP/1.1
load generator with a fixed number of connections, for a bounded time and request count.
"""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.core import ROOT, Context, Row, Target, benchmark, latency_figures, run_worker

HOST = "127.0.0.1"  # loopback only: the load generator never leaves the machine
PATH = "/api/v1/me"


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


async def _request(host: str, port: int, request: bytes, conn: list) -> int:
    if not conn:
        conn.extend(await asyncio.open_connection(host, port))
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
        await reader.readexactly(int(headers["content-length"]))
    else:
        await reader.read()
        headers["connection"] = "close"
    if headers.get("connection", "").lower() == "close":
        writer.close()
        conn.clear()
    return int(status_line.split()[1])


async def load(port: int, token: str, *, connections: int, duration: float, warmup: float, max_requests: int) -> dict:
    request = (
        f"GET {PATH} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer {token}\r\n"
        "Accept: application/json\r\nConnection: keep-alive\r\n\r\n"
    ).encode()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    loop = asyncio.get_running_loop()
    warm_until = loop.time() + warmup
    stop_at = warm_until + duration

    async def slot() -> None:
        nonlocal errors
        conn: list = []
        while (now := loop.time()) < stop_at and len(latencies) < max_requests:
            t0 = time.perf_counter()
            try:
                status = await _request(HOST, port, request, conn)
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError):
                errors += now >= warm_until
                conn.clear()
                continue
            if now >= warm_until:
                latencies.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1
        if conn:
            conn[1].close()

    began = time.perf_counter()
    await asyncio.gather(*(slot() for _ in range(connections)))
    measured = time.perf_counter() - began - warmup
    return {"latencies": latencies, "statuses": statuses, "errors": errors, "seconds": max(measured, 1e-9)}


def preflight(port: int, token: str, timeout: float = 30.0) -> int:
    """Wait for gunicorn to answer; return the status of one authenticated request."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return asyncio.run(_preflight(port, token))
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


async def _preflight(port: int, token: str) -> int:
    request = (
        f"GET {PATH} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    ).encode()
    conn: list = []
    try:
        return await _request(HOST, port, request, conn)
    finally:
        if conn:
            conn[1].close()


@benchmark("floor", "GET /api/v1/me with a bearer token under gunicorn on loopback: requests/s, p50/p99")
def run(ctx: Context, target: Target) -> list[Row]:
    opts = ctx.options
    token = run_worker(target, "floor_setup", tag=str(os.getpid()))["token"]
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [
        str(gunicorn),
        "yiwang.wsgi",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(opts["web_workers"]),
        "--log-level",
        "warning",
    ]
    if opts["worker_class"] != "sync":
        command += ["--worker-class", opts["worker_class"], "--threads", str(opts["threads"])]
    server = subprocess.Popen(command, env=target.env(), cwd=ROOT)
    config = f"{opts['web_workers']} {opts['worker_class']} workers, {opts['connections']} connections"
    try:
        status = preflight(port, token)
        if status != 200:
            return [
                Row(
                    benchmark="floor",
                    database=target.name,
                    case=f"GET {PATH}",
                    ops=0,
                    seconds=0,
                    unit="req",
                    note=f"SKIPPED: {PATH} answered HTTP {status} (endpoint or token auth not there yet)",
                )
            ]
        result = asyncio.run(
            load(
                port,
                token,
                connections=opts["connections"],
                duration=opts["duration"],
                warmup=opts["warmup"],
                max_requests=opts["max_requests"],
            )
        )
        worker_peaks = [m for pid in children(server.pid) if (m := vm_hwm_mb(pid)) is not None]
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    ok = result["statuses"].get(200, 0)
    failed = sum(n for s, n in result["statuses"].items() if s != 200) + result["errors"]
    figures = latency_figures(result["latencies"])
    row = Row(
        benchmark="floor",
        database=target.name,
        case=f"GET {PATH} (bearer)",
        ops=ok,
        seconds=result["seconds"],
        unit="req",
        p50_ms=figures["p50_ms"],
        p99_ms=figures["p99_ms"],
        peak_rss_mb=max(worker_peaks) if worker_peaks else None,
        vs_floor=1.0,
        note=config + (f"; {failed} failed" if failed else ""),
        extra={"statuses": result["statuses"], "errors": result["errors"], "mean_ms": figures["mean_ms"]},
    )
    ctx.floor[target.name] = {"rps": row.throughput, "p50_ms": row.p50_ms, "p99_ms": row.p99_ms}
    return [row]
