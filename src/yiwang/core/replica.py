"""Reads from a PostgreSQL read replica, when one is configured (``YIWANG_REPLICA_DATABASE_URL``).

Without that variable there is one database alias, ``default``, and nothing here changes a
query. With it, ``settings.DATABASES["replica"]`` points at a streaming replica of the primary
(replication itself is the operator's: PostgreSQL's own streaming replication, see
docs/operations.md) and :class:`ReplicaRouter` decides, per query:

* writes always go to the primary;
* a read goes to the replica **only** inside a selector marked :func:`lag_tolerant` (public
  catalog browsing, say: a page that may be a second behind is fine), and only when

  - no transaction is open on the primary (reads inside ``transaction.atomic`` see that
    transaction's own writes and take its locks);
  - the current request has not written and is not a POST/PUT/PATCH/DELETE (read your own
    writes: once anything is written, the rest of the request reads the primary);
  - the same client (its session cookie or bearer token) has not made a write in the last
    ``YIWANG_REPLICA_PIN_SECONDS`` (default 10 s), which covers a replica lagging behind a
    redirect-after-POST. The pin lives in Django's cache, which must then be shared by every
    web node (``YIWANG_CACHE_URL``), or a client bounced to another node could miss it; it
    costs one cache lookup per request that carries a credential;

* every other read goes to the primary, as before.

A lag-tolerant selector that returns a QuerySet gets ``.using("replica")`` on it, so the
decision is taken once, when the selector is called, not when the QuerySet is evaluated;
related rows loaded from those objects come from the same alias (Django's default).
"""

from __future__ import annotations

import contextvars
import hashlib
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet

REPLICA = "replica"

# Per request (the middleware sets and resets them; outside a request they keep their defaults,
# and a worker that wrote once stays on the primary, which is always correct).
_pinned: contextvars.ContextVar[bool] = contextvars.ContextVar("yiwang_replica_pinned", default=False)
_tolerant: contextvars.ContextVar[bool] = contextvars.ContextVar("yiwang_replica_tolerant", default=False)
_wrote: contextvars.ContextVar[bool] = contextvars.ContextVar("yiwang_replica_wrote", default=False)

F = TypeVar("F", bound=Callable)

# Writes that are bookkeeping of the request itself, not data a later read must see: the
# session's last-activity stamp, a token's last use, rate-limit counters, login attempts.
BOOKKEEPING = frozenset(
    {
        "sessions.session",
        "identity.apitoken",
        "core.ratelimitcounter",
        "axes.accessattempt",
        "axes.accesslog",
        "axes.accessfailurelog",
    }
)


def replica_configured() -> bool:
    return settings.YIWANG_READ_REPLICA == REPLICA and REPLICA in settings.DATABASES


def pin() -> None:
    """Read from the primary for the rest of this request (or, outside one, this context)."""
    _pinned.set(True)


def read_alias() -> str:
    """Where a lag-tolerant read made now would go."""
    if not replica_configured() or _pinned.get():
        return DEFAULT_DB_ALIAS
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    return REPLICA


def lag_tolerant(func: F) -> F:
    """Mark a selector whose result may be a little behind the primary (see the module doc)."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        alias = read_alias()
        if alias == DEFAULT_DB_ALIAS:
            return func(*args, **kwargs)
        token = _tolerant.set(True)
        try:
            result = func(*args, **kwargs)
        finally:
            _tolerant.reset(token)
        if isinstance(result, QuerySet) and result._db is None:
            result = result.using(alias)
        return result

    return wrapper  # type: ignore[return-value]


class ReplicaRouter:
    """``DATABASE_ROUTERS`` entry installed only when a replica is configured."""

    def db_for_read(self, model, **hints):
        if _tolerant.get() and read_alias() == REPLICA:
            return REPLICA
        return None  # Django's default: the instance's own alias, else the primary

    def db_for_write(self, model, **hints):
        if model._meta.label_lower not in BOOKKEEPING:
            pin()
            _wrote.set(True)
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same rows, one primary and its copy

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS  # the replica follows the primary; never migrate it


# ------------------------------------------------------------------ per client, across requests


def client_key(request) -> str | None:
    """A digest naming the client across requests and nodes: its bearer token or session cookie."""
    credential = request.headers.get("Authorization", "")
    if not credential:
        credential = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    return _key(credential) if credential else None


class ReplicaPinMiddleware:
    """Pins a request to the primary when it may write, and its client for a few seconds after."""

    SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not replica_configured():
            return self.get_response(request)
        key = client_key(request)
        unsafe = request.method not in self.SAFE_METHODS
        pinned = _pinned.set(unsafe or (key is not None and cache.get(key) is not None))
        wrote = _wrote.set(False)
        try:
            response = self.get_response(request)
            if unsafe or _wrote.get():  # a GET that wrote (db_for_write) pins its client too
                # The session may have been created or rotated by this very request (a login).
                after = _client_key_after(request, response)
                if after is not None:
                    cache.set(after, 1, settings.YIWANG_REPLICA_PIN_SECONDS)
            return response
        finally:
            _wrote.reset(wrote)
            _pinned.reset(pinned)


def _client_key_after(request, response) -> str | None:
    morsel = response.cookies.get(settings.SESSION_COOKIE_NAME)
    if morsel is not None and morsel.value:
        return _key(morsel.value)
    return client_key(request)


def _key(credential: str) -> str:
    return "yiwang:replica-pin:" + hashlib.sha256(credential.encode()).hexdigest()[:40]
