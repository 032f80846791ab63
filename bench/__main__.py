"""`python -m bench [names] [options]`: run benchmarks, print a table, write JSON to bench/results/.

    python -m bench                      floor + audit on SQLite (and PostgreSQL if DATABASE_URL is one)
    python -m bench audit --postgres postgres://postgres@127.0.0.1:5432/postgres
    python -m bench --long               longer runs, a million-event verify
    make bench BENCH_ARGS="--long"

Never asserts on time: it reports. See bench/README.md.
"""

import argparse
import importlib
import os
import platform
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import bench.audit
import bench.cases
import bench.catalog_search
import bench.floor
import bench.licenses
import bench.request  # noqa: F401  (each import registers its benchmarks)
from bench.core import (
    BENCHMARKS,
    ROOT,
    SERVERS,
    Context,
    Row,
    migrate,
    postgres_target,
    sqlite_target,
    table,
    write_results,
)

DEFAULTS = {
    "writes": 2000,
    "writers": 4,
    "verify_events": 50_000,
    "duration": 8.0,
    "warmup": 1.5,
    "connections": None,  # two per gunicorn worker: enough to keep them busy without queueing
    "max_requests": 200_000,
}
LONG = {"writes": 10_000, "writers": 8, "verify_events": 1_000_000, "duration": 30.0, "warmup": 3.0}
# Sizes of other benchmarks in a default run (a full `make bench` stays within ~5 minutes) and with --long.
DEFAULTS["search_items"], LONG["search_items"] = 2000, 10_000


EXPLICIT_ONLY = {"soak"}


def discover() -> None:
    """Import every benchmark module in bench/ (each registers itself with @benchmark)."""
    here = Path(__file__).resolve().parent
    for path in sorted(here.glob("*.py")):
        name = path.stem
        if name.startswith("_") or name in {"core", "worker"} or name.endswith("_worker"):
            continue
        importlib.import_module(f"bench.{name}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument(
        "--postgres",
        nargs="?",
        const="postgres://postgres@127.0.0.1:5432/postgres",
        default=None,
        metavar="URL",
        help="also run on PostgreSQL (a scratch database is created on this loopback server and dropped); "
        "default: DATABASE_URL when it points at PostgreSQL",
    )
    parser.add_argument("--no-sqlite", action="store_true", help="skip SQLite")
    parser.add_argument("--no-floor", action="store_true", help="do not measure the floor before other benchmarks")
    long_help = "longer runs: " + ", ".join(f"{k}={v}" for k, v in LONG.items())
    parser.add_argument("--long", action="store_true", help=long_help)
    parser.add_argument("--writes", type=int, help=f"audited writes per case (default {DEFAULTS['writes']})")
    parser.add_argument("--writers", type=int, help=f"concurrent writer processes (default {DEFAULTS['writers']})")
    parser.add_argument("--verify-events", type=int, help=f"events to verify (default {DEFAULTS['verify_events']})")
    parser.add_argument("--duration", type=float, help=f"floor: measured seconds (default {DEFAULTS['duration']})")
    parser.add_argument("--warmup", type=float, help=f"floor: warm-up seconds (default {DEFAULTS['warmup']})")
    parser.add_argument("--connections", type=int, help="floor: open connections (default: 2 per web worker)")
    parser.add_argument("--max-requests", type=int, help=f"floor: request cap (default {DEFAULTS['max_requests']})")
    parser.add_argument("--web-workers", type=int, default=os.cpu_count() or 2, help="floor: gunicorn workers")
    parser.add_argument(
        "--server",
        choices=SERVERS,
        help="web server setup for floor and request: gunicorn sync workers (as `yiwang serve`; default), "
        "gunicorn gthread workers, or granian",
    )
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"], help="same as --server")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread or granian worker")
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an option for one benchmark, e.g. --set search_items=2000 (numbers are parsed)",
    )
    return parser.parse_args(argv)


def options_from(args: argparse.Namespace) -> dict:
    opts = dict(DEFAULTS)
    if args.long:
        opts.update(LONG)
    for key in DEFAULTS:
        value = getattr(args, key, None)
        if value is not None:
            opts[key] = value
    server = args.server or args.worker_class
    opts.update(
        long=args.long,
        web_workers=args.web_workers,
        worker_class=args.worker_class,
        threads=args.threads,
        server=server,
    )
    if opts["connections"] is None:
        opts["connections"] = 2 * args.web_workers
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set expects KEY=VALUE, got {item!r}")
        opts[key.strip().replace("-", "_")] = _number(value.strip())
    return opts


def _number(value: str):
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        return ""


def main(argv: list[str] | None = None) -> int:
    discover()
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.list:
        for name, (_fn, help_text) in BENCHMARKS.items():
            print(f"{name:8} {help_text}")
        return 0
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    # A default run skips what only runs when named (the 30-minute soak).
    names = args.names or [n for n in BENCHMARKS if n not in EXPLICIT_ONLY]
    if "floor" not in names and not args.no_floor:
        names = ["floor", *names]  # later benchmarks are reported relative to the floor
    names = sorted(names, key=lambda n: n != "floor")
    opts = options_from(args)

    pg_url = args.postgres
    if pg_url is None and os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        pg_url = os.environ["DATABASE_URL"]
    targets = ([] if args.no_sqlite else ["sqlite"]) + (["postgres"] if pg_url else [])
    if not targets:
        print("nothing to run: --no-sqlite and no PostgreSQL", file=sys.stderr)
        return 2

    ctx = Context(options=opts)
    rows: list[Row] = []
    timings: dict[str, float] = {}
    began = time.perf_counter()
    for kind in targets:
        with ExitStack() as stack:
            target = stack.enter_context(
                sqlite_target(args.keep) if kind == "sqlite" else postgres_target(pg_url, args.keep)
            )
            print(f"== {kind}: migrating a scratch database …", flush=True)
            migrate(target)
            for name in names:
                print(f"== {kind}: {name} …", flush=True)
                fn, _help = BENCHMARKS[name]
                step = time.perf_counter()
                try:
                    produced = fn(ctx, target)
                except Exception as exc:  # one broken benchmark must not hide the others' figures
                    produced = [Row(name, kind, "(failed)", 0, 0, note=f"FAILED: {exc}".splitlines()[0][:160])]
                    print(f"   {exc}", file=sys.stderr)
                for row in produced:
                    if row.vs_floor is None and row.ops:
                        row.vs_floor = ctx.relative_to_floor(kind, row.throughput)
                rows += produced
                timings[f"{kind}:{name}"] = round(time.perf_counter() - step, 1)
                print(f"   {timings[f'{kind}:{name}']} s", flush=True)

    meta = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(time.perf_counter() - began, 1),
        "commit": git_commit(),
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "options": opts,
        "floor": ctx.floor,
        "timings_s": timings,
    }
    print()
    print(table(rows))
    print()
    print("× floor = throughput ÷ the floor's requests/s on the same database in this run.")
    path = write_results(rows, meta)
    print(f"{meta['machine']}; {meta['seconds']} s; results: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
