"""Test world for the registries: the identity test tree (苏州), a police bureau (source of the
population registry but for marital status), a civil-affairs bureau (marital status), the market
regulator (legal entities), a natural-resources bureau (spatial), their staff — built through
the services — and a few valid codes."""

import datetime
from dataclasses import dataclass

from yiwang.core.codes import make_id_number, make_uscc
from yiwang.identity.models import Department, Role, User
from yiwang.identity.tests.factories import make_city_department
from yiwang.identity.tests.tree import Tree, build_tree, make_staff
from yiwang.registries import schema
from yiwang.registries.services import registry_field_source_set

PERSON_ID = make_id_number("320505", datetime.date(1990, 3, 7), 13)
PERSON_ID_2 = make_id_number("320506", datetime.date(1985, 11, 2), 24)
COMPANY = make_uscc("91320505MA1X2Y3W4")


@dataclass
class World:
    tree: Tree
    police: Department
    civil: Department
    market: Department
    land: Department
    police_clerk: User
    civil_clerk: User
    market_clerk: User
    land_clerk: User
    auditor: User


def person_row(id_number: str = PERSON_ID, **extra) -> dict:
    birth = datetime.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    row = {
        "id_number": id_number,
        "name": "张小三",
        "sex": "male" if int(id_number[16]) % 2 else "female",
        "birth_date": birth.isoformat(),
        "region_code": "320505",
        "address": "苏州市虎丘区枫桥路1号",
        "phone": "13812345678",
    }
    row.update(extra)
    return row


def build_world() -> World:
    tree = build_tree()
    root = tree.root

    def agency(name, code):
        return make_city_department(root, name, code, tree.city)

    police = agency("苏州市公安局", "SZ-GAJ")
    civil = agency("苏州市民政局", "SZ-MZJ")
    land = agency("苏州市自然资源和规划局", "SZ-ZRZY")
    market = tree.city_market
    sources = {
        "population": police,
        "legal_entity": market,
        "credit": market,
        "spatial": land,
        "economy": market,
    }
    for registry, department in sources.items():
        for field in schema.REGISTRIES[registry].fields:
            registry_field_source_set(actor=None, registry=registry, field=field.name, department=department)
    registry_field_source_set(actor=None, registry="population", field="marital_status", department=civil)

    def staff(username, department, role=Role.REVIEWER):
        user = make_staff(username, real_name=username)
        tree.grant(user, role, department)
        return user

    auditor = make_staff("reg_auditor")
    tree.grant(auditor, Role.AUDITOR, tree.city, include_descendants=True)
    return World(
        tree,
        police,
        civil,
        market,
        land,
        staff("police_clerk", police, Role.WINDOW_CLERK),
        staff("civil_clerk", civil),
        staff("market_clerk", market),
        staff("land_clerk", land),
        auditor,
    )
