"""Identity selectors: reads, already scoped to the actor.

Sections: users and tokens (helper "auth"), departments and role grants (helper "dept").
"""

# =============================================================================================
# Users and API tokens
# =============================================================================================

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import caches
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.db.models.lookups import StartsWith
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yiwang.core.crypto import blind_index
from yiwang.core.errors import NotFound
from yiwang.identity.models import ADMIN_ROLES, ApiToken, Department, Role, RoleGrant, User


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


def user_password_changed_at(*, user: User) -> datetime:
    """When the password was last set, from the audit chain (``user.create`` / ``user.password_change``).

    The tamper-evident trail is the record of password changes; accounts made outside the
    services (``createsuperuser``) fall back to their creation time.
    """
    from yiwang.core.models import AuditEvent

    created_at = (
        AuditEvent.objects.filter(
            object_type="identity.user",
            object_id=str(user.pk),
            action__in=["user.create", "user.password_change"],
        )
        .order_by("-sequence")
        .values_list("created_at", flat=True)
        .first()
    )
    return created_at or user.date_joined


def user_password_expired(*, user: User, now: datetime | None = None) -> bool:
    """Staff passwords expire after ``settings.YIWANG_PASSWORD_MAX_AGE_DAYS`` (0 = never) — 等保 定期更换."""
    days = int(getattr(settings, "YIWANG_PASSWORD_MAX_AGE_DAYS", 90) or 0)
    if days <= 0 or not (user.is_staff or user.kind == User.Kind.STAFF):
        return False
    now = now or timezone.now()
    return now - user_password_changed_at(user=user) > timedelta(days=days)


def api_token_list(*, actor: User, user: User | None = None) -> QuerySet[ApiToken]:
    """Tokens the actor may see: their own; a superuser may look at another user's."""
    target = user or actor
    if target.pk != actor.pk and not actor.is_superuser:
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user=target).order_by("-created_at")


def user_activation_pending(*, user: User) -> bool:
    """Whether a window may issue an activation code (账号激活码) for this account: an active
    citizen or enterprise-agent account that has never signed in and never used a code — a
    walk-in applicant's account whose password nobody knows yet."""
    if not user.is_active or user.kind == User.Kind.STAFF or user.is_staff or user.is_superuser:
        return False
    if user.last_login is not None:
        return False
    return not user.activation_codes.filter(used_at__isnull=False).exists()


# =============================================================================================
# Departments and role grants
# =============================================================================================


def _signed_in(actor) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and getattr(actor, "is_active", False)


def ancestor_paths(path: str) -> list[str]:
    """Materialized paths of a department and every department above it: "/1/4/17/" →
    ["/1/", "/1/4/", "/1/4/17/"]."""
    ids = [part for part in (path or "").split("/") if part]
    return ["/" + "/".join(ids[: i + 1]) + "/" for i in range(len(ids))]


def _active_grants(*, actor: User, role: str | None = None) -> QuerySet[RoleGrant]:
    grants = RoleGrant.objects.filter(user=actor, department__is_active=True)
    if role is not None:
        grants = grants.filter(role=role)
    return grants


def departments_for_actor(*, actor, role: str | None = None) -> QuerySet[Department]:
    """Which departments may this actor act in (optionally: in this role)?

    The union of the actor's role grants: the granted department itself, and every
    department below it when the grant includes descendants. Only active departments.
    Superusers may act everywhere. Anonymous or inactive users act nowhere.

    The result is a lazy queryset evaluated as ONE query (two EXISTS subqueries over the
    actor's grants, descendants matched by materialized-path prefix), whatever the size
    of the tree, so other selectors can use it as ``department__in=...``.
    """
    if not _signed_in(actor):
        return Department.objects.none()
    departments = Department.objects.filter(is_active=True)
    if actor.is_superuser:
        return departments
    grants = _active_grants(actor=actor, role=role)
    granted_here = grants.filter(department=OuterRef("pk"))
    granted_above = grants.filter(include_descendants=True).filter(StartsWith(OuterRef("path"), F("department__path")))
    return departments.filter(Exists(granted_here) | Exists(granted_above))


def actor_grants(*, actor, remember: bool = False) -> list[RoleGrant]:
    """The actor's role grants in active departments, with their departments: one query, or
    none when they were already read for this request.

    ``remember=True`` keeps them on the actor object for the rest of its life: a page that
    checks roles several times passes it once for ``request.user`` (a new object each request),
    and every later ``actor_grants`` / ``actor_has_role`` of that request reads no query. Never
    remember on an object that outlives a request (a grant changed meanwhile would be missed).
    """
    if not _signed_in(actor):
        return []
    remembered = getattr(actor, "_yiwang_role_grants", None)
    if remembered is not None:
        return remembered
    grants = _cached_grants(actor)
    if remember:
        actor._yiwang_role_grants = grants
    return grants


# --- The role grants across requests ------------------------------------------------------------
# Read on every staff request, changed rarely: with ``settings.YIWANG_GRANTS_CACHE_SECONDS`` > 0
# they are kept in Django's cache (``YIWANG_GRANTS_CACHE``, the shared Redis/Valkey cache of a
# multi-node site) under the user's id and a generation token. Every service that changes a
# grant or a department calls ``grants_cache_invalidate`` on commit, which draws a new
# generation: no entry of the old one is read again, on any process that shares the cache. A
# cache local to one process would not see another's invalidation, so the default is off (0)
# unless ``YIWANG_CACHE_URL`` configures a shared cache.

_GRANTS_GENERATION = "identity:grants:generation"


def _grants_cache():
    return caches[getattr(settings, "YIWANG_GRANTS_CACHE", "default")]


def _cached_grants(actor) -> list[RoleGrant]:
    seconds = int(getattr(settings, "YIWANG_GRANTS_CACHE_SECONDS", 0) or 0)
    if seconds <= 0:
        return list(role_grants_of(actor=actor))
    cache = _grants_cache()
    generation = cache.get(_GRANTS_GENERATION)
    if generation is None:  # first use, or evicted: start a generation nobody has written under
        cache.add(_GRANTS_GENERATION, secrets.token_hex(8), None)
        generation = cache.get(_GRANTS_GENERATION)
    key = f"identity:grants:{generation}:{actor.pk}"
    grants = cache.get(key)
    if grants is None:
        grants = list(role_grants_of(actor=actor))
        cache.set(key, grants, seconds)
    return grants


def grants_cache_invalidate() -> None:
    """Forget every cached list of role grants (all users, every process sharing the cache).
    Services call it through ``transaction.on_commit`` after changing a grant or a department,
    so a request that read the old rows before the commit cannot store them under the new
    generation."""
    _grants_cache().set(_GRANTS_GENERATION, secrets.token_hex(8), None)


def grant_covers(grant: RoleGrant, department: Department) -> bool:
    """Whether ``grant`` acts in ``department``: granted there, or above it with descendants
    included (materialized-path prefix). No query: ``grant.department`` is read with the grant."""
    if grant.department_id == department.pk:
        return True
    return grant.include_descendants and department.path.startswith(grant.department.path)


def actor_is_audit_admin(actor) -> bool:
    """三员分立: whether the actor holds the ``audit_admin`` role (安全审计员) in an active
    department. The superuser flag does NOT count: the audit trail and the evidence logs are the
    audit admin's alone (the other role checks let a superuser through; this one never does)."""
    return any(grant.role == Role.AUDIT_ADMIN for grant in actor_grants(actor=actor))  # active departments


def actor_has_role(
    actor,
    *,
    roles: str | Iterable[str] = (),
    department: Department | None = None,
    grants: Iterable[RoleGrant] | None = None,
    role: str | None = None,
) -> bool:
    """Whether the actor holds one of ``roles`` in ``department`` — granted there, or above it
    with descendants included — or, without ``department``, in any active department.
    Superusers hold every role everywhere; anonymous or inactive actors none.

    The one role check of the platform. One query for all the roles (``actor_grants``); none
    when ``grants`` (the actor's grants, already read by the caller) is given or the grants
    were remembered for this request. ``role`` is ``roles`` for a single role.
    """
    wanted = {roles} if isinstance(roles, str) else set(roles)
    if role is not None:
        wanted.add(role)
    if not _signed_in(actor) or (department is not None and not department.is_active):
        return False
    if actor.is_superuser:
        return True
    for grant in actor_grants(actor=actor) if grants is None else grants:
        if grant.role in wanted and (department is None or grant_covers(grant, department)):
            return True
    return False


def roles_for_actor(*, actor) -> QuerySet[RoleGrant]:
    """The actor's role grants in active departments, with their departments (for the workbench
    home and ``/api/v1/me/departments``), ordered by department tree then role."""
    if not _signed_in(actor):
        return RoleGrant.objects.none()
    return _active_grants(actor=actor).select_related("department").order_by("department__path", "role")


def role_grants_of(*, actor) -> QuerySet[RoleGrant]:
    """The actor's role grants in active departments, with their departments, in no order:
    what a permission check needs, read in one query without the cost of sorting."""
    if not _signed_in(actor):
        return RoleGrant.objects.none()
    return _active_grants(actor=actor).select_related("department").order_by()


def _with_children_count(departments: QuerySet[Department]) -> QuerySet[Department]:
    active_children = (
        Department.objects.filter(parent=OuterRef("pk"), is_active=True)
        .order_by()
        .values("parent")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return departments.annotate(children_count=Coalesce(Subquery(active_children), 0))


def department_list(
    *,
    actor,
    parent: Department | int | None = None,
    level: int | None = None,
    search: str | None = None,
    roots_only: bool = False,
) -> QuerySet[Department]:
    """Active departments, in tree order, each with ``children_count``.

    The department tree is public information (the bodies of government and their region
    codes are published to citizens in every service guide), so every actor, signed in or
    not, sees every active department; deactivated departments are hidden. Acting in a
    department is what needs a role: see ``departments_for_actor``.

    ``parent`` keeps the direct children of one department; ``roots_only`` the top of the
    tree; ``search`` matches name, short name, code or region code.
    """
    departments = Department.objects.filter(is_active=True)
    if parent is not None:
        departments = departments.filter(parent=parent)
    elif roots_only:
        departments = departments.filter(parent__isnull=True)
    if level is not None:
        departments = departments.filter(level=level)
    search = (search or "").strip()
    if search:
        departments = departments.filter(
            Q(name__icontains=search)
            | Q(short_name__icontains=search)
            | Q(code__iexact=search)
            | Q(region_code__startswith=search)
        )
    # Siblings in their configured order; a whole-tree listing in tree (path) order.
    ordering = ("sort_order", "pk") if parent is not None or roots_only else ("path",)
    return _with_children_count(departments).order_by(*ordering)


def department_get(*, actor, id) -> Department:
    """One active department with ``children_count``; ``NotFound`` if missing, deactivated or
    not an id at all."""
    try:
        pk = int(id)
    except (TypeError, ValueError):
        raise NotFound(_("未找到该部门。"), code="department_not_found") from None
    department = _with_children_count(Department.objects.filter(is_active=True, pk=pk)).first()
    if department is None:
        raise NotFound(_("未找到该部门。"), code="department_not_found")
    return department


def department_ancestors(*, department: Department) -> list[Department]:
    """The departments above ``department``, from the top of the tree down (one query)."""
    paths = ancestor_paths(department.path)[:-1]
    if not paths:
        return []
    return list(Department.objects.filter(path__in=paths).order_by("path"))


def users_with_role(*, role: str, department: Department) -> QuerySet[User]:
    """Active users holding ``role`` in ``department``: granted there, or on a department above
    it with descendants included (the same rule as ``actor_has_role``, read the other way).

    For notifying the holders of a role (e.g. the department heads of a case's department);
    superusers are not included. Empty for an inactive department. One query.
    """
    if department is None or not department.is_active:
        return User.objects.none()
    grants = _active_grants_for_role(role=role).filter(
        Q(department=department) | Q(include_descendants=True, department__path__in=ancestor_paths(department.path))
    )
    return User.objects.filter(is_active=True, pk__in=grants.values("user_id")).order_by("pk")


def _active_grants_for_role(*, role: str) -> QuerySet[RoleGrant]:
    return RoleGrant.objects.filter(role=role, department__is_active=True)


# =============================================================================================
# Delegation (授权代办) and window assistance (帮办代办)
# =============================================================================================


def _delegation_not_found() -> NotFound:
    return NotFound(_("未找到该授权。"), code="delegation_not_found")


def delegations_given(*, actor) -> QuerySet:
    """The delegations the actor (an enterprise account or a citizen) gave, newest first."""
    from yiwang.identity.models import Delegation

    if not _signed_in(actor):
        return Delegation.objects.none()
    return Delegation.objects.filter(principal=actor).select_related("agent")


def delegations_held(*, actor, live_only: bool = False) -> QuerySet:
    """The delegations the actor holds as agent (``live_only``: in force now), newest first —
    the agent's switcher."""
    from yiwang.identity.models import Delegation

    if not _signed_in(actor):
        return Delegation.objects.none()
    held = Delegation.objects.filter(agent=actor).select_related("principal")
    if live_only:
        now = timezone.now()
        held = held.filter(revoked_at__isnull=True, valid_from__lte=now, valid_until__gt=now)
    return held


def delegation_get(*, actor, id):
    """One delegation, for its principal or its agent; ``NotFound`` for anyone else."""
    try:
        pk = int(id)
    except (TypeError, ValueError):
        raise _delegation_not_found() from None
    from yiwang.identity.models import Delegation

    if not _signed_in(actor):
        raise _delegation_not_found()
    found = (
        Delegation.objects.filter(pk=pk)
        .filter(Q(principal=actor) | Q(agent=actor))
        .select_related("principal", "agent")
        .first()
    )
    if found is None:
        raise _delegation_not_found()
    return found


def delegation_for_agent(*, actor, id, item_code: str | None = None):
    """The delegation ``id`` through which the actor acts now as agent — in force (not revoked,
    between its from and to) and, with ``item_code``, covering that item. Anything else, the
    principal's own call included, is ``NotFound``: an agent past expiry or outside scope is
    refused like any unauthorized user."""
    delegation = delegation_get(actor=actor, id=id)
    if delegation.agent_id != actor.pk or not delegation.is_live(timezone.now()):
        raise _delegation_not_found()
    if item_code is not None and not delegation.covers(item_code):
        raise _delegation_not_found()
    if not delegation.principal.is_active:
        raise _delegation_not_found()
    return delegation


def assist_consents_for_citizen(*, actor) -> QuerySet:
    """Open 帮办 requests to the signed-in citizen (their phone's 帮办授权 page)."""
    from yiwang.identity.models import AssistConsent

    if not _signed_in(actor):
        return AssistConsent.objects.none()
    since = timezone.now() - timedelta(hours=2)
    return AssistConsent.objects.filter(citizen=actor, requested_at__gte=since).select_related("clerk")


def assist_consent_get(*, actor, id, as_clerk: bool):
    """One 帮办 request: for its clerk (``as_clerk``) or its citizen; ``NotFound`` otherwise."""
    from yiwang.identity.models import AssistConsent

    try:
        pk = int(id)
    except (TypeError, ValueError):
        raise NotFound(_("未找到该帮办申请。"), code="assist_not_found") from None
    if not _signed_in(actor):
        raise NotFound(_("未找到该帮办申请。"), code="assist_not_found")
    owner = Q(clerk=actor) if as_clerk else Q(citizen=actor)
    consent = AssistConsent.objects.filter(owner, pk=pk).select_related("citizen", "clerk").first()
    if consent is None:
        raise NotFound(_("未找到该帮办申请。"), code="assist_not_found")
    return consent


def assist_consents_of_clerk(*, actor) -> QuerySet:
    """The clerk's 帮办 requests of the last day, newest first."""
    from yiwang.identity.models import AssistConsent

    if not _signed_in(actor):
        return AssistConsent.objects.none()
    since = timezone.now() - timedelta(days=1)
    return AssistConsent.objects.filter(clerk=actor, requested_at__gte=since).select_related("citizen")


def assist_consent_for_acting(*, actor, id):
    """The confirmed consent through which the clerk acts for its citizen now; ``NotFound`` when
    it is another's, unconfirmed, closed or past ``act_until``."""
    consent = assist_consent_get(actor=actor, id=id, as_clerk=True)
    now = timezone.now()
    confirmed = consent.confirmed_at is not None and consent.closed_at is None
    if not confirmed or not consent.act_until or consent.act_until <= now:
        raise NotFound(_("未找到该帮办申请。"), code="assist_not_found")
    return consent


# =============================================================================================
# 三员分立 in the admin site: which of the three roles reaches which model
# =============================================================================================

# The security admin (安全管理员): accounts, tokens, delegations, permission groups, lockouts and
# the relying parties; the audit admin (安全审计员): the audit trail and the evidence logs; the
# system admin (系统管理员): everything else (configuration, the catalog, jobs, templates …).
SECURITY_ADMIN_MODELS = frozenset(
    {
        "identity.user",
        "identity.apitoken",
        "identity.delegation",
        "identity.assistconsent",
        "auth.group",
        "auth.permission",
        "axes.accessattempt",
        "axes.accesslog",
        "axes.accessfailurelog",
    }
)
SECURITY_ADMIN_APPS = frozenset({"sso", "oauth2_provider"})
AUDIT_ADMIN_MODELS = frozenset({"core.auditevent", "exchange.exchangelog", "exchange.exchangelogseal"})


def admin_role_for(app_label: str, model_name: str) -> str:
    """The one of the three separated roles whose admin pages show ``app_label.model_name``."""
    label = f"{app_label}.{model_name}".lower()
    if label in AUDIT_ADMIN_MODELS:
        return Role.AUDIT_ADMIN
    if label in SECURITY_ADMIN_MODELS or app_label in SECURITY_ADMIN_APPS:
        return Role.SECURITY_ADMIN
    return Role.SYSTEM_ADMIN


def actor_admin_roles(actor) -> set[str]:
    """The separated admin roles (system / security / audit admin) the actor holds by a grant in
    an active department. The superuser flag adds none: it is no way around 三员分立."""
    from yiwang.identity.models import SEPARATED_ADMIN_ROLES

    return {grant.role for grant in actor_grants(actor=actor) if grant.role in SEPARATED_ADMIN_ROLES}


def actor_admin_reaches(actor, *, app_label: str, model_name: str) -> bool:
    """Whether the actor's separated role opens this model's admin pages."""
    return admin_role_for(app_label, model_name) in actor_admin_roles(actor)
