"""Reads of the single sign-on app: relying parties (only the security admin sees them) and the
claims a relying party receives about a user."""

from django.db.models import QuerySet
from oauth2_provider.models import Application

from yiwang.core.crypto import blind_index
from yiwang.core.errors import NotFound
from yiwang.core.masking import mask_id_number, mask_phone
from yiwang.identity.models import Role, User
from yiwang.identity.selectors import actor_grants
from yiwang.sso.models import ClientPolicy

_DEFAULT_SCOPES = frozenset({"openid", "profile"})


def actor_is_security_admin(*, actor) -> bool:
    """Holds the security-admin role by a grant of its own: the superuser flag is no way around
    三员分立 (docs/security.md)."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return False
    return any(grant.role == Role.SECURITY_ADMIN for grant in actor_grants(actor=actor))


def _policy(application: Application) -> ClientPolicy | None:
    try:
        return application.yiwang_policy
    except ClientPolicy.DoesNotExist:
        return None


def client_is_active(*, application: Application) -> bool:
    policy = _policy(application)
    return policy is None or policy.is_active


def client_allowed_scopes(*, application: Application) -> set[str]:
    policy = _policy(application)
    return policy.scopes if policy is not None else set(_DEFAULT_SCOPES)


def client_list(*, actor) -> QuerySet[Application]:
    """Every registered relying party, for the security admin; nothing for anyone else."""
    if not actor_is_security_admin(actor=actor):
        return Application.objects.none()
    return Application.objects.select_related("yiwang_policy").order_by("name", "pk")


def client_get(*, actor, id) -> Application:
    """One relying party; ``NotFound`` for a missing one and for anyone but the security admin."""
    try:
        return client_list(actor=actor).get(pk=int(id))
    except (Application.DoesNotExist, ValueError, TypeError, OverflowError):
        raise NotFound() from None


def sector_of(application: Application) -> str:
    """The pairwise sector: the host of the client's first redirect URI (OIDC Core §8.1)."""
    from urllib.parse import urlsplit

    uris = application.redirect_uris.split()
    return urlsplit(uris[0]).netloc.lower() if uris else f"client:{application.client_id}"


def subject_for(*, user: User, application: Application | None) -> str:
    """The stable ``sub``: an opaque keyed digest of the account (nothing to enumerate), per
    sector when the client's policy is pairwise."""
    policy = _policy(application) if application is not None else None
    sector = sector_of(application) if policy is not None and policy.subject_type == "pairwise" else ""
    return blind_index(f"oidc-sub|{sector}|{user.pk}")[:32].lower()


def claims_for(*, user: User, application: Application | None) -> dict:
    """Every claim the user could give this client; DOT keeps those whose scope was granted."""
    policy = _policy(application) if application is not None else None
    full_phone = bool(policy and policy.full_phone)
    full_id = bool(policy and policy.full_id_number)
    claims = {
        "sub": subject_for(user=user, application=application),
        "name": user.real_name or user.username,
        "preferred_username": user.username,
        "user_kind": user.kind,
        "real_name_level": f"L{user.real_name_level}",
    }
    if user.phone:
        if full_phone:
            claims["phone_number"] = user.phone
        else:  # a masked value under its own name, so no client mistakes it for a number to call
            claims["phone_number_masked"] = mask_phone(user.phone)
    if user.id_number:
        if full_id:
            claims["id_number"] = user.id_number
        else:
            claims["id_number_masked"] = mask_id_number(user.id_number)
    if user.kind == User.Kind.ENTERPRISE_AGENT and user.enterprise_uscc:
        claims["enterprise_uscc"] = user.enterprise_uscc
        claims["enterprise_name"] = user.enterprise_name
    return claims
