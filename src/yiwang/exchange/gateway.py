"""The read path of the exchange: credentials, grants, masking, disputed markers, evidence.

Every read of a registry — by a consuming system over ``/api/v1/exchange/gateway/…`` or by an
app inside the platform through ``services.registry_read`` — comes through ``read_many``:

1. the consumer's grants decide which fields it may have (expired, revoked, missing, not
   granted, 不予共享: each refused with a code naming the field);
2. ``registries.selectors.record_read_many`` reads the record(s) — the only caller of it;
3. personal fields are masked unless the grant lists them in clear; fields under an open data
   dispute are named in ``disputed``;
4. one evidence-log entry per key (``evidence.log_append``), the refusals too — these under a
   rate limit (``exchange_refusal``), so that a flood of bad requests cannot fill the log.

Credentials, grants, the catalog and the open disputes are cached per process. Every change to
them moves ``ExchangeState.generation`` in its own transaction (``services._touch``); a lookup
reads that one integer (one indexed query) and reloads the cache when it moved. A lookup thus
costs: the generation, the registry read, the head lock and the append.
"""

import base64
import binascii
import functools
import hashlib
import hmac
import ipaddress
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import unquote

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.core import ratelimit
from yiwang.core.crypto import blind_index
from yiwang.core.errors import NotFound, RateLimited, YiwangError
from yiwang.core.masking import mask_id_number, mask_name, mask_phone
from yiwang.exchange.evidence import Entry, log_append
from yiwang.exchange.models import MaskKind, ShareType

REFUSAL_SCOPE = "exchange_refusal"


def batch_limit() -> int:
    from django.conf import settings

    return int(getattr(settings, "YIWANG_EXCHANGE_BATCH_LIMIT", 100))


class GatewayRefusal(YiwangError):
    """A refused read; ``code`` names the reason (and ``fields`` the field or key at fault)."""

    status = 403


def _refusal(code: str, status: int, message: str, fields: dict) -> GatewayRefusal:
    error = GatewayRefusal(message, code=code, fields=fields)
    error.status = status
    return error


# --- the per-process cache -----------------------------------------------------------------------


@dataclass(frozen=True)
class SystemEntry:
    id: int
    client_id: str
    name: str
    department_id: int
    secret_digest: str
    revoked: bool
    cert_sha256: str = ""  # bound client certificate (mutual TLS), or ""


@dataclass(frozen=True)
class GrantEntry:
    id: int
    registry: str
    fields: tuple[str, ...]
    unmasked: frozenset
    department_id: int
    system_id: int | None
    app: str
    expires_at: datetime
    revoked: bool

    def live(self, now: datetime) -> bool:
        return not self.revoked and self.expires_at > now


@dataclass(frozen=True)
class ResourceEntry:
    label: str
    personal: bool
    share_type: str
    mask_kind: str


@dataclass
class _Cache:
    generation: int | None = None
    systems: dict = field(default_factory=dict)  # client_id -> SystemEntry
    by_department: dict = field(default_factory=dict)  # department id -> [GrantEntry] (system grants)
    by_app: dict = field(default_factory=dict)  # app label -> [GrantEntry]
    resources: dict = field(default_factory=dict)  # (registry, field) -> ResourceEntry
    registries: frozenset = frozenset()
    disputed: dict = field(default_factory=dict)  # (registry, key_index) -> frozenset of fields


_cache = _Cache()
_lock = threading.Lock()


def invalidate() -> None:
    """Forget this process's cache (the other processes see the generation move)."""
    global _cache
    _cache = _Cache()


def _generation() -> int:
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {qn('generation')} FROM {qn('exchange_exchangestate')} WHERE {qn('id')} = 1")  # noqa: S608
        row = cursor.fetchone()
    return row[0] if row else 0


def _load(generation: int) -> _Cache:
    from yiwang.exchange.models import ConsumerSystem, DataDispute, DataResource, Grant

    cache = _Cache(generation=generation)
    for s in ConsumerSystem.objects.values_list(
        "id", "client_id", "name", "department_id", "secret_digest", "revoked_at", "client_cert_sha256"
    ):
        cache.systems[s[1]] = SystemEntry(s[0], s[1], s[2], s[3], s[4], s[5] is not None, s[6])
    grants = Grant.objects.values_list(
        "id", "registry", "fields", "unmasked_fields", "consumer_department_id", "system_id", "consumer_app",
        "expires_at", "revoked_at",
    ).order_by("-pk")  # fmt: skip
    for g in grants:
        entry = GrantEntry(g[0], g[1], tuple(g[2]), frozenset(g[3] or ()), g[4], g[5], g[6], g[7], g[8] is not None)
        if entry.app:
            cache.by_app.setdefault(entry.app, []).append(entry)
        else:
            cache.by_department.setdefault(entry.department_id, []).append(entry)
    for r in DataResource.objects.values_list("registry", "field", "label", "personal", "share_type", "mask_kind"):
        cache.resources[(r[0], r[1])] = ResourceEntry(r[2], r[3], r[4], r[5])
    cache.registries = frozenset(registry for registry, _field in cache.resources)
    disputed: dict = {}
    for registry, key_index, name in DataDispute.objects.filter(status=DataDispute.Status.OPEN).values_list(
        "registry", "key_index", "field"
    ):
        disputed.setdefault((registry, key_index), set()).add(name)
    cache.disputed = {k: frozenset(v) for k, v in disputed.items()}
    return cache


def current() -> _Cache:
    """The cache, reloaded if another process (or this one) changed a system, grant, resource or dispute."""
    global _cache
    generation = _generation()
    cache = _cache
    if cache.generation != generation:
        with _lock:
            cache = _load(generation)
            _cache = cache
    return cache


# --- consumers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SystemConsumer:
    system: SystemEntry
    # The cache its credential was checked against: the read in the same request uses it too
    # (one generation read per request, not two).
    cache: "_Cache | None" = field(default=None, compare=False, repr=False)
    kind = "system"

    @property
    def name(self) -> str:
        return self.system.client_id

    @property
    def department_id(self) -> int:
        return self.system.department_id

    def grants(self, cache: _Cache) -> list[GrantEntry]:
        return [
            g
            for g in cache.by_department.get(self.system.department_id, ())
            if g.system_id is None or g.system_id == self.system.id
        ]


@dataclass(frozen=True)
class AppConsumer:
    app: str
    actor_repr: str = "system"
    kind = "app"

    @property
    def name(self) -> str:
        return f"{self.app}:{self.actor_repr}"[:100]

    @property
    def department_id(self) -> int | None:
        return None

    def grants(self, cache: _Cache) -> list[GrantEntry]:
        return list(cache.by_app.get(self.app, ()))


def authenticate_system(client_id: str, secret: str) -> SystemConsumer | None:
    """The consuming system with this credential (active), or None. Cached per process."""
    from yiwang.exchange.services import secret_matches

    cache = current()
    entry = cache.systems.get(client_id or "")
    if entry is None or entry.revoked or not secret_matches(secret or "", entry.secret_digest):
        return None
    return SystemConsumer(entry, cache)


# --- mutual TLS ------------------------------------------------------------------------------------
#
# TLS ends at the proxy (nginx), which verifies the client certificate against the consuming
# systems' CA and passes it to the app on the trusted hop: the certificate (URL-encoded PEM,
# nginx's ``$ssl_client_escaped_cert``) in ``YIWANG_EXCHANGE_CLIENT_CERT_HEADER`` and the
# verification result (``$ssl_client_verify``) in ``YIWANG_EXCHANGE_CLIENT_VERIFY_HEADER``. The
# app believes those headers only when the request comes from an address of
# ``YIWANG_EXCHANGE_TLS_PROXIES``; from anywhere else there is no certificate.


def _meta_name(header: str) -> str:
    return "HTTP_" + header.upper().replace("-", "_")


@functools.cache
def _proxy_networks(spec: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def _from_tls_proxy(address: str) -> bool:
    from django.conf import settings

    spec = tuple(getattr(settings, "YIWANG_EXCHANGE_TLS_PROXIES", ()) or ())
    if not spec:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _proxy_networks(spec))


def presented_certificate(request) -> str | None:
    """The SHA-256 fingerprint (hex) of the client certificate the TLS proxy verified for this
    request, or None: no certificate, not verified, or not from a configured TLS proxy."""
    from django.conf import settings

    meta = request.META
    if not _from_tls_proxy(meta.get("REMOTE_ADDR", "") or ""):
        return None
    verify = getattr(settings, "YIWANG_EXCHANGE_CLIENT_VERIFY_HEADER", "X-SSL-Client-Verify")
    if meta.get(_meta_name(verify), "") != "SUCCESS":
        return None
    header = getattr(settings, "YIWANG_EXCHANGE_CLIENT_CERT_HEADER", "X-SSL-Client-Cert")
    pem = unquote(meta.get(_meta_name(header), "") or "")
    begin, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
    if begin not in pem or end not in pem:
        return None
    body = pem.split(begin, 1)[1].split(end, 1)[0]
    try:
        der = base64.b64decode("".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return hashlib.sha256(der).hexdigest()


def check_client_certificate(consumer: "SystemConsumer", request, *, registry: str = "") -> None:
    """A credential bound to a client certificate is answered only with that certificate,
    verified by the TLS proxy. Otherwise refused (401 without one, 403 with another), and the
    refusal logged like the gateway's others (within the refusal budget)."""
    bound = consumer.system.cert_sha256
    if not bound:
        return
    presented = presented_certificate(request)
    if presented is not None and hmac.compare_digest(presented, bound):
        return
    if presented is None:
        message = _("该接入系统须经双向 TLS 出示其登记的客户端证书")
        error = _refusal("client_certificate_required", 401, message, {"certificate": [message]})
    else:
        message = _("客户端证书与该接入系统登记的证书不符")
        error = _refusal("client_certificate_mismatch", 403, message, {"certificate": [message]})
    purpose = (request.GET.get("purpose") or "-")[:300]
    _refuse(consumer, error, purpose=purpose, registry=registry, fields=[], keys=[])


# --- masking ---------------------------------------------------------------------------------------


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def mask_value(kind: str, value):
    """Mask one value (脱敏) the way its data item says; None and "" stay as they are."""
    if value is None or value == "":
        return value
    if isinstance(value, dict | list):
        return "******"
    text = str(_plain(value))
    if kind == MaskKind.NAME:
        return mask_name(text)
    if kind == MaskKind.ID_NUMBER:
        return mask_id_number(text)
    if kind == MaskKind.PHONE:
        return mask_phone(text)
    if kind == MaskKind.ADDRESS:
        keep = min(6, len(text) // 2)
        return text[:keep] + "****"
    if len(text) <= 2:
        return "*" * len(text)
    return text[0] + "*" * (len(text) - 2) + text[-1]


# --- the read ----------------------------------------------------------------------------------------


@dataclass
class ReadResult:
    key: str
    registry: str
    values: dict
    masked: list[str]
    disputed: list[str]
    grant_id: int


def _resolve(consumer, cache: _Cache, registry: str, fields: list[str], now: datetime) -> tuple[GrantEntry, list[str]]:
    if registry not in cache.registries:
        raise _refusal(
            "registry_unknown",
            404,
            _("没有名为“%(registry)s”的基础库") % {"registry": registry},
            {"registry": [_("未知的基础库")]},
        )
    for name in fields:
        resource = cache.resources.get((registry, name))
        if resource is None:
            message = _("数据项“%(field)s”不在基础库“%(registry)s”的资源目录中") % {"field": name, "registry": registry}
            raise _refusal("field_unknown", 422, message, {name: [message]})
        if resource.share_type == ShareType.NOT_SHARED:
            message = _("数据项“%(field)s”(%(label)s)为不予共享") % {"field": name, "label": resource.label}
            raise _refusal("field_not_shared", 403, message, {name: [message]})
    mine = [g for g in consumer.grants(cache) if g.registry == registry]
    live = [g for g in mine if g.live(now)]
    if not fields:
        if not live:
            message = _("没有基础库“%(registry)s”的有效共享授权") % {"registry": registry}
            raise _refusal("grant_missing", 403, message, {"registry": [message]})
        best = max(live, key=lambda g: len(g.fields))
        return best, list(best.fields)
    wanted = set(fields)
    for grant in live:
        if wanted <= set(grant.fields):
            return grant, fields
    for name in fields:
        if any(name in g.fields for g in live):
            continue
        covering = [g for g in mine if name in g.fields]
        if any(g.revoked for g in covering):
            message = _("数据项“%(field)s”的共享授权已撤销") % {"field": name}
            raise _refusal("grant_revoked", 403, message, {name: [message]})
        if covering:
            message = _("数据项“%(field)s”的共享授权已过期") % {"field": name}
            raise _refusal("grant_expired", 403, message, {name: [message]})
        message = _("没有数据项“%(field)s”的共享授权") % {"field": name}
        raise _refusal("field_not_granted", 403, message, {name: [message]})
    # Every field is granted, but not by one grant: ask per grant.
    message = _("所请求的数据项分属不同的授权,请按授权分别查询")
    raise _refusal("fields_span_grants", 422, message, {"fields": [message]})


def _entry(
    consumer, purpose: str, registry: str, grant_id, fields, outcome: str, key_index="", subject_index=""
) -> Entry:
    return Entry(
        consumer_kind=consumer.kind,
        consumer=consumer.name,
        department_id=consumer.department_id,
        grant_id=grant_id,
        purpose=purpose,
        registry=registry,
        key_index=key_index,
        subject_index=subject_index,
        fields=list(fields),
        outcome=outcome,
    )


def _over_refusal_budget(consumer) -> bool:
    """Count one refusal of this consumer; True once it is past ``exchange_refusal``'s limit."""
    limit, _seconds = ratelimit.limit_for(REFUSAL_SCOPE)
    return limit > 0 and ratelimit.hit(REFUSAL_SCOPE, f"{consumer.kind}:{consumer.name}") > limit


def _flooded() -> RateLimited:
    _limit, seconds = ratelimit.limit_for(REFUSAL_SCOPE)
    return RateLimited(_("被拒绝的请求过多,请 %(seconds)d 秒后再试。") % {"seconds": seconds}, retry_after=seconds)


def _refuse(consumer, error: YiwangError, *, purpose: str, registry: str, fields, keys, grant_id=None):
    """Log a refusal (within the consumer's refusal budget) and raise it; past the budget the
    consumer gets 429 and nothing more is written."""
    if _over_refusal_budget(consumer):
        raise _flooded() from error
    key_indexes = [blind_index(f"{registry}:{k.upper()}") for k in keys] or [""]
    log_append(
        [_entry(consumer, purpose or "-", registry, grant_id, fields, error.code, key_index=k) for k in key_indexes]
    )
    raise error


def read_many(*, consumer, purpose: str, registry: str, keys: list[str], fields: list[str] | None) -> dict:
    """Read ``fields`` (default: every field of the consumer's widest live grant) of up to
    ``batch_limit()`` records. Returns ``{"records": [ReadResult…], "not_found": [key…], "grant_id"}``;
    refusals raise ``GatewayRefusal`` (logged) or ``RateLimited``."""
    from yiwang.registries.selectors import record_read_many

    purpose = (purpose or "").strip()
    registry = (registry or "").strip()
    fields = list(dict.fromkeys(f.strip() for f in fields or [] if f and f.strip()))
    keys = list(dict.fromkeys((k or "").strip() for k in keys or [] if k and k.strip()))
    cache = getattr(consumer, "cache", None) or current()
    log_keys = keys[: batch_limit()]
    if not purpose or len(purpose) > 300:
        message = _("请声明数据用途(purpose,不超过 300 个字符)")
        error = _refusal("purpose_missing", 422, message, {"purpose": [message]})
        _refuse(consumer, error, purpose="", registry=registry, fields=fields, keys=log_keys)
    if not keys:
        error = _refusal("key_missing", 422, _("请提供要查询的记录键"), {"key": [_("请提供要查询的记录键")]})
        _refuse(consumer, error, purpose=purpose, registry=registry, fields=fields, keys=[])
    if len(keys) > batch_limit():
        message = _("一次最多查询 %(limit)s 条记录,本次 %(count)s 条") % {"limit": batch_limit(), "count": len(keys)}
        error = _refusal("batch_too_large", 422, message, {"keys": [message]})
        _refuse(consumer, error, purpose=purpose, registry=registry, fields=fields, keys=[])
    now = timezone.now()
    try:
        grant, fields = _resolve(consumer, cache, registry, fields, now)
    except GatewayRefusal as error:
        _refuse(consumer, error, purpose=purpose, registry=registry, fields=fields, keys=keys)
    try:
        views = record_read_many(registry=registry, keys=keys, fields=fields)
    except YiwangError as error:  # a key with a wrong check digit, …
        if len(keys) == 1 and "keys.0" in error.fields:  # one key: name it as the caller did
            error.fields = {"key": error.fields.pop("keys.0"), **error.fields}
        _refuse(consumer, error, purpose=purpose, registry=registry, fields=fields, keys=keys, grant_id=grant.id)
    records, missing, entries = [], [], []
    masks = {name: cache.resources[(registry, name)] for name in fields}
    for key in keys:
        view = views.get(key) or views.get(key.upper())
        key_index = blind_index(f"{registry}:{view.key if view is not None else key.upper()}")
        if view is None:
            missing.append(key)
            entries.append(_entry(consumer, purpose, registry, grant.id, fields, "record_not_found", key_index))
            continue
        values, masked = {}, []
        for name in fields:
            value = view.values.get(name)
            resource = masks[name]
            if resource.personal and name not in grant.unmasked and resource.mask_kind != MaskKind.NONE:
                values[name] = mask_value(resource.mask_kind, value)
                masked.append(name)
            else:
                values[name] = _plain(value)
        disputed = cache.disputed.get((registry, key_index))
        subject_index = blind_index(view.subject_key) if view.subject_key else ""
        records.append(
            ReadResult(
                key=view.key,
                registry=registry,
                values=values,
                masked=masked,
                disputed=[n for n in fields if disputed and n in disputed],
                grant_id=grant.id,
            )
        )
        entries.append(_entry(consumer, purpose, registry, grant.id, fields, "ok", key_index, subject_index))
    if missing and _over_refusal_budget(consumer) and not records:
        raise _flooded()
    log_append(entries)
    return {"records": records, "not_found": missing, "grant_id": grant.id, "fields": fields}


def read_one(*, consumer, purpose: str, registry: str, key: str, fields: list[str] | None) -> ReadResult:
    """One record; an unknown key is ``record_not_found`` (404, logged like every read)."""
    result = read_many(consumer=consumer, purpose=purpose, registry=registry, keys=[key], fields=fields)
    if not result["records"]:
        raise NotFound(_("未找到该记录。"), code="record_not_found", fields={"key": [_("未找到该记录")]})
    return result["records"][0]
