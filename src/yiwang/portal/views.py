"""Portal pages (citizens and enterprises): home, my account, and the elder-mode switch.

Thin views: reads come from the request and selectors, writes go through identity services.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, get_language_info
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from yiwang.catalog import selectors as catalog_selectors
from yiwang.core.masking import mask_id_number, mask_phone
from yiwang.core.middleware import ELDER_COOKIE

# Long-lived: an elder who turned the mode on once should never have to find the switch again.
ELDER_COOKIE_MAX_AGE = 5 * 365 * 24 * 3600


# How many life-event bundles the home page offers before "all services".
HOME_LIFE_EVENTS = 6


def home(request: HttpRequest) -> HttpResponse:
    life_events = list(catalog_selectors.life_event_list_published()[:HOME_LIFE_EVENTS])
    catalog_open = bool(life_events) or catalog_selectors.item_list_published().exists()
    return render(request, "portal/home.html", {"life_events": life_events, "catalog_open": catalog_open})


@login_required
def account(request: HttpRequest) -> HttpResponse:
    user = request.user
    language = get_language() or settings.LANGUAGE_CODE
    return render(
        request,
        "portal/account.html",
        {
            "masked_id_number": mask_id_number(user.id_number),
            "masked_phone": mask_phone(user.phone),
            "language_name": get_language_info(language)["name_local"],
        },
    )


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.META.get("HTTP_REFERER") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("portal:home")


@require_POST
def elder_mode(request: HttpRequest) -> HttpResponse:
    """Turn elder mode (长辈模式) on or off with one click, and keep it.

    ``enabled`` is "1" or "0"; without it the mode flips. The choice is kept in a long-lived
    cookie (for this browser, signed in or not) and, for a signed-in user, on the account
    through ``user_set_preferences`` so it follows them to other devices.
    """
    raw = request.POST.get("enabled")
    enabled = (raw in {"1", "true", "on"}) if raw is not None else not getattr(request, "elder_mode", False)

    if request.user.is_authenticated:
        from yiwang.identity.services import user_set_preferences

        user_set_preferences(actor=request.user, elder_mode=enabled)
    request.elder_mode = enabled
    messages.info(request, _("已开启长辈模式：字更大、对比更强、页面更简洁。") if enabled else _("已退出长辈模式。"))
    # 303 so that htmx (and any browser) follows with a GET; htmx then swaps #page in place.
    response = HttpResponseRedirect(_safe_next(request), status=303)
    response.set_cookie(
        ELDER_COOKIE,
        "1" if enabled else "0",
        max_age=ELDER_COOKIE_MAX_AGE,
        samesite="Lax",
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
    )
    return response


@login_required
def after_login(request: HttpRequest) -> HttpResponse:
    """Where sign-in lands without a ``next``: staff on their workbench, everyone else on the home page's tasks."""
    if request.user.kind == "staff":
        return HttpResponseRedirect(reverse("workbench:home"))
    return HttpResponseRedirect(reverse("portal:account"))


CHECKS = {"id_number": 18, "uscc": 18}


@require_GET
def check_code(request: HttpRequest, kind: str) -> HttpResponse:
    """As the user types an ID number or credit code: the verdict of ``core.codes`` as a small HTML fragment.

    htmx sends the field's value (under the field's own name, so the first GET value is read).
    Silent until the value has its full length: a half-typed number is not an error.
    """
    from django.core.exceptions import ValidationError
    from django.http import Http404
    from django.utils.html import escape

    from yiwang.core import codes

    if kind not in CHECKS:
        raise Http404
    value = next(iter(request.GET.values()), "").strip().replace(" ", "")[:40]
    if len(value) < CHECKS[kind]:
        return HttpResponse("")
    try:
        (codes.validate_id_number if kind == "id_number" else codes.validate_uscc)(value)
    except ValidationError as exc:
        return HttpResponse(f'<span class="field-check is-bad">{escape(" ".join(exc.messages))}</span>')
    return HttpResponse(f'<span class="field-check is-ok">{escape(_("格式与校验位正确"))}</span>')
