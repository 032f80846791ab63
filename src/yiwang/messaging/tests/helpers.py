"""Shared steps for the messaging tests: cases moved on through the real services."""

import datetime
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.utils import timezone

from yiwang.cases import services as cases
from yiwang.cases.tests.factories import FORM, attach_required

# Accepted on Tuesday 2025-09-30 with a 10-working-day limit (National Day holiday from 10-01):
# 9 working days used on 10-20 (warning, ≥ 80 %), due 10-21, overdue from 10-22.
ACCEPTED_AT = (2025, 9, 30, 10)
WARNING_DAY = datetime.date(2025, 10, 20)
OVERDUE_DAY = datetime.date(2025, 10, 22)


def set_clock(monkeypatch, *args):
    moment = timezone.make_aware(datetime.datetime(*args))
    monkeypatch.setattr(timezone, "now", lambda: moment)
    return moment


def accepted_case(world, capture, *, claim: bool = True):
    """A case of 市场监管局, accepted by the clerk (events delivered) and claimed by the reviewer."""
    case, _created = cases.case_submit(actor=world.applicant, item=world.market_item, form_data=FORM)
    with capture(execute=True):
        attach_required(case.pk)  # acceptance needs the required materials
        case = cases.case_accept(actor=world.clerk, case_id=case.pk)
    if claim:
        case = cases.case_claim(actor=world.reviewer, case_id=case.pk)
    return case


def sweep(capture, day):
    with capture(execute=True):
        return cases.case_sweep(today=day)


class Gateway:
    """A real HTTP SMS gateway on 127.0.0.1 (a thread), answering ``status`` to every POST."""

    def __init__(self, status: int = 200, answer: dict | None = None):
        self.status = status
        self.answer = answer if answer is not None else {"id": "gw-0001"}
        self.received: list[dict] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                gateway.received.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "json": json.loads(body.decode("utf-8")),
                    }
                )
                payload = json.dumps(
                    gateway.answer if gateway.status < 300 else {"error": "网关繁忙"}, ensure_ascii=False
                ).encode()
                self.send_response(gateway.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/sms/send"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
