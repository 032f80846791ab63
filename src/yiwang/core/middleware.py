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
