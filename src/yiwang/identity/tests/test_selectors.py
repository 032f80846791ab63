"""Reads of the department tree: where an actor may act, and the public department listing."""

import pytest
from django.contrib.auth.models import AnonymousUser

from yiwang.core.errors import NotFound
from yiwang.identity.models import Department, Role
from yiwang.identity.selectors import (
    actor_grants,
    actor_has_role,
    department_get,
    department_list,
    departments_for_actor,
    roles_for_actor,
)
from yiwang.identity.services import department_create, department_deactivate
from yiwang.identity.tests.tree import K, L, build_tree, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree():
    return build_tree()


def test_departments_for_actor_is_the_union_of_grants(tree):
    staff = make_staff("staff")
    tree.grant(staff, Role.REVIEWER, tree.huqiu, include_descendants=True)
    tree.grant(staff, Role.WINDOW_CLERK, tree.city_market)
    tree.grant(staff, Role.WINDOW_CLERK, tree.fengqiao)

    assert set(departments_for_actor(actor=staff)) == {
        tree.huqiu,
        tree.huqiu_market,
        tree.fengqiao,
        tree.community,
        tree.city_market,
    }
    assert set(departments_for_actor(actor=staff, role=Role.WINDOW_CLERK)) == {tree.city_market, tree.fengqiao}
    assert set(departments_for_actor(actor=staff, role=Role.REVIEWER)) == {
        tree.huqiu,
        tree.huqiu_market,
        tree.fengqiao,
        tree.community,
    }
    assert not departments_for_actor(actor=staff, role=Role.AUDITOR).exists()
    # Usable as a subquery by other selectors.
    assert Department.objects.filter(pk__in=departments_for_actor(actor=staff).values("pk")).count() == 5


def test_nobody_acts_anywhere_without_a_grant_and_superusers_act_everywhere(tree):
    assert not departments_for_actor(actor=AnonymousUser()).exists()
    assert not departments_for_actor(actor=None).exists()
    assert not departments_for_actor(actor=make_staff("newcomer")).exists()
    assert departments_for_actor(actor=tree.root).count() == 7
    assert actor_has_role(actor=tree.root, role=Role.AUDITOR, department=tree.community)


def test_a_deactivated_user_acts_nowhere(tree):
    staff = make_staff("staff")
    tree.grant(staff, Role.REVIEWER, tree.city, include_descendants=True)
    staff.is_active = False
    assert not departments_for_actor(actor=staff).exists()
    assert not actor_has_role(actor=staff, role=Role.REVIEWER, department=tree.city)


def test_where_an_actor_may_act_costs_one_query_whatever_the_tree_size(tree, django_assert_num_queries):
    staff = make_staff("staff")
    tree.grant(staff, Role.REVIEWER, tree.huqiu, include_descendants=True)
    tree.grant(staff, Role.WINDOW_CLERK, tree.wuzhong, include_descendants=True)
    with django_assert_num_queries(1):
        small = list(departments_for_actor(actor=staff))
    assert len(small) == 5

    # Grow the tree under both grants: twenty more townships and villages.
    for i in range(1, 11):
        town = department_create(
            actor=tree.root, name=f"吴中{i}镇", code=f"WZ{i}", level=L.TOWNSHIP, kind=K.GOVERNMENT,
            region_code=f"320506{i:03d}", parent=tree.wuzhong,
        )  # fmt: skip
        department_create(
            actor=tree.root, name=f"吴中{i}村", code=f"WZ{i}-1", level=L.VILLAGE, kind=K.COMMUNITY,
            region_code=f"320506{i:03d}001", parent=town,
        )  # fmt: skip
    with django_assert_num_queries(1):
        large = list(departments_for_actor(actor=staff))
    assert len(large) == 25
    with django_assert_num_queries(1):
        assert actor_has_role(actor=staff, role=Role.WINDOW_CLERK, department=large[-1])


def test_actor_has_role_checks_several_roles_in_one_query_and_none_with_the_grants_at_hand(
    tree, django_assert_num_queries
):
    staff = make_staff("staff")
    tree.grant(staff, Role.REVIEWER, tree.wuzhong)
    tree.grant(staff, Role.DEPARTMENT_ADMIN, tree.huqiu, include_descendants=True)
    roles = (Role.DEPARTMENT_ADMIN, Role.CITY_ADMIN)
    with django_assert_num_queries(1):
        assert actor_has_role(staff, roles=roles, department=tree.fengqiao)
    with django_assert_num_queries(1):
        assert not actor_has_role(staff, roles=roles, department=tree.wuzhong)
    # Without a department: the role anywhere.
    assert actor_has_role(staff, roles=Role.REVIEWER)
    assert not actor_has_role(staff, roles=Role.WINDOW_CLERK)
    assert not actor_has_role(None, roles=Role.REVIEWER)
    assert not actor_has_role(AnonymousUser(), roles=Role.REVIEWER)
    with django_assert_num_queries(1):
        grants = actor_grants(actor=staff)
    with django_assert_num_queries(0):
        assert actor_has_role(staff, roles=Role.REVIEWER, department=tree.wuzhong, grants=grants)
        assert not actor_has_role(staff, roles=Role.REVIEWER, department=tree.fengqiao, grants=grants)


def test_remembered_grants_serve_the_rest_of_the_request_without_a_query(tree, django_assert_num_queries):
    staff = make_staff("staff")
    tree.grant(staff, Role.REVIEWER, tree.huqiu)
    with django_assert_num_queries(1):
        actor_grants(actor=staff, remember=True)
    with django_assert_num_queries(0):
        assert actor_has_role(staff, roles=Role.REVIEWER, department=tree.huqiu)
        assert not actor_has_role(staff, roles=Role.WINDOW_CLERK)
    # Not remembered: another object of the same user reads them again.
    other = type(staff).objects.get(pk=staff.pk)
    with django_assert_num_queries(1):
        assert actor_has_role(other, roles=Role.REVIEWER, department=tree.huqiu)


def test_actor_has_role_follows_descendant_flag(tree):
    staff = make_staff("staff")
    tree.grant(staff, Role.REVIEWER, tree.huqiu)
    tree.grant(staff, Role.WINDOW_CLERK, tree.huqiu, include_descendants=True)
    assert actor_has_role(actor=staff, role=Role.REVIEWER, department=tree.huqiu)
    assert not actor_has_role(actor=staff, role=Role.REVIEWER, department=tree.fengqiao)
    assert actor_has_role(actor=staff, role=Role.WINDOW_CLERK, department=tree.community)
    assert not actor_has_role(actor=staff, role=Role.WINDOW_CLERK, department=tree.city)
    assert not actor_has_role(actor=staff, role=Role.WINDOW_CLERK, department=tree.wuzhong)


def test_roles_for_actor_lists_grants_in_tree_order_with_departments(tree, django_assert_num_queries):
    staff = make_staff("staff")
    tree.grant(staff, Role.WINDOW_CLERK, tree.community)
    tree.grant(staff, Role.REVIEWER, tree.city)
    tree.grant(staff, Role.AUDITOR, tree.city)
    with django_assert_num_queries(1):
        rows = [(g.department.name, g.role) for g in roles_for_actor(actor=staff)]
    assert rows == [
        ("苏州市人民政府", Role.AUDITOR),
        ("苏州市人民政府", Role.REVIEWER),
        ("枫桥社区居民委员会", Role.WINDOW_CLERK),
    ]
    department_deactivate(actor=tree.root, department=tree.community)
    assert [g.role for g in roles_for_actor(actor=staff)] == [Role.AUDITOR, Role.REVIEWER]
    assert not roles_for_actor(actor=AnonymousUser()).exists()


def test_the_tree_is_public_and_filterable(tree):
    everyone = department_list(actor=AnonymousUser())
    assert everyone.count() == 7
    children = department_list(actor=None, parent=tree.city)
    assert [d.name for d in children] == ["虎丘区人民政府", "苏州市市场监督管理局", "吴中区人民政府"]
    assert [d.children_count for d in children] == [2, 0, 0]
    assert [d.name for d in department_list(actor=None, roots_only=True)] == ["苏州市人民政府"]
    assert {d.name for d in department_list(actor=None, level=L.COUNTY)} == {
        "虎丘区人民政府",
        "虎丘区市场监督管理局",
        "吴中区人民政府",
    }
    assert {d.name for d in department_list(actor=None, search="市场监督")} == {
        "苏州市市场监督管理局",
        "虎丘区市场监督管理局",
    }
    assert [d.name for d in department_list(actor=None, search="320505001")] == ["枫桥街道办事处", "枫桥社区居民委员会"]
    assert [d.name for d in department_list(actor=None, search="SZ-WZ")] == ["吴中区人民政府"]


def test_department_get_counts_children_and_hides_what_is_gone(tree):
    assert department_get(actor=None, id=tree.huqiu.pk).children_count == 2
    assert department_get(actor=None, id=str(tree.community.pk)).children_count == 0
    department_deactivate(actor=tree.root, department=tree.community)
    assert department_get(actor=None, id=tree.fengqiao.pk).children_count == 0
    for missing in (tree.community.pk, 999999, "abc", None):
        with pytest.raises(NotFound) as caught:
            department_get(actor=None, id=missing)
        assert caught.value.code == "department_not_found"
        assert str(caught.value.message) == "未找到该部门。"
