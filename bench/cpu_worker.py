"""`python -m bench.cpu_worker '<json args>'`: CPU per call of the read path, in-process.

On a shared machine the requests/s of a load run mostly measure the other sessions; the CPU one
call costs in this process (``time.process_time``, the best of ``rounds`` rounds of ``calls``
calls after a warm-up) and its database statements are steadier. Each call goes through the
handler production serves (``yiwang.wsgi``'s ``YiwangWSGIHandler``: its middleware chain, URL
routing, the view, the database) with a WSGI environ as gunicorn builds it and no cookies — what
a consuming system or relying party sends; only the web server itself is not there.

Parts (``parts``, default all three), each set up by its benchmark's own worker:

* ``lookup`` — ``GET /api/v1/exchange/gateway/population/<key>?fields=name,phone,sex`` with the
  system's HTTP Basic credential (``bench.exchange_worker.setup``, ``persons`` people), random keys;
* ``userinfo`` — ``GET /oidc/userinfo/`` with a bearer token (``bench.oidc_worker.setup``);
* ``smart`` — ``POST /api/v1/cases/`` of the 秒批 item and of the plain item by the applicant's
  bearer token, with the production task queue (the outbox: the subscribers' tasks are written,
  not run) (``bench.smart_worker.setup``).

Besides CPU ms and statements, each part's Python function calls per call (cProfile's count: the
same on an idle or a loaded machine, a proxy for the interpreter's work). ``profile``: a file
name prefix; the statistics are written to ``<prefix>-<part>.prof``. ``calls`` (default 200; a
tenth of it for ``smart``) and ``rounds`` (3). Prints one JSON line.
"""

import json
import sys
import time
import uuid

import django

django.setup()

from django.test import RequestFactory  # noqa: E402


class _Wsgi(RequestFactory):
    """A RequestFactory whose requests are answered by the production WSGI handler."""

    def __init__(self):
        from yiwang.core.handlers import YiwangWSGIHandler

        super().__init__(HTTP_HOST="127.0.0.1")
        self.handler = YiwangWSGIHandler()

    def request(self, **request):
        seen = {}

        def start_response(status, headers, exc_info=None):
            seen["status"] = int(status.split()[0])

        result = self.handler(self._base_environ(**request), start_response)
        try:
            body = b"".join(result)
        finally:
            result.close()  # request_finished, as the server sends it
        return seen["status"], body


def _measure(call, *, calls: int, rounds: int) -> dict:
    from django.db import connection

    for _ in range(5):
        call()
    captured: list[str] = []

    def count(execute, sql, params, many, context):
        captured.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):  # the statements of one call, as the database sees them
        call()
    best = None
    for _ in range(rounds):
        began = time.process_time()
        for _ in range(calls):
            call()
        spent = (time.process_time() - began) / calls
        best = spent if best is None else min(best, spent)
    return {
        "cpu_ms": round(best * 1000, 2),
        "queries": len(captured),
        "statements": [sql[:60] for sql in captured],
    }


def _profile(call, calls: int, path: str | None) -> float:
    """Python function calls per call (deterministic, unlike time on a loaded machine); the
    cProfile statistics written to ``path`` if given."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        call()
    profiler.disable()
    if path:
        profiler.dump_stats(path)
    return round(pstats.Stats(profiler).total_calls / calls)


def lookup(args: dict) -> dict:
    import base64
    import itertools
    from urllib.parse import quote

    from bench import exchange_worker

    setup = exchange_worker.setup({"persons": args.get("persons", 20_000), "keys": 500})
    auth = "Basic " + base64.b64encode(f"{setup['client_id']}:{setup['secret']}".encode()).decode()
    purpose = quote("社会保险参保登记核验")
    client = _Wsgi()
    keys = itertools.cycle(setup["keys"])

    def call():
        status, body = client.get(
            f"/api/v1/exchange/gateway/population/{next(keys)}?purpose={purpose}&fields=name,phone,sex",
            HTTP_AUTHORIZATION=auth,
        )
        assert status == 200, body

    return {"call": call}


def userinfo(args: dict) -> dict:
    from bench import oidc_worker

    setup = oidc_worker.setup({"codes": 1})
    client = _Wsgi()  # no session cookie: a relying party's call
    header = f"Bearer {setup['token']}"

    def call():
        status, body = client.get("/oidc/userinfo/", HTTP_AUTHORIZATION=header)
        assert status == 200, body

    return {"call": call}


def _submit(item: str, token: str):
    client = _Wsgi()
    body = json.dumps({"item": item, "form_data": {"status": "失业"}})

    def call():
        status, answer = client.post(
            "/api/v1/cases/",
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
            HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
        )
        assert status in (200, 201), answer

    return call


def smart(args: dict) -> dict:
    from bench import smart_worker

    setup = smart_worker.setup({})
    return {
        "call": _submit(setup["items"]["auto"], setup["token"]),
        "plain": _submit(setup["items"]["plain"], setup["token"]),
    }


PARTS = {"lookup": lookup, "userinfo": userinfo, "smart": smart}


def main(args: dict) -> dict:
    calls, rounds = int(args.get("calls", 200)), int(args.get("rounds", 3))
    out = {}
    for name in args.get("parts") or list(PARTS):
        made = PARTS[name](args)
        n = calls if name != "smart" else max(10, calls // 10)
        out[name] = _measure(made["call"], calls=n, rounds=rounds)
        prefix = args.get("profile")
        out[name]["python_calls"] = _profile(made["call"], n, f"{prefix}-{name}.prof" if prefix else None)
        if "plain" in made:
            out[f"{name} (plain item)"] = _measure(made["plain"], calls=n, rounds=rounds)
            out[f"{name} (plain item)"]["python_calls"] = _profile(made["plain"], n, None)
    return out


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}"))), flush=True)
