"""The department tree: creating, changing, moving and deactivating departments, and granting roles."""

import pytest

from yiwang.core.codes import make_uscc
from yiwang.core.errors import Conflict, Forbidden, ValidationFailed
from yiwang.core.models import AuditEvent
from yiwang.identity.models import Department, Role, RoleGrant, User
from yiwang.identity.selectors import actor_has_role, department_list, departments_for_actor
from yiwang.identity.services import (
    department_create,
    department_deactivate,
    department_move,
    department_update,
    role_grant_create,
    role_grant_revoke,
)
from yiwang.identity.tests.tree import K, L, build_tree, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree():
    return build_tree()


def fresh(department):
    return Department.objects.get(pk=department.pk)


# --- creating --------------------------------------------------------------------------------


def test_create_builds_materialized_paths_and_audits(tree):
    assert tree.city.path == f"/{tree.city.pk}/"
    assert tree.community.path == f"/{tree.city.pk}/{tree.huqiu.pk}/{tree.fengqiao.pk}/{tree.community.pk}/"
    event = AuditEvent.objects.filter(action="department.create", object_id=str(tree.community.pk)).get()
    assert event.actor_id == tree.root.pk
    assert event.changes["region_code"] == "320505001001"
    assert event.changes["parent"] == tree.fengqiao.pk


def test_create_reports_every_bad_field_in_chinese(tree):
    with pytest.raises(ValidationFailed) as caught:
        department_create(
            actor=tree.root,
            name="  ",
            code="SZ-HQ",  # taken by 虎丘区人民政府
            level=L.COUNTY,
            kind=K.GOVERNMENT,
            region_code="32050",
            parent=tree.huqiu,
            uscc="91320505MA1XXXXXX0",
        )
    fields = caught.value.as_dict()["fields"]
    assert fields["name"] == ["请填写部门名称"]
    assert fields["code"] == ["机构编码 SZ-HQ 已被其他部门使用"]
    assert "5位" in fields["region_code"][0]
    assert fields["uscc"]
    assert not Department.objects.filter(name="").exists()


def test_region_code_must_exist_and_lie_inside_the_parents_region(tree):
    with pytest.raises(ValidationFailed) as caught:
        department_create(
            actor=tree.root, name="某街道", code="X1", level=L.TOWNSHIP, kind=K.SUBDISTRICT,
            region_code="320506001", parent=tree.huqiu,
        )  # fmt: skip
    assert caught.value.fields["region_code"] == [
        "行政区划代码 320506001 不在上级部门“虎丘区人民政府”的区划 320505 之内"
    ]
    with pytest.raises(ValidationFailed) as caught:
        department_create(
            actor=tree.root, name="某县", code="X2", level=L.COUNTY, kind=K.GOVERNMENT,
            region_code="329999", parent=tree.city,
        )  # fmt: skip
    assert caught.value.fields["region_code"] == ["行政区划代码 329999 不存在"]


def test_child_level_must_be_below_the_parent_except_for_its_agencies(tree):
    # A county government cannot sit under another county government ...
    with pytest.raises(ValidationFailed) as caught:
        department_create(
            actor=tree.root, name="某区政府", code="X3", level=L.COUNTY, kind=K.GOVERNMENT,
            region_code="320505", parent=tree.huqiu,
        )  # fmt: skip
    assert "层级须低于上级部门“虎丘区人民政府”(县级)" in caught.value.fields["level"][0]
    # ... nor a city-level body under a township.
    with pytest.raises(ValidationFailed):
        department_create(
            actor=tree.root, name="某局", code="X4", level=L.CITY, kind=K.AGENCY,
            region_code="320505001", parent=tree.fengqiao,
        )  # fmt: skip
    # A working department shares its government's level.
    bureau = department_create(
        actor=tree.root, name="虎丘区民政局", code="X5", level=L.COUNTY, kind=K.AGENCY,
        region_code="320505", parent=tree.huqiu,
    )  # fmt: skip
    assert bureau.path == f"{tree.huqiu.path}{bureau.pk}/"


def test_only_superusers_and_city_admins_in_scope_shape_the_tree(tree):
    city_admin, county_admin, clerk = make_staff("city_admin"), make_staff("county_admin"), make_staff("clerk")
    tree.grant(city_admin, Role.CITY_ADMIN, tree.city, include_descendants=True)
    tree.grant(county_admin, Role.DEPARTMENT_ADMIN, tree.huqiu, include_descendants=True)
    tree.grant(clerk, Role.WINDOW_CLERK, tree.huqiu, include_descendants=True)

    office = department_create(
        actor=city_admin, name="虎丘区政务服务中心", code="X6", level=L.COUNTY, kind=K.AGENCY,
        region_code="320505", parent=tree.huqiu,
    )  # fmt: skip
    assert office.parent == tree.huqiu
    for actor in (county_admin, clerk):
        with pytest.raises(Forbidden):
            department_create(
                actor=actor, name="某中心", code="X7", level=L.COUNTY, kind=K.AGENCY,
                region_code="320505", parent=tree.huqiu,
            )  # fmt: skip
        with pytest.raises(Forbidden):
            department_update(actor=actor, department=tree.huqiu, name="改名")
    # The top of the tree belongs to superusers.
    with pytest.raises(Forbidden):
        department_create(
            actor=city_admin, name="无锡市人民政府", code="WX", level=L.CITY, kind=K.GOVERNMENT, region_code="320200"
        )
    assert fresh(tree.huqiu).name == "虎丘区人民政府"


def test_a_deactivated_parent_takes_no_new_children(tree):
    department_deactivate(actor=tree.root, department=tree.wuzhong)
    with pytest.raises(ValidationFailed) as caught:
        department_create(
            actor=tree.root, name="某局", code="X8", level=L.COUNTY, kind=K.AGENCY,
            region_code="320506", parent=fresh(tree.wuzhong),
        )  # fmt: skip
    assert caught.value.fields["parent"] == ["上级部门“吴中区人民政府”已停用"]


# --- updating ------------------------------------------------------------------------------------


def test_update_changes_only_what_is_passed_and_audits_old_and_new(tree):
    department_update(actor=tree.root, department=tree.huqiu_market, name="虎丘区市场监管局", sort_order=5)
    changed = fresh(tree.huqiu_market)
    assert (changed.name, changed.sort_order, changed.code) == ("虎丘区市场监管局", 5, "SZ-HQ-SJJ")
    event = AuditEvent.objects.filter(action="department.update").get()
    assert event.changes == {
        "name": {"old": "虎丘区市场监督管理局", "new": "虎丘区市场监管局"},
        "sort_order": {"old": 0, "new": 5},
    }
    # Nothing changed, nothing written.
    department_update(actor=tree.root, department=changed, name="虎丘区市场监管局")
    assert AuditEvent.objects.filter(action="department.update").count() == 1


def test_update_keeps_levels_and_regions_consistent_with_children(tree):
    with pytest.raises(ValidationFailed) as caught:
        department_update(actor=tree.root, department=tree.fengqiao, level=L.VILLAGE)
    assert caught.value.fields["level"] == ["新的层级不能低于或等于下级部门的层级"]
    with pytest.raises(ValidationFailed) as caught:
        department_update(actor=tree.root, department=tree.huqiu, region_code="320506")
    assert "下级部门" in caught.value.fields["region_code"][0]
    with pytest.raises(ValidationFailed) as caught:
        department_update(actor=tree.root, department=tree.wuzhong, code="SZ")
    assert caught.value.fields["code"] == ["机构编码 SZ 已被其他部门使用"]
    assert fresh(tree.huqiu).region_code == "320505"


# --- moving ------------------------------------------------------------------------------------------


def test_move_rewrites_the_path_of_the_whole_subtree(tree):
    reviewer = make_staff("reviewer")
    tree.grant(reviewer, Role.REVIEWER, tree.huqiu_market, include_descendants=True)
    assert not actor_has_role(actor=reviewer, role=Role.REVIEWER, department=tree.community)

    department_move(actor=tree.root, department=tree.fengqiao, parent=tree.huqiu_market)

    market = fresh(tree.huqiu_market)
    assert fresh(tree.fengqiao).path == f"{market.path}{tree.fengqiao.pk}/"
    assert fresh(tree.fengqiao).parent == market
    assert fresh(tree.community).path == f"{market.path}{tree.fengqiao.pk}/{tree.community.pk}/"
    # Everything else is untouched.
    assert fresh(tree.wuzhong).path == f"/{tree.city.pk}/{tree.wuzhong.pk}/"
    # Grants covering descendants follow the new shape of the tree at once.
    assert actor_has_role(actor=reviewer, role=Role.REVIEWER, department=fresh(tree.community))
    assert set(departments_for_actor(actor=reviewer)) == {market, fresh(tree.fengqiao), fresh(tree.community)}
    event = AuditEvent.objects.filter(action="department.move").get()
    assert event.changes["parent"] == {"old": tree.huqiu.pk, "new": market.pk}


def test_move_refuses_cycles_and_foreign_regions(tree):
    for target in (tree.huqiu, tree.fengqiao, tree.community):
        with pytest.raises(ValidationFailed) as caught:
            department_move(actor=tree.root, department=tree.huqiu, parent=target)
        assert caught.value.fields["parent"] == ["不能把部门移到它自己或它的下级部门之下"]
    with pytest.raises(ValidationFailed) as caught:
        department_move(actor=tree.root, department=tree.fengqiao, parent=tree.wuzhong)
    assert "不在“吴中区人民政府”的区划 320506 之内" in caught.value.fields["parent"][0]
    assert fresh(tree.community).path.startswith(fresh(tree.huqiu).path)


def test_city_admin_moves_only_inside_their_scope(tree):
    county_admin = make_staff("county_admin")
    tree.grant(county_admin, Role.CITY_ADMIN, tree.huqiu, include_descendants=True)
    with pytest.raises(Forbidden):
        department_move(actor=county_admin, department=tree.fengqiao, parent=tree.city_market)
    department_move(actor=county_admin, department=tree.fengqiao, parent=tree.huqiu_market)
    assert fresh(tree.fengqiao).parent_id == tree.huqiu_market.pk


# --- deactivating ------------------------------------------------------------------------------------


def test_deactivate_bottom_up_hides_the_department_and_voids_its_grants(tree):
    clerk = make_staff("clerk")
    tree.grant(clerk, Role.WINDOW_CLERK, tree.community)
    with pytest.raises(ValidationFailed) as caught:
        department_deactivate(actor=tree.root, department=tree.fengqiao)
    assert caught.value.fields["department"] == ["“枫桥街道办事处”还有启用中的下级部门"]

    department_deactivate(actor=tree.root, department=tree.community)
    department_deactivate(actor=tree.root, department=tree.community)  # idempotent
    assert AuditEvent.objects.filter(action="department.deactivate").count() == 1
    assert not actor_has_role(actor=clerk, role=Role.WINDOW_CLERK, department=fresh(tree.community))
    assert not departments_for_actor(actor=clerk).exists()
    assert tree.community not in department_list(actor=None)
    assert RoleGrant.objects.filter(user=clerk).exists()  # kept for the record


# --- role grants -------------------------------------------------------------------------------------


def test_department_admin_grants_within_scope_but_never_city_admin(tree):
    admin, staff = make_staff("hq_admin"), make_staff("hq_staff")
    tree.grant(admin, Role.DEPARTMENT_ADMIN, tree.huqiu, include_descendants=True)

    grant = role_grant_create(actor=admin, user=staff, role=Role.REVIEWER, department=tree.fengqiao)
    assert grant.granted_by == admin
    assert actor_has_role(actor=staff, role=Role.REVIEWER, department=tree.fengqiao)
    role_grant_create(actor=admin, user=staff, role=Role.DEPARTMENT_ADMIN, department=tree.fengqiao)

    with pytest.raises(Forbidden):
        role_grant_create(actor=admin, user=staff, role=Role.CITY_ADMIN, department=tree.fengqiao)
    with pytest.raises(Forbidden):  # outside their scope
        role_grant_create(actor=admin, user=staff, role=Role.REVIEWER, department=tree.wuzhong)
    with pytest.raises(Forbidden):  # above their scope
        role_grant_create(actor=admin, user=staff, role=Role.REVIEWER, department=tree.city)


def test_a_grant_covering_descendants_needs_a_granter_covering_them(tree):
    admin, staff = make_staff("hq_admin"), make_staff("hq_staff")
    tree.grant(admin, Role.DEPARTMENT_ADMIN, tree.huqiu)  # this department only
    role_grant_create(actor=admin, user=staff, role=Role.WINDOW_CLERK, department=tree.huqiu)
    with pytest.raises(Forbidden):
        role_grant_create(actor=admin, user=staff, role=Role.REVIEWER, department=tree.huqiu, include_descendants=True)
    with pytest.raises(Forbidden):
        role_grant_create(actor=admin, user=staff, role=Role.REVIEWER, department=tree.fengqiao)


def test_city_admin_may_appoint_city_admins_in_scope(tree):
    boss, deputy = make_staff("boss"), make_staff("deputy")
    tree.grant(boss, Role.CITY_ADMIN, tree.city, include_descendants=True)
    role_grant_create(actor=boss, user=deputy, role=Role.CITY_ADMIN, department=tree.huqiu, include_descendants=True)
    assert actor_has_role(actor=deputy, role=Role.CITY_ADMIN, department=tree.community)
    assert not actor_has_role(actor=deputy, role=Role.CITY_ADMIN, department=tree.wuzhong)


def test_grant_refusals(tree):
    admin, staff = make_staff("hq_admin"), make_staff("hq_staff")
    agent = make_staff("agent", kind=User.Kind.ENTERPRISE_AGENT, enterprise_uscc=make_uscc("91320505MA1Y2K3L4"))
    tree.grant(admin, Role.CITY_ADMIN, tree.city, include_descendants=True)
    with pytest.raises(Forbidden) as caught:
        role_grant_create(actor=admin, user=admin, role=Role.AUDITOR, department=tree.city)
    assert caught.value.message == "不能给自己授予角色。"
    with pytest.raises(ValidationFailed) as caught:
        role_grant_create(actor=admin, user=agent, role=Role.REVIEWER, department=tree.city)
    assert caught.value.fields["user"] == ["只能向在职的工作人员账号授予角色"]
    with pytest.raises(ValidationFailed) as caught:
        role_grant_create(actor=admin, user=staff, role="emperor", department=tree.city)
    assert caught.value.fields["role"] == ["角色无效"]
    role_grant_create(actor=admin, user=staff, role=Role.REVIEWER, department=tree.city)
    with pytest.raises(Conflict) as caught:
        role_grant_create(actor=admin, user=staff, role=Role.REVIEWER, department=tree.city, include_descendants=True)
    assert caught.value.code == "role_grant_exists"
    with pytest.raises(Forbidden):
        role_grant_create(actor=None, user=staff, role=Role.AUDITOR, department=tree.city)


def test_revoke_is_allowed_to_those_who_may_grant_and_is_audited(tree):
    admin, outsider, staff = make_staff("hq_admin"), make_staff("wz_admin"), make_staff("hq_staff")
    tree.grant(admin, Role.DEPARTMENT_ADMIN, tree.huqiu, include_descendants=True)
    tree.grant(outsider, Role.DEPARTMENT_ADMIN, tree.wuzhong, include_descendants=True)
    grant = role_grant_create(actor=admin, user=staff, role=Role.REVIEWER, department=tree.fengqiao)
    with pytest.raises(Forbidden):
        role_grant_revoke(actor=outsider, grant=grant)
    role_grant_revoke(actor=admin, grant=grant)
    assert not actor_has_role(actor=staff, role=Role.REVIEWER, department=tree.fengqiao)
    event = AuditEvent.objects.filter(action="role_grant.revoke").get()
    assert event.actor_id == admin.pk
    assert event.changes == {
        "user": "hq_staff",
        "role": "reviewer",
        "department": tree.fengqiao.pk,
        "include_descendants": False,
    }
