"""Sign-in pages: login (password, then TOTP where enabled), logout, password change, MFA.

Half-logged-in state: after a correct password a user with MFA is NOT logged in; the
session only holds ``mfa.SESSION_PENDING`` (user id, time, failures) until the TOTP code
is accepted, so nothing but the verification page is reachable in between.
"""

import math
import time

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_cool_off
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from yiwang.core.audit import audit_record
from yiwang.core.crypto import blind_index, decrypt_text, encrypt_text
from yiwang.core.errors import RateLimited, ValidationFailed, YiwangError
from yiwang.core.masking import mask_id_number, mask_phone
from yiwang.core.ratelimit import client_ip, consume, failure_limit
from yiwang.identity import mfa
from yiwang.identity.forms import ActivationForm, ApiTokenForm, LoginForm, PasswordChangeForm, TotpCodeForm
from yiwang.identity.middleware import SESSION_LAST_ACTIVITY, SESSION_PASSWORD_EXPIRED, SESSION_TIMED_OUT
from yiwang.identity.models import User
from yiwang.identity.selectors import api_token_list, user_password_expired, user_requires_mfa, user_resolve_login
from yiwang.identity.services import (
    api_token_create,
    api_token_revoke,
    user_activate,
    user_mfa_disable,
    user_mfa_enrol,
    user_real_name_verify,
    user_set_password,
    user_sign_out_everywhere,
)

SESSION_SETUP_SECRET = "yiwang_mfa_setup_secret"  # noqa: S105 - a session key name


def _client_ip(request: HttpRequest) -> str:
    return getattr(request, "axes_ip_address", None) or request.META.get("REMOTE_ADDR", "")


def _safe_next(request: HttpRequest, default: str | None = None) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default or resolve_url(settings.LOGIN_REDIRECT_URL)


def _with_next(url_name: str, next_url: str) -> str:
    from urllib.parse import urlencode

    return f"{reverse(url_name)}?{urlencode({'next': next_url})}"


def _identifier_repr(identifier: str) -> str:
    """What may go into the audit trail for a typed identifier: never a 身份证号 or phone in clear."""
    if len(identifier) == 18 and identifier[:17].isdigit():
        return mask_id_number(identifier)
    if identifier.lstrip("+").isdigit():
        return mask_phone(identifier)
    return identifier[:150]


def _lockout_username(identifier: str, resolved: str) -> str:
    """The name failures are counted (and stored by axes) under; pseudonymous for unknown ID/phone numbers."""
    if resolved != identifier or not (identifier.lstrip("+").isdigit() or len(identifier) == 18):
        return resolved
    return "unknown:" + blind_index(identifier)[:24]


def _complete_login(request: HttpRequest, user: User, next_url: str, *, with_mfa: bool) -> HttpResponse:
    login(request, user, backend=getattr(user, "backend", None) or "django.contrib.auth.backends.ModelBackend")
    request.session[SESSION_LAST_ACTIVITY] = int(time.time())
    if with_mfa:
        request.session[mfa.SESSION_VERIFIED] = True
    audit_record(
        actor=user,
        action="auth.login",
        obj=user,
        object_repr=user.username,
        changes={"ip": _client_ip(request), "mfa": with_mfa},
    )
    if user_password_expired(user=user):
        request.session[SESSION_PASSWORD_EXPIRED] = True
        messages.info(
            request,
            _("您的密码已超过 %(days)d 天未更换,请修改密码后继续。") % {"days": settings.YIWANG_PASSWORD_MAX_AGE_DAYS},
        )
    if not with_mfa and user_requires_mfa(user=user):
        messages.info(request, _("管理员账号必须启用动态口令(双因素认证),请先完成绑定。"))
        return redirect(_with_next("identity:mfa_setup", next_url))
    if request.session.get(SESSION_PASSWORD_EXPIRED):
        return redirect(_with_next("identity:password_change", next_url))
    return redirect(next_url)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request)
    if request.session.pop(SESSION_TIMED_OUT, False):
        messages.info(request, _("会话已超时,请重新登录"))
    if request.method == "POST":
        form = LoginForm(request.POST)
        if form.is_valid():
            identifier = form.cleaned_data["username"].strip()
            resolved = user_resolve_login(identifier=identifier)
            username = _lockout_username(identifier, resolved)
            user = authenticate(request, username=username, password=form.cleaned_data["password"])
            if user is not None:
                request.session.pop(mfa.SESSION_PENDING, None)
                if user.mfa_enabled:
                    # Password accepted, TOTP pending: remember who, but do not log in yet.
                    request.session.cycle_key()
                    request.session[mfa.SESSION_PENDING] = {
                        "user_id": user.pk,
                        "backend": user.backend,
                        "at": int(time.time()),
                        "next": next_url,
                        "failures": 0,
                    }
                    return redirect("identity:mfa_verify")
                return _complete_login(request, user, next_url, with_mfa=False)
            known = User.objects.filter(username=username).first()
            audit_record(
                actor=request.user,
                action="auth.login_failed",
                obj=known,
                object_type="identity.user",
                object_repr=known.username if known else _identifier_repr(identifier),
                changes={"ip": _client_ip(request), "locked_out": bool(getattr(request, "axes_locked_out", False))},
            )
            if getattr(request, "axes_locked_out", False):
                # AxesMiddleware swaps this for lockout_response() on the way out.
                return HttpResponse(status=429)
            form.add_error(None, _("用户名或密码不正确"))
    else:
        if request.user.is_authenticated and mfa.session_mfa_satisfied(request):
            return redirect(next_url)
        form = LoginForm()
    return render(request, "identity/login.html", {"form": form, "next": next_url})


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """What a locked-out client sees (AXES_LOCKOUT_CALLABLE): 429 with when to try again.

    JSON ``{"code": "locked_out", ...}`` for API paths and JSON clients; a page otherwise.
    """
    cool_off = get_cool_off(request)
    seconds = int(cool_off.total_seconds()) if cool_off else 0
    minutes = max(1, math.ceil(seconds / 60)) if seconds else 0
    retry_at = timezone.localtime(timezone.now() + cool_off) if cool_off else None
    username = get_client_username(request, credentials) or ""
    audit_record(
        actor=request.user if getattr(request, "user", None) is not None else None,
        action="auth.locked_out",
        object_type="identity.user",
        object_repr=_identifier_repr(username),
        changes={"ip": _client_ip(request), "retry_after_seconds": seconds},
    )
    if retry_at:
        message = _("登录失败次数过多,账号已被临时锁定。请在 %(minutes)d 分钟后(%(time)s 之后)再试。") % {
            "minutes": minutes,
            "time": retry_at.strftime("%H:%M"),
        }
    else:
        message = _("登录失败次数过多,账号已被锁定,请联系管理员解锁。")
    wants_json = request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")
    if wants_json:
        response = JsonResponse(
            {
                "code": "locked_out",
                "message": message,
                "fields": {},
                "retry_after": seconds,
                "retry_at": retry_at.isoformat() if retry_at else None,
            },
            status=429,
            json_dumps_params={"ensure_ascii": False},
        )
    else:
        response = render(
            request,
            "identity/locked_out.html",
            {"message": message, "retry_at": retry_at, "minutes": minutes},
            status=429,
        )
    if seconds:
        response["Retry-After"] = str(seconds)
    return response


@csrf_protect
@never_cache
def logout_view(request: HttpRequest) -> HttpResponse:
    """GET shows a confirmation; POST signs out (a link must never sign anyone out)."""
    if request.method != "POST":
        return render(request, "identity/logout.html")
    if request.user.is_authenticated:
        audit_record(
            actor=request.user,
            action="auth.logout",
            obj=request.user,
            object_repr=request.user.username,
            changes={"ip": _client_ip(request)},
        )
    logout(request)
    messages.info(request, _("您已安全退出。"))
    return redirect(settings.LOGOUT_REDIRECT_URL)


@csrf_protect
@never_cache
@login_required
def sign_out_everywhere_view(request: HttpRequest) -> HttpResponse:
    """GET explains and asks; POST ends every session of the user (this one too) and revokes
    all their API tokens (``user_sign_out_everywhere``), then shows the login page."""
    if request.method != "POST":
        tokens = api_token_list(actor=request.user).filter(revoked_at__isnull=True).count()
        return render(request, "identity/sign_out_everywhere.html", {"live_tokens": tokens})
    result = user_sign_out_everywhere(actor=request.user, user=request.user)
    logout(request)
    messages.info(
        request,
        _("已在所有设备上退出登录,并吊销了 %(n)d 个接口令牌。请重新登录。") % {"n": result["tokens_revoked"]},
    )
    return redirect("identity:login")


def _pending_user(request: HttpRequest) -> User | None:
    pending = request.session.get(mfa.SESSION_PENDING)
    if not pending:
        return None
    if int(time.time()) - int(pending.get("at", 0)) > mfa.PENDING_MAX_AGE_SECONDS:
        request.session.pop(mfa.SESSION_PENDING, None)
        messages.error(request, _("动态口令验证已超时,请重新登录。"))
        return None
    user = User.objects.filter(pk=pending.get("user_id"), is_active=True).first()
    if user is None or not user.mfa_enabled:
        request.session.pop(mfa.SESSION_PENDING, None)
        return None
    user.backend = pending.get("backend") or "django.contrib.auth.backends.ModelBackend"
    return user


def _count_code_failure(request: HttpRequest, user: User) -> bool:
    """Count a wrong TOTP code like a wrong password (axes); True when the account is now locked."""
    AxesProxyHandler.update_request(request)
    user_login_failed.send(sender=__name__, credentials={"username": user.username}, request=request)
    return bool(getattr(request, "axes_locked_out", False))


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def mfa_verify_view(request: HttpRequest) -> HttpResponse:
    """Second step of sign-in (or of a session that reached MFA some other way, e.g. /admin/)."""
    half_logged_in = not request.user.is_authenticated
    if half_logged_in:
        user = _pending_user(request)
        if user is None:
            return redirect("identity:login")
        next_url = request.session[mfa.SESSION_PENDING].get("next") or resolve_url(settings.LOGIN_REDIRECT_URL)
    else:
        user = request.user
        next_url = _safe_next(request)
        if request.session.get(mfa.SESSION_VERIFIED):
            return redirect(next_url)
        if not user.mfa_enabled:
            return redirect(_with_next("identity:mfa_setup", next_url))

    form = TotpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if mfa.verify_user_code(user=user, code=form.cleaned_data["code"]):
            if half_logged_in:
                request.session.pop(mfa.SESSION_PENDING, None)
                return _complete_login(request, user, next_url, with_mfa=True)
            request.session.cycle_key()
            request.session[mfa.SESSION_VERIFIED] = True
            audit_record(actor=user, action="auth.mfa_verify", obj=user, object_repr=user.username)
            return redirect(next_url)
        audit_record(
            actor=user if not half_logged_in else request.user,
            action="auth.mfa_failed",
            obj=user,
            object_repr=user.username,
            changes={"ip": _client_ip(request)},
        )
        if _count_code_failure(request, user):
            request.session.pop(mfa.SESSION_PENDING, None)
            if not half_logged_in:
                logout(request)
            return HttpResponse(status=429)  # replaced by lockout_response() in AxesMiddleware
        if half_logged_in:
            pending = request.session[mfa.SESSION_PENDING]
            pending["failures"] = int(pending.get("failures", 0)) + 1
            request.session[mfa.SESSION_PENDING] = pending
            if pending["failures"] >= mfa.MAX_CODE_FAILURES:
                request.session.pop(mfa.SESSION_PENDING, None)
                messages.error(request, _("动态口令错误次数过多,请重新登录。"))
                return redirect("identity:login")
        form.add_error("code", _("动态口令不正确或已使用过,请等待下一个口令后重试"))
    return render(request, "identity/mfa_verify.html", {"form": form, "next": next_url, "pending_user": user})


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@login_required
def mfa_setup_view(request: HttpRequest) -> HttpResponse:
    """Bind an authenticator app: show a QR code and the secret, confirm with a code."""
    user = request.user
    next_url = _safe_next(request)
    required = user_requires_mfa(user=user)
    if user.mfa_enabled:
        if not request.session.get(mfa.SESSION_VERIFIED):
            return redirect(_with_next("identity:mfa_verify", next_url))
        return render(
            request,
            "identity/mfa_status.html",
            {"required": required, "form": TotpCodeForm(), "next": next_url},
        )

    stored = request.session.get(SESSION_SETUP_SECRET)
    # The secret is not on the account until confirmed; in the session it is kept SM4-encrypted.
    secret = decrypt_text(stored) if stored else None
    if secret is None or (request.method == "GET" and request.GET.get("renew")):
        secret = mfa.new_secret()
        request.session[SESSION_SETUP_SECRET] = encrypt_text(secret)

    form = TotpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        step = mfa.matching_step(secret=secret, code=form.cleaned_data["code"])
        if step is not None:
            user_mfa_enrol(actor=user, user=user, secret=secret, step=step)
            request.session.pop(SESSION_SETUP_SECRET, None)
            request.session.cycle_key()
            request.session[mfa.SESSION_VERIFIED] = True
            messages.success(request, _("动态口令已启用。今后登录时,请在输入密码后输入身份验证器上的口令。"))
            return redirect(next_url)
        form.add_error("code", _("动态口令不正确,请确认手机时间准确并输入当前显示的 6 位数字"))

    uri = mfa.provisioning_uri(secret=secret, username=user.username)
    return render(
        request,
        "identity/mfa_setup.html",
        {
            "form": form,
            "qr_svg": mfa.qr_svg(uri),
            "secret": mfa.format_secret(secret),
            "required": required,
            "next": next_url,
        },
    )


@sensitive_post_parameters("code")
@require_POST
@csrf_protect
@never_cache
@login_required
def mfa_disable_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.mfa_enabled:
        return redirect("identity:mfa_setup")
    if user_requires_mfa(user=user):
        messages.error(request, _("管理员账号必须启用动态口令,不能关闭。"))
        return redirect("identity:mfa_setup")
    form = TotpCodeForm(request.POST)
    if form.is_valid() and mfa.verify_user_code(user=user, code=form.cleaned_data["code"]):
        user_mfa_disable(actor=user, user=user)
        request.session.pop(mfa.SESSION_VERIFIED, None)
        messages.success(request, _("动态口令已关闭。"))
        return redirect(settings.LOGIN_REDIRECT_URL)
    messages.error(request, _("动态口令不正确,未关闭。"))
    return redirect("identity:mfa_setup")


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@csrf_protect
@never_cache
@login_required
def password_change_view(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user_set_password(
                actor=request.user,
                user=request.user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password1"],
            )
        except ValidationFailed as exc:
            for field, errors in exc.fields.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            update_session_auth_hash(request, request.user)
            request.session.pop(SESSION_PASSWORD_EXPIRED, None)
            messages.success(request, _("密码已修改。"))
            return redirect(_safe_next(request))
    return render(
        request,
        "identity/password_change.html",
        {"form": form, "next": _safe_next(request), "expired": request.session.get(SESSION_PASSWORD_EXPIRED)},
    )


@csrf_protect
@never_cache
@login_required
def tokens_view(request: HttpRequest) -> HttpResponse:
    """The signed-in user's API tokens: issue one (its secret is shown once), see and revoke them."""
    form = ApiTokenForm(request.POST or None)
    new_secret = None
    if request.method == "POST" and "revoke" in request.POST:
        try:
            token_id = int(request.POST.get("revoke") or 0)
        except ValueError:
            token_id = 0  # not a number: answered like an unknown token
        token = api_token_list(actor=request.user).filter(pk=token_id).first() if token_id > 0 else None
        if token is not None:
            api_token_revoke(actor=request.user, token=token)
            messages.success(request, _("令牌已吊销,使用它的系统将无法再访问接口。"))
        else:
            messages.error(request, _("找不到该令牌,它可能已被删除。"))
        return redirect("identity:tokens")
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_secret = api_token_create(
                actor=request.user,
                user=request.user,
                name=form.cleaned_data["name"],
                expires_at=form.expires_at(),
            )
        except ValidationFailed as exc:
            for field, errors in exc.fields.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            form = ApiTokenForm()
    return render(
        request,
        "identity/tokens.html",
        {"form": form, "tokens": api_token_list(actor=request.user), "new_secret": new_secret},
    )


@sensitive_post_parameters("code", "new_password1", "new_password2")
@csrf_protect
@never_cache
def activate_view(request: HttpRequest) -> HttpResponse:
    """账号激活: a walk-in applicant sets the first password with the code a window printed.

    Rate limited: every attempt per client IP, and failed attempts per 身份证号 (after the
    limit even the right code waits for the window to end); a weak password is not a failure."""
    if request.user.is_authenticated:
        return redirect("portal:account")
    form = ActivationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        consume("account_activate_ip", client_ip(request))
        id_number = form.cleaned_data["id_number"].strip().upper()
        try:
            with failure_limit(
                "account_activate_id",
                id_number,
                failures=(ValidationFailed,),
                counts=lambda exc: exc.code != "weak_password",
            ):
                user_activate(
                    id_number=id_number,
                    code=form.cleaned_data["code"],
                    new_password=form.cleaned_data["new_password1"],
                )
        except ValidationFailed as exc:
            for field, errors in exc.fields.items():
                for error in errors if isinstance(errors, list | tuple) else [errors]:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, _("账号已激活。请用身份证号和新密码登录。"))
            return redirect("identity:login")
    return render(request, "identity/activate.html", {"form": form}, status=422 if form.errors else 200)


@csrf_protect
@never_cache
@login_required
def real_name_view(request: HttpRequest) -> HttpResponse:
    """实名等级: what the account's level is and allows, and the one-click L2 check against the
    人口 registry (``user_real_name_verify``); L3 is done at a window."""
    user = request.user
    back = reverse("identity:real_name")
    next_url = _safe_next(request, default=back)
    if request.method == "POST":
        try:
            user_real_name_verify(actor=user)
        except RateLimited:
            messages.error(request, _("核验失败次数过多,请一小时后再试,或到政务服务窗口当面核验。"))
        except YiwangError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("核验通过,您的实名等级已提升为 L2。"))
            return redirect(next_url)
        return redirect(_with_next("identity:real_name", next_url) if next_url != back else back)
    return render(
        request,
        "identity/real_name.html",
        {
            "levels": User.RealNameLevel.choices,
            "is_staff_account": user.kind == User.Kind.STAFF,
            "masked_id_number": mask_id_number(user.id_number),
            "next_url": next_url if next_url != back else "",
        },
    )
