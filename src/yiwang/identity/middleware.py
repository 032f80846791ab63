"""Session security (等保 2.0): idle timeout, and mandatory MFA for admin roles.

* ``IdleTimeoutMiddleware`` ends a session idle for longer than
  ``settings.YIWANG_IDLE_TIMEOUT_MINUTES`` (default 30). Pages redirect to the login page,
  which says "会话已超时,请重新登录"; API calls get 401 ``{"code": "session_expired", ...}``.
  The last-activity stamp is rewritten at most once a minute, not on every request.
* ``MfaRequiredMiddleware`` keeps a signed-in user who must use TOTP (MFA enabled, or an
  admin role / superuser) away from everything but the MFA pages, logout, static files and
  the language switch until this session has passed TOTP; then, if the password expired
  (staff, ``YIWANG_PASSWORD_MAX_AGE_DAYS``), away from everything but the password page.
"""

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from yiwang.core.audit import audit_record
from yiwang.identity import mfa

SESSION_LAST_ACTIVITY = "yiwang_last_activity"
SESSION_TIMED_OUT = "yiwang_timed_out"
SESSION_PASSWORD_EXPIRED = "yiwang_password_expired"  # noqa: S105 - a session key name
ACTIVITY_GRANULARITY_SECONDS = 60
API_PREFIX = "/api/"


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def _has_bearer(request: HttpRequest) -> bool:
    return request.headers.get("Authorization", "").lower().startswith("bearer ")


def _error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse(
        {"code": code, "message": message, "fields": {}}, status=status, json_dumps_params={"ensure_ascii": False}
    )


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    if getattr(request, "htmx", False) or request.headers.get("HX-Request") == "true":
        # htmx would swap the login page into a fragment; ask it to navigate instead.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


class IdleTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.check(request)
        return response if response is not None else self.get_response(request)

    def check(self, request: HttpRequest) -> HttpResponse | None:
        session = getattr(request, "session", None)
        if session is None or not session.session_key:
            return None  # no session cookie: nothing to time out, and don't create a session
        user = request.user
        pending = session.get(mfa.SESSION_PENDING)
        if not user.is_authenticated and not pending:
            return None
        now = int(time.time())
        last = session.get(SESSION_LAST_ACTIVITY)
        timeout = int(getattr(settings, "YIWANG_IDLE_TIMEOUT_MINUTES", 30)) * 60
        if last is not None and now - int(last) > timeout:
            if user.is_authenticated:
                audit_record(
                    actor=user,
                    action="auth.session_timeout",
                    obj=user,
                    object_repr=user.get_username(),
                    changes={"idle_seconds": now - int(last)},
                )
            logout(request)  # flushes the session and rotates its key
            request.session[SESSION_TIMED_OUT] = True
            message = _("会话已超时,请重新登录")
            if _is_api(request):
                if _has_bearer(request):
                    return None  # the token, not the dead session, decides
                return _error("session_expired", message, 401)
            login_url = reverse("identity:login")
            return _redirect(request, f"{login_url}?{urlencode({'next': request.get_full_path()})}")
        if last is None or now - int(last) >= ACTIVITY_GRANULARITY_SECONDS:
            session[SESSION_LAST_ACTIVITY] = now
        return None


class MfaRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self._exempt_prefixes: tuple[str, ...] | None = None

    def exempt_prefixes(self) -> tuple[str, ...]:
        if self._exempt_prefixes is None:
            prefixes = [
                reverse("identity:login"),
                reverse("identity:logout"),
                reverse("identity:mfa_verify"),
                reverse("identity:mfa_setup"),
                reverse("set_language"),
                reverse("portal:elder_mode"),  # reading the enrolment page may need large type
                settings.STATIC_URL or "/static/",
                "/favicon.ico",
            ]
            self._exempt_prefixes = tuple(p for p in prefixes if p)
        return self._exempt_prefixes

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.check(request)
        return response if response is not None else self.get_response(request)

    def check(self, request: HttpRequest) -> HttpResponse | None:
        if _is_api(request) and _has_bearer(request):
            return None  # the token decides; checked first, so the session is not even read
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if request.path_info.startswith(self.exempt_prefixes()):
            return None
        if request.session.get(mfa.SESSION_VERIFIED) or mfa.session_mfa_satisfied(request):
            return self.check_password_age(request)
        target = "identity:mfa_verify" if user.mfa_enabled else "identity:mfa_setup"
        if _is_api(request):
            message = _("请先完成动态口令验证") if user.mfa_enabled else _("管理员账号须先启用动态口令(双因素认证)")
            return _error("mfa_required", message, 403)
        return _redirect(request, f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")

    def check_password_age(self, request: HttpRequest) -> HttpResponse | None:
        """A staff password older than the maximum age (flagged at login) must be changed first."""
        if not request.session.get(SESSION_PASSWORD_EXPIRED):
            return None
        target = reverse("identity:password_change")
        if request.path_info.startswith(target):
            return None
        if _is_api(request):
            return _error("password_expired", _("密码已过期,请先修改密码"), 403)
        return _redirect(request, f"{target}?{urlencode({'next': request.get_full_path()})}")
