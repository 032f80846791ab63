"""Kiosk mode (自助端) for every portal page.

A browser activated as a kiosk carries a signed cookie naming its device; this middleware
marks the request (``request.kiosk_device_id``: the base template then switches to big
touch targets, shows the kiosk bar with 打印/返回/退出, and loads the idle timer) and ends a
signed-in kiosk session on the server after ``YIWANG_KIOSK_IDLE_SECONDS`` (default 120)
without a request: the next request is signed out and sent to the kiosk's start page. The
client timer (``appointments/kiosk.js``) does the same in the browser, so an abandoned
screen clears itself without anybody touching it.
"""

import time

from django.conf import settings
from django.contrib.auth import logout
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from yiwang.core.audit import audit_record

COOKIE = "yiwang_kiosk"
SALT = "yiwang.appointments.kiosk"
SESSION_KIOSK = "yiwang_kiosk_device"
SESSION_SEEN = "yiwang_kiosk_seen"


class KioskMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.kiosk_device_id = None
        request.kiosk_idle_seconds = int(getattr(settings, "YIWANG_KIOSK_IDLE_SECONDS", 120))
        raw = request.COOKIES.get(COOKIE)
        if raw:
            try:
                request.kiosk_device_id = int(signing.loads(raw, salt=SALT))
            except (signing.BadSignature, TypeError, ValueError):
                request.kiosk_device_id = None
        response = self.check(request)
        return response if response is not None else self.get_response(request)

    def check(self, request: HttpRequest) -> HttpResponse | None:
        session = getattr(request, "session", None)
        if session is None or not session.session_key or not session.get(SESSION_KIOSK):
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        now = int(time.time())
        last = session.get(SESSION_SEEN)
        if last is not None and now - int(last) > request.kiosk_idle_seconds:
            audit_record(
                actor=user,
                action="appointments.kiosk_timeout",
                obj=user,
                object_repr=user.get_username(),
                changes={"idle_seconds": now - int(last)},
            )
            logout(request)
            url = reverse("kiosk:home") + "?timeout=1"
            if request.headers.get("HX-Request") == "true":
                response = HttpResponse(status=204)
                response["HX-Redirect"] = url
                return response
            return HttpResponseRedirect(url)
        session[SESSION_SEEN] = now
        return None
