"""The interface language follows the signed-in person, not just the browser.

Django's ``set_language`` view (/i18n/setlang/) keeps a visitor's choice in a cookie. For a
signed-in user this middleware also saves the choice on the account (``User.language``,
through ``user_set_preferences``), and on a browser that has made no choice yet it uses the
account's language and remembers it in the same cookie, so a person who chose English on one
device gets English on the next one after signing in.
"""

from django.conf import settings
from django.urls import reverse
from django.utils import translation

_LANGUAGES = {code for code, _name in settings.LANGUAGES}


class AccountLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        adopted = None
        if (
            signed_in
            and user.language in _LANGUAGES
            and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES
            and user.language != translation.get_language()
        ):
            adopted = user.language
            translation.activate(adopted)
            request.LANGUAGE_CODE = adopted

        response = self.get_response(request)

        if signed_in and request.method == "POST" and request.path == reverse("set_language"):
            chosen = request.POST.get("language", "")
            if chosen in _LANGUAGES and response.status_code in (200, 204, 302):
                from yiwang.identity.services import user_set_preferences

                user_set_preferences(actor=user, language=chosen)
        elif adopted:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                adopted,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        return response
