"""Reads of the single sign-on app: relying parties (only the security admin sees them) and the
claims a relying party receives about a user."""

from datetime import UTC

from django.db.models import QuerySet
from oauth2_provider.models import Application

from yiwang.core.crypto import blind_index
from yiwang.core.errors import NotFound
from yiwang.core.masking import mask_id_number, mask_name, mask_phone
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


def claims_for(*, user: User, application: Application | None, scopes: set[str] | None = None) -> dict:
    """Every claim the user could give this client; DOT keeps those whose scope was granted.
    With ``scopes`` (the token's), the personal and enterprise claims of other scopes are not
    even computed (userinfo's short path: their columns were not read)."""
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
    if (scopes is None or "phone" in scopes) and user.phone:
        if full_phone:
            claims["phone_number"] = user.phone
        else:  # a masked value under its own name, so no client mistakes it for a number to call
            claims["phone_number_masked"] = mask_phone(user.phone)
    if (scopes is None or "id_number" in scopes) and user.id_number:
        if full_id:
            claims["id_number"] = user.id_number
        else:
            claims["id_number_masked"] = mask_id_number(user.id_number)
    if user.kind == User.Kind.ENTERPRISE_AGENT and user.enterprise_uscc:
        claims["enterprise_uscc"] = user.enterprise_uscc
        claims["enterprise_name"] = user.enterprise_name
    if scopes is None:  # django-oauth-toolkit evaluates a callable only when the scope was granted
        claims["delegations"] = lambda _request: delegation_claims(user=user)
    elif "delegation" in scopes:
        claims["delegations"] = delegation_claims(user=user)
    return claims


def delegation_claims(*, user: User) -> list[dict]:
    """The ``delegations`` claim: the delegations (授权代办) the user holds as agent and may act
    through now (in force, the principal's account active), newest first. Per delegation:
    ``principal_kind`` (``enterprise`` / ``person``), ``principal_name`` (a person's masked),
    ``principal_uscc`` (an enterprise's 统一社会信用代码) or ``principal_id_number_masked`` (a
    person's), ``items`` (implementation codes, or ``"all"``), ``valid_until`` (ISO 8601)."""
    from yiwang.identity.models import Delegation
    from yiwang.identity.selectors import delegations_held

    found = []
    for delegation in delegations_held(actor=user, live_only=True).filter(principal__is_active=True)[:50]:
        principal = delegation.principal
        entry = {"id": delegation.pk}
        if delegation.kind == Delegation.Kind.ENTERPRISE:
            entry.update(
                principal_kind="enterprise",
                principal_name=principal.enterprise_name,
                principal_uscc=principal.enterprise_uscc,
            )
        else:
            entry.update(
                principal_kind="person",
                principal_name=mask_name(principal.real_name or principal.username),
                principal_id_number_masked=mask_id_number(principal.id_number) if principal.id_number else "",
            )
        entry["items"] = "all" if delegation.all_items else list(delegation.item_codes or [])
        entry["valid_until"] = delegation.valid_until.astimezone(UTC).isoformat().replace("+00:00", "Z")
        found.append(entry)
    return found


# --- The userinfo hot path: the access token, its user, client and policy in one statement ----

_TOKEN_PLAN: dict[str, tuple] = {}
# The columns userinfo needs, nothing more: fewer values to convert, and the encrypted 身份证号
# and phone are decrypted only when the token's scopes release them (``access_token_for_userinfo``).
_TOKEN_FIELDS = ("id", "user", "application", "expires", "scope", "resource")
_USER_FIELDS = ("id", "username", "kind", "real_name_level", "real_name", "enterprise_uscc", "enterprise_name")
_USER_PERSONAL = {"phone": "phone", "id_number": "id_number"}  # field → the scope that releases it
_APPLICATION_FIELDS = ("id", "client_id", "redirect_uris", "client_type")


def _token_plan() -> tuple:
    """The SELECT of an access token ⋈ its user ⋈ its client ⋈ the client's policy (LEFT JOINs:
    a token may lack a user or a client, a client its policy) by the token's SHA-256 checksum,
    and each column's converters as the ORM applies them — built once per process and vendor."""
    from django.db import connection
    from django.db.models.expressions import Col
    from oauth2_provider.models import AccessToken

    plan = _TOKEN_PLAN.get(connection.vendor)
    if plan is not None:
        return plan
    qn = connection.ops.quote_name
    policy_fields = tuple(f.name for f in ClientPolicy._meta.concrete_fields)
    parts = [
        (AccessToken, "t0", None, _TOKEN_FIELDS),
        (
            User,
            "t1",
            f"t1.{qn(User._meta.pk.column)} = t0.{qn(AccessToken._meta.get_field('user').column)}",
            _USER_FIELDS + tuple(_USER_PERSONAL),
        ),
        (
            Application,
            "t2",
            f"t2.{qn(Application._meta.pk.column)} = t0.{qn(AccessToken._meta.get_field('application').column)}",
            _APPLICATION_FIELDS,
        ),
        (
            ClientPolicy,
            "t3",
            f"t3.{qn(ClientPolicy._meta.get_field('application').column)} = t2.{qn(Application._meta.pk.column)}",
            policy_fields,
        ),
    ]
    columns, plans, joins = [], [], []
    for model, alias, on, names in parts:
        # In the model's own column order: ``Model.from_db`` places a subset of values by it.
        fields = tuple(f for f in model._meta.concrete_fields if f.name in names)
        converters = []
        for f in fields:
            columns.append(f"{alias}.{qn(f.column)}")
            col = Col(alias, f)
            found = connection.ops.get_db_converters(col) + f.get_db_converters(connection)
            converters.append(tuple((converter, col) for converter in found))
        plans.append((model, tuple(f.attname for f in fields), tuple(converters)))
        if on:
            joins.append(f"LEFT OUTER JOIN {qn(model._meta.db_table)} {alias} ON {on}")
    sql = (
        f"SELECT {', '.join(columns)} FROM {qn(AccessToken._meta.db_table)} t0 {' '.join(joins)} "  # noqa: S608
        f"WHERE t0.{qn(AccessToken._meta.get_field('token_checksum').column)} = %s"
    )
    plan = _TOKEN_PLAN[connection.vendor] = (sql, tuple(plans))
    return plan


def access_token_for_userinfo(*, token: str):
    """The access token presented as ``token`` with its user, client and the client's policy
    read in ONE statement whose SQL is built once per process (django-oauth-toolkit's lookup
    compiles a three-table join of every column anew on each call, which cost more than running
    it; the policy was a second query). Only the columns userinfo needs are read; the user's
    phone and 身份证号 are decrypted only if the token's scopes release them (otherwise they stay
    deferred). None for an unknown token. Validity (expiry, scope) is the caller's to check."""
    import hashlib

    from django.db import connection
    from oauth2_provider.models import AccessToken

    sql, plans = _token_plan()
    with connection.cursor() as cursor:
        cursor.execute(sql, [hashlib.sha256(token.encode("utf-8")).hexdigest()])
        row = cursor.fetchone()
    if row is None:
        return None
    scopes: set[str] = set()
    objects, start = [], 0
    for model, names, converters in plans:
        values = list(row[start : start + len(names)])
        start += len(names)
        if values[0] is None:  # the LEFT JOIN found nothing (the primary key is the first column)
            objects.append(None)
            continue
        if model is User:  # the personal columns only when the token's scopes release them
            kept = [i for i, name in enumerate(names) if _USER_PERSONAL.get(name, "openid") in scopes]
            names = tuple(names[i] for i in kept)
            values = [values[i] for i in kept]
            converters = tuple(converters[i] for i in kept)
        for i, found in enumerate(converters):
            for converter, col in found:
                values[i] = converter(values[i], col, connection)
        instance = model.from_db(connection.alias, names, values)
        if model is AccessToken:
            scopes = {*(instance.scope or "").split(), "openid"}
        objects.append(instance)
    access_token, user, application, policy = objects
    AccessToken._meta.get_field("user").set_cached_value(access_token, user)
    AccessToken._meta.get_field("application").set_cached_value(access_token, application)
    if application is not None:
        # The reverse one-to-one ``application.yiwang_policy``: cached, so ``_policy`` reads no query
        # (a missing policy is cached as None, which the descriptor answers with DoesNotExist).
        ClientPolicy._meta.get_field("application").remote_field.set_cached_value(application, policy)
    return access_token
