"""The outside channels: e-mail through Django's e-mail API, SMS through an HTTP gateway.

Each sender takes the rendered message and the recipient and returns a ``Sent``; it raises
``Skip`` when the message cannot be sent at all (no address, no gateway configured: trying
again would not help) and ``DeliveryError`` when this attempt failed (worth retrying).
"""

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.translation import gettext as _

from yiwang.core.masking import mask_phone


class Skip(Exception):
    """The message cannot be delivered in this channel (the reason is the message)."""


class DeliveryError(Exception):
    """This attempt failed; a later one may succeed."""


@dataclass
class Sent:
    address: str = ""  # masked
    provider_ref: str = ""


def mask_email(value: str) -> str:
    """zhangsan@example.gov.cn → z***@example.gov.cn."""
    local, _sep, domain = (value or "").partition("@")
    if not domain:
        return "***"
    return f"{local[:1]}***@{domain}"


def send_email(*, message, recipient) -> Sent:
    address = (recipient.email or "").strip()
    if not address:
        raise Skip(_("接收人未登记电子邮箱"))
    email = EmailMessage(
        subject=" ".join(message.subject.split()),  # a header: one line
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
        headers={"X-Yiwang-Message": str(message.pk)},
    )
    try:
        email.send(fail_silently=False)
    except Exception as exc:  # SMTP, socket and file errors alike: log and retry
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
    return Sent(address=mask_email(address))


def send_sms(*, message, recipient) -> Sent:
    """POST ``{"message_id", "phone", "sign", "content", "template_code"}`` as JSON to the
    gateway; any 2xx answer is a success (its JSON ``id``, if any, is kept as the receipt)."""
    url = (getattr(settings, "YIWANG_SMS_GATEWAY_URL", "") or "").strip()
    if not url:
        raise Skip(_("未配置短信网关(YIWANG_SMS_GATEWAY_URL),短信未发送"))
    if urllib.parse.urlsplit(url).scheme.lower() not in ("http", "https"):
        raise Skip(_("短信网关地址无效(须为 http:// 或 https:// 开头)"))
    phone = (recipient.phone or "").strip()
    if not phone:
        raise Skip(_("接收人未登记手机号码"))
    payload = {
        "message_id": message.pk,
        "phone": phone,
        "sign": settings.YIWANG_SMS_SIGN,
        "content": message.body,
        "template_code": message.template_code,
    }
    headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}
    token = getattr(settings, "YIWANG_SMS_GATEWAY_TOKEN", "")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(  # noqa: S310 (the operator's gateway, http or https)
        url, data=json.dumps(payload, ensure_ascii=False).encode("utf-8"), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.YIWANG_SMS_GATEWAY_TIMEOUT) as response:  # noqa: S310
            raw = response.read(65536)
    except urllib.error.HTTPError as exc:
        detail = exc.read(500).decode("utf-8", "replace").strip()
        raise DeliveryError(f"HTTP {exc.code}: {detail}"[:1000]) from exc
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise DeliveryError(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"[:1000]) from exc
    receipt = ""
    try:
        answer = json.loads(raw.decode("utf-8") or "{}")
        if isinstance(answer, dict) and answer.get("id") is not None:
            receipt = str(answer["id"])[:100]
    except (ValueError, UnicodeDecodeError):
        pass
    return Sent(address=mask_phone(phone), provider_ref=receipt)


SENDERS = {"email": send_email, "sms": send_sms}
