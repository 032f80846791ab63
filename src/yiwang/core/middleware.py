"""Per-visitor display preferences: language and elder mode (长辈模式)."""

from django.utils.deprecation import MiddlewareMixin

ELDER_COOKIE = "yiwang_elder"


def elder_mode_for(request) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return bool(getattr(user, "elder_mode", False))
    return request.COOKIES.get(ELDER_COOKIE) == "1"


class PreferencesMiddleware(MiddlewareMixin):
    def process_request(self, request):
        request.elder_mode = elder_mode_for(request)


class RateLimitedMiddleware(MiddlewareMixin):
    """A page refused by the rate limiter (``core.errors.RateLimited``): the Chinese 429 page
    with ``Retry-After``. (The JSON API answers in its own format before this is reached.)"""

    def process_exception(self, request, exception):
        from django.shortcuts import render

        from yiwang.core.errors import RateLimited

        if not isinstance(exception, RateLimited):
            return None
        response = render(request, "429.html", {"message": exception.message}, status=429)
        response["Retry-After"] = str(exception.retry_after)
        return response


class RequestGuardMiddleware:
    """Refuses, before anything reads the body, what no view should have to handle.

    * a request larger than ``YIWANG_MAX_REQUEST_BYTES`` (``Content-Length``; files included):
      413 ``request_too_large``, the limit in the message — thirty 10 MB files are refused
      unread;
    * a body that is not multipart and larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE``: 413;
    * ``multipart/form-data`` without a boundary: 400 ``malformed_multipart``;
    * a query string longer than ``YIWANG_MAX_QUERY_STRING``: 414 ``query_too_long``;
    * on pages, a query or form field holding NUL or a lone surrogate (``core.inputs``): 422
      ``invalid_text`` naming the field. The JSON API checks the same in its parser
      (``core.api_errors.YiwangParser``), where it also sees JSON bodies.

    The API answers in its error envelope; pages get a short page in the user's language.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.check(request)
        return response if response is not None else self.get_response(request)

    def check(self, request):
        from django.conf import settings
        from django.utils.translation import gettext as _

        from yiwang.core.api_errors import human_bytes

        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        content_type = request.META.get("CONTENT_TYPE", "")
        multipart = content_type.lower().startswith("multipart/")
        max_request = int(getattr(settings, "YIWANG_MAX_REQUEST_BYTES", 0) or 0)
        max_body = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if max_request and length > max_request:
            message = _("请求过大(%(size)s),每个请求至多 %(limit)s;请分次上传文件。") % {
                "size": human_bytes(length),
                "limit": human_bytes(max_request),
            }
            return self.refuse(request, 413, "request_too_large", message)
        if not multipart and max_body and length > max_body:
            message = _("请求体超过 %(limit)s 的上限;文件请用 multipart/form-data 上传。") % {
                "limit": human_bytes(max_body)
            }
            return self.refuse(request, 413, "request_too_large", message)
        if multipart and "boundary=" not in content_type.lower():
            message = _("multipart/form-data 请求体无法解析(缺少 boundary 或格式有误)。")
            return self.refuse(request, 400, "malformed_multipart", message)
        max_query = int(getattr(settings, "YIWANG_MAX_QUERY_STRING", 0) or 0)
        if max_query and len(request.META.get("QUERY_STRING", "")) > max_query:
            message = _("网址的查询参数过长(至多 %(limit)d 个字符)。") % {"limit": max_query}
            return self.refuse(request, 414, "query_too_long", message)
        if not request.path_info.startswith("/api/"):
            return self.check_page_text(request)
        return None

    def check_page_text(self, request):
        from django.http.multipartparser import MultiPartParserError

        from yiwang.core.inputs import form_problems

        sources = [request.GET]
        if request.method == "POST":
            try:
                sources += [request.POST, request.FILES]
            except MultiPartParserError:
                return None  # Django answers 400 for a body it cannot parse
        fields: dict[str, list[str]] = {}
        for source in sources:
            fields.update(form_problems(source))
        if fields:
            name, messages = next(iter(fields.items()))
            return self.refuse(request, 422, "invalid_text", f"{name}: {messages[0]}", fields)
        return None

    def refuse(self, request, status: int, code: str, message: str, fields: dict | None = None):
        import json

        from django.http import HttpResponse
        from django.template.loader import render_to_string

        if request.path_info.startswith("/api/"):
            body = {"code": code, "message": str(message), "fields": fields or {}}
            return HttpResponse(
                json.dumps(body, ensure_ascii=False),
                status=status,
                content_type="application/json; charset=utf-8",
            )
        html = render_to_string("request_refused.html", {"status": status, "message": message})
        return HttpResponse(html, status=status)


class SecurityHeadersMiddleware:
    """Headers Django's SecurityMiddleware does not set: ``Content-Security-Policy``
    (``settings.YIWANG_CONTENT_SECURITY_POLICY``: no inline script, no framing, nothing from
    another origin) and ``Permissions-Policy`` (no camera, microphone, geolocation…). A view
    that sets its own header keeps it."""

    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        self.headers = {
            "Content-Security-Policy": getattr(settings, "YIWANG_CONTENT_SECURITY_POLICY", ""),
            "Permissions-Policy": getattr(settings, "YIWANG_PERMISSIONS_POLICY", ""),
        }

    def __call__(self, request):
        response = self.get_response(request)
        for name, value in self.headers.items():
            if value and name not in response:
                response[name] = value
        return response
