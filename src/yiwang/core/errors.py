"""One error vocabulary for services, pages and every JSON API.

Services raise these; the API turns them into ``{"code", "message", "fields"}``
with the message in the user's language; pages show the message.
"""

from django.utils.translation import gettext_lazy as _


class YiwangError(Exception):
    code = "error"
    status = 400
    default_message = _("请求无法处理。")

    def __init__(self, message=None, *, code: str | None = None, fields: dict | None = None):
        self.message = message if message is not None else self.default_message
        if code:
            self.code = code
        self.fields = fields or {}
        super().__init__(str(self.message))

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "message": str(self.message),
            "fields": {
                name: [str(m) for m in (msgs if isinstance(msgs, list | tuple) else [msgs])]
                for name, msgs in self.fields.items()
            },
        }


class ValidationFailed(YiwangError):
    code = "invalid"
    status = 422
    default_message = _("提交的内容有误,请按提示修改。")


class NotFound(YiwangError):
    """Also raised for objects the actor may not see: a forbidden object looks missing."""

    code = "not_found"
    status = 404
    default_message = _("未找到该对象。")


class NotAuthenticated(YiwangError):
    code = "not_authenticated"
    status = 401
    default_message = _("请先登录。")


class Forbidden(YiwangError):
    """For actions on an object the actor can see but may not change."""

    code = "forbidden"
    status = 403
    default_message = _("您没有执行此操作的权限。")


class Conflict(YiwangError):
    code = "conflict"
    status = 409
    default_message = _("该对象已被他人修改,请刷新后重试。")


class RateLimited(YiwangError):
    """Too many attempts: the API answers 429 with ``Retry-After``; pages show a Chinese page."""

    code = "rate_limited"
    status = 429
    default_message = _("尝试次数过多,请稍后再试。")

    def __init__(self, message=None, *, code: str | None = None, fields: dict | None = None, retry_after: int = 60):
        super().__init__(message, code=code, fields=fields)
        self.retry_after = max(1, int(retry_after))
