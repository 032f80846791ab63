"""A small staff world for the chat and work-instruction tests, built by the real services."""

from dataclasses import dataclass

from yiwang.identity.models import Role, User
from yiwang.identity.tests.auth_helpers import make_citizen
from yiwang.identity.tests.tree import Tree, build_tree, make_staff


@dataclass
class StaffWorld:
    tree: Tree
    head: User  # department head of 苏州市市场监督管理局 (city level)
    reviewer: User  # 市场监管局
    clerk: User  # 市场监管局
    district_head: User  # department head of 虎丘区市场监督管理局
    district_reviewer: User  # 虎丘区市场监督管理局
    city_admin: User  # city admin of 苏州市人民政府
    citizen: User


def build_staff_world() -> StaffWorld:
    tree = build_tree()
    head = make_staff("sj_head", real_name="局长孙")
    reviewer = make_staff("sj_reviewer", real_name="审核老赵")
    clerk = make_staff("sj_clerk", real_name="窗口小王")
    district_head = make_staff("hq_head", real_name="区局长钱")
    district_reviewer = make_staff("hq_reviewer", real_name="区审核李")
    city_admin = make_staff("city_admin", real_name="市管理员周")
    citizen = make_citizen("citizen")
    tree.grant(head, Role.DEPARTMENT_HEAD, tree.city_market)
    tree.grant(reviewer, Role.REVIEWER, tree.city_market)
    tree.grant(clerk, Role.WINDOW_CLERK, tree.city_market)
    tree.grant(district_head, Role.DEPARTMENT_HEAD, tree.huqiu_market)
    tree.grant(district_reviewer, Role.REVIEWER, tree.huqiu_market)
    tree.grant(city_admin, Role.CITY_ADMIN, tree.city)
    return StaffWorld(tree, head, reviewer, clerk, district_head, district_reviewer, city_admin, citizen)
