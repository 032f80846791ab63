"""The signed API between two Yiwang installations (跨省通办).

A request from installation A to installation B carries the consuming-system credential that
B's exchange issued to A (``Authorization: Basic base64(client_id:secret)``, checked by B's
exchange like any gateway call) and signs its body with that secret::

    X-Yiwang-Timestamp: <Unix seconds>      refused beyond ±300 s
    X-Yiwang-Nonce:     <random hex>
    X-Yiwang-Signature: hex(HMAC-SM3(secret, timestamp + "\\n" + nonce + "\\n" + body))

so that a body changed on the way, or replayed after the window, is refused even where TLS is
terminated before the application.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
import time

import httpx
from django.utils.translation import gettext as _

from yiwang.channels.couriers import CALLBACK_SKEW, sign
from yiwang.core.errors import Forbidden, NotAuthenticated, YiwangError


class PeerUnavailable(YiwangError):
    code = "peer_unavailable"
    status = 503


def signed_headers(client_id: str, secret: str, body: bytes) -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {
        "Authorization": f"Basic {basic}",
        "Content-Type": "application/json",
        "X-Yiwang-Timestamp": timestamp,
        "X-Yiwang-Nonce": nonce,
        "X-Yiwang-Signature": sign(secret, timestamp, nonce, body),
    }


def authenticate(headers, body: bytes):
    """(client_id, the exchange's ``SystemConsumer``) of a signed request; ``NotAuthenticated``
    without a valid exchange credential, ``Forbidden`` (``peer_signature``) for a bad signature."""
    from yiwang.exchange import gateway

    auth = headers.get("Authorization", "")
    client_id = secret = ""
    if auth.startswith("Basic "):
        try:
            client_id, _sep, secret = base64.b64decode(auth[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            client_id = secret = ""
    consumer = gateway.authenticate_system(client_id, secret) if client_id and secret else None
    if consumer is None:
        raise NotAuthenticated(_("对端平台的系统凭证无效。"), code="not_authenticated")
    timestamp = headers.get("X-Yiwang-Timestamp", "")
    nonce = headers.get("X-Yiwang-Nonce", "")
    signature = headers.get("X-Yiwang-Signature", "")
    if not (timestamp.isdigit() and nonce and signature):
        raise Forbidden(_("请求签名无效。"), code="peer_signature")
    if abs(time.time() - int(timestamp)) > CALLBACK_SKEW:
        raise Forbidden(_("请求时间戳超出允许范围。"), code="peer_expired")
    if not hmac.compare_digest(sign(secret, timestamp, nonce, body), signature):
        raise Forbidden(_("请求签名无效。"), code="peer_signature")
    return client_id, consumer


def call(peer, method: str, path: str, payload: dict | None = None) -> dict:
    """A signed call to ``peer``; its error answers are raised as ``YiwangError`` with the peer's
    own code, message, fields and status; ``PeerUnavailable`` when it cannot be reached."""
    body = json.dumps(payload, ensure_ascii=False).encode() if payload is not None else b""
    try:
        response = httpx.request(
            method,
            peer.base_url.rstrip("/") + path,
            content=body,
            headers=signed_headers(peer.client_id, peer.client_secret, body),
            timeout=30,
        )
    except httpx.HTTPError as exc:
        raise PeerUnavailable(_("对端平台暂时无法连接,请稍后重试。")) from exc
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code >= 400:
        error = YiwangError(
            answer.get("message") or _("对端平台拒绝了请求(%(status)s)。") % {"status": response.status_code},
            code=answer.get("code") or "peer_refused",
            fields=answer.get("fields") or {},
        )
        error.status = response.status_code
        raise error
    return answer
