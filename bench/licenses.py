"""Benchmark `licenses`: licenses issued and verified per second, and what each part costs.

Rows (in one worker process, on the scratch database; ``BENCH_LICENSES=N`` sets the count,
default 100 licenses and 20 PDFs):

* ``SM2 sign`` / ``SM2 verify`` — ``yiwang.core.gm`` alone on a short canonical text (the SM2
  backend: see docs/crypto.md; before core.gm this was gmalg, pure Python).
* ``issue`` — ``license_issue``: validation, serial lock, SM2 signature, history, audit, event.
* ``verify`` — ``license_verify``: lookup, decrypt the holder ID, recompute the canonical data,
  SM2 verify (what /verify does on every scan, without the HTML).
* ``PDF render`` — reportlab page with the Chinese font subset, seal image and QR code.
* ``PAdES sign`` — pyHanko incremental signature with the department's ECDSA P-256 key.
* ``issue + PDF`` — ``license_pdf`` (render + PAdES) added to ``issue`` (the full cost per license
  when a PDF is produced at issuance; Yiwang renders PDFs on download).
* ``GET /verify/{identifier}?s=…`` — the page a scanned QR code opens, over HTTP under gunicorn
  (as the floor), rotating over up to 50 issued licenses; and ``GET /api/v1/licenses/verify/…``,
  its JSON twin. The per-IP rate limit ``license_verify_ip`` is switched off for the run (the load
  generator is one IP); everything else is what a citizen's phone gets.

Targets (issue 11): verify over HTTP ≥ 500/s, issue + PDF + PAdES ≥ 50/s.
"""

import asyncio
import json
import os

from bench.core import (
    HOST,
    Context,
    Row,
    Target,
    benchmark,
    failed_count,
    gunicorn,
    latency_figures,
    load,
    preflight,
    run_module,
    workers_peak_mb,
)


def _row(target: Target, case: str, fig: dict, note: str = "", unit: str = "ops") -> Row:
    return Row(
        "licenses",
        target.name,
        case,
        fig["ops"],
        fig["seconds"],
        unit=unit,
        p50_ms=fig.get("p50_ms"),
        p99_ms=fig.get("p99_ms"),
        note=note,
    )


@benchmark("licenses", "electronic licenses: SM2 sign/verify, issuance, verification, PDF render, PAdES")
def run(ctx: Context, target: Target) -> list[Row]:
    n = int(os.environ.get("BENCH_LICENSES", "100"))
    args = {"licenses": n, "pdfs": max(5, n // 5)}
    fig = run_module(target, "bench.licenses_worker", json.dumps(args), what="licenses worker")
    issue_ms = fig["issue"]["seconds"] / fig["issue"]["ops"]
    pdf_ms = fig["license_pdf"]["seconds"] / fig["license_pdf"]["ops"]
    full = {"ops": 1, "seconds": issue_ms + pdf_ms}
    full["ops"], full["seconds"] = fig["license_pdf"]["ops"], (issue_ms + pdf_ms) * fig["license_pdf"]["ops"]
    return [
        _row(target, "SM2 sign (core.gm)", fig["sm2_sign"]),
        _row(target, "SM2 verify (core.gm)", fig["sm2_verify"]),
        _row(target, "issue (sign + audit)", fig["issue"], note=f"peak {fig['peak_rss_mb']} MB"),
        _row(target, "verify (recompute + SM2)", fig["verify"]),
        _row(target, "PDF render", fig["pdf_render"], note=f"{fig['pdf_bytes'] // 1024} KiB signed"),
        _row(target, "PAdES sign", fig["pades_sign"]),
        _row(target, "issue + PDF + PAdES", full, note="issue mean + license_pdf mean"),
        *_http_rows(ctx, target, fig.get("verify_paths") or []),
    ]


def _http_rows(ctx: Context, target: Target, paths: list[str]) -> list[Row]:
    """The QR verify page and the JSON verify endpoint over HTTP, as the floor is measured."""
    if not paths:
        return []
    opts = ctx.options
    env = {**target.env(), "YIWANG_RATE_LIMITS": "license_verify_ip=0/60"}
    rows = []
    with gunicorn(
        target, workers=opts["web_workers"], worker_class=opts["worker_class"], threads=opts["threads"], env=env
    ) as (
        server,
        port,
    ):
        for case, make_path in (
            ("verify over HTTP (QR page)", lambda p: p),
            ("verify over HTTP (API JSON)", lambda p: "/api/v1/licenses" + p),
        ):
            request_paths = [make_path(p) for p in paths]
            status = preflight(port, request_paths[0])
            if status != 200:
                rows.append(Row("licenses", target.name, case, 0, 0, unit="req", note=f"SKIPPED: HTTP {status}"))
                continue
            requests = [
                f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: keep-alive\r\n\r\n".encode()
                for path in request_paths
            ]
            result = asyncio.run(
                load(
                    port,
                    requests,
                    connections=opts["connections"],
                    duration=opts["duration"],
                    warmup=opts["warmup"],
                    max_requests=opts["max_requests"],
                )
            )
            figures = latency_figures(result["latencies"])
            failed = failed_count(result)
            rows.append(
                Row(
                    "licenses",
                    target.name,
                    case,
                    result["statuses"].get(200, 0),
                    result["seconds"],
                    unit="req",
                    p50_ms=figures["p50_ms"],
                    p99_ms=figures["p99_ms"],
                    peak_rss_mb=workers_peak_mb(server),
                    note=f"{len(paths)} licenses" + (f"; {failed} failed" if failed else ""),
                    extra={"statuses": result["statuses"], "errors": result["errors"]},
                )
            )
    return rows
