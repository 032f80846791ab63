"""Test world of the hotline: the identity test tree (苏州), two city agencies that handle
tickets, their staff, the hotline centre's agent, dispatcher and supervisor, a grid worker and a
citizen — all built through the services."""

import datetime
from dataclasses import dataclass

from yiwang.core.codes import make_id_number
from yiwang.hotline import services
from yiwang.hotline.models import Member
from yiwang.identity.models import Department, User
from yiwang.identity.tests.factories import make_city_department
from yiwang.identity.tests.tree import Tree, build_tree, make_staff


@dataclass
class World:
    tree: Tree
    urban: Department
    water: Department
    agent: User
    dispatcher: User
    supervisor: User
    grid_worker: User
    urban_handler: User
    water_handler: User
    street_handler: User
    citizen: User
    outsider: User


def build_world() -> World:
    tree = build_tree()
    root = tree.root

    def agency(name, code):
        return make_city_department(root, name, code, tree.city)

    urban = agency("苏州市城市管理局", "SZ-CGJ")
    water = agency("苏州市水务局", "SZ-SWJ")
    users = {}
    for name in (
        "agent",
        "dispatcher",
        "supervisor",
        "grid_worker",
        "urban_handler",
        "water_handler",
        "street_handler",
        "outsider",
    ):
        users[name] = make_staff(name)
    citizen = make_staff(
        "citizen",
        kind=User.Kind.CITIZEN,
        real_name="李四",
        id_number=make_id_number("320505", datetime.date(1990, 1, 2), 11),
        phone="13812345678",
    )
    tree.grant(users["urban_handler"], "reviewer", urban)
    tree.grant(users["water_handler"], "department_head", water)
    tree.grant(users["street_handler"], "department_head", tree.fengqiao)
    tree.grant(users["outsider"], "reviewer", tree.wuzhong)
    services.member_set(actor=root, user=users["agent"], role=Member.Role.AGENT)
    services.member_set(actor=root, user=users["dispatcher"], role=Member.Role.DISPATCHER)
    services.member_set(actor=root, user=users["supervisor"], role=Member.Role.SUPERVISOR)
    services.member_set(
        actor=root, user=users["grid_worker"], role=Member.Role.GRID_WORKER, grid_code="320505001001G01"
    )
    return World(tree=tree, urban=urban, water=water, citizen=citizen, **users)


def phone_ticket(world: World, **extra):
    data = {
        "channel": "phone",
        "kind": "complaint",
        "title": "小区门口施工噪音扰民",
        "content": "枫桥路工地夜间施工噪音很大,影响休息。",
        "category_code": "noise",
        "caller_name": "张小三",
        "caller_phone": "13812345678",
        "recording_ref": "REC-20261203-0001",
        "region_code": "320505001001",
        "address": "枫桥路1号",
    }
    data.update(extra)
    return services.ticket_create(actor=world.agent, **data)
