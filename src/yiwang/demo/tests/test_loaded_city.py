"""The loaded demo city: valid codes, a sound tree, the promised roles, audited writes."""

import pytest
from django.contrib.auth import authenticate
from django.db import transaction
from django.test import RequestFactory
from stdnum.cn import ric

from yiwang.core.codes import validate_id_number, validate_region_code, validate_uscc
from yiwang.core.models import AuditEvent
from yiwang.demo.city import CITY_AGENCIES, DEMO_PASSWORD, SYSADMIN
from yiwang.demo.services import demo_load
from yiwang.demo.tests.helpers import database_digest
from yiwang.identity.models import ADMIN_ROLES, Department, Role, RoleGrant, User
from yiwang.identity.selectors import departments_for_actor, user_requires_mfa


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker):
    """The default city loaded once for the read-only tests of this module, rolled back afterwards."""
    with django_db_blocker.unblock(), transaction.atomic():
        report = demo_load()
        yield report
        transaction.set_rollback(True)


# --- What the loaded city looks like --------------------------------------------------------


@pytest.mark.django_db
def test_database_holds_exactly_the_generated_city(loaded):
    city = loaded.city
    assert database_digest(city) == city.digest()
    assert loaded.departments.created == len(city.departments) >= 60
    assert User.objects.filter(kind=User.Kind.CITIZEN).count() == 20
    assert User.objects.filter(kind=User.Kind.ENTERPRISE_AGENT).count() == 8


@pytest.mark.django_db
def test_every_id_number_uscc_and_region_code_is_valid(loaded):
    for dept in Department.objects.all():
        assert validate_region_code(dept.region_code) == dept.region_code
        assert dept.region_code.startswith("6103")
        if dept.level == Department.Level.VILLAGE:
            assert len(dept.region_code) == 12 and dept.region_code[-3:] != "000"
        if dept.level == Department.Level.TOWNSHIP:
            assert len(dept.region_code) == 12 and dept.region_code[-3:] == "000"
        if dept.uscc:
            assert validate_uscc(dept.uscc) == dept.uscc
            assert dept.uscc.startswith("11" + dept.region_code[:6])  # 机关, registered where it sits
    assert Department.objects.exclude(level=Department.Level.VILLAGE).filter(uscc="").count() == 0

    citizens_and_agents = User.objects.exclude(kind=User.Kind.STAFF)
    assert citizens_and_agents.count() == 28
    for user in citizens_and_agents:
        info = validate_id_number(user.id_number)
        assert info.region_code in {"610302", "610323", "610324"}
        assert 1950 <= info.birth_date.year <= 2004
        assert ric.is_valid(user.id_number)  # also stdnum's stricter region-year rule
        assert len(user.phone) == 11 and user.phone.startswith("1")
    for agent in User.objects.filter(kind=User.Kind.ENTERPRISE_AGENT):
        assert validate_uscc(agent.enterprise_uscc).startswith("91")
        assert agent.enterprise_name.startswith("示范市") and agent.enterprise_name.endswith(
            ("有限公司", "有限责任公司")
        )
    assert len({u.id_number for u in citizens_and_agents}) == 28


@pytest.mark.django_db
def test_department_tree_has_one_root_and_consistent_levels(loaded):
    depts = list(Department.objects.select_related("parent"))
    roots = [d for d in depts if d.parent is None]
    assert [r.name for r in roots] == ["示范市人民政府"]
    for dept in depts:
        if dept.parent is None:
            continue
        assert dept.path == f"{dept.parent.path}{dept.pk}/"
        assert dept.level > dept.parent.level or (
            dept.level == dept.parent.level and dept.kind == Department.Kind.AGENCY
        )
    names = {d.name for d in depts}
    for required in ("示范市行政审批服务局", "示范市市场监督管理局", "示范市公安局", "示范市政务服务和大数据管理局"):
        assert required in names
    counties = [d for d in depts if d.level == Department.Level.COUNTY and d.kind == Department.Kind.GOVERNMENT]
    assert sorted(d.name for d in counties) == ["东原县人民政府", "示范市明湖区人民政府", "西岭县人民政府"]
    for county in counties:
        below = [d for d in depts if d.parent_id == county.pk]
        assert any(d.kind == Department.Kind.AGENCY for d in below)
        assert any(d.level == Department.Level.TOWNSHIP for d in below)
    kinds = {d.kind for d in depts if d.level == Department.Level.TOWNSHIP}
    assert kinds == {Department.Kind.GOVERNMENT, Department.Kind.SUBDISTRICT}  # 镇/乡 and 街道
    assert sum(d.level == Department.Level.VILLAGE for d in depts) == 27


@pytest.mark.django_db
def test_staff_have_the_promised_roles_and_scopes(loaded):
    all_departments = Department.objects.count()
    city_admin = User.objects.get(username="city_admin")
    assert departments_for_actor(actor=city_admin).count() == all_departments
    auditor = User.objects.get(username="auditor")
    assert RoleGrant.objects.filter(user=auditor, role=Role.AUDITOR, include_descendants=True).exists()

    for suffix, name, _short, staffed in CITY_AGENCIES:
        roles = set(RoleGrant.objects.filter(department__code=f"SFS-{suffix}").values_list("role", flat=True))
        expected = {Role.WINDOW_CLERK, Role.REVIEWER, Role.DEPARTMENT_HEAD, Role.DEPARTMENT_ADMIN}
        assert roles == (expected if staffed else set()), name
    clerk = User.objects.get(username="spj_clerk")
    assert [d.code for d in departments_for_actor(actor=clerk)] == ["SFS-SPJ"]
    assert clerk.kind == User.Kind.STAFF

    county_admin = User.objects.get(username="dyx_admin")
    county_scope = {d.code for d in departments_for_actor(actor=county_admin)}
    assert "SFS-DYX-100-200" in county_scope and "SFS-XLX" not in county_scope

    for grant in RoleGrant.objects.select_related("user"):
        assert user_requires_mfa(user=grant.user) == (
            grant.user.is_superuser or grant.user.role_grants.filter(role__in=list(ADMIN_ROLES)).exists()
        )
    assert user_requires_mfa(user=city_admin) and not user_requires_mfa(user=clerk)


@pytest.mark.django_db
def test_demo_accounts_sign_in_with_the_one_demo_password(loaded):
    request = RequestFactory().post("/")
    for username in ("citizen01", "ent01", "spj_clerk", SYSADMIN):
        assert authenticate(request, username=username, password=DEMO_PASSWORD) is not None, username
    assert authenticate(request, username="citizen01", password="Demo@2026yx") is None
    # The password was hashed once (argon2) and reused, which keeps `yiwang demo` fast.
    demo_usernames = [u.username for u in loaded.city.users]
    hashes = set(User.objects.filter(username__in=demo_usernames).values_list("password", flat=True))
    assert len(hashes) == 1 and hashes.pop().startswith("argon2$")
    assert User.objects.get(username=SYSADMIN).is_superuser
    assert not User.objects.filter(is_superuser=True).exclude(username=SYSADMIN).exists()


@pytest.mark.django_db
def test_every_write_is_audited_by_the_loader(loaded):
    city = loaded.city
    actions = dict.fromkeys(["user.create", "department.create", "role_grant.create"], 0)
    for action in AuditEvent.objects.values_list("action", flat=True):
        if action in actions:
            actions[action] += 1
    assert actions == {
        "user.create": len(city.users),
        "department.create": len(city.departments),
        "role_grant.create": len(city.grants),
    }
    # Personal data never reaches the audit log in clear.
    some_id = city.user("citizen01").id_number
    assert not AuditEvent.objects.filter(changes__icontains=some_id).exists()
