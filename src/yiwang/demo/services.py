"""Load the demo city into the database, idempotently, through the identity services.

``demo_load`` creates what is missing and never overwrites what exists: running it twice
leaves the database exactly as after the first run, and a department, account or role
grant that someone changed while exploring the demo is reported, not reset. To start
over, delete the database (``var/yiwang.sqlite3``) and run ``yiwang migrate`` and
``yiwang demo`` again.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType

from django.apps import AppConfig, apps
from django.contrib.auth.hashers import make_password
from django.db import transaction

from yiwang.core.audit import audit_record
from yiwang.core.errors import YiwangError
from yiwang.demo.city import DEFAULT_SEED, DEMO_PASSWORD, SYSADMIN, City, DepartmentSpec, UserSpec, generate_city
from yiwang.identity import services as identity
from yiwang.identity.models import Department, RoleGrant, User

# Audit actor for what the loader does before any account exists.
SYSTEM_ACTOR = "system:demo"


def demo_extensions() -> list[tuple[AppConfig, ModuleType]]:
    """Other apps' demo data, loaded by ``yiwang demo`` after the city.

    An app takes part by having a ``<app>.demo_data`` module with ``load(actor)``: it must be
    idempotent, write through its own services and may rely on the city's department codes.
    Its return value is printed through ``summary()`` when it has one. Order: INSTALLED_APPS,
    except that a module naming apps in ``LOAD_AFTER`` (e.g. ``("yiwang.exchange",)``: identity's
    demo delegations need the exchange's grants) is loaded after those apps' demo data.
    """
    found = []
    for app in apps.get_app_configs():
        if not app.name.startswith("yiwang.") or app.name == "yiwang.demo":
            continue
        name = f"{app.name}.demo_data"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        if callable(getattr(module, "load", None)):
            found.append((app, module))
    return _after_their_dependencies(found)


def _after_their_dependencies(found: list[tuple[AppConfig, ModuleType]]) -> list[tuple[AppConfig, ModuleType]]:
    """``found`` in its order, each module moved after the apps its ``LOAD_AFTER`` names."""
    present = {app.name for app, _module in found}
    placed: list[tuple[AppConfig, ModuleType]] = []
    done: set[str] = set()
    pending = list(found)
    while pending:
        for entry in pending:
            after = {name for name in getattr(entry[1], "LOAD_AFTER", ()) if name in present}
            if after <= done:
                break
        else:  # a cycle: keep the remaining order rather than loop
            placed += pending
            break
        pending.remove(entry)
        placed.append(entry)
        done.add(entry[0].name)
    return placed


class DemoLoadError(Exception):
    """The demo city could not be loaded; the message (Chinese) says why and what to do."""


@dataclass
class Tally:
    created: int = 0
    unchanged: int = 0
    differing: list[str] = field(default_factory=list)  # existing rows that differ from the seed's data

    @property
    def total(self) -> int:
        return self.created + self.unchanged + len(self.differing)


@dataclass
class LoadReport:
    city: City
    departments: Tally = field(default_factory=Tally)
    users: Tally = field(default_factory=Tally)
    grants: Tally = field(default_factory=Tally)

    @property
    def created(self) -> int:
        return self.departments.created + self.users.created + self.grants.created

    @property
    def differing(self) -> int:
        return len(self.departments.differing) + len(self.users.differing) + len(self.grants.differing)

    @property
    def up_to_date(self) -> bool:
        return self.created == 0 and self.differing == 0


def _department_differences(dept: Department, spec: DepartmentSpec, parent: Department | None) -> list[str]:
    wanted = {
        "name": spec.name,
        "short_name": spec.short_name,
        "level": spec.level,
        "kind": spec.kind,
        "region_code": spec.region_code,
        "uscc": spec.uscc,
        "sort_order": spec.sort_order,
        "parent_id": parent.pk if parent else None,
        "is_active": True,
    }
    return [key for key, value in wanted.items() if getattr(dept, key) != value]


def _user_differences(user: User, spec: UserSpec) -> list[str]:
    wanted = {
        "kind": spec.kind,
        "real_name": spec.real_name,
        "id_number": spec.id_number,
        "phone": spec.phone,
        "enterprise_uscc": spec.enterprise_uscc,
        "enterprise_name": spec.enterprise_name,
        "is_superuser": spec.is_superuser,
        "is_active": True,
    }
    return [key for key, value in wanted.items() if getattr(user, key) != value]


def _failure(what: str, exc: YiwangError) -> DemoLoadError:
    fields = getattr(exc, "fields", None) or {}
    detail = ";".join(f"{name}: {'、'.join(map(str, msgs))}" for name, msgs in fields.items()) or str(exc)
    return DemoLoadError(
        f"无法创建{what}:{detail}。数据库中可能已有用另一种子(--seed)生成或被修改过的示范数据;"
        "如需重新加载,请删除数据库(默认 var/yiwang.sqlite3)后依次运行 yiwang migrate 与 yiwang demo。"
    )


def _ensure_user(spec: UserSpec, tally: Tally, password_hash: str) -> User:
    user = User.objects.filter(username=spec.username).first()
    if user is not None:
        diffs = _user_differences(user, spec)
        if diffs:
            tally.differing.append(f"{spec.username}({', '.join(diffs)})")
        else:
            tally.unchanged += 1
        return user
    try:
        user = identity.user_create(
            actor=SYSTEM_ACTOR,
            username=spec.username,
            password_hash=password_hash,
            kind=spec.kind,
            real_name=spec.real_name,
            id_number=spec.id_number,
            phone=spec.phone,
            enterprise_uscc=spec.enterprise_uscc,
            enterprise_name=spec.enterprise_name,
            is_staff=spec.is_staff,
        )
    except YiwangError as exc:
        raise _failure(f"账号 {spec.username}", exc) from exc
    if spec.is_superuser:
        # identity has no service for granting superuser status yet; this is the one direct
        # write, audited like a service would.
        User.objects.filter(pk=user.pk).update(is_superuser=True, is_staff=True)
        user.is_superuser = user.is_staff = True
        audit_record(
            actor=SYSTEM_ACTOR,
            action="user.superuser_grant",
            obj=user,
            object_repr=user.username,
            changes={"is_superuser": True, "is_staff": True},
        )
    tally.created += 1
    return user


@transaction.atomic
def demo_load(*, seed: int = DEFAULT_SEED) -> LoadReport:
    """Bring the database up to the demo city generated from ``seed``, in one transaction.

    Guarantees: missing departments, accounts and role grants are created through the
    identity services (each audited); existing ones are left untouched and counted as
    up to date, or listed as differing; a second run creates nothing. Every demo account
    has the password ``DEMO_PASSWORD``. Raises ``DemoLoadError`` (nothing written) when a
    row cannot be created, e.g. because another seed's city occupies the same 身份证号.
    """
    city = generate_city(seed)
    report = LoadReport(city=city)
    # argon2 takes ~0.2 s a hash: hash the published demo password once for all ~120 accounts.
    # The shared salt is acceptable for published demo credentials and nowhere else.
    demo_hash = make_password(DEMO_PASSWORD)
    # The platform's first superuser creates the department tree and grants the roles,
    # as an operator would after installing; account creation is the system's own act.
    sysadmin = _ensure_user(city.user(SYSADMIN), report.users, demo_hash)
    if not sysadmin.is_superuser or not sysadmin.is_active:
        raise DemoLoadError(
            f"账号 {SYSADMIN} 已存在但不是启用中的超级用户,示范数据无法以它的名义创建部门与授权;"
            "请删除数据库(默认 var/yiwang.sqlite3)后重新运行 yiwang migrate 与 yiwang demo。"
        )

    departments: dict[str, Department] = {}
    for spec in city.departments:
        parent = departments[spec.parent_code] if spec.parent_code else None
        dept = Department.objects.filter(code=spec.code).first()
        if dept is not None:
            diffs = _department_differences(dept, spec, parent)
            if diffs:
                report.departments.differing.append(f"{spec.code}({', '.join(diffs)})")
            else:
                report.departments.unchanged += 1
        else:
            if parent is not None and not parent.is_active:
                raise DemoLoadError(f"上级部门 {parent.code} 已停用,无法在其下创建示范部门 {spec.code}。")
            try:
                dept = identity.department_create(
                    actor=sysadmin,
                    name=spec.name,
                    short_name=spec.short_name,
                    code=spec.code,
                    level=spec.level,
                    kind=spec.kind,
                    region_code=spec.region_code,
                    parent=parent,
                    uscc=spec.uscc,
                    sort_order=spec.sort_order,
                )
            except YiwangError as exc:
                raise _failure(f"部门 {spec.code}", exc) from exc
            report.departments.created += 1
        departments[spec.code] = dept

    users = {SYSADMIN: sysadmin}
    for spec in city.users:
        if spec.username not in users:
            users[spec.username] = _ensure_user(spec, report.users, demo_hash)

    for spec in city.grants:
        user, dept = users[spec.username], departments[spec.department_code]
        grant = RoleGrant.objects.filter(user=user, role=spec.role, department=dept).first()
        if grant is not None:
            if grant.include_descendants == spec.include_descendants:
                report.grants.unchanged += 1
            else:
                report.grants.differing.append(f"{spec.username}/{spec.role}/{spec.department_code}")
            continue
        try:
            identity.role_grant_create(
                actor=sysadmin,
                user=user,
                role=spec.role,
                department=dept,
                include_descendants=spec.include_descendants,
            )
        except YiwangError as exc:
            raise _failure(f"{spec.username} 在 {spec.department_code} 的角色 {spec.role}", exc) from exc
        report.grants.created += 1
    return report
