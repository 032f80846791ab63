"""The courier adapter (寄递企业接口): create a waybill, query its tracking, accept its callbacks.

A courier is configured in ``settings.YIWANG_COURIERS`` by code::

    YIWANG_COURIERS = {"simulator": {"adapter": "yiwang.channels.couriers.SimulatorCourier",
                                     "url": "http://127.0.0.1:8790", "secret": "…"}}

Without the setting the one courier is the simulator (``yiwang courier_simulator``) at
``YIWANG_COURIER_SIM_URL`` (default ``http://127.0.0.1:8790``) with the shared secret
``YIWANG_COURIER_SIM_SECRET`` (default: derived from the installation's secret key).

Every message either way is signed: ``X-Courier-Timestamp`` (Unix seconds), ``X-Courier-Nonce``
and ``X-Courier-Signature`` = hex HMAC-SM3(secret, ``timestamp \\n nonce \\n body``). A callback
whose signature is wrong, or whose time is more than ``CALLBACK_SKEW`` seconds away, is refused.
A real courier's adapter subclasses ``CourierAdapter`` and maps its own statuses to ours.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import secrets
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

import httpx
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from yiwang.core import gm
from yiwang.core.errors import Forbidden, NotFound, ValidationFailed, YiwangError

CALLBACK_SKEW = 300  # seconds a signed message may be early or late
STATUSES = ("picked_up", "in_transit", "out_for_delivery", "signed", "returned")


class CourierUnavailable(YiwangError):
    code = "courier_unavailable"
    status = 503


@dataclass(frozen=True)
class WaybillOrder:
    reference: str  # the case number
    sender: str  # the hall or department sending the result
    recipient_name: str
    recipient_phone: str
    address: str
    region_code: str
    postal_code: str = ""


@dataclass(frozen=True)
class TrackingUpdate:
    event_id: str
    waybill_no: str
    status: str
    occurred_at: datetime.datetime
    location: str = ""
    description: str = ""


def sign(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body
    return gm.hmac_sm3(secret.encode(), message).hex()


def signed_headers(secret: str, body: bytes) -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    return {
        "Content-Type": "application/json",
        "X-Courier-Timestamp": timestamp,
        "X-Courier-Nonce": nonce,
        "X-Courier-Signature": sign(secret, timestamp, nonce, body),
    }


def verify_signature(secret: str, headers, body: bytes, *, now: float | None = None) -> None:
    """``Forbidden`` (code ``callback_signature``) unless the headers sign ``body`` with ``secret``, in time."""
    timestamp = headers.get("X-Courier-Timestamp", "")
    nonce = headers.get("X-Courier-Nonce", "")
    signature = headers.get("X-Courier-Signature", "")
    refused = Forbidden(_("回调签名无效。"), code="callback_signature")
    if not (timestamp.isdigit() and nonce and signature):
        raise refused
    if abs((time.time() if now is None else now) - int(timestamp)) > CALLBACK_SKEW:
        raise Forbidden(_("回调时间戳超出允许范围。"), code="callback_expired")
    if not hmac.compare_digest(sign(secret, timestamp, nonce, body), signature):
        raise refused


def parse_update(payload: dict) -> TrackingUpdate:
    """A tracking update from the JSON every adapter speaks to us (``ValidationFailed`` naming the field)."""
    if not isinstance(payload, dict):
        raise ValidationFailed(_("回调内容无效"), code="callback_invalid", fields={"body": _("应为 JSON 对象")})
    problems = {}
    for name in ("event_id", "waybill_no", "status", "occurred_at"):
        if not isinstance(payload.get(name), str) or not payload[name].strip():
            problems[name] = _("必填")
    status = payload.get("status")
    if "status" not in problems and status not in STATUSES:
        problems["status"] = _("未知的物流状态")
    occurred = parse_datetime(payload["occurred_at"]) if "occurred_at" not in problems else None
    if "occurred_at" not in problems and occurred is None:
        problems["occurred_at"] = _("时间格式无效")
    if problems:
        raise ValidationFailed(_("回调内容无效"), code="callback_invalid", fields=problems)
    if timezone.is_naive(occurred):
        occurred = timezone.make_aware(occurred, datetime.UTC)
    return TrackingUpdate(
        event_id=payload["event_id"].strip()[:64],
        waybill_no=payload["waybill_no"].strip()[:40],
        status=status,
        occurred_at=occurred,
        location=str(payload.get("location") or "")[:100],
        description=str(payload.get("description") or "")[:200],
    )


class CourierAdapter(ABC):
    """What the platform needs of a courier. Implementations raise ``CourierUnavailable`` when
    the courier cannot be reached, and never return half an answer."""

    def __init__(self, code: str, config: dict):
        self.code = code
        self.config = config

    @abstractmethod
    def create_waybill(self, order: WaybillOrder) -> str:
        """Order a pick-up; returns the waybill number."""

    @abstractmethod
    def query_tracking(self, waybill_no: str) -> list[TrackingUpdate]:
        """Every tracking event the courier holds for the waybill, oldest first."""

    @abstractmethod
    def parse_callback(self, *, headers, body: bytes) -> TrackingUpdate:
        """Verify a callback's signature and read it; ``Forbidden`` for a forged one."""


class SimulatorCourier(CourierAdapter):
    """The courier simulator (``yiwang courier_simulator``), a separate process spoken to over HTTP."""

    @property
    def url(self) -> str:
        return self.config["url"].rstrip("/")

    @property
    def secret(self) -> str:
        return self.config["secret"]

    def _call(self, method: str, path: str, payload: dict | None = None) -> dict:
        body = json.dumps(payload, ensure_ascii=False).encode() if payload is not None else b""
        try:
            response = httpx.request(
                method, self.url + path, content=body, headers=signed_headers(self.secret, body), timeout=10
            )
        except httpx.HTTPError as exc:
            raise CourierUnavailable(_("寄递企业接口暂时无法连接,请稍后重试。")) from exc
        if response.status_code >= 400:
            raise CourierUnavailable(_("寄递企业接口拒绝了请求(%(status)s)。") % {"status": response.status_code})
        return response.json()

    def create_waybill(self, order: WaybillOrder) -> str:
        answer = self._call("POST", "/waybills", order.__dict__)
        return str(answer["waybill_no"])

    def query_tracking(self, waybill_no: str) -> list[TrackingUpdate]:
        answer = self._call("GET", f"/waybills/{waybill_no}/tracking")
        return [parse_update(event) for event in answer.get("events", [])]

    def parse_callback(self, *, headers, body: bytes) -> TrackingUpdate:
        verify_signature(self.secret, headers, body)
        try:
            payload = json.loads(body)
        except ValueError:
            raise ValidationFailed(_("回调内容不是有效的 JSON"), code="callback_invalid") from None
        return parse_update(payload)


def simulator_secret() -> str:
    configured = os.environ.get("YIWANG_COURIER_SIM_SECRET")
    if configured:
        return configured
    return hashlib.sha256(f"courier-simulator:{settings.SECRET_KEY}".encode()).hexdigest()


def courier_configs() -> dict[str, dict]:
    configured = getattr(settings, "YIWANG_COURIERS", None)
    if configured:
        return configured
    return {
        "simulator": {
            "adapter": "yiwang.channels.couriers.SimulatorCourier",
            "url": os.environ.get("YIWANG_COURIER_SIM_URL", "http://127.0.0.1:8790"),
            "secret": simulator_secret(),
        }
    }


def default_courier_code() -> str:
    return next(iter(courier_configs()))


def courier_get(code: str) -> CourierAdapter:
    """The adapter of courier ``code``; ``NotFound`` (``courier_unknown``) if none is configured."""
    config = courier_configs().get(code)
    if config is None:
        raise NotFound(_("未配置该寄递企业。"), code="courier_unknown")
    return import_string(config["adapter"])(code, config)
