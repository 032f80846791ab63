"""Writes of the single sign-on app: registering and changing relying parties (security admin
only, every change audited) and ending a user's tokens at every relying party (single logout)."""

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import AccessToken, Application, IDToken, RefreshToken

from yiwang.core.audit import audit_record
from yiwang.core.errors import Forbidden, ValidationFailed
from yiwang.core.inputs import ensure_storable
from yiwang.sso.models import ClientPolicy
from yiwang.sso.selectors import actor_is_security_admin

SCOPES = ("openid", "profile", "phone", "id_number", "enterprise", "delegation")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _uri_problems(uris: list[str]) -> list[str]:
    """Each redirect URI: absolute, https (http only for a loopback address, or anywhere when the
    site itself is not on TLS), no fragment, no wildcard, no user info."""
    problems = []
    for uri in uris:
        try:
            parts = urlsplit(uri)
            host = parts.hostname or ""
        except ValueError:
            problems.append(_("地址无效:%(uri)s") % {"uri": uri[:200]})
            continue
        if parts.scheme not in ("http", "https") or not host:
            problems.append(_("须为以 https:// 开头的完整地址:%(uri)s") % {"uri": uri[:200]})
        elif parts.scheme == "http" and settings.SECURE and not _is_loopback(host):
            problems.append(_("须使用 https(仅本机回环地址可用 http):%(uri)s") % {"uri": uri[:200]})
        elif parts.fragment or "#" in uri or "*" in uri or parts.username or parts.password:
            problems.append(_("不得含 #、* 或用户名口令:%(uri)s") % {"uri": uri[:200]})
    return problems


def _clean(
    *, name: str, redirect_uris: str, post_logout_redirect_uris: str, scopes: list[str]
) -> tuple[str, list[str], list[str], list[str]]:
    fields: dict[str, list[str]] = {}
    for field, value in (
        ("name", name),
        ("redirect_uris", redirect_uris),
        ("post_logout_redirect_uris", post_logout_redirect_uris),
    ):
        try:
            ensure_storable(value or "", field=field)
        except ValidationFailed as exc:
            fields.update(exc.fields)
    if fields:
        raise ValidationFailed(fields=fields)
    name = (name or "").strip()
    redirects = list(dict.fromkeys((redirect_uris or "").split()))
    logouts = list(dict.fromkeys((post_logout_redirect_uris or "").split()))
    scopes = list(dict.fromkeys(scopes or []))
    if not name or len(name) > 255:
        fields["name"] = [_("请填写系统名称(不超过 255 字)")]
    if not redirects:
        fields["redirect_uris"] = [_("至少填写一个回调地址")]
    elif problems := _uri_problems(redirects):
        fields["redirect_uris"] = problems
    if problems := _uri_problems(logouts):
        fields["post_logout_redirect_uris"] = problems
    if "openid" not in scopes or any(s not in SCOPES for s in scopes):
        fields["scopes"] = [_("授权范围须包含 openid,且只能从列出的范围中选择")]
    if fields:
        raise ValidationFailed(fields=fields)
    return name, redirects, logouts, scopes


def _require_security_admin(actor) -> None:
    if not actor_is_security_admin(actor=actor):
        raise Forbidden(_("只有安全管理员可以登记接入系统"))


def _changes(app: Application, policy: ClientPolicy) -> dict:
    return {
        "name": app.name,
        "client_id": app.client_id,
        "client_type": app.client_type,
        "redirect_uris": app.redirect_uris.split(),
        "post_logout_redirect_uris": app.post_logout_redirect_uris.split(),
        "pre_approved": app.skip_authorization,
        "scopes": sorted(policy.scopes),
        "subject_type": policy.subject_type,
        "full_phone": policy.full_phone,
        "full_id_number": policy.full_id_number,
        "is_active": policy.is_active,
    }


def client_register(
    *,
    actor,
    name: str,
    confidential: bool,
    redirect_uris: str,
    post_logout_redirect_uris: str = "",
    scopes: list[str],
    pairwise: bool = False,
    full_phone: bool = False,
    full_id_number: bool = False,
    pre_approved: bool = False,
) -> tuple[Application, str]:
    """Register a relying party. Returns it and, for a confidential client, its secret — shown
    this once, stored only as a hash. Redirect URIs are matched exactly at sign-in."""
    _require_security_admin(actor)
    name, redirects, logouts, scopes = _clean(
        name=name, redirect_uris=redirect_uris, post_logout_redirect_uris=post_logout_redirect_uris, scopes=scopes
    )
    secret = generate_client_secret() if confidential else ""
    with transaction.atomic():
        app = Application(
            name=name,
            client_type=Application.CLIENT_CONFIDENTIAL if confidential else Application.CLIENT_PUBLIC,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=" ".join(redirects),
            post_logout_redirect_uris=" ".join(logouts),
            skip_authorization=pre_approved,
            algorithm=Application.RS256_ALGORITHM,
            client_secret=secret,
            hash_client_secret=confidential,  # a public client has no secret to hash
        )
        app.save()
        policy = ClientPolicy.objects.create(
            application=app,
            allowed_scopes=" ".join(scopes),
            subject_type=ClientPolicy.SubjectType.PAIRWISE if pairwise else ClientPolicy.SubjectType.PUBLIC,
            full_phone=full_phone,
            full_id_number=full_id_number,
            registered_by=actor,
        )
        audit_record(actor=actor, action="sso.client_register", obj=app, changes=_changes(app, policy))
    return app, secret


def client_update(
    *,
    actor,
    application: Application,
    name: str,
    redirect_uris: str,
    post_logout_redirect_uris: str = "",
    scopes: list[str],
    pairwise: bool = False,
    full_phone: bool = False,
    full_id_number: bool = False,
    pre_approved: bool = False,
    is_active: bool = True,
) -> Application:
    """Change a relying party's URIs, scopes and grants. Deactivating it (or taking away a
    scope) ends its tokens at once, so nothing it already holds outlives the decision."""
    _require_security_admin(actor)
    name, redirects, logouts, scopes = _clean(
        name=name, redirect_uris=redirect_uris, post_logout_redirect_uris=post_logout_redirect_uris, scopes=scopes
    )
    with transaction.atomic():
        app = Application.objects.select_for_update(no_key=True).get(pk=application.pk)
        policy, _created = ClientPolicy.objects.select_for_update(no_key=True).get_or_create(application=app)
        before = _changes(app, policy)
        narrowed = not is_active or not policy.scopes <= set(scopes)
        app.name = name
        app.redirect_uris = " ".join(redirects)
        app.post_logout_redirect_uris = " ".join(logouts)
        app.skip_authorization = pre_approved
        app.save(update_fields=["name", "redirect_uris", "post_logout_redirect_uris", "skip_authorization", "updated"])
        policy.allowed_scopes = " ".join(scopes)
        policy.subject_type = ClientPolicy.SubjectType.PAIRWISE if pairwise else ClientPolicy.SubjectType.PUBLIC
        policy.full_phone = full_phone
        policy.full_id_number = full_id_number
        policy.is_active = is_active
        policy.save()
        ended = _end_tokens(AccessToken.objects.filter(application=app)) if narrowed else 0
        after = _changes(app, policy)
        audit_record(
            actor=actor,
            action="sso.client_update",
            obj=app,
            changes={
                "before": {k: v for k, v in before.items() if after[k] != v},
                "after": {k: v for k, v in after.items() if before[k] != v},
                "tokens_ended": ended,
            },
        )
    return app


def client_rotate_secret(*, actor, application: Application) -> str:
    """A new secret for a confidential client (the old one stops working at once); shown once."""
    _require_security_admin(actor)
    if application.client_type != Application.CLIENT_CONFIDENTIAL:
        raise ValidationFailed(fields={"client_type": [_("公开客户端没有密钥")]})
    secret = generate_client_secret()
    with transaction.atomic():
        app = Application.objects.select_for_update(no_key=True).get(pk=application.pk)
        app.client_secret = secret
        app.hash_client_secret = True
        app.save(update_fields=["client_secret", "hash_client_secret", "updated"])
        audit_record(actor=actor, action="sso.client_rotate_secret", obj=app, changes={"client_id": app.client_id})
    return secret


def _end_tokens(access_tokens) -> int:
    """Revoke access tokens with their refresh and ID tokens; returns how many access tokens."""
    ids = list(access_tokens.values_list("pk", flat=True))
    if not ids:
        return 0
    id_token_ids = list(
        AccessToken.objects.filter(pk__in=ids, id_token__isnull=False).values_list("id_token_id", flat=True)
    )
    RefreshToken.objects.filter(access_token_id__in=ids, revoked__isnull=True).update(revoked=timezone.now())
    # RefreshToken.access_token is SET_NULL: the refresh tokens stay, revoked, for reuse detection.
    AccessToken.objects.filter(pk__in=ids).delete()
    IDToken.objects.filter(pk__in=id_token_ids).delete()
    return len(ids)


def user_tokens_end(*, actor, user) -> int:
    """Single logout: end every token any relying party holds for ``user``; audited when any."""
    with transaction.atomic():
        ended = _end_tokens(AccessToken.objects.filter(user=user))
        ended_refresh = RefreshToken.objects.filter(user=user, revoked__isnull=True).update(revoked=timezone.now())
        if ended or ended_refresh:
            audit_record(
                actor=actor,
                action="sso.single_logout",
                obj=user,
                changes={"access_tokens": ended, "refresh_tokens": ended_refresh},
            )
    return ended


def on_user_logged_out(sender, request=None, user=None, **kwargs) -> None:
    """``user_logged_out`` receiver: Yiwang's own sign-out ends the relying parties' tokens too."""
    if user is not None and getattr(user, "pk", None):
        user_tokens_end(actor=user, user=user)
