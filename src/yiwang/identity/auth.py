"""Authentication for the JSON API (Django Ninja).

* ``ApiTokenAuth`` — ``Authorization: Bearer yw_<prefix>_<secret>`` for machine clients.
* ``SessionCsrfAuth`` — the browser's Django session, with CSRF checked on unsafe methods,
  and only once the session has passed MFA where MFA applies.

Use ``auth=api_auth`` on routers/operations; the first class that accepts wins.

``check_before_body(precheck)`` runs a cheap check (the caller, the object in the path)
before Ninja reads a multipart body, so an upload to an unknown case is refused unread.
"""

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from yiwang.identity.mfa import session_mfa_satisfied
from yiwang.identity.services import api_token_authenticate


class ApiTokenAuth(HttpBearer):
    """Bearer tokens: checks digest, expiry, revocation and that the user is active.

    ``request.user`` becomes the token's user and ``request.api_token`` the token, so
    selectors scope exactly as for a signed-in person.
    """

    def authenticate(self, request: HttpRequest, token: str):
        api_token = api_token_authenticate(token)
        if api_token is None:
            return None
        request.user = api_token.user
        request.api_token = api_token
        return api_token.user


class SessionCsrfAuth(SessionAuth):
    """The signed-in browser session; CSRF token required on POST/PUT/PATCH/DELETE."""

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def authenticate(self, request: HttpRequest, key):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if not session_mfa_satisfied(request):
            return None
        return user


api_auth = [ApiTokenAuth(), SessionCsrfAuth()]


def check_before_body(precheck: Callable[..., None]):
    """A Ninja run-decorator (``@decorate_view(check_before_body(f))``): for a bearer-token
    caller, authenticate and call ``precheck(request, user, **path_params)`` before the body
    is parsed; what it raises (``NotFound`` for an unknown or foreign object) is answered in
    the API's error format and no file is read. Browser sessions are checked after parsing:
    Django's CSRF check reads the form (and so the files) first; the request-size cap
    (``YIWANG_MAX_REQUEST_BYTES``) bounds that. A missing or wrong token falls through to the
    operation, whose authentication answers 401 before anything is parsed."""

    def decorator(run):
        operation = run.__self__

        @wraps(run)
        def wrapper(request: HttpRequest, *args, **kwargs):
            header = request.headers.get("Authorization", "")
            if header.lower().startswith("bearer "):
                token = api_token_authenticate(header[7:].strip())
                if token is not None:
                    try:
                        precheck(request, token.user, **kwargs)
                    except Exception as exc:  # answered like any error of the operation
                        return operation.api.on_exception(request, exc)
            return run(request, *args, **kwargs)

        return wrapper

    return decorator


__all__ = ["ApiTokenAuth", "SessionCsrfAuth", "api_auth", "check_before_body"]
