"""Benchmark `licenses`: licenses issued and verified per second, and what each part costs.

Rows (in one worker process, on the scratch database; ``BENCH_LICENSES=N`` sets the count,
default 100 licenses and 20 PDFs):

* ``SM2 sign`` / ``SM2 verify`` — gmalg alone on a short canonical text (pure Python).
* ``issue`` — ``license_issue``: validation, serial lock, SM2 signature, history, audit, event.
* ``verify`` — ``license_verify``: lookup, decrypt the holder ID, recompute the canonical data,
  SM2 verify (what /verify does on every scan, without the HTML).
* ``PDF render`` — reportlab page with the Chinese font subset, seal image and QR code.
* ``PAdES sign`` — pyHanko incremental signature with the department's ECDSA P-256 key.
* ``issue + PDF`` — ``license_pdf`` (render + PAdES) added to ``issue`` (the full cost per license
  when a PDF is produced at issuance; Yiwang renders PDFs on download).
"""

import json
import os

from bench.core import Context, Row, Target, benchmark, run_module


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
        _row(target, "SM2 sign (gmalg)", fig["sm2_sign"]),
        _row(target, "SM2 verify (gmalg)", fig["sm2_verify"]),
        _row(target, "issue (sign + audit)", fig["issue"], note=f"peak {fig['peak_rss_mb']} MB"),
        _row(target, "verify (recompute + SM2)", fig["verify"]),
        _row(target, "PDF render", fig["pdf_render"], note=f"{fig['pdf_bytes'] // 1024} KiB signed"),
        _row(target, "PAdES sign", fig["pades_sign"]),
        _row(target, "issue + PDF + PAdES", full, note="issue mean + license_pdf mean"),
    ]
