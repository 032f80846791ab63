"""The courier simulator: a small HTTP service standing in for a courier's open platform.

Run it as its own process (``yiwang courier_simulator``). It accepts signed waybill orders,
answers signed tracking queries, and posts signed tracking callbacks to the platform's webhook
on its own: 揽收 → 运输中 → 派送中 → 已签收, one every ``step`` seconds (``step`` 0: only on
request). ``POST /waybills/<no>/advance`` with ``{"status": "returned"}`` sends one chosen event
now (退回, or any other), and ``duplicate`` sends every callback twice, as couriers do when they
retry. A callback the platform does not answer with 2xx is retried three times. With ``db_path``
its waybills are kept in a small SQLite file of its own: after a restart it still answers their
tracking and walks the unfinished ones on.

Protocol (all bodies JSON, every request and callback signed as in ``channels.couriers``):

* ``POST /waybills`` — order → ``{"waybill_no"}``
* ``GET /waybills/<no>/tracking`` → ``{"waybill_no", "events": [...]}``
* ``POST /waybills/<no>/advance`` — ``{"status"}`` → the event sent
* callback ``POST <callback_url>`` — ``{"event_id", "waybill_no", "status", "occurred_at",
  "location", "description"}``
"""

from __future__ import annotations

import datetime
import itertools
import json
import sqlite3
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from yiwang.channels.couriers import signed_headers, verify_signature

ROUTE = (
    ("picked_up", "收件网点", "快递员已揽收"),
    ("in_transit", "分拨中心", "快件已发往目的地"),
    ("out_for_delivery", "派送网点", "快递员正在派送"),
    ("signed", "收件地址", "本人签收"),
)
DESCRIPTIONS = {status: (where, text) for status, where, text in ROUTE} | {
    "returned": ("派送网点", "收件人拒收,已退回寄件人")
}


class Simulator:
    def __init__(self, *, callback_url: str, secret: str, step: float = 1.0, duplicate: bool = False, db_path=None):
        self.callback_url = callback_url
        self.secret = secret
        self.step = step
        self.duplicate = duplicate
        self.waybills: dict[str, dict] = {}
        self.lock = threading.Lock()
        self.log: list[str] = []
        self.db = None
        if db_path:
            self.db = sqlite3.connect(str(db_path), check_same_thread=False, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("CREATE TABLE IF NOT EXISTS waybills (waybill_no TEXT PRIMARY KEY, body TEXT NOT NULL)")
            for number, body in self.db.execute("SELECT waybill_no, body FROM waybills"):
                self.waybills[number] = json.loads(body)
        # Waybill numbers go on after a restart (the largest serial kept, plus one).
        self.serial = itertools.count(1 + max((int(n[-6:]) for n in self.waybills if n[-6:].isdigit()), default=0))

    def resume(self) -> None:
        """After a restart: walk the unfinished waybills on."""
        if self.step > 0:
            for number, waybill in list(self.waybills.items()):
                if not waybill["final"]:
                    threading.Thread(target=self._run_route, args=(number,), daemon=True).start()

    def _save(self, number: str) -> None:
        """Write one waybill through (called under the lock)."""
        if self.db is not None:
            self.db.execute(
                "INSERT OR REPLACE INTO waybills (waybill_no, body) VALUES (?, ?)",
                (number, json.dumps(self.waybills[number], ensure_ascii=False)),
            )

    # --- the courier's side ---
    def create(self, order: dict) -> str:
        with self.lock:
            number = f"SIM{datetime.date.today():%y%m%d}{next(self.serial):06d}"
            self.waybills[number] = {"order": order, "events": [], "next": 0, "final": False}
            self._save(number)
        if self.step > 0:
            threading.Thread(target=self._run_route, args=(number,), daemon=True).start()
        return number

    def _run_route(self, number: str) -> None:
        while True:
            time.sleep(self.step)
            with self.lock:
                waybill = self.waybills[number]
                if waybill["final"] or waybill["next"] >= len(ROUTE):
                    return
                status = ROUTE[waybill["next"]][0]
            self.advance(number, status)

    def advance(self, number: str, status: str) -> dict:
        where, text = DESCRIPTIONS[status]
        event = {
            "event_id": uuid.uuid4().hex,
            "waybill_no": number,
            "status": status,
            "occurred_at": datetime.datetime.now(datetime.UTC).isoformat(),
            "location": where,
            "description": text,
        }
        with self.lock:
            waybill = self.waybills[number]
            waybill["events"].append(event)
            if status in ("signed", "returned"):
                waybill["final"] = True
            else:
                waybill["next"] = max(waybill["next"], [s for s, _w, _t in ROUTE].index(status) + 1)
            self._save(number)
        self.post(event)
        if self.duplicate:
            self.post(event)
        return event

    def post(self, event: dict) -> int:
        body = json.dumps(event, ensure_ascii=False).encode()
        status = 0
        for attempt in range(4):
            try:
                status = httpx.post(
                    self.callback_url, content=body, headers=signed_headers(self.secret, body), timeout=10
                ).status_code
            except httpx.HTTPError:
                status = 0
            self.log.append(f"{event['waybill_no']} {event['status']} -> {status}")
            if 200 <= status < 300 or status in (403, 404, 422):  # refused for good: no retry
                return status
            time.sleep(0.2 * (attempt + 1))
        return status


def make_handler(sim: Simulator):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):  # quiet; the process log is the callbacks' outcome
            pass

        def _answer(self, status: int, payload: dict) -> None:
            body = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _body(self) -> bytes | None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                verify_signature(sim.secret, self.headers, body)
            except Exception:
                self._answer(403, {"code": "signature", "message": "bad signature"})
                return None
            return body

        def do_GET(self):
            body = self._body()
            if body is None:
                return
            parts = self.path.strip("/").split("/")
            if len(parts) == 3 and parts[0] == "waybills" and parts[2] == "tracking" and parts[1] in sim.waybills:
                return self._answer(200, {"waybill_no": parts[1], "events": list(sim.waybills[parts[1]]["events"])})
            if self.path == "/health":
                return self._answer(200, {"status": "ok"})
            self._answer(404, {"code": "not_found", "message": "no such waybill"})

        def do_POST(self):
            body = self._body()
            if body is None:
                return
            try:
                payload = json.loads(body or b"{}")
            except ValueError:
                return self._answer(400, {"code": "json", "message": "bad JSON"})
            parts = self.path.strip("/").split("/")
            if parts == ["waybills"]:
                missing = [
                    k for k in ("reference", "recipient_name", "recipient_phone", "address") if not payload.get(k)
                ]
                if missing:
                    return self._answer(422, {"code": "order_invalid", "message": ", ".join(missing)})
                return self._answer(201, {"waybill_no": sim.create(payload)})
            if len(parts) == 3 and parts[0] == "waybills" and parts[2] == "advance" and parts[1] in sim.waybills:
                if payload.get("status") not in DESCRIPTIONS:
                    return self._answer(422, {"code": "status_invalid", "message": "unknown status"})
                return self._answer(200, sim.advance(parts[1], payload["status"]))
            self._answer(404, {"code": "not_found", "message": "not found"})

    return Handler


def serve(*, host: str, port: int, sim: Simulator) -> ThreadingHTTPServer:
    return ThreadingHTTPServer((host, port), make_handler(sim))
