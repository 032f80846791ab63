"""Benchmark `oidc`: the OpenID provider's two hot endpoints, × bare floor (issue #13).

* ``GET /oidc/userinfo/`` with a bearer access token — what a relying party calls on each
  sign-in (target: ≥ 0.83 × floor, i.e. a userinfo call costs at most 1.2 floor requests);
* ``POST /oidc/token/`` — an authorization code exchanged with client authentication
  (HTTP Basic, the hashed client secret checked) and a PKCE S256 verifier, signing an RS256
  ID token. Every request spends a fresh code (``Grant`` rows made by the setup worker), so
  the connections take disjoint slices of them and the run stops when they are spent.
"""

import asyncio
import json
from urllib.parse import urlencode

from bench.core import (
    HOST,
    Context,
    Row,
    Target,
    benchmark,
    failed_count,
    latency_figures,
    load,
    measure_load,
    preflight,
    run_module,
    warm_workers,
    web_server,
    workers_peak_mb,
)

CALLBACK = "https://rp.bench.invalid/cb"


def _token_request(port: int, basic: str, code: str, verifier: str) -> bytes:
    body = urlencode(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "code_verifier": verifier}
    ).encode()
    head = (
        f"POST /oidc/token/ HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: {basic}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
        "Connection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


@benchmark("oidc", "OpenID provider: userinfo and the token endpoint (code + PKCE), × bare floor")
def run(ctx: Context, target: Target) -> list[Row]:
    opts = ctx.options
    codes = int(opts.get("oidc_codes", 2000))
    setup = run_module(target, "bench.oidc_worker", json.dumps({"codes": codes}), what="oidc worker")
    rows = [
        measure_load(
            ctx,
            target,
            benchmark="oidc",
            case="GET /oidc/userinfo/ (bearer)",
            path="/oidc/userinfo/",
            token=setup["token"],
        )
    ]
    rows[0].queries = setup["queries"]["userinfo"]

    connections = opts["connections"]
    server = opts.get("server", "sync")
    with web_server(target, server=server, workers=opts["web_workers"], threads=opts["threads"]) as (process, port):
        if preflight(port, "/.well-known/openid-configuration") != 200:
            raise SystemExit("the OpenID discovery document did not answer 200")
        asyncio.run(warm_workers(port, "/.well-known/openid-configuration", None, opts["web_workers"]))
        requests = [_token_request(port, setup["basic"], c, setup["verifier"]) for c in setup["codes"]]
        result = asyncio.run(
            load(
                port,
                requests,
                connections=connections,
                duration=opts["duration"],
                warmup=0,
                max_requests=len(requests) - connections,
                stagger=len(requests) // connections,  # disjoint slices: no code is spent twice
            )
        )
        peak = workers_peak_mb(process)
    figures = latency_figures(result["latencies"])
    failed = failed_count(result)
    row = Row(
        benchmark="oidc",
        database=target.name,
        case="POST /oidc/token/ (code + PKCE, RS256 ID token)",
        ops=result["statuses"].get(200, 0),
        seconds=result["seconds"],
        unit="req",
        p50_ms=figures["p50_ms"],
        p99_ms=figures["p99_ms"],
        peak_rss_mb=peak,
        note=f"{opts['web_workers']} {server} workers, {connections} connections, no warm-up (codes are single-use)"
        + (f"; {failed} failed" if failed else ""),
        extra={"statuses": result["statuses"], "errors": result["errors"], "mean_ms": figures["mean_ms"]},
    )
    row.queries = setup["queries"]["token"]
    rows.append(row)
    return rows
