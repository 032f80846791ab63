"""Appointment pages: the citizen's booking pages, the window clerk's queue, the hall screen
(public, masked names only) and the self-service kiosk. Thin: reads are selectors, writes are
services; a booking or hall the actor may not see is a 404."""

import time

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from yiwang.appointments import selectors, services
from yiwang.appointments.middleware import COOKIE as KIOSK_COOKIE
from yiwang.appointments.middleware import SALT as KIOSK_COOKIE_SALT
from yiwang.appointments.middleware import SESSION_KIOSK
from yiwang.appointments.middleware import SESSION_SEEN as SESSION_KIOSK_SEEN
from yiwang.appointments.models import BookingState, Hall
from yiwang.core.audit import audit_record
from yiwang.core.errors import NotFound, YiwangError
from yiwang.core.ratelimit import client_ip

SESSION_KIOSK_LOGIN = "yiwang_kiosk_login"
SESSION_KIOSK_SMS_ID = "yiwang_kiosk_sms_id"


def _error_text(exc: YiwangError) -> str:
    parts = [str(exc.message)]
    for texts in exc.fields.values():
        for text in texts if isinstance(texts, list | tuple) else [texts]:
            if str(text) not in parts:
                parts.append(str(text))
    return " ".join(parts)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def idle_seconds() -> int:
    return int(getattr(settings, "YIWANG_KIOSK_IDLE_SECONDS", 120))


# --- the citizen -------------------------------------------------------------------------------


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """Choose a hall and an item, then a slot; booking needs sign-in (the form says so)."""
    halls = list(selectors.hall_list())
    hall = next((h for h in halls if h.pk == _int(request.GET.get("hall"))), halls[0] if halls else None)
    items = selectors.hall_items(hall=hall) if hall else []
    item = request.GET.get("item") or (items[0][0] if items else "")
    slots = list(selectors.slot_list(hall_id=hall.pk, item_code=item)) if hall else []
    return render(
        request,
        "appointments/index.html",
        {"halls": halls, "hall": hall, "items": items, "item": item, "slots": slots, "error": None},
    )


@login_required
@require_POST
def book(request: HttpRequest) -> HttpResponse:
    slot_id = _int(request.POST.get("slot"))
    kiosk = bool(request.session.get(SESSION_KIOSK))
    try:
        booking = services.booking_create(
            actor=request.user,
            slot_id=slot_id or 0,
            idempotency_key=request.POST.get("idempotency_key", ""),
            channel="kiosk" if kiosk else "portal",
        )
    except YiwangError as exc:
        messages.error(request, _error_text(exc))
        try:
            slot = selectors.slot_get(slot_id=slot_id or 0)
            query = f"?hall={slot.hall_id}&item={slot.item_code}"
        except NotFound:
            query = ""
        return redirect(reverse("appointments:index") + query + "#slots")
    messages.success(request, _("预约成功,预约号 %(number)s") % {"number": booking.number})
    return redirect("appointments:slip", number=booking.number)


@login_required
@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    bookings = list(selectors.booking_list_mine(actor=request.user)[:100])
    return render(request, "appointments/mine.html", {"bookings": bookings, "BookingState": BookingState})


def _my_booking(request, number):
    try:
        return selectors.booking_get_mine(actor=request.user, number=number)
    except NotFound as exc:
        raise Http404 from exc


@login_required
@require_GET
def slip(request: HttpRequest, number: str) -> HttpResponse:
    """预约凭证: printable (print stylesheet, a print button)."""
    return render(request, "appointments/slip.html", {"booking": _my_booking(request, number)})


@login_required
@require_POST
def cancel(request: HttpRequest, number: str) -> HttpResponse:
    _my_booking(request, number)
    try:
        services.booking_cancel(actor=request.user, number=number)
        messages.success(request, _("预约 %(number)s 已取消") % {"number": number})
    except YiwangError as exc:
        messages.error(request, _error_text(exc))
    return redirect("appointments:mine")


@login_required
def change(request: HttpRequest, number: str) -> HttpResponse:
    booking = _my_booking(request, number)
    error = None
    if request.method == "POST":
        try:
            services.booking_change(actor=request.user, number=number, slot_id=_int(request.POST.get("slot")) or 0)
            messages.success(request, _("改约成功,预约号不变:%(number)s") % {"number": number})
            return redirect("appointments:slip", number=number)
        except YiwangError as exc:
            error = _error_text(exc)
    slots = [
        s
        for s in selectors.slot_list(hall_id=booking.slot.hall_id, item_code=booking.item_code)
        if s.pk != booking.slot_id
    ]
    return render(request, "appointments/change.html", {"booking": booking, "slots": slots, "error": error})


# --- the hall screen (public) -------------------------------------------------------------------


@require_GET
def screen(request: HttpRequest, hall_id: int) -> HttpResponse:
    try:
        board = selectors.screen_board(hall_id=hall_id)
    except NotFound as exc:
        raise Http404 from exc
    return render(request, "appointments/screen.html", board)


@require_GET
def screen_board(request: HttpRequest, hall_id: int) -> HttpResponse:
    try:
        board = selectors.screen_board(hall_id=hall_id)
    except NotFound as exc:
        raise Http404 from exc
    return render(request, "appointments/_board.html", board)


# --- the window clerk ---------------------------------------------------------------------------


@login_required
@require_GET
def workbench(request: HttpRequest) -> HttpResponse:
    halls = selectors.halls_for_staff(actor=request.user)
    if not halls:
        raise Http404
    return redirect("appointments_workbench:queue", hall_id=halls[0].pk)


@login_required
@require_GET
def queue(request: HttpRequest, hall_id: int) -> HttpResponse:
    try:
        today = selectors.hall_today(actor=request.user, hall_id=hall_id)
    except NotFound as exc:
        raise Http404 from exc
    today["halls"] = selectors.halls_for_staff(actor=request.user)
    today["items"] = selectors.hall_items(hall=today["hall"])
    today["window_label"] = request.session.get("yiwang_window_label", "")
    today["waiting"] = [t for t in today["tickets"] if t.state == "waiting"]
    # The setup link only for those who may open it: a clerk got a 404 behind it.
    today["can_setup"] = selectors.may_manage_hall(actor=request.user, department=today["hall"].department)
    return render(request, "appointments/queue.html", today)


@login_required
@require_POST
def queue_action(request: HttpRequest, hall_id: int, action: str) -> HttpResponse:
    try:
        selectors.hall_get_for_staff(actor=request.user, hall_id=hall_id)
    except NotFound as exc:
        raise Http404 from exc
    try:
        if action == "check_in":
            ticket = services.booking_check_in(
                actor=request.user, hall_id=hall_id, number=request.POST.get("number", "")
            )
            messages.success(request, _("签到成功,排队号 %(code)s") % {"code": ticket.code})
        elif action == "walk_in":
            ticket = services.walk_in_issue(
                actor=request.user,
                hall_id=hall_id,
                item_code=request.POST.get("item_code", ""),
                name=request.POST.get("name", ""),
            )
            messages.success(request, _("已取号 %(code)s") % {"code": ticket.code})
        elif action == "call_next":
            label = request.POST.get("window_label", "")
            request.session["yiwang_window_label"] = label.strip()[:20]
            ticket = services.ticket_call_next(actor=request.user, hall_id=hall_id, window_label=label)
            if ticket is None:
                messages.info(request, _("当前没有等候的号码"))
            else:
                messages.success(request, _("请 %(code)s 号到 %(window)s") % {"code": ticket.code, "window": label})
        else:
            raise Http404
    except YiwangError as exc:
        messages.error(request, _error_text(exc))
    return redirect("appointments_workbench:queue", hall_id=hall_id)


# --- the kiosk ----------------------------------------------------------------------------------


def kiosk_device(request: HttpRequest):
    """The kiosk this browser was activated as (signed cookie), or None."""
    raw = request.COOKIES.get(KIOSK_COOKIE)
    if not raw:
        return None
    try:
        device_id = signing.loads(raw, salt=KIOSK_COOKIE_SALT)
        return selectors.kiosk_device_get(device_id=int(device_id))
    except (signing.BadSignature, NotFound, TypeError, ValueError):
        return None


def _kiosk_or_activate(request):
    device = kiosk_device(request)
    if device is None:
        return None, redirect("kiosk:activate")
    return device, None


@never_cache
def kiosk_activate(request: HttpRequest) -> HttpResponse:
    """Make this browser a kiosk: an administrator types the device's activation code once."""
    error = None
    if request.method == "POST":
        try:
            device = services.kiosk_device_activate(code=request.POST.get("code", ""), ip=client_ip(request))
        except YiwangError as exc:
            error = _error_text(exc)
        else:
            response = redirect("kiosk:home")
            response.set_cookie(
                KIOSK_COOKIE,
                signing.dumps(device.pk, salt=KIOSK_COOKIE_SALT),
                max_age=10 * 365 * 86400,
                httponly=True,
                samesite="Lax",
                secure=request.is_secure(),
            )
            return response
    return render(request, "appointments/kiosk_activate.html", {"error": error})


def _qr_svg(url: str) -> str:
    return segno.make(url, error="m").svg_inline(scale=8, dark="#000", light="#fff", title="QR")


def _start_qr(request, device) -> dict:
    started = services.kiosk_login_start(device=device)
    request.session[SESSION_KIOSK_LOGIN] = started.login.pk
    url = request.build_absolute_uri(reverse("kiosk:scan", args=[started.token]))
    return {"qr": _qr_svg(url), "scan_url": url, "login": started.login}


@never_cache
@require_GET
def kiosk_home(request: HttpRequest) -> HttpResponse:
    device, redirect_to = _kiosk_or_activate(request)
    if redirect_to:
        return redirect_to
    if request.GET.get("timeout"):
        messages.info(request, _("长时间无操作,已自动退出登录"))
    request.session[SESSION_KIOSK] = device.pk
    if request.user.is_authenticated:
        return render(request, "appointments/kiosk_home.html", {"device": device})
    return render(request, "appointments/kiosk_login.html", {"device": device, **_start_qr(request, device)})


@never_cache
@require_GET
def kiosk_poll(request: HttpRequest) -> HttpResponse:
    """htmx every 2 s from the QR page: 286 (stop polling) + redirect once the phone confirmed."""
    device = kiosk_device(request)
    login_id = request.session.get(SESSION_KIOSK_LOGIN)
    if device is None or not login_id:
        raise Http404
    user = services.kiosk_login_claim(login_id=login_id, device=device)
    if user is None:
        if selectors.kiosk_login_expired(login_id=login_id):
            return render(request, "appointments/_kiosk_qr.html", _start_qr(request, device))
        return HttpResponse(status=204)
    _kiosk_sign_in(request, user, device)
    response = HttpResponse(status=200)
    response["HX-Redirect"] = reverse("kiosk:home")
    return response


def _kiosk_sign_in(request, user, device) -> None:
    from yiwang.identity.middleware import SESSION_LAST_ACTIVITY

    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[SESSION_KIOSK] = device.pk
    request.session[SESSION_KIOSK_SEEN] = int(time.time())
    request.session[SESSION_LAST_ACTIVITY] = int(time.time())
    request.session.pop(SESSION_KIOSK_LOGIN, None)


@login_required
def kiosk_scan(request: HttpRequest, token: str) -> HttpResponse:
    """On the citizen's phone: confirm signing the kiosk in as oneself."""
    try:
        pending = services.kiosk_login_peek(token=token)
    except NotFound:
        return render(request, "appointments/kiosk_scan.html", {"expired": True}, status=404)
    if request.method == "POST":
        try:
            services.kiosk_login_confirm(actor=request.user, token=token)
        except NotFound:
            return render(request, "appointments/kiosk_scan.html", {"expired": True}, status=404)
        return render(request, "appointments/kiosk_scan.html", {"done": True, "device": pending.device})
    return render(request, "appointments/kiosk_scan.html", {"device": pending.device})


@never_cache
def kiosk_sms(request: HttpRequest) -> HttpResponse:
    """Sign in at the kiosk with the ID number and an SMS code to the registered phone."""
    device, redirect_to = _kiosk_or_activate(request)
    if redirect_to:
        return redirect_to
    step = "id"
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            if request.POST.get("step") == "code":
                user = services.kiosk_sms_verify(
                    device=device,
                    id_number=request.session.get(SESSION_KIOSK_SMS_ID, ""),
                    code=request.POST.get("code", ""),
                )
                _kiosk_sign_in(request, user, device)
                request.session.pop(SESSION_KIOSK_SMS_ID, None)
                return redirect("kiosk:home")
            id_number = request.POST.get("id_number", "")
            services.kiosk_sms_send(device=device, id_number=id_number)
            request.session[SESSION_KIOSK_SMS_ID] = id_number.strip().upper()
            step = "code"
        except YiwangError as exc:
            field = next(iter(exc.fields), "id_number" if request.POST.get("step") != "code" else "code")
            errors[field] = _error_text(exc)
            step = "code" if request.POST.get("step") == "code" else "id"
    return render(request, "appointments/kiosk_sms.html", {"device": device, "step": step, "errors": errors})


@require_POST
def kiosk_logout(request: HttpRequest) -> HttpResponse:
    """退出 (a button, or the idle timer): the session is ended on the server."""
    if request.user.is_authenticated:
        audit_record(
            actor=request.user,
            action="appointments.kiosk_logout",
            obj=request.user,
            object_repr=request.user.get_username(),
            changes={"reason": "idle" if request.POST.get("reason") == "idle" else "button"},
        )
    logout(request)
    url = reverse("kiosk:home")
    return redirect(url + ("?timeout=1" if request.POST.get("reason") == "idle" else ""))


@login_required
def kiosk_bookings(request: HttpRequest) -> HttpResponse:
    """My bookings at the kiosk: check in today's (for the kiosk's hall), print a slip."""
    device, redirect_to = _kiosk_or_activate(request)
    if redirect_to:
        return redirect_to
    if request.method == "POST":
        try:
            ticket = services.booking_self_check_in(
                actor=request.user, number=request.POST.get("number", ""), device=device
            )
            messages.success(request, _("签到成功,您的排队号 %(code)s,请留意叫号屏") % {"code": ticket.code})
        except YiwangError as exc:
            messages.error(request, _error_text(exc))
        return redirect("kiosk:bookings")
    bookings = list(selectors.booking_list_mine(actor=request.user)[:20])
    return render(request, "appointments/kiosk_bookings.html", {"device": device, "bookings": bookings})


# --- configuration: halls, weekly slot templates, kiosk devices (the hall's administrators) -----

WEEKDAYS = [
    (0, _("星期一")),
    (1, _("星期二")),
    (2, _("星期三")),
    (3, _("星期四")),
    (4, _("星期五")),
    (5, _("星期六")),
    (6, _("星期日")),
]


@login_required
def setup(request: HttpRequest) -> HttpResponse:
    """The halls the administrator configures, and a new hall for a department with windows."""
    halls = selectors.halls_manageable(actor=request.user)
    departments = selectors.hall_departments_manageable(actor=request.user)
    if not halls and not departments:
        raise Http404
    error = ""
    status = 200
    if request.method == "POST":
        department = next((d for d in departments if str(d.pk) == request.POST.get("department")), None)
        try:
            if department is None:
                raise NotFound(code="hall_not_found")
            hall = services.hall_save(
                actor=request.user,
                department=department,
                name=request.POST.get("name", ""),
                address=request.POST.get("address", ""),
            )
        except YiwangError as exc:
            error, status = _error_text(exc), exc.status if exc.status != 404 else 422
        else:
            messages.success(request, _("已保存服务大厅 %(name)s。") % {"name": hall.name})
            return redirect("appointments_workbench:setup_hall", hall_id=hall.pk)
    taken = {h.department_id for h in Hall.objects.filter(department__in=departments)}
    return render(
        request,
        "appointments/setup.html",
        {"halls": halls, "departments": [d for d in departments if d.pk not in taken], "error": error},
        status=status,
    )


def _time(value: str):
    import datetime

    try:
        return datetime.time.fromisoformat((value or "").strip())
    except ValueError:
        return None


@login_required
def setup_hall(request: HttpRequest, hall_id: int) -> HttpResponse:
    """One hall: its name and address, its weekly templates, its kiosks (a new kiosk's activation
    code is shown once, on the answer to its registration)."""
    try:
        context = selectors.hall_setup(actor=request.user, hall_id=hall_id)
    except NotFound as exc:
        raise Http404 from exc
    hall = context["hall"]
    errors: dict = {}
    error = ""
    status = 200
    new_code = ""
    if request.method == "POST":
        what = request.POST.get("what", "")
        try:
            if what == "hall":
                services.hall_save(
                    actor=request.user,
                    department=hall.department,
                    name=request.POST.get("name", ""),
                    address=request.POST.get("address", ""),
                    is_active=request.POST.get("is_active") == "on",
                )
                messages.success(request, _("已保存大厅信息。"))
            elif what == "template":
                start, end = _time(request.POST.get("start_time")), _time(request.POST.get("end_time"))
                capacity = _int(request.POST.get("capacity"))
                weekday = _int(request.POST.get("weekday"))
                bad = {}
                if start is None:
                    bad["start_time"] = [_("请填写开始时间(时:分)")]
                if end is None:
                    bad["end_time"] = [_("请填写结束时间(时:分)")]
                if capacity is None:
                    bad["capacity"] = [_("可约人数须为整数")]
                if weekday is None:
                    bad["weekday"] = [_("请选择星期")]
                if bad:
                    from yiwang.core.errors import ValidationFailed

                    raise ValidationFailed(_("号源模板有误,请检查标出的项目。"), code="template_invalid", fields=bad)
                services.slot_template_save(
                    actor=request.user,
                    hall=hall,
                    item_code=request.POST.get("item_code", ""),
                    item_name=request.POST.get("item_name", "").strip() or request.POST.get("item_code", ""),
                    weekday=weekday,
                    start_time=start,
                    end_time=end,
                    capacity=capacity,
                )
                messages.success(request, _("已保存号源模板;新号源在下次生成时出现。"))
            elif what in ("template_off", "template_on"):
                services.slot_template_set_active(
                    actor=request.user, template_id=_int(request.POST.get("id")), active=what == "template_on"
                )
            elif what == "kiosk":
                created = services.kiosk_device_create(actor=request.user, hall=hall, name=request.POST.get("name", ""))
                new_code = created.code
            elif what in ("kiosk_off", "kiosk_on"):
                services.kiosk_device_set_active(
                    actor=request.user, device_id=_int(request.POST.get("id")), active=what == "kiosk_on"
                )
            else:
                from yiwang.core.errors import ValidationFailed

                raise ValidationFailed(_("未知的操作"), code="action_unknown")
        except NotFound as exc:
            raise Http404 from exc
        except YiwangError as exc:
            error, errors, status = str(exc.message), exc.fields, exc.status
        else:
            if not new_code:
                return redirect("appointments_workbench:setup_hall", hall_id=hall.pk)
        context = selectors.hall_setup(actor=request.user, hall_id=hall_id)
    context.update(
        {
            "weekdays": WEEKDAYS,
            "error": error,
            "errors": {k: v if isinstance(v, list | tuple) else [v] for k, v in errors.items()},
            "new_code": new_code,
            "values": request.POST if request.method == "POST" and error else {},
        }
    )
    response = render(request, "appointments/setup_hall.html", context, status=status)
    if new_code:
        response["Cache-Control"] = "no-store"
    return response
