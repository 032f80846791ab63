"""Accounts for the sign-in tests, made through the real services."""

from datetime import date

from yiwang.core.codes import make_id_number
from yiwang.identity.models import Department, Role, User
from yiwang.identity.services import department_create, role_grant_create, user_create

PASSWORD = "Qiang-Mima-2024"
ID_NUMBER = make_id_number("110105", date(1990, 1, 1), 2)
PHONE = "13812345678"


def make_citizen(username: str = "citizen", **extra) -> User:
    extra.setdefault("id_number", ID_NUMBER)
    extra.setdefault("phone", PHONE)
    return user_create(
        actor=None, username=username, password=PASSWORD, kind=User.Kind.CITIZEN, real_name="王小明", **extra
    )


def make_staff(username: str = "clerk", **extra) -> User:
    return user_create(actor=None, username=username, password=PASSWORD, kind=User.Kind.STAFF, is_staff=True, **extra)


def make_admin(username: str = "cityadmin") -> User:
    """A staff account holding the city-admin role (MFA is mandatory for it)."""
    root = make_staff("root")
    root.is_superuser = True
    root.save(update_fields=["is_superuser"])
    city = department_create(
        actor=root,
        name="示范市人民政府",
        code="city",
        level=Department.Level.CITY,
        kind=Department.Kind.GOVERNMENT,
        region_code="320500",
    )
    admin = make_staff(username)
    role_grant_create(actor=root, user=admin, role=Role.CITY_ADMIN, department=city)
    return admin


def login(client, username: str, password: str = PASSWORD, **extra):
    return client.post("/accounts/login/", {"username": username, "password": password, **extra})


def grant_admin_role(user: User, role: str = "system_admin") -> User:
    """Give ``user`` one of the three separated admin roles (三员分立), which is what opens the
    admin site's pages of its area (the superuser flag and model permissions alone do not):
    ``system_admin`` (configuration), ``security_admin`` (accounts, tokens), ``audit_admin``."""
    from yiwang.identity.models import Department, RoleGrant

    department, _ = Department.objects.get_or_create(
        code="admin-roles",
        defaults={"name": "管理员所在机构", "level": Department.Level.CITY, "region_code": "320500", "path": "/"},
    )
    if department.path == "/":
        department.path = f"/{department.pk}/"
        department.save(update_fields=["path"])
    RoleGrant.objects.get_or_create(user=user, role=role, department=department)
    if not user.is_staff:
        User.objects.filter(pk=user.pk).update(is_staff=True)
        user.is_staff = True
    from yiwang.identity.selectors import grants_cache_invalidate

    grants_cache_invalidate()
    return user


def admin_force_login(client, user: User, role: str = "system_admin"):
    """Sign ``user`` in on ``client`` as a holder of ``role`` (``grant_admin_role``), past the TOTP
    step that every admin role requires (as after a TOTP check; TOTP itself is tested in identity)."""
    from yiwang.identity import mfa

    client.force_login(grant_admin_role(user, role))
    session = client.session
    session[mfa.SESSION_VERIFIED] = True
    session.save()
    return client
