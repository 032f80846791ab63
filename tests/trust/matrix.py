"""The machinery of the permission matrix: every URL pattern from the resolver, the methods each
answers, a request per (URL, method, actor), and the outcome classified as one word.

The expectations themselves are in ``tests/trust/permissions.py`` (one table); this module
only derives and asks. See docs/security.md, "Permission matrix", for how to add a row.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.contrib import admin
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from yiwang.api import api
from yiwang.identity.mfa import SESSION_VERIFIED

# Outcomes, as the table writes them.
OK = "ok"  # the gate let the caller through: any answer but 401/403/404/a sign-in redirect (and never 5xx)
NOT_FOUND = "404"
FORBIDDEN = "403"
LOGIN = "login"  # a page: redirect to /accounts/login/; the API: 401
ADMIN_LOGIN = "admin_login"  # the admin site's own sign-in redirect
METHOD_NOT_ALLOWED = "405"
EMPTY = "empty"  # the API: 200 with an empty list or page (a list scoped to the caller, who has nothing in it)
OUTCOMES = (OK, NOT_FOUND, FORBIDDEN, LOGIN, ADMIN_LOGIN, METHOD_NOT_ALLOWED, EMPTY)


@dataclass(frozen=True)
class Endpoint:
    key: str  # "namespace:name" (the table's key), or the route for an unnamed pattern
    route: str  # "cases/<int:case_id>/"
    methods: tuple[str, ...] | None  # known for API operations, declared by the table for pages
    is_api: bool


def _walk(patterns, prefix: str = "", namespaces: tuple[str, ...] = ()):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = (*namespaces, pattern.namespace) if pattern.namespace else namespaces
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern):
            route = prefix + str(pattern.pattern)
            key = ":".join((*namespaces, pattern.name)) if pattern.name else route
            yield key, route, pattern


def api_operation_methods() -> dict[str, tuple[str, ...]]:
    """``api:<url name>`` → the HTTP methods of that Ninja operation (from the routers themselves)."""
    methods: dict[str, set[str]] = {}
    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                name = getattr(operation, "url_name", None) or api.get_operation_url_name(operation, router=router)
                methods.setdefault(f"api:{name}", set()).update(m.upper() for m in operation.methods)
    return {name: tuple(sorted(found)) for name, found in methods.items()}


def endpoints() -> list[Endpoint]:
    """Every URL pattern the project serves, API and pages, once each."""
    api_methods = api_operation_methods()
    found: dict[str, Endpoint] = {}
    for key, route, _pattern in _walk(get_resolver().url_patterns):
        is_api = route.startswith("api/")
        methods = api_methods.get(key) if is_api else None
        found.setdefault(key, Endpoint(key=key, route=route, methods=methods, is_api=is_api))
    return list(found.values())


# --- filling path parameters --------------------------------------------------------------------

_PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>|\(\?P<(?P<re_name>\w+)>[^)]*\)")


def fill(route: str, values: dict[str, object]) -> str:
    """``cases/<int:case_id>/`` + ``{"case_id": 7}`` → ``/cases/7/``; a missing value is an error
    that names the parameter (add it to the row's ``kwargs`` or to ``PARAMETERS``)."""

    def replace(match: re.Match) -> str:
        name = match.group("name") or match.group("re_name")
        if name not in values:
            raise KeyError(f"no value for path parameter {name!r} of {route!r}")
        return str(values[name])

    path = _PARAM.sub(replace, route)
    path = path.replace("^", "").replace("$", "")
    return "/" + path


def admin_object_values(key: str) -> dict[str, object]:
    """Real path values for an admin URL: the first object of the model the URL is about."""
    values: dict[str, object] = {"app_label": "identity", "url": "no-such-page/", "content_type_id": 1}
    for model in admin.site._registry:
        prefixes = (
            f"admin:{model._meta.app_label}_{model._meta.model_name}_",
            f"admin/{model._meta.app_label}/{model._meta.model_name}/",
        )
        if key.startswith(prefixes):
            first = model._default_manager.order_by("pk").first()
            values["object_id"] = first.pk if first is not None else 1
    return values


# --- asking -------------------------------------------------------------------------------------


def client_for(user) -> Client:
    """A browser signed in as ``user`` (None: anonymous) that has passed MFA where it applies."""
    client = Client(raise_request_exception=True)
    if user is not None:
        client.force_login(user)
        session = client.session
        session[SESSION_VERIFIED] = True
        session.save()
    return client


def ask(client: Client, method: str, path: str, *, headers: dict | None = None, body: str | None = None, form=None):
    """One request in a savepoint that is rolled back, with the client's cookies restored after
    it: no answer (a sign-out, a deleted draft) changes what the next request meets."""
    cookies = copy.deepcopy(client.cookies)
    try:
        with transaction.atomic():
            if form is not None:  # a page's form (urlencoded, or multipart with files)
                response = client.post(path, form, headers=headers or {})
            elif body is None:
                response = client.generic(method, path, headers=headers or {})
            else:
                response = client.generic(method, path, body, content_type="application/json", headers=headers or {})
            transaction.set_rollback(True)
    finally:
        client.cookies = cookies
    return response


def classify(response, *, is_api: bool) -> str:
    status = response.status_code
    if status >= 500:
        return f"server error {status}"
    if status in (301, 302, 303, 307, 308):
        target = urlsplit(response.get("Location", "")).path
        if target.startswith("/accounts/login/"):
            return LOGIN
        if target.startswith("/admin/login/"):
            return ADMIN_LOGIN
        if target.startswith("/accounts/mfa/") and "next=" in response.get("Location", ""):  # the middleware's
            return "mfa redirect (the harness should have passed MFA)"
        return OK
    if status == 401:
        return LOGIN if is_api else "401 on a page"
    if status == 403:
        return FORBIDDEN
    if status == 404:
        return NOT_FOUND
    if status == 405:
        return METHOD_NOT_ALLOWED
    if is_api and status == 200 and response.get("Content-Type", "").startswith("application/json"):
        try:
            body = json.loads(response.content)
        except ValueError:
            return OK
        if body == [] or (isinstance(body, dict) and body.get("items") == []):
            return EMPTY
    return OK


def row_for(table: dict, key: str):
    """The table's row for ``key``: exact, else the first glob (``admin:*``) that matches."""
    if key in table:
        return table[key]
    for pattern, row in table.items():
        if any(ch in pattern for ch in "*?[") and fnmatch.fnmatchcase(key, pattern):
            return row
    return None
