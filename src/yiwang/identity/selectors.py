"""Identity selectors: reads, already scoped to the actor.

Sections: users and tokens (helper "auth"), departments and role grants (helper "dept").
"""

# =============================================================================================
# Users and API tokens
# =============================================================================================

from django.db.models import QuerySet

from yiwang.core.crypto import blind_index
from yiwang.identity.models import ADMIN_ROLES, ApiToken, User


def user_get_by_id_number(*, id_number: str) -> User | None:
    """The account holding this 身份证号 (exact match through the blind index), or None."""
    value = (id_number or "").strip().upper()
    if not value:
        return None
    return User.objects.filter(id_number_index=blind_index(value)).first()


def user_get_by_phone(*, phone: str) -> User | None:
    """The account holding this mobile number (exact match through the blind index), or None."""
    from yiwang.identity.services import normalize_phone

    value = normalize_phone(phone)
    if not value:
        return None
    return User.objects.filter(phone_index=blind_index(value)).first()


def user_resolve_login(*, identifier: str) -> str:
    """The username to authenticate for what a person typed: a username, a 身份证号 or a phone.

    Returns the identifier itself when nothing else matches, so the failure is counted
    (and locked out) under what was typed.
    """
    identifier = (identifier or "").strip()
    if not identifier:
        return identifier
    if User.objects.filter(username=identifier).exists():
        return identifier
    if len(identifier) == 18:
        user = user_get_by_id_number(id_number=identifier)
        if user is not None:
            return user.username
    if identifier.lstrip("+").isdigit():
        user = user_get_by_phone(phone=identifier)
        if user is not None:
            return user.username
    return identifier


def user_requires_mfa(*, user: User) -> bool:
    """Whether the user must use TOTP: superusers and anyone holding an admin role (等保 双因素)."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return user.role_grants.filter(role__in=list(ADMIN_ROLES)).exists()


def api_token_list(*, actor: User, user: User | None = None) -> QuerySet[ApiToken]:
    """Tokens the actor may see: their own; a superuser may look at another user's."""
    target = user or actor
    if target.pk != actor.pk and not actor.is_superuser:
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user=target).order_by("-created_at")


# =============================================================================================
# Departments and role grants
# =============================================================================================
