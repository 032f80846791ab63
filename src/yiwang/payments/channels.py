"""The payment adapter interface, and the adapter of the bundled simulator channel (paysim).

A channel is anything that takes money for a bill — a bank's gateway, the province's unified
public payment platform (统一公共支付平台), the simulator. The platform talks to it through five
calls; docs/payments.md explains how to write one:

* ``pay``        open an order; the answer carries the cashier URL the payer is sent to;
* ``query``      ask what became of an order (the callback may be late or lost);
* ``refund``     give the money of a paid order back;
* ``reconcile``  the channel's statement of one day (every paid and refunded order);
* ``verify_callback``  check the signature of an asynchronous notice and parse it.

The channel signs what it says (callbacks, query answers, statements); the adapter verifies
every signature with the channel's public key before the platform believes a word of it.
"""

from __future__ import annotations

import datetime
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from yiwang.core import gm

SIGNATURE_HEADER = "X-Paysim-Signature"
# A notice older (or newer) than this is refused as a replay: the channel signs a fresh
# timestamp and nonce on every delivery attempt, so a genuine late retry still passes.
CALLBACK_WINDOW_SECONDS = 300


class ChannelError(Exception):
    """The channel could not be reached or answered nonsense (the caller retries later)."""


class RefundRefused(ChannelError):
    """The channel answered and refused the refund (not paid, more than is left): final."""


class CallbackRefused(Exception):
    """A callback the platform does not believe. ``kind``: forged | replayed | malformed."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class Order:
    channel_order_id: str
    cashier_url: str


@dataclass(frozen=True)
class OrderStatus:
    state: str  # pending | paid | closed | refunded | unknown
    amount_fen: int = 0
    txn_id: str = ""
    paid_at: str = ""


@dataclass(frozen=True)
class Notice:
    payment_number: str
    txn_id: str
    amount_fen: int
    paid_at: str
    nonce: str
    timestamp: int


@dataclass(frozen=True)
class StatementLine:
    payment_number: str
    txn_id: str
    amount_fen: int
    state: str  # paid | refunded
    refunded_fen: int = 0  # what was refunded of it (partial refunds leave the state paid)


class PaymentChannel:
    """The interface every channel adapter implements (see the module docstring)."""

    name = ""

    def pay(self, *, payment_number: str, amount_fen: int, subject: str, notify_url: str, return_url: str) -> Order:
        raise NotImplementedError

    def query(self, *, payment_number: str) -> OrderStatus:
        raise NotImplementedError

    def refund(self, *, payment_number: str, amount_fen: int, refund_number: str, reason: str) -> str:
        raise NotImplementedError

    def reconcile(self, *, day: datetime.date) -> list[StatementLine]:
        raise NotImplementedError

    def verify_callback(self, *, body: bytes, headers) -> Notice:
        raise NotImplementedError


def _canonical(value: dict) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


class SimulatorChannel(PaymentChannel):
    """The adapter of ``yiwang paysim`` (a separate process; HTTP + JSON, SM2-signed answers)."""

    name = "paysim"

    def __init__(self, *, url: str, public_key: str, timeout: float = 5.0):
        self.url = url.rstrip("/")
        self.public_key = public_key
        self.timeout = timeout

    # -- transport ---------------------------------------------------------------------------
    def _call(self, method: str, path: str, payload: dict | None = None) -> dict:
        data = _canonical(payload) if payload is not None else None
        request = urllib.request.Request(  # noqa: S310 (the configured channel URL, http/https)
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (configured URL)
                body = response.read()
                signature = response.headers.get(SIGNATURE_HEADER, "")
        except urllib.error.HTTPError as exc:
            body = exc.read()
            signature = exc.headers.get(SIGNATURE_HEADER, "")
            if exc.code not in (404, 409):  # 409: a refusal the caller reads (refund)
                raise ChannelError(_("支付渠道返回错误 %(status)s") % {"status": exc.code}) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise ChannelError(_("支付渠道无法连接")) from exc
        if not gm.sm2_verify(self.public_key, body, signature):
            raise ChannelError(_("支付渠道的应答签名无效"))
        try:
            return json.loads(body)
        except ValueError as exc:
            raise ChannelError(_("支付渠道的应答无法解析")) from exc

    # -- the interface -------------------------------------------------------------------------
    def pay(self, *, payment_number, amount_fen, subject, notify_url, return_url) -> Order:
        answer = self._call(
            "POST",
            "/api/orders",
            {
                "merchant_order": payment_number,
                "amount_fen": int(amount_fen),
                "subject": subject,
                "notify_url": notify_url,
                "return_url": return_url,
            },
        )
        if answer.get("merchant_order") != payment_number or int(answer.get("amount_fen", -1)) != int(amount_fen):
            raise ChannelError(_("支付渠道的下单应答与订单不符"))
        return Order(channel_order_id=answer["order_id"], cashier_url=answer["cashier_url"])

    def query(self, *, payment_number) -> OrderStatus:
        answer = self._call("GET", "/api/orders/" + urllib.parse.quote(payment_number))
        if answer.get("merchant_order") != payment_number:
            return OrderStatus(state="unknown")
        return OrderStatus(
            state=answer.get("state", "unknown"),
            amount_fen=int(answer.get("amount_fen") or 0),
            txn_id=answer.get("txn_id") or "",
            paid_at=answer.get("paid_at") or "",
        )

    def refund(self, *, payment_number, amount_fen, refund_number, reason) -> str:
        answer = self._call(
            "POST",
            "/api/refunds",
            {
                "merchant_order": payment_number,
                "amount_fen": int(amount_fen),
                "refund_no": refund_number,
                "reason": reason,
            },
        )
        if answer.get("state") != "refunded" or answer.get("refund_no", refund_number) != refund_number:
            raise RefundRefused(answer.get("message") or _("支付渠道拒绝退款"))
        return answer["refund_id"]

    def reconcile(self, *, day) -> list[StatementLine]:
        answer = self._call("GET", f"/api/statement?day={day.isoformat()}")
        if answer.get("day") != day.isoformat():
            raise ChannelError(_("支付渠道的对账单日期不符"))
        return [
            StatementLine(
                payment_number=line["merchant_order"],
                txn_id=line["txn_id"],
                amount_fen=int(line["amount_fen"]),
                state=line["state"],
                refunded_fen=int(line.get("refunded_fen") or 0),
            )
            for line in answer.get("lines", [])
        ]

    def verify_callback(self, *, body: bytes, headers) -> Notice:
        signature = headers.get(SIGNATURE_HEADER, "")
        if not gm.sm2_verify(self.public_key, body, signature):
            raise CallbackRefused("forged", _("回调签名验证失败"))
        try:
            data = json.loads(body)
            notice = Notice(
                payment_number=str(data["merchant_order"]),
                txn_id=str(data["txn_id"]),
                amount_fen=int(data["amount_fen"]),
                paid_at=str(data["paid_at"]),
                nonce=str(data["nonce"]),
                timestamp=int(data["timestamp"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise CallbackRefused("malformed", _("回调内容无法解析")) from exc
        if data.get("type") != "payment.paid":
            raise CallbackRefused("malformed", _("未知的回调类型"))
        if abs(time.time() - notice.timestamp) > CALLBACK_WINDOW_SECONDS:
            raise CallbackRefused("replayed", _("回调时间戳超出有效期,按重放处理"))
        return notice


def channel_get(name: str | None = None) -> PaymentChannel:
    """The configured channel (``settings.YIWANG_PAYMENTS``)."""
    config = getattr(settings, "YIWANG_PAYMENTS", {}) or {}
    wanted = name or config.get("channel", "paysim")
    if wanted == "paysim":
        public_key = config.get("paysim_public_key", "")
        key_file = config.get("paysim_key_file", "")
        if not public_key and key_file and os.path.exists(key_file + ".pub"):
            with open(key_file + ".pub") as handle:
                public_key = handle.read().strip()
        return SimulatorChannel(url=config.get("paysim_url", "http://127.0.0.1:8790"), public_key=public_key)
    raise ChannelError(_("未配置的支付渠道:%(name)s") % {"name": wanted})
