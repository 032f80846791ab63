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
