"""Authentication for the JSON API (Django Ninja).

* ``ApiTokenAuth`` — ``Authorization: Bearer yw_<prefix>_<secret>`` for machine clients.
* ``SessionCsrfAuth`` — the browser's Django session, with CSRF checked on unsafe methods,
  and only once the session has passed MFA where MFA applies.

Use ``auth=api_auth`` on routers/operations; the first class that accepts wins.
"""

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

__all__ = ["ApiTokenAuth", "SessionCsrfAuth", "api_auth"]
