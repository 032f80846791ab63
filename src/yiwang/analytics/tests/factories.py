"""Test world of the dashboards: the cases test world (苏州 tree, 市场监管局 item, citizens)
plus the leaders who look at dashboards — the city's operator, a district's head, a
department's head — and a hotline agent; data made through the apps' real services."""

from dataclasses import dataclass

from yiwang.cases.tests.factories import FORM
from yiwang.cases.tests.factories import build_world as build_cases_world
from yiwang.identity.models import Role, User
from yiwang.identity.tests.tree import make_staff


@dataclass
class World:
    cases: object
    operator: User  # city_admin of 苏州市人民政府: the whole city, sets thresholds
    district_head: User  # department_head of 虎丘区人民政府: the district 320505
    head: User  # department_head of 苏州市市场监督管理局: that department
    reviewer: User  # a reviewer: no dashboard
    agent: User  # hotline agent


def build_world() -> World:
    from yiwang.hotline import services as hotline
    from yiwang.hotline.models import Member

    cw = build_cases_world()
    tree = cw.tree
    operator = make_staff("operator", real_name="运营管理员")
    district_head = make_staff("district_head", real_name="区长")
    agent = make_staff("agent", real_name="话务员")
    tree.grant(operator, Role.CITY_ADMIN, tree.city, include_descendants=True)
    tree.grant(district_head, Role.DEPARTMENT_HEAD, tree.huqiu)
    hotline.member_set(actor=tree.root, user=agent, role=Member.Role.AGENT)
    return World(cw, operator, district_head, cw.head, cw.reviewer, agent)


def submit_case(world: World, key: str):
    from yiwang.cases import services

    case, _created = services.case_submit(
        actor=world.cases.applicant, item=world.cases.market_item, form_data=FORM, idempotency_key=key
    )
    return case


def phone_ticket(world: World, region: str = "320505001001", **extra):
    from yiwang.hotline import services

    data = {
        "channel": "phone",
        "kind": "complaint",
        "title": "小区门口施工噪音扰民",
        "content": "枫桥路工地夜间施工噪音很大,影响休息。",
        "caller_name": "张小三",
        "caller_phone": "13812345678",
        "region_code": region,
        "address": "枫桥路1号",
    }
    data.update(extra)
    return services.ticket_create(actor=world.agent, **data)
