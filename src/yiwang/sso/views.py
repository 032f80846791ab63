"""The OpenID provider's endpoints (django-oauth-toolkit's views, narrowed) and the security
admin's workbench pages for relying parties (mounted at /workbench/sso/)."""

import hashlib
import json
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods
from oauth2_provider import views as dot
from oauth2_provider.models import AccessToken, Application

from yiwang.core.errors import NotFound, ValidationFailed
from yiwang.sso import selectors, services


def refuse_malformed_authorization(view):
    """An ``Authorization`` header that is not ASCII cannot be valid Basic or Bearer
    credentials; django-oauth-toolkit would fail on it with a 500, so it is a 400 here."""
    from functools import wraps

    @wraps(view)
    def guarded(request, *args, **kwargs):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header.isascii():
            return JsonResponse(
                {"error": "invalid_request", "error_description": "malformed Authorization header"}, status=400
            )
        return view(request, *args, **kwargs)

    return guarded


def _origins(uris: str) -> list[str]:
    origins = []
    for uri in uris.split():
        try:
            parts = urlsplit(uri)
        except ValueError:
            continue
        if parts.scheme in ("http", "https") and parts.netloc:
            origins.append(f"{parts.scheme}://{parts.netloc}")
    return sorted(set(origins))


def _allow_form_redirects(request: HttpRequest, response: HttpResponse, attribute: str) -> HttpResponse:
    """The consent and logout forms answer with a redirect to the relying party; the site-wide
    CSP's ``form-action 'self'`` would make the browser refuse it, so these two pages allow the
    client's registered origins (and only those)."""
    client_id = request.POST.get("client_id") or request.GET.get("client_id") or ""
    origins: list[str] = []
    if client_id and len(client_id) <= 100:
        try:
            app = Application.objects.filter(client_id=client_id).only(attribute).first()
        except ValueError:  # a NUL byte on PostgreSQL
            app = None
        if app is not None:
            origins = _origins(getattr(app, attribute))
    policy = settings.YIWANG_CONTENT_SECURITY_POLICY
    if origins and "form-action 'self'" in policy:
        response["Content-Security-Policy"] = policy.replace(
            "form-action 'self'", "form-action 'self' " + " ".join(origins)
        )
    return response


class AuthorizeView(dot.AuthorizationView):
    template_name = "sso/authorize.html"

    def dispatch(self, request, *args, **kwargs):
        return _allow_form_redirects(request, super().dispatch(request, *args, **kwargs), "redirect_uris")

    def post(self, request, *args, **kwargs):
        # The consent form names its client; django-oauth-toolkit looks it up unguarded (a 500
        # for an unknown one), so a forged form is an error page here.
        client_id = request.POST.get("client_id", "")
        try:
            known = bool(client_id) and Application.objects.filter(client_id=client_id).exists()
        except ValueError:  # a NUL byte on PostgreSQL
            known = False
        if not known:
            error = {"error": "invalid_client", "description": "unknown client"}
            return self.render_to_response({"error": error}, status=400)
        return super().post(request, *args, **kwargs)


class LogoutView(dot.RPInitiatedLogoutView):
    template_name = "sso/logout_confirm.html"

    def dispatch(self, request, *args, **kwargs):
        return _allow_form_redirects(request, super().dispatch(request, *args, **kwargs), "post_logout_redirect_uris")


class DiscoveryView(dot.ConnectDiscoveryInfoView):
    def get(self, request, *args, **kwargs):
        from django.urls import reverse

        response = super().get(request, *args, **kwargs)
        data = json.loads(response.content)
        data.update(
            revocation_endpoint=request.build_absolute_uri(reverse("oauth2_provider:revoke-token")),
            introspection_endpoint=request.build_absolute_uri(reverse("oauth2_provider:introspect")),
            grant_types_supported=["authorization_code", "refresh_token"],
            code_challenge_methods_supported=["S256"],
            token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post", "none"],
            id_token_signing_alg_values_supported=["RS256"],
        )
        fresh = JsonResponse(data)
        fresh["Access-Control-Allow-Origin"] = "*"
        return fresh


def _caller_client_id(request: HttpRequest) -> str | None:
    """The client that authenticated this (already verified) request: Basic auth or body."""
    import base64
    import binascii
    from urllib.parse import unquote_plus

    auth = request.headers.get("Authorization", "")
    if auth[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(auth[6:], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        return unquote_plus(decoded.split(":", 1)[0])
    if auth[:7].lower() == "bearer ":
        return None  # a resource server's token with the introspection scope: any token
    return request.POST.get("client_id") or None


class IntrospectView(dot.IntrospectTokenView):
    """RFC 7662, narrowed: a client learns only about its own tokens (any other is
    ``active: false``), the user is named by the client's ``sub``, not the login name, and the
    token comes in the POST body only (never in a URL, where logs would keep it)."""

    def post(self, request, *args, **kwargs):
        value = request.POST.get("token")
        response = self.get_token_response(value)
        if response.status_code != 200 or not json.loads(response.content).get("active"):
            return response
        token = (
            AccessToken.objects.select_related("user", "application")
            .filter(token_checksum=hashlib.sha256(value.encode()).hexdigest())
            .first()
        )
        caller = _caller_client_id(request)
        if token is None or (
            caller is not None and (token.application is None or token.application.client_id != caller)
        ):
            return JsonResponse({"active": False})
        data = json.loads(response.content)
        data.pop("username", None)
        if token.user is not None:
            data["sub"] = selectors.subject_for(user=token.user, application=token.application)
        return JsonResponse(data)

    def get(self, request, *args, **kwargs):
        return JsonResponse(
            {"error": "invalid_request", "error_description": "POST the token in the request body."}, status=405
        )


class UserInfoView(dot.UserInfoView):
    """OIDC userinfo (§5.3) with a short path for the call every relying party makes on each
    sign-in: a valid bearer token in the ``Authorization`` header is read with its user, client
    and policy in one prebuilt statement (``selectors.access_token_for_userinfo``) and the
    claims answered at once, without oauthlib's request machinery. Anything else — no or a
    malformed header, an unknown, expired or resource-bound token, a token without ``openid``,
    a deactivated client — goes through django-oauth-toolkit's view, so every error answers
    exactly as the specs say (RFC 6750 ``WWW-Authenticate``), as before."""

    def _create_userinfo_response(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header[:7].lower() == "bearer " and len(header) < 1024 and not request.GET and not request.POST:
            response = self._fast(header[7:].strip())
            if response is not None:
                return response
        return super()._create_userinfo_response(request)

    @staticmethod
    def _fast(raw: str) -> HttpResponse | None:
        from oauth2_provider.scopes import get_scopes_backend

        from yiwang.sso.oidc import CLAIM_SCOPES

        if not raw:
            return None
        token = selectors.access_token_for_userinfo(token=raw)
        if token is None or token.user is None or token.resource or not token.is_valid(["openid"]):
            return None
        application = token.application
        if application is not None and not (
            selectors.client_is_active(application=application) and application.is_usable(None)
        ):
            return None
        known = get_scopes_backend().get_all_scopes()
        scopes = {name for name in token.scope.split() if name in known}
        claims = selectors.claims_for(user=token.user, application=application, scopes=scopes)
        body = {name: value for name, value in claims.items() if CLAIM_SCOPES.get(name) in scopes}
        # As oauthlib writes it (``json.dumps``, ASCII), so both paths answer byte for byte alike.
        return HttpResponse(json.dumps(body), content_type="application/json")


# --- Workbench: relying parties --------------------------------------------------------------

SCOPE_CHOICES = [
    ("openid", gettext_lazy("openid:登录身份(必选)")),
    ("profile", gettext_lazy("profile:姓名、用户类型、实名等级")),
    ("phone", gettext_lazy("phone:手机号码")),
    ("id_number", gettext_lazy("id_number:居民身份证号码")),
    ("enterprise", gettext_lazy("enterprise:企业名称与统一社会信用代码")),
    ("delegation", gettext_lazy("delegation:用户作为被授权人可代为办理的企业或个人(授权代办)")),
]


class ClientForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("系统名称"), max_length=255)
    confidential = forms.BooleanField(
        label=gettext_lazy("机密客户端(有服务器端,可保管密钥)"), required=False, initial=True
    )
    redirect_uris = forms.CharField(
        label=gettext_lazy("回调地址(每行一个,精确匹配)"), widget=forms.Textarea(attrs={"rows": 3})
    )
    post_logout_redirect_uris = forms.CharField(
        label=gettext_lazy("退出后返回地址(每行一个)"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    scopes = forms.MultipleChoiceField(
        label=gettext_lazy("允许的授权范围"),
        choices=SCOPE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        initial=["openid", "profile"],
    )
    pairwise = forms.BooleanField(label=gettext_lazy("按系统区分用户标识(pairwise sub)"), required=False)
    full_phone = forms.BooleanField(label=gettext_lazy("可获取完整手机号码(否则脱敏)"), required=False)
    full_id_number = forms.BooleanField(label=gettext_lazy("可获取完整身份证号(否则脱敏)"), required=False)
    pre_approved = forms.BooleanField(label=gettext_lazy("政府内部系统:免用户授权确认"), required=False)
    is_active = forms.BooleanField(label=gettext_lazy("启用"), required=False, initial=True)


def _security_admin(request: HttpRequest) -> None:
    if not selectors.actor_is_security_admin(actor=request.user):
        raise Http404


def _form_errors(form: forms.Form, exc: ValidationFailed) -> None:
    for field, messages in exc.fields.items():
        for message in messages:
            form.add_error(field if field in form.fields else None, str(message))


@login_required
def client_list(request: HttpRequest) -> HttpResponse:
    _security_admin(request)
    clients = selectors.client_list(actor=request.user)
    return render(request, "sso/client_list.html", {"clients": clients})


@login_required
@require_http_methods(["GET", "POST"])
def client_new(request: HttpRequest) -> HttpResponse:
    _security_admin(request)
    form = ClientForm(request.POST or None)
    form.fields.pop("is_active")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            app, secret = services.client_register(actor=request.user, **data)
        except ValidationFailed as exc:
            _form_errors(form, exc)
        else:
            return render(request, "sso/client_secret.html", {"client": app, "secret": secret}, status=201)
    return render(request, "sso/client_form.html", {"form": form, "client": None})


@login_required
@require_http_methods(["GET", "POST"])
def client_edit(request: HttpRequest, client_id: int) -> HttpResponse:
    _security_admin(request)
    try:
        app = selectors.client_get(actor=request.user, id=client_id)
    except NotFound:
        raise Http404 from None
    policy = getattr(app, "yiwang_policy", None)
    initial = {
        "name": app.name,
        "confidential": app.client_type == Application.CLIENT_CONFIDENTIAL,
        "redirect_uris": "\n".join(app.redirect_uris.split()),
        "post_logout_redirect_uris": "\n".join(app.post_logout_redirect_uris.split()),
        "scopes": sorted(selectors.client_allowed_scopes(application=app)),
        "pairwise": bool(policy and policy.subject_type == "pairwise"),
        "full_phone": bool(policy and policy.full_phone),
        "full_id_number": bool(policy and policy.full_id_number),
        "pre_approved": app.skip_authorization,
        "is_active": policy is None or policy.is_active,
    }
    form = ClientForm(request.POST or None, initial=initial)
    form.fields["confidential"].disabled = True
    if request.method == "POST" and request.POST.get("rotate_secret"):
        secret = services.client_rotate_secret(actor=request.user, application=app)
        return render(request, "sso/client_secret.html", {"client": app, "secret": secret})
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("confidential")
        try:
            services.client_update(actor=request.user, application=app, **data)
        except ValidationFailed as exc:
            _form_errors(form, exc)
        else:
            return redirect("sso:client_list")
    return render(request, "sso/client_form.html", {"form": form, "client": app})
