"""Identity endpoints of the JSON API: who am I, the department tree, where may I act.

Thin: every read goes through ``identity.selectors``. Mounted on ``yiwang.api.api``.
"""

from collections import defaultdict

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from yiwang.core.api_errors import ErrorOut
from yiwang.core.codes import region_name
from yiwang.core.masking import mask_id_number, mask_phone
from yiwang.core.pagination import PageNumberPagination
from yiwang.identity.auth import api_auth
from yiwang.identity.models import Department, Role, User
from yiwang.identity.selectors import (
    ancestor_paths,
    department_ancestors,
    department_get,
    department_list,
    departments_for_actor,
    roles_for_actor,
)
from yiwang.identity.services import user_sign_out_everywhere

router = Router(tags=["identity"])


# --- schemas -----------------------------------------------------------------------------------------


class MeOut(Schema):
    id: int
    username: str
    kind: str = Field(description="citizen | enterprise_agent | staff")
    kind_label: str
    real_name: str = Field(description="The user's own name, in full (it is their own record).")
    id_number_masked: str = Field(description="身份证号, masked: 110105********0023")
    phone_masked: str = Field(description="Mobile number, masked: 138****5678")
    enterprise_uscc: str
    enterprise_name: str
    is_staff: bool
    is_superuser: bool
    mfa_enabled: bool
    elder_mode: bool
    language: str


class DepartmentBrief(Schema):
    id: int
    name: str
    code: str
    level: int


class DepartmentOut(Schema):
    id: int
    name: str
    short_name: str
    code: str
    uscc: str = Field(description="统一社会信用代码 of the body, if known")
    level: int = Field(description="1 province, 2 city, 3 county, 4 township, 5 village")
    level_label: str
    kind: str = Field(description="government | agency | subdistrict | community")
    kind_label: str
    region_code: str = Field(description="GB/T 2260 code (6 digits), 9/12 digits for townships/villages")
    region_name: str | None = Field(description="Name of the region code's county-level area, e.g. 江苏省苏州市虎丘区")
    parent_id: int | None
    sort_order: int
    children_count: int = Field(description="Active departments directly below this one")


class DepartmentDetail(DepartmentOut):
    ancestors: list[DepartmentBrief] = Field(description="The departments above this one, from the top down")


class DepartmentFilters(Schema):
    parent: int | None = Field(None, description="Only the direct children of this department id")
    roots: bool = Field(False, description="Only departments at the top of the tree")
    level: Department.Level | None = Field(None, description="Only this level (1–5)")
    search: str | None = Field(None, max_length=100, description="Name, short name, exact code, or region-code prefix")


class RoleDepartments(Schema):
    role: str
    role_label: str
    departments: list[DepartmentBrief]


class MyDepartmentsOut(Schema):
    all_departments: bool = Field(description="True for superusers, who may act in every department")
    roles: list[RoleDepartments]


class DepartmentPagination(PageNumberPagination):
    """``?page=1&page_size=50`` (at most 200); answers ``{"items": [...], "count": N}``."""

    def __init__(self, **kwargs):
        super().__init__(page_size=50, max_page_size=200, **kwargs)


# --- helpers -----------------------------------------------------------------------------------------


def _department_out(department: Department) -> dict:
    return {
        "id": department.pk,
        "name": department.name,
        "short_name": department.short_name,
        "code": department.code,
        "uscc": department.uscc,
        "level": department.level,
        "level_label": str(department.get_level_display()),
        "kind": department.kind,
        "kind_label": str(department.get_kind_display()),
        "region_code": department.region_code,
        "region_name": region_name(department.region_code),
        "parent_id": department.parent_id,
        "sort_order": department.sort_order,
        "children_count": getattr(department, "children_count", 0),
    }


def _tree_key(department: Department) -> list[int]:
    """Depth-first tree order by id (a string sort of paths would put "/10/" before "/9/")."""
    return [int(part) for part in department.path.split("/") if part]


def _brief(department: Department) -> dict:
    return {"id": department.pk, "name": department.name, "code": department.code, "level": department.level}


# --- endpoints ---------------------------------------------------------------------------------------


@router.get("/me", response={200: MeOut, 401: ErrorOut}, auth=api_auth, summary="The signed-in user")
def me(request: HttpRequest):
    """The authenticated user. Their own name is shown in full; 身份证号 and phone are masked
    even to their owner, so a shared screen or a log never shows them."""
    user: User = request.auth
    return {
        "id": user.pk,
        "username": user.username,
        "kind": user.kind,
        "kind_label": str(user.get_kind_display()),
        "real_name": user.real_name,
        "id_number_masked": mask_id_number(user.id_number or ""),
        "phone_masked": mask_phone(user.phone or ""),
        "enterprise_uscc": user.enterprise_uscc,
        "enterprise_name": user.enterprise_name,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "mfa_enabled": user.mfa_enabled,
        "elder_mode": user.elder_mode,
        "language": user.language,
    }


class SignOutEverywhereOut(Schema):
    tokens_revoked: int = Field(description="How many live API tokens were revoked (the calling token included)")


@router.post(
    "/me/sign-out-everywhere",
    response={200: SignOutEverywhereOut, 401: ErrorOut},
    auth=api_auth,
    summary="Sign out everywhere: end all sessions and revoke all API tokens",
)
def sign_out_everywhere(request: HttpRequest):
    """Ends every browser session of the authenticated user and revokes all their API tokens,
    the one making this call included (audited ``user.sign_out_everywhere``). Sign in again
    and issue new tokens afterwards."""
    return user_sign_out_everywhere(actor=request.auth, user=request.auth)


@router.get(
    "/me/departments",
    response={200: MyDepartmentsOut, 401: ErrorOut, 422: ErrorOut},
    auth=api_auth,
    summary="Where the signed-in user may act, per role",
)
def my_departments(request: HttpRequest, role: Role | None = None):
    """For each role the user holds, the departments they may act in with it: the granted
    department, plus every department below it when the grant includes descendants.
    Superusers may act everywhere (``all_departments``). Two queries whatever the tree size."""
    actor: User = request.auth
    grants = list(roles_for_actor(actor=actor))
    if role is not None:
        grants = [g for g in grants if g.role == role]
    departments = list(departments_for_actor(actor=actor, role=role)) if grants else []
    departments.sort(key=_tree_key)
    by_role: dict[str, list[dict]] = defaultdict(list)
    for department in departments:
        above = set(ancestor_paths(department.path))
        for grant in grants:
            covers = grant.department_id == department.pk or (
                grant.include_descendants and grant.department.path in above
            )
            if covers and all(d["id"] != department.pk for d in by_role[grant.role]):
                by_role[grant.role].append(_brief(department))
    roles = [
        {"role": value, "role_label": str(label), "departments": by_role[value]}
        for value, label in Role.choices
        if value in by_role
    ]
    return {"all_departments": actor.is_superuser, "roles": roles}


@router.get(
    "/departments", response={200: list[DepartmentOut], 422: ErrorOut}, auth=None, summary="The department tree"
)
@paginate(DepartmentPagination)
def departments(request: HttpRequest, filters: Query[DepartmentFilters]):
    """Active departments, public to everyone (no sign-in needed): the bodies of government
    and their region codes are published information. Children of one department with
    ``parent``, the top with ``roots=true``; siblings come in their configured order, a
    whole-tree listing in tree order."""
    return [
        _department_out(d)
        for d in department_list(
            actor=request.user,
            parent=filters.parent,
            roots_only=filters.roots,
            level=filters.level,
            search=filters.search,
        )
    ]


@router.get(
    "/departments/{department_id}",
    response={200: DepartmentDetail, 404: ErrorOut, 422: ErrorOut},
    auth=None,
    summary="One department",
)
def department_detail(request: HttpRequest, department_id: int):
    """One active department with its region name, number of children and the chain of
    departments above it. ``404 department_not_found`` if missing or deactivated."""
    department = department_get(actor=request.user, id=department_id)
    return {
        **_department_out(department),
        "ancestors": [_brief(d) for d in department_ancestors(department=department)],
    }


# --- Delegation (授权代办) and 帮办: identity.delegation_api -----------------------------------
from yiwang.identity import delegation_api  # noqa: E402

delegation_api.register(router)
