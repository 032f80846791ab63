"""The payment simulator (支付模拟渠道): a separate process that plays a bank's or the provincial
payment platform's part — a cashier page, an order API, asynchronous signed callbacks, queries,
refunds and a daily statement — so the platform's whole payment loop runs as it will in
production. Run it with ``yiwang paysim --port 8790 --key-file var/paysim.key``.

It holds its own SM2 key pair (the file holds the private key as hex; created on first start,
the public key printed and written beside it as ``.pub``) and signs every answer and callback
(header ``X-Paysim-Signature``: SM2 over the exact body). Its books (orders, payments, refunds)
are kept in a small SQLite file of its own (``--db``, default beside the key file), so a restart
of the simulator loses nothing; without a file they live in memory.

The cashier page has two testing aids a real bank does not: "支付但不发送通知" (the callback is
lost: the platform must query) and the control calls ``POST /control/orders/<id>/notify`` (send
the callback again, freshly signed: a late or duplicate callback) and ``…/notify?replay=1``
(send the last signed message byte for byte: a replay).
"""

from __future__ import annotations

import datetime
import html
import json
import secrets
import sqlite3
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from yiwang.core import gm

SIGNATURE_HEADER = "X-Paysim-Signature"


def load_key(path: str | Path) -> tuple[bytes, str]:
    """The private key from ``path`` (hex), created with its ``.pub`` if missing."""
    path = Path(path)
    if path.exists():
        private = bytes.fromhex(path.read_text().strip())
    else:
        private, _public = gm.sm2_keypair()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(private.hex())
        path.chmod(0o600)
    public = gm.sm2_public_key(private)
    Path(str(path) + ".pub").write_text(public)
    return private, public


def _canonical(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


class Bank:
    """The simulator's books: orders by merchant order number, under one lock; written through
    to its own SQLite file (one row per order, the order as JSON) when ``db_path`` is given."""

    def __init__(self, private_key: bytes, public_url: str, db_path: str | Path | None = None):
        self.private_key = private_key
        self.public_url = public_url.rstrip("/")
        self.lock = threading.Lock()
        self.orders: dict[str, dict] = {}
        self.by_id: dict[str, str] = {}
        self.last_notice: dict[str, tuple[bytes, str]] = {}
        self.db = None
        if db_path:
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(db_path), check_same_thread=False, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("CREATE TABLE IF NOT EXISTS orders (merchant_order TEXT PRIMARY KEY, body TEXT NOT NULL)")
            for (body,) in self.db.execute("SELECT body FROM orders"):
                order = json.loads(body)
                order.setdefault("refunds", {})
                order.setdefault("refunded_fen", 0)
                self.orders[order["merchant_order"]] = order
                self.by_id[order["order_id"]] = order["merchant_order"]

    def _save(self, order: dict) -> None:
        """Write one order through (called under the lock)."""
        if self.db is not None:
            self.db.execute(
                "INSERT OR REPLACE INTO orders (merchant_order, body) VALUES (?, ?)",
                (order["merchant_order"], json.dumps(order, ensure_ascii=False)),
            )

    def sign(self, body: bytes) -> str:
        return gm.sm2_sign(self.private_key, body)

    def create(self, data: dict) -> tuple[int, dict]:
        number = str(data.get("merchant_order") or "")
        try:
            amount = int(data.get("amount_fen"))
        except (TypeError, ValueError):
            return 400, {"code": "bad_amount", "message": "amount_fen must be an integer number of fen"}
        if not number or amount <= 0 or isinstance(data.get("amount_fen"), bool):
            return 400, {"code": "bad_order", "message": "merchant_order and a positive amount_fen are required"}
        with self.lock:
            order = self.orders.get(number)
            if order is None:
                order_id = "SIM" + secrets.token_hex(8).upper()
                order = {
                    "order_id": order_id,
                    "merchant_order": number,
                    "amount_fen": amount,
                    "subject": str(data.get("subject") or "")[:100],
                    "notify_url": str(data.get("notify_url") or ""),
                    "return_url": str(data.get("return_url") or ""),
                    "state": "pending",
                    "txn_id": "",
                    "paid_at": "",
                    "refund_id": "",
                    "refunds": {},
                    "refunded_fen": 0,
                    "day": datetime.date.today().isoformat(),
                }
                self.orders[number] = order
                self.by_id[order_id] = number
                self._save(order)
            elif order["amount_fen"] != amount:
                return 409, {"code": "order_exists", "message": "the order exists with another amount"}
        return 200, {**self._public(order), "cashier_url": f"{self.public_url}/cashier/{order['order_id']}"}

    def _public(self, order: dict) -> dict:
        keys = ("order_id", "merchant_order", "amount_fen", "state", "txn_id", "paid_at", "refunded_fen")
        return {k: order[k] for k in keys}

    def get(self, number: str) -> dict | None:
        with self.lock:
            order = self.orders.get(number)
            return dict(order) if order else None

    def by_order_id(self, order_id: str) -> dict | None:
        number = self.by_id.get(order_id)
        return self.get(number) if number else None

    def pay(self, order_id: str) -> dict | None:
        with self.lock:
            number = self.by_id.get(order_id)
            order = self.orders.get(number) if number else None
            if order is None:
                return None
            if order["state"] == "pending":
                order["state"] = "paid"
                order["txn_id"] = "T" + datetime.datetime.now().strftime("%Y%m%d") + secrets.token_hex(6).upper()
                order["paid_at"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
                self._save(order)
            return dict(order)

    def notice(self, order: dict) -> tuple[bytes, str]:
        body = _canonical(
            {
                "type": "payment.paid",
                "merchant_order": order["merchant_order"],
                "order_id": order["order_id"],
                "txn_id": order["txn_id"],
                "amount_fen": order["amount_fen"],
                "paid_at": order["paid_at"],
                "nonce": secrets.token_hex(16),
                "timestamp": int(time.time()),
            }
        )
        signed = (body, self.sign(body))
        with self.lock:
            self.last_notice[order["merchant_order"]] = signed
        return signed

    def deliver(self, order: dict, signed: tuple[bytes, str]) -> int:
        """POST the callback to the merchant; the HTTP status (0 if unreachable)."""
        body, signature = signed
        request = urllib.request.Request(  # noqa: S310 (the merchant's notify URL)
            order["notify_url"],
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (merchant URL)
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return 0

    def refund(self, data: dict) -> tuple[int, dict]:
        """A refund of ``amount_fen`` under the merchant's ``refund_no``: whole or partial, never
        more than is left; the same refund number again answers the same refund (idempotent)."""
        number = str(data.get("merchant_order") or "")
        refund_no = str(data.get("refund_no") or number + "R")
        try:
            amount = int(data.get("amount_fen"))
        except (TypeError, ValueError):
            amount = 0
        with self.lock:
            order = self.orders.get(number)
            if order is None:
                return 404, {"code": "not_found", "message": "no such order"}
            done = order["refunds"].get(refund_no)
            if done is not None:
                if done["amount_fen"] != amount:
                    return 409, {"code": "refund_no_reused", "message": "refund_no used with another amount"}
                return 200, self._refund_answer(order, refund_no, done)
            if order["state"] not in ("paid",):
                return 409, {"code": "not_paid", "message": "only a paid order can be refunded"}
            if amount <= 0 or amount > order["amount_fen"] - order["refunded_fen"]:
                return 409, {"code": "bad_amount", "message": "refund amount exceeds what is left"}
            done = {"refund_id": "R" + secrets.token_hex(8).upper(), "amount_fen": amount}
            order["refunds"][refund_no] = done
            order["refunded_fen"] += amount
            order["refund_id"] = done["refund_id"]
            if order["refunded_fen"] == order["amount_fen"]:
                order["state"] = "refunded"
            self._save(order)
            return 200, self._refund_answer(order, refund_no, done)

    @staticmethod
    def _refund_answer(order: dict, refund_no: str, done: dict) -> dict:
        return {
            "state": "refunded",
            "refund_id": done["refund_id"],
            "refund_no": refund_no,
            "amount_fen": done["amount_fen"],
            "merchant_order": order["merchant_order"],
            "refunded_fen": order["refunded_fen"],
        }

    def statement(self, day: str) -> dict:
        with self.lock:
            lines = [
                {
                    "merchant_order": o["merchant_order"],
                    "txn_id": o["txn_id"],
                    "amount_fen": o["amount_fen"],
                    "state": o["state"],
                    "refunded_fen": o.get("refunded_fen", 0),
                }
                for o in self.orders.values()
                if o["state"] in ("paid", "refunded") and o["paid_at"] and o["day"] == day
            ]
        return {"day": day, "lines": sorted(lines, key=lambda line: line["merchant_order"])}


CASHIER_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>支付模拟渠道 · 收银台</title>
<style>body{{font-family:sans-serif;max-width:32rem;margin:3rem auto}}.amount{{font-size:2rem;color:#b00}}
button{{font-size:1.1rem;padding:.5rem 1.5rem}}</style></head><body>
<h1>支付模拟渠道 · 收银台</h1>
<p>订单:{merchant_order}</p><p>{subject}</p><p class="amount">¥ {yuan}</p><p>状态:{state}</p>
<form method="post" action="/cashier/{order_id}/pay">
<label><input type="checkbox" name="notify" value="0"> 支付但不发送通知(模拟通知丢失)</label><br><br>
<button type="submit">确认支付</button></form></body></html>"""


class Handler(BaseHTTPRequestHandler):
    bank: Bank
    server_version = "paysim/1"

    def log_message(self, format, *args):
        return

    def _send(self, status: int, payload: dict) -> None:
        body = _canonical(payload)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header(SIGNATURE_HEADER, self.bank.sign(body))
        self.end_headers()
        self.wfile.write(body)

    def _html(self, status: int, text: str) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, 65536)) if length else b""

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        if parts[:2] == ["api", "orders"] and len(parts) == 3:
            order = self.bank.get(urllib.parse.unquote(parts[2]))
            if order is None:
                return self._send(404, {"merchant_order": urllib.parse.unquote(parts[2]), "state": "unknown"})
            return self._send(200, self.bank._public(order))
        if parts == ["api", "statement"]:
            day = urllib.parse.parse_qs(url.query).get("day", [datetime.date.today().isoformat()])[0]
            return self._send(200, self.bank.statement(day))
        if parts[:1] == ["cashier"] and len(parts) == 2:
            order = self.bank.by_order_id(parts[1])
            if order is None:
                return self._html(404, "<h1>订单不存在</h1>")
            return self._html(
                200,
                CASHIER_PAGE.format(
                    merchant_order=html.escape(order["merchant_order"]),
                    subject=html.escape(order["subject"]),
                    yuan=f"{order['amount_fen'] // 100}.{order['amount_fen'] % 100:02d}",
                    state=html.escape(order["state"]),
                    order_id=html.escape(order["order_id"]),
                ),
            )
        if parts == ["health"]:
            return self._send(200, {"status": "ok"})
        return self._send(404, {"code": "not_found"})

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        raw = self._body()
        if parts == ["api", "orders"]:
            status, payload = self.bank.create(self._json(raw))
            return self._send(status, payload)
        if parts == ["api", "refunds"]:
            status, payload = self.bank.refund(self._json(raw))
            return self._send(status, payload)
        if parts[:1] == ["cashier"] and len(parts) == 3 and parts[2] == "pay":
            order = self.bank.pay(parts[1])
            if order is None:
                return self._html(404, "<h1>订单不存在</h1>")
            form = urllib.parse.parse_qs(raw.decode(errors="replace"))
            if form.get("notify", ["1"])[0] != "0":
                self.bank.deliver(order, self.bank.notice(order))
            self.send_response(303)
            self.send_header("Location", order["return_url"] or "/cashier/" + order["order_id"])
            self.end_headers()
            return None
        if parts[:2] == ["control", "orders"] and len(parts) == 4 and parts[3] == "notify":
            order = self.bank.by_order_id(parts[2]) or self.bank.get(parts[2])
            if order is None or order["state"] == "pending":
                return self._send(404, {"code": "not_paid"})
            replay = urllib.parse.parse_qs(url.query).get("replay") == ["1"]
            signed = self.bank.last_notice.get(order["merchant_order"]) if replay else None
            status = self.bank.deliver(order, signed or self.bank.notice(order))
            return self._send(200, {"delivered": status})
        return self._send(404, {"code": "not_found"})

    @staticmethod
    def _json(raw: bytes) -> dict:
        try:
            value = json.loads(raw or b"{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


def make_server(
    *, host: str, port: int, key_file: str, public_url: str = "", db_path: str | Path | None = None
) -> tuple[ThreadingHTTPServer, Bank]:
    private, _public = load_key(key_file)
    server = ThreadingHTTPServer((host, port), Handler)
    bank = Bank(private, public_url or f"http://{host}:{server.server_address[1]}", db_path=db_path)
    server.RequestHandlerClass = type("BoundHandler", (Handler,), {"bank": bank})
    return server, bank
