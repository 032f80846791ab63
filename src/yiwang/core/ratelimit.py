"""A small rate limiter shared through the database (no in-process state).

Each rule (a *scope*) allows ``limit`` hits per fixed window of ``seconds``, per key (a
client IP, a case number, an ID number…). Counters live in ``core.RateLimitCounter``, one
row per (scope, key digest, window start), so every gunicorn process and every machine
behind the load balancer counts together, on SQLite and PostgreSQL alike:

* a hit is one atomic ``UPDATE … SET count = count + 1``; the window's first hit INSERTs
  the row (a concurrent first hit that loses the unique-constraint race just updates);
* keys are stored as keyed HMAC-SM3 digests (``blind_index``), never in clear;
* rows of ended windows are purged whenever a new window row is written.

Rules come from ``settings.YIWANG_RATE_LIMITS`` (``{"scope": (limit, seconds)}``); a limit
of 0 switches a rule off. Two ways to count:

* ``consume(scope, key)`` / the ``@rate_limit(scope)`` decorator: every request counts,
  the one over the limit is refused;
* ``failure_limit(scope, key)``: only failures count (a wrong guess), and once ``limit``
  failures are reached every further attempt is refused until the window ends, *even a
  right one* — this is what stops guessing a 4-digit secret.

Refusal raises ``core.errors.RateLimited`` (status 429, ``retry_after`` seconds): the JSON
API answers ``{"code": "rate_limited", ...}`` with ``Retry-After``, pages get the Chinese
429 page (``core.middleware.RateLimitedMiddleware``).

A hit written inside a transaction that later rolls back is lost with it: call these
outside ``transaction.atomic`` (views and API endpoints are not atomic in Yiwang).
"""

import ipaddress
import math
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import cache, wraps

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.core.crypto import blind_index
from yiwang.core.errors import NotFound, RateLimited, YiwangError

DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    # 办件进度查询: every lookup from one client IP.
    "case_progress_ip": (60, 900),
    # 办件进度查询: failed lookups of one case number (the last four digits are only 10,000 guesses).
    "case_progress_number": (5, 900),
    # 证照核验 (/verify and its API) per client IP.
    "license_verify_ip": (120, 60),
    # 账号激活: every attempt from one client IP, and failed attempts per ID number.
    "account_activate_ip": (30, 900),
    "account_activate_id": (5, 900),
    # 实名核验 (L2, 人口库比对) on one's own account: failed matches per account.
    "real_name_verify_user": (5, 3600),
    # 共享交换网关: refused reads per consuming system (each one is written to the evidence log).
    "exchange_refusal": (100, 60),
    # 自助终端 (appointments): SMS sign-in codes per ID number and per kiosk, wrong codes per
    # ID number, and wrong activation codes per client IP.
    "kiosk_sms_id": (3, 900),
    "kiosk_sms_device": (30, 900),
    "kiosk_sms_verify": (5, 900),
    "kiosk_activate_ip": (10, 900),
    # 12345 诉求查询 (/hotline/track/, by ticket number and phone): every lookup per client IP,
    # and failed lookups per ticket number (the phone must not be guessable).
    "hotline_track_ip": (30, 900),
    "hotline_track_number": (5, 900),
}


def clock() -> datetime:
    """The limiter's clock (tests replace it to move time without sleeping)."""
    return timezone.now()


def limit_for(scope: str) -> tuple[int, int]:
    """(limit, window seconds) of a rule: the setting, else the default. A scope in neither
    is a programming error (a typo must not silently mean "no limit"): ImproperlyConfigured."""
    configured = getattr(settings, "YIWANG_RATE_LIMITS", {}) or {}
    if scope in configured:
        limit, seconds = configured[scope]
    elif scope in DEFAULT_LIMITS:
        limit, seconds = DEFAULT_LIMITS[scope]
    else:
        raise ImproperlyConfigured(
            f"rate limit scope {scope!r} is neither in settings.YIWANG_RATE_LIMITS nor in ratelimit.DEFAULT_LIMITS"
        )
    return int(limit), max(1, int(seconds))


def _window(now: datetime, seconds: int) -> tuple[datetime, datetime]:
    start = math.floor(now.timestamp() / seconds) * seconds
    begin = datetime.fromtimestamp(start, tz=UTC)
    return begin, begin + timedelta(seconds=seconds)


def _digest(scope: str, key: str) -> str:
    return blind_index(f"ratelimit:{scope}:{key}")


def _refusal(seconds: int) -> RateLimited:
    minutes = max(1, math.ceil(seconds / 60))
    return RateLimited(_("尝试次数过多,请 %(minutes)d 分钟后再试。") % {"minutes": minutes}, retry_after=seconds)


def _retry_after(now: datetime, end: datetime) -> int:
    return max(1, math.ceil((end - now).total_seconds()))


def _counters():
    from yiwang.core.models import RateLimitCounter  # lazily: this module is imported by settings-free code

    return RateLimitCounter.objects


def hits(scope: str, key: str) -> int:
    """How many hits ``key`` has in the current window of ``scope``."""
    _limit, seconds = limit_for(scope)
    start, _end = _window(clock(), seconds)
    row = _counters().filter(scope=scope, key=_digest(scope, key), window_start=start)
    return row.values_list("count", flat=True).first() or 0


def hit(scope: str, key: str) -> int:
    """Count one hit for ``key``; returns the window's count including it."""
    return _hit(scope, key, clock())


def _hit(scope: str, key: str, now: datetime) -> int:
    _limit, seconds = limit_for(scope)
    start, end = _window(now, seconds)
    digest = _digest(scope, key)
    objects = _counters()
    row = objects.filter(scope=scope, key=digest, window_start=start)
    if not row.update(count=F("count") + 1):
        try:
            with transaction.atomic():
                objects.create(scope=scope, key=digest, window_start=start, expires_at=end, count=1)
        except IntegrityError:  # another process wrote the window's first hit meanwhile
            row.update(count=F("count") + 1)
        else:
            objects.filter(expires_at__lte=now).delete()
    return row.values_list("count", flat=True).first() or 1


def check(scope: str, key: str) -> None:
    """Raise ``RateLimited`` if ``key`` already reached the limit in this window (counts nothing)."""
    limit, seconds = limit_for(scope)
    if limit <= 0:
        return
    if hits(scope, key) >= limit:
        now = clock()
        raise _refusal(_retry_after(now, _window(now, seconds)[1]))


def consume(scope: str, key: str) -> None:
    """Count this request; raise ``RateLimited`` if it is over the limit."""
    limit, seconds = limit_for(scope)
    if limit <= 0:
        return
    if hit(scope, key) > limit:
        now = clock()
        raise _refusal(_retry_after(now, _window(now, seconds)[1]))


@contextmanager
def failure_limit(
    scope: str, key: str, *, failures: Iterable[type[Exception]] = (NotFound,), counts: Callable | None = None
):
    """Refuse while ``key`` has ``limit`` failures in this window; count a failure when the
    block raises one of ``failures`` (and ``counts(exc)`` says so, if given). Successes are
    not counted. The failure is re-raised unchanged.

    The attempt is counted *before* the block runs (one atomic increment), so parallel
    guesses cannot all pass a check made before any of them failed: at most ``limit``
    attempts are inside the block at once. A refused attempt, a success, or a failure that
    ``counts`` rejects takes its hit back (an atomic ``count - 1``)."""
    limit, seconds = limit_for(scope)
    if limit <= 0:
        yield
        return
    now = clock()
    start, end = _window(now, seconds)
    counted = True
    if _hit(scope, key, now) > limit:
        _unhit(scope, key, start)
        raise _refusal(_retry_after(now, end))
    try:
        yield
    except tuple(failures) as exc:
        counted = counts is None or bool(counts(exc))
        raise
    except BaseException:
        counted = False
        raise
    else:
        counted = False
    finally:
        if not counted:
            _unhit(scope, key, start)


def _unhit(scope: str, key: str, window_start: datetime) -> None:
    """Take back one hit counted by ``failure_limit`` in the window starting at ``window_start``."""
    row = _counters().filter(scope=scope, key=_digest(scope, key), window_start=window_start, count__gt=0)
    row.update(count=F("count") - 1)


# --- the client's address ------------------------------------------------------------------------


@cache
def _networks(spec: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def _trusted(address: str) -> bool:
    spec = tuple(getattr(settings, "YIWANG_TRUSTED_PROXIES", ()) or ())
    if not spec:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(spec))


def client_ip(request) -> str:
    """The client's IP address: ``REMOTE_ADDR``, unless it is one of the trusted proxies named
    in ``settings.YIWANG_TRUSTED_PROXIES`` (addresses or networks); then the right-most
    ``X-Forwarded-For`` entry that is not itself a trusted proxy (what our own proxy saw —
    entries further left were written by the client and may be forged)."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    if not _trusted(remote):
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    for candidate in reversed(forwarded):
        try:
            ipaddress.ip_address(candidate)
        except ValueError:
            return remote
        if not _trusted(candidate):
            return candidate
    return forwarded[0] if forwarded else remote


def rate_limit(scope: str, *, key: Callable = client_ip):
    """Decorator for a Django view or a Ninja endpoint: ``consume(scope, key(request))`` first.

    A refusal raises ``RateLimited``: Ninja (``YiwangAPI``) answers JSON 429 with
    ``Retry-After``; for pages ``RateLimitedMiddleware`` renders the Chinese 429 page.
    The scope is resolved here, when the decorator is applied, so a misspelt one fails at import.
    """
    limit_for(scope)

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            consume(scope, key(request))
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


__all__ = [
    "RateLimited",
    "YiwangError",
    "check",
    "client_ip",
    "consume",
    "failure_limit",
    "hit",
    "hits",
    "limit_for",
    "rate_limit",
]
