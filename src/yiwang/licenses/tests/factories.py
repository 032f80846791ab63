"""Test world for licenses: the identity test tree, a market regulator with a USCC, its staff,
a citizen holder and the 营业执照 (个体工商户) type — all built through the services."""

from dataclasses import dataclass

from yiwang.core.codes import make_id_number, make_uscc
from yiwang.identity.models import Department, Role, User
from yiwang.identity.services import department_update
from yiwang.identity.tests.tree import Tree, build_tree, make_staff
from yiwang.licenses.models import HolderKind, LicenseType
from yiwang.licenses.services import license_issue, license_type_create

HOLDER_ID = make_id_number("320505", __import__("datetime").date(1990, 3, 7), 12)
MARKET_USCC = make_uscc("11320500MB0123456")

INDIVIDUAL_SCHEMA = {
    "type": "object",
    "properties": {
        "business_name": {"type": "string", "title": "名称", "maxLength": 60},
        "business_scope": {"type": "string", "title": "经营范围"},
        "address": {"type": "string", "title": "经营场所"},
        "form": {"type": "string", "title": "组成形式", "enum": ["个人经营", "家庭经营"]},
    },
    "required": ["business_name", "business_scope", "address"],
}


@dataclass
class World:
    tree: Tree
    market: Department
    reviewer: User
    clerk: User
    citizen: User
    business_license: LicenseType


def build_world() -> World:
    tree = build_tree()
    market = department_update(actor=tree.root, department=tree.city_market, uscc=MARKET_USCC)
    reviewer = make_staff("lic_reviewer", real_name="审核员")
    tree.grant(reviewer, Role.REVIEWER, market)
    clerk = make_staff("lic_clerk", real_name="窗口人员")
    tree.grant(clerk, Role.WINDOW_CLERK, market)
    citizen = make_staff("zhang_xiaosan", kind=User.Kind.CITIZEN, real_name="张小三", id_number=HOLDER_ID)
    lt = license_type_create(
        actor=tree.root,
        code="business_license_individual",
        standard_code="GTGSHYYZZ",
        name="营业执照",
        department=market,
        holder_kind=HolderKind.PERSON,
        field_schema=INDIVIDUAL_SCHEMA,
        validity_years=None,
    )
    return World(tree, market, reviewer, clerk, citizen, lt)


def issue(world: World, **overrides):
    kwargs = {
        "actor": world.reviewer,
        "license_type": world.business_license,
        "holder_kind": HolderKind.PERSON,
        "holder_name": "张小三",
        "holder_id": HOLDER_ID,
        "data": {"business_name": "苏州市虎丘区小三面馆", "business_scope": "餐饮服务", "address": "枫桥路1号"},
        "issuer_department": world.market,
    }
    kwargs.update(overrides)
    return license_issue(**kwargs)
