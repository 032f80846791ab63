"""The WSGI handler the platform is served by (``yiwang.wsgi.application``).

A JSON API call with ``Authorization: Bearer …`` under ``/api/v1/`` (and the exchange gateway's
calls with a consuming system's ``Authorization: Basic …``) goes through a shorter middleware
chain than a page: it has no session, no CSRF cookie, no flash messages, no MFA
step, no elder-mode or account language, no login lockout page and no static files, so the
middleware that serves those is left out (``BROWSER_ONLY_MIDDLEWARE``). Everything else in
``settings.MIDDLEWARE`` — security headers, CSP, the request guard (size, multipart, query
limits), locale (error messages follow ``Accept-Language``), ``CommonMiddleware`` — runs as
for any request, in the same order, and a middleware added to ``settings.MIDDLEWARE`` later
joins the API chain too unless it is listed here.

What the token does not name is anonymous: ``request.user`` is ``AnonymousUser`` until
``identity.auth.ApiTokenAuth`` sets the token's user, so a request that carries a bearer
token is authenticated by the token alone (a browser session cookie sent beside a wrong
token does not rescue it). Measured in docs/operations.md ("The request path").
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.handlers.wsgi import WSGIHandler

API_PREFIX = "/api/v1/"
# The OpenID userinfo endpoint is a bearer API too (a relying party's server calls it with the
# access token on every sign-in; no session, no CSRF, no page): it takes the same short chain.
BEARER_PATHS = (API_PREFIX, "/oidc/userinfo/")
# The exchange gateway: consuming systems authenticate with their client credential (HTTP Basic,
# ``exchange.api.SystemAuth``), never a session; every operation under it takes that credential
# alone, so a gateway call with ``Authorization: Basic`` takes the short chain as well.
BASIC_PATHS = (API_PREFIX + "exchange/gateway/",)

BROWSER_ONLY_MIDDLEWARE = frozenset(
    {
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "yiwang.identity.middleware.IdleTimeoutMiddleware",
        "yiwang.identity.middleware.MfaRequiredMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django_htmx.middleware.HtmxMiddleware",
        "yiwang.core.middleware.PreferencesMiddleware",
        "yiwang.portal.middleware.AccountLanguageMiddleware",
        "axes.middleware.AxesMiddleware",
    }
)
ANONYMOUS_USER_MIDDLEWARE = "yiwang.core.handlers.AnonymousUserMiddleware"


class AnonymousUserMiddleware:
    """``request.user`` for the bearer chain, where ``AuthenticationMiddleware`` does not run."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.user = AnonymousUser()
        return self.get_response(request)


def bearer_api_middleware(middleware: list[str]) -> list[str]:
    """``middleware`` without the browser-only entries; ``AnonymousUserMiddleware`` where
    authentication was."""
    lean = []
    for path in middleware:
        if path == "django.contrib.auth.middleware.AuthenticationMiddleware":
            lean.append(ANONYMOUS_USER_MIDDLEWARE)
        elif path not in BROWSER_ONLY_MIDDLEWARE:
            lean.append(path)
    if ANONYMOUS_USER_MIDDLEWARE not in lean:
        lean.append(ANONYMOUS_USER_MIDDLEWARE)
    return lean


def is_bearer_api_call(environ) -> bool:
    """A machine client's API call: a bearer token under ``BEARER_PATHS``, or a consuming
    system's HTTP Basic credential under ``BASIC_PATHS``."""
    path, scheme = environ.get("PATH_INFO", ""), environ.get("HTTP_AUTHORIZATION", "")[:7].lower()
    return (scheme == "bearer " and path.startswith(BEARER_PATHS)) or (
        scheme[:6] == "basic " and path.startswith(BASIC_PATHS)
    )


class _BearerApiHandler(WSGIHandler):
    def load_middleware(self, is_async=False):
        # BaseHandler.load_middleware reads settings.MIDDLEWARE; give it the lean list for the
        # duration of the load (once, at start-up, before any request is served).
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = bearer_api_middleware(list(full))
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


class YiwangWSGIHandler(WSGIHandler):
    """Django's WSGI handler, with bearer-token API calls sent through the shorter chain."""

    def __init__(self):
        super().__init__()
        self.bearer_api = _BearerApiHandler()

    def __call__(self, environ, start_response):
        if is_bearer_api_call(environ):
            return self.bearer_api(environ, start_response)
        return super().__call__(environ, start_response)
