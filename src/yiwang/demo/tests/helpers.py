"""Shared helpers for the demo tests."""

from io import StringIO

from django.core.management import call_command

from yiwang.core.audit import canonical_json
from yiwang.core.crypto import sm3_hex
from yiwang.core.models import AuditEvent
from yiwang.identity.models import Department, RoleGrant, User

# The digest of the default city. It changes only when someone changes the generator on
# purpose; then update it here (and check docs/demo-city.md still describes the city).
DEFAULT_CITY_DIGEST = "cc866a3e04777ca3beed4db562117bdab8fdf922a997a846eb785cb09ba98820"


def database_digest(city) -> str:
    """The same shape as ``City.as_data()``, read back from the database."""
    depts = {d.code: d for d in Department.objects.select_related("parent")}
    users = {u.username: u for u in User.objects.all()}
    data = {
        "departments": [
            {
                "code": d.code,
                "name": d.name,
                "short_name": d.short_name,
                "level": d.level,
                "kind": d.kind,
                "region_code": d.region_code,
                "parent_code": d.parent.code if d.parent else None,
                "uscc": d.uscc,
                "sort_order": d.sort_order,
            }
            for d in (depts[spec.code] for spec in city.departments)
        ],
        "users": [
            {
                "username": u.username,
                "kind": u.kind,
                "real_name": u.real_name,
                "id_number": u.id_number,
                "phone": u.phone,
                "enterprise_uscc": u.enterprise_uscc,
                "enterprise_name": u.enterprise_name,
                "is_staff": u.is_staff,
                "is_superuser": u.is_superuser,
            }
            for u in (users[spec.username] for spec in city.users)
        ],
        "grants": [
            {
                "username": g.user.username,
                "role": g.role,
                "department_code": g.department.code,
                "include_descendants": g.include_descendants,
            }
            for g in (
                RoleGrant.objects.select_related("user", "department").get(
                    user__username=spec.username, role=spec.role, department__code=spec.department_code
                )
                for spec in city.grants
            )
        ],
    }
    return sm3_hex(canonical_json(data))


def snapshot() -> dict:
    """Every row the demo touches, as comparable values."""
    return {
        "departments": sorted(Department.objects.values_list("code", "name", "region_code", "path", "parent__code")),
        "users": sorted(User.objects.values_list("username", "password", "real_name", "id_number_index")),
        "grants": sorted(RoleGrant.objects.values_list("user__username", "role", "department__code")),
        "audit_events": AuditEvent.objects.count(),
    }


def run_demo(*args, city_only: bool = True) -> str:
    """``yiwang demo``; by default without other apps' demo data (the catalog takes seconds)."""
    out = StringIO()
    call_command("demo", *args, *(["--city-only"] if city_only else []), stdout=out)
    return out.getvalue()
