"""One error format for every JSON API: ``{"code": "...", "message": "...", "fields": {...}}``.

``code`` is stable (clients branch on it); ``message`` is in the request's language
(LocaleMiddleware: Accept-Language, zh-hans by default); ``fields`` maps a field name to
its messages. ``YiwangAPI`` is a ``NinjaAPI`` that answers in this format for:

* ``core.errors.YiwangError`` and its subclasses (their own status, code and fields);
* request validation (422 ``invalid``, fields named like the JSON keys: ``"name"``,
  ``"address.city"``, ``"items.0.qty"``; query and path parameters by their name);
* a body that is not JSON (400 ``malformed_json``, with line and column), nested deeper than
  ``core.inputs.MAX_JSON_DEPTH`` (422 ``json_too_deep``), or holding text that cannot be stored —
  a lone UTF-16 surrogate or NUL — in any string, key, query or form field (422 ``invalid_text``,
  the field named by its JSON path), refused by ``YiwangParser`` before the endpoint runs;
* a body over the in-memory limit (413 ``request_too_large``, the limit in the message), a
  multipart body that cannot be parsed (400 ``malformed_multipart``), too many fields or files
  (413 ``too_many_fields``);
* missing or rejected credentials (401 ``not_authenticated``), Django's PermissionDenied
  (403 ``forbidden``), Http404 / DoesNotExist (404 ``not_found``), throttling (429, and
  ``core.errors.RateLimited`` from ``core.ratelimit``: 429 ``rate_limited``, both with ``Retry-After``);
* unknown routes under the API's prefix (404 ``not_found``, JSON, not the HTML page); the
  prefix itself answers where the OpenAPI document and the docs are;
* a method the route does not accept (405 ``method_not_allowed``, with ``Allow``);
* anything else: 500 ``server_error``, logged with its traceback, none sent to the client.

The OpenAPI document lists, for every operation, the errors the framework itself may answer
whatever the route declares (``document_framework_errors``): 401/403 where it needs a
signed-in caller, 422 where it takes parameters or a body, 400 where it reads a body, 404
where its path names an object. Clients (and the fuzzer in tests/trust) can rely on it.
"""

import copy
import json
import logging
import threading
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    ObjectDoesNotExist,
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import URLPattern, re_path
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, Throttled, ValidationError
from ninja.parser import Parser
from ninja.renderers import JSONRenderer

from yiwang.core.errors import YiwangError
from yiwang.core.inputs import MAX_JSON_DEPTH, form_problems, json_problems, refuse, too_deep_message

logger = logging.getLogger("yiwang.api")

# pydantic error type → Chinese message; ``{name}`` placeholders come from the error's ctx.
_FIELD_MESSAGES: dict[str, Any] = {
    "missing": _("此字段为必填项"),
    "string_type": _("请填写文本"),
    "string_too_short": _("至少需要 {min_length} 个字符"),
    "string_too_long": _("不能超过 {max_length} 个字符"),
    "string_pattern_mismatch": _("格式不正确"),
    "int_type": _("请填写整数"),
    "int_parsing": _("请填写整数"),
    "int_from_float": _("请填写整数"),
    "float_type": _("请填写数字"),
    "float_parsing": _("请填写数字"),
    "decimal_type": _("请填写数字"),
    "decimal_parsing": _("请填写数字"),
    "bool_type": _("请填写 true 或 false"),
    "bool_parsing": _("请填写 true 或 false"),
    "greater_than": _("须大于 {gt}"),
    "greater_than_equal": _("不能小于 {ge}"),
    "less_than": _("须小于 {lt}"),
    "less_than_equal": _("不能大于 {le}"),
    "enum": _("请从以下选项中选择:{expected}"),
    "literal_error": _("请从以下选项中选择:{expected}"),
    "date_type": _("请填写日期,格式为 YYYY-MM-DD"),
    "date_parsing": _("请填写日期,格式为 YYYY-MM-DD"),
    "date_from_datetime_parsing": _("请填写日期,格式为 YYYY-MM-DD"),
    "datetime_type": _("请填写日期时间,格式为 ISO 8601(如 2025-01-31T09:30:00+08:00)"),
    "datetime_parsing": _("请填写日期时间,格式为 ISO 8601(如 2025-01-31T09:30:00+08:00)"),
    "datetime_from_date_parsing": _("请填写日期时间,格式为 ISO 8601(如 2025-01-31T09:30:00+08:00)"),
    "uuid_type": _("请填写正确的 UUID"),
    "uuid_parsing": _("请填写正确的 UUID"),
    "list_type": _("请提供一个列表"),
    "too_short": _("至少需要 {min_length} 项"),
    "too_long": _("不能超过 {max_length} 项"),
    "dict_type": _("请提供一个对象"),
    "model_type": _("请提供一个对象"),
    "model_attributes_type": _("请提供一个对象"),
    "extra_forbidden": _("不允许提交此字段"),
    "json_invalid": _("不是有效的 JSON"),
}
_FALLBACK_FIELD_MESSAGE = _("此字段的值无效")

STATUS_CODES = {
    400: ("bad_request", _("请求无法处理。")),
    401: ("not_authenticated", _("请先登录。")),
    403: ("forbidden", _("您没有执行此操作的权限。")),
    404: ("not_found", _("未找到该对象。")),
    405: ("method_not_allowed", _("该接口不支持 %(method)s 方法。")),
    413: ("request_too_large", _("请求体过大。")),
    422: ("invalid", _("提交的内容有误,请按提示修改。")),
    429: ("throttled", _("请求过于频繁,请稍后再试。")),
    500: ("server_error", _("服务器内部错误,请稍后重试。")),
}


class ErrorOut(Schema):
    """The body of every error response."""

    code: str = Field(description="Stable machine code, e.g. not_found, invalid, department_not_found")
    message: str = Field(description="Human message in the request's language (zh-hans by default)")
    fields: dict[str, list[str]] = Field(description="Messages per field, keyed by the JSON path the client sent")


class YiwangJSONRenderer(JSONRenderer):
    """JSON with Chinese characters as themselves, not ``\\uXXXX`` escapes.

    Text stored before the parser refused unencodable strings (a lone surrogate) still
    renders: such a body falls back to ASCII escapes, which any JSON client can read."""

    json_dumps_params = {"ensure_ascii": False}

    def render(self, request, data, *, response_status):
        text = super().render(request, data, response_status=response_status)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = json.dumps(data, cls=self.encoder_class, ensure_ascii=True)
        return text


class YiwangParser(Parser):
    """Ninja's parser, refusing what cannot be stored before any endpoint sees it.

    A JSON body: nesting deeper than ``MAX_JSON_DEPTH`` and any string or key with a lone
    surrogate or NUL (422 ``invalid_text``, fields by JSON path). Query and form fields:
    the same check on names and values; uploaded files: on their names."""

    def parse_body(self, request: HttpRequest):
        try:
            data = json.loads(request.body)
        except RecursionError:
            refuse({"body": [too_deep_message()]}, too_deep=True)
        problems, too_deep = json_problems(data, max_depth=MAX_JSON_DEPTH)
        refuse(problems, too_deep=too_deep)
        return data

    def parse_querydict(self, data, list_fields, request: HttpRequest):
        refuse(form_problems(data))
        return super().parse_querydict(data, list_fields, request)


def human_bytes(size: int) -> str:
    """``10485760`` → ``"10 MB"``; limits in messages are read by people."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            value = size / factor
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size} B"


def error_body(code: str, message: Any, fields: dict | None = None) -> dict:
    return {"code": code, "message": str(message), "fields": fields or {}}


def _json_response(body: dict, status: int) -> HttpResponse:
    return HttpResponse(
        json.dumps(body, ensure_ascii=False), status=status, content_type="application/json; charset=utf-8"
    )


def field_message(error: dict) -> str:
    """The Chinese (or request-language) message for one pydantic error."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "value_error":
        # Raised by our own schema validators, whose text is already a gettext message.
        text = str(ctx.get("error") or error.get("msg", ""))
        return text.removeprefix("Value error, ") or gettext(str(_FALLBACK_FIELD_MESSAGE))
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return gettext("此字段不能为空")
    template = _FIELD_MESSAGES.get(kind)
    if template is None:
        return str(_FALLBACK_FIELD_MESSAGE)
    values = dict(ctx)
    if "expected" in values:  # pydantic writes "'a', 'b' or 'c'"
        values["expected"] = str(values["expected"]).replace("'", "").replace(" or ", ", ")
    try:
        return str(template).format(**values)
    except (KeyError, IndexError, ValueError):
        return str(_FALLBACK_FIELD_MESSAGE)


def field_name(loc: tuple | list, *, single_body_param: str | None = None) -> str:
    """A readable key for an error location: ``("body", "payload", "name")`` → ``"name"``.

    The first element is where the value came from (body, query, path, header, …); when the
    whole body is read into one schema parameter, ninja adds that parameter's name next,
    which the client never wrote. What remains is the JSON path the client wrote
    (``"address.city"``, ``"items.0"``); an error about the body as a whole is ``"body"``.
    """
    parts = [str(p) for p in loc]
    if not parts:
        return "__all__"
    source, rest = parts[0], parts[1:]
    if source == "body" and single_body_param and rest and rest[0] == single_body_param:
        rest = rest[1:]
    return ".".join(rest) if rest else source


_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
_FRAMEWORK_ERRORS = {
    400: "The body is not valid JSON (malformed_json) or not a readable form (bad_request)",
    401: "Not signed in: no, an unknown, a revoked or an expired token (not_authenticated)",
    403: "Signed in but not allowed (forbidden), CSRF check failed, or MFA/password change required first",
    404: "The object does not exist or is not visible to the caller (not_found)",
    422: "A parameter or the body is invalid (invalid); fields names each one",
}


def document_framework_errors(schema: dict) -> dict:
    """Add to each operation of an OpenAPI document the error responses the API answers on its
    own (authentication, validation, malformed bodies, unknown objects), as ``ErrorOut``."""
    schema.setdefault("components", {}).setdefault("schemas", {}).setdefault(
        "ErrorOut", ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    )
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            parameters = operation.get("parameters") or []
            statuses = set()
            if operation.get("security"):
                statuses |= {401, 403}
            if parameters or "requestBody" in operation:
                statuses.add(422)
            if "requestBody" in operation:
                statuses.add(400)
            if any(p.get("in") == "path" for p in parameters):
                statuses.add(404)
            responses = operation["responses"]
            for status in sorted(statuses):
                if status not in responses and str(status) not in responses:
                    responses[status] = {"description": _FRAMEWORK_ERRORS[status], "content": _ERROR_CONTENT}
    return schema


class YiwangAPI(NinjaAPI):
    """``NinjaAPI`` answering every error in Yiwang's one format (see the module docstring)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._openapi_cache: dict[tuple, dict] = {}
        self._openapi_lock = threading.Lock()
        self.add_exception_handler(YiwangError, self._yiwang_error)
        self.add_exception_handler(ValidationError, self._validation_error)
        self.add_exception_handler(DjangoValidationError, self._django_validation_error)
        self.add_exception_handler(HttpError, self._http_error)
        self.add_exception_handler(Http404, self._not_found)
        self.add_exception_handler(ObjectDoesNotExist, self._not_found)
        self.add_exception_handler(PermissionDenied, self._forbidden)
        self.add_exception_handler(RequestDataTooBig, self._too_large)
        self.add_exception_handler(TooManyFieldsSent, self._too_many_fields)
        self.add_exception_handler(TooManyFilesSent, self._too_many_fields)
        self.add_exception_handler(MultiPartParserError, self._malformed_multipart)
        self.add_exception_handler(Exception, self._server_error)

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        """The OpenAPI document, built once per process (and per language, path prefix and path
        parameters): pydantic takes seconds to derive the ~1,300 models' JSON schemas, and the
        routers do not change once the URLconf is loaded. Each caller gets its own copy."""
        key = (path_prefix, tuple(sorted((path_params or {}).items())), get_language())
        with self._openapi_lock:
            schema = self._openapi_cache.get(key)
            if schema is None:
                schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
                # A plain dict: ninja's OpenAPISchema keeps a reference to the API (and its lock).
                schema = self._openapi_cache[key] = dict(document_framework_errors(schema))
        return copy.deepcopy(schema)

    def validation_error_from_error_contexts(self, error_contexts) -> ValidationError:
        # Name each error by the JSON path the client wrote, while the parameter model that
        # tells whether the body was read into one schema parameter is still at hand.
        errors = []
        for context in error_contexts:
            single = getattr(context.model, "__read_from_single_attr__", None)
            for error in super().validation_error_from_error_contexts([context]).errors:
                error["field"] = field_name(error.get("loc", ()), single_body_param=single)
                errors.append(error)
        return ValidationError(errors)

    # --- handlers -------------------------------------------------------------------------

    def error(self, request: HttpRequest, status: int, code: str | None = None, message=None, fields=None):
        default_code, default_message = STATUS_CODES.get(status, STATUS_CODES[400])
        body = error_body(code or default_code, message if message is not None else default_message, fields)
        return self.create_response(request, body, status=status)

    def _yiwang_error(self, request, exc: YiwangError):
        response = self.create_response(request, exc.as_dict(), status=exc.status)
        if getattr(exc, "retry_after", None):  # RateLimited
            response["Retry-After"] = str(exc.retry_after)
        return response

    def _validation_error(self, request, exc: ValidationError):
        fields: dict[str, list[str]] = {}
        for error in exc.errors:
            name = error.get("field") or field_name(error.get("loc", ()))
            if name == "body" and error.get("type") == "missing":
                message = gettext("请提交 JSON 格式的请求体")
            else:
                message = field_message(error)
            fields.setdefault(name, []).append(message)
        return self.error(request, 422, fields=fields)

    def _django_validation_error(self, request, exc: DjangoValidationError):
        if hasattr(exc, "error_dict"):
            fields = {name: [str(m) for m in errors.messages] for name, errors in exc.message_dict.items()}
            return self.error(request, 422, fields=fields)
        return self.error(request, 422, message=" ".join(str(m) for m in exc.messages))

    def _http_error(self, request, exc: HttpError):
        status = exc.status_code
        if isinstance(exc.__cause__, YiwangError):  # raised by YiwangParser while reading the body
            return self._yiwang_error(request, exc.__cause__)
        if isinstance(exc.__cause__, RequestDataTooBig):
            return self._too_large(request, exc.__cause__)
        if status == 400 and isinstance(exc.__cause__, ValueError):
            return self._malformed_json(request, exc.__cause__)
        if isinstance(exc, AuthenticationError) or status == 401:
            response = self.error(request, 401)
            response["WWW-Authenticate"] = 'Bearer realm="yiwang"'
            return response
        if isinstance(exc, AuthorizationError):
            return self.error(request, 403)
        if isinstance(exc, Throttled):
            response = self.error(request, 429)
            if exc.wait:
                response["Retry-After"] = str(int(exc.wait))
            return response
        if status in STATUS_CODES and status != 405:
            return self.error(request, status)
        # An HttpError raised with a specific message by an endpoint: keep its text.
        return self.error(request, status, code="error", message=exc.message)

    def _malformed_json(self, request, cause: ValueError):
        if isinstance(cause, json.JSONDecodeError):
            message = gettext("请求体不是有效的 JSON:第 %(line)d 行第 %(column)d 列附近有误。") % {
                "line": cause.lineno,
                "column": cause.colno,
            }
        else:
            message = gettext("请求体不是有效的 JSON。")
        return self.error(request, 400, code="malformed_json", message=message)

    def _too_large(self, request, exc):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
        message = gettext("请求体超过 %(limit)s 的上限;文件请用 multipart/form-data 上传。") % {
            "limit": human_bytes(limit)
        }
        return self.error(request, 413, code="request_too_large", message=message)

    def _too_many_fields(self, request, exc):
        message = gettext("提交的字段或文件过多(字段至多 %(fields)d 个,文件至多 %(files)d 个)。") % {
            "fields": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS or 0,
            "files": settings.DATA_UPLOAD_MAX_NUMBER_FILES or 0,
        }
        return self.error(request, 413, code="too_many_fields", message=message)

    def _malformed_multipart(self, request, exc):
        message = gettext("multipart/form-data 请求体无法解析(缺少 boundary 或格式有误)。")
        return self.error(request, 400, code="malformed_multipart", message=message)

    def _not_found(self, request, exc):
        return self.error(request, 404)

    def _forbidden(self, request, exc):
        return self.error(request, 403)

    def _server_error(self, request, exc: Exception):
        logger.exception("unhandled error in %s %s", request.method, request.path, exc_info=exc)
        return self.error(request, 500)

    # --- routes: JSON 404 for unknown paths, JSON 405 for wrong methods ----------------------------

    def _get_urls(self):
        urls = super()._get_urls()
        for pattern in urls:
            if isinstance(pattern, URLPattern):
                if pattern.name == "api-root":  # ninja's root raises a bare Http404 (an HTML page)
                    pattern.callback = csrf_exempt(self._root)
                pattern.callback = self._json_method_not_allowed(pattern.callback)
        urls.append(re_path(r"^", csrf_exempt(self._unknown_route), name="unknown-route"))
        return urls

    def _json_method_not_allowed(self, view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            if response.status_code == 405 and not response.get("Content-Type", "").startswith("application/json"):
                allow = response.get("Allow", "")
                message = str(STATUS_CODES[405][1]) % {"method": request.method}
                response = _json_response(error_body("method_not_allowed", message), 405)
                if allow:
                    response["Allow"] = allow
            return response

        wrapper.csrf_exempt = getattr(view, "csrf_exempt", False)
        return wrapper

    def _root(self, request, *args, **kwargs):
        """The API's root: where its description lives."""
        base = request.path.rstrip("/")
        body = {"title": self.title, "version": self.version}
        if self.openapi_url:
            body["openapi"] = base + self.openapi_url
        if self.openapi_url and self.docs_url:
            body["docs"] = base + self.docs_url
        return _json_response(body, 200)

    def _unknown_route(self, request, *args, **kwargs):
        return _json_response(error_body("not_found", gettext("请求的接口不存在。")), 404)
