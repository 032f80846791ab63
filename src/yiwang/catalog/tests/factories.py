"""Test data for the catalog: a real department tree and admins built by the identity services,
and item / life-event dicts in the import-file shape."""

import copy
from dataclasses import dataclass

from yiwang.identity.models import Role, User
from yiwang.identity.tests.tree import Tree, build_tree, make_staff


@dataclass
class World:
    tree: Tree
    market_admin: User  # department admin of 苏州市市场监督管理局 (SZ-SJJ)
    huqiu_admin: User  # department admin of 虎丘区市场监督管理局 (SZ-HQ-SJJ)
    city_admin: User  # city admin over the whole city
    clerk: User  # window clerk of SZ-SJJ: staff, but no catalog rights


def build_world() -> World:
    tree = build_tree()
    market_admin = make_staff("market_admin", real_name="市场局管理员")
    huqiu_admin = make_staff("huqiu_admin", real_name="虎丘管理员")
    city_admin = make_staff("city_admin", real_name="市级管理员")
    clerk = make_staff("clerk", real_name="窗口人员")
    tree.grant(market_admin, Role.DEPARTMENT_ADMIN, tree.city_market)
    tree.grant(huqiu_admin, Role.DEPARTMENT_ADMIN, tree.huqiu_market)
    tree.grant(city_admin, Role.CITY_ADMIN, tree.city, include_descendants=True)
    tree.grant(clerk, Role.WINDOW_CLERK, tree.city_market)
    return World(tree, market_admin, huqiu_admin, city_admin, clerk)


BASE_ITEM = {
    "implementation_code": "SZ-SJJ-0001",
    "basic_code": "000101001000",
    "name": "个体工商户设立登记",
    "aliases": ["个体户注册", "开个体户"],
    "keywords": ["开店", "营业执照"],
    "description": "个体工商户首次登记。",
    "kind": "licensing",
    "department": "SZ-SJJ",
    "exercise_level": "county",
    "legal_basis": "《促进个体工商户发展条例》",
    "statutory_time_limit": 15,
    "promised_time_limit": 1,
    "acceptance_conditions": "有经营能力的公民。",
    "fees": [],
    "handling_form": "both",
    "onsite_visits": 0,
    "onsite_visits_reason": "",
    "online_depth": [1, 2, 3, 4, 5],
    "targets": ["natural_person"],
    "handling_place": "市民中心一楼",
    "handling_hours": "工作日 9:00-17:00",
    "consultation_contact": "12345",
    "complaint_contact": "12345",
    "materials": [
        {"name": "个体工商户登记申请书", "requirement": "required", "copies": 1, "format": "both"},
        {"name": "经营者身份证明", "source": "license", "license_type_code": "resident_id_card"},
        {"name": "经营场所使用证明", "requirement": "conditional", "condition": "经营场所为租赁房屋的"},
    ],
    "process": [{"name": "受理", "role": "window_clerk"}, {"name": "审查", "role": "reviewer"}],
    "form_schema": {
        "type": "object",
        "required": ["business_name"],
        "properties": {"business_name": {"type": "string", "title": "个体工商户名称"}},
    },
    "output": {"license_type_code": "business_license", "description": "营业执照"},
}


def item_data(**overrides) -> dict:
    data = copy.deepcopy(BASE_ITEM)
    data.update(overrides)
    return data


def life_event_data(**overrides) -> dict:
    data = {
        "code": "LE-KBQY",
        "name": "开办企业一件事",
        "aliases": ["开公司"],
        "keywords": [],
        "description": "",
        "department": "SZ-SJJ",
        "targets": ["legal_person"],
        "items": ["SZ-SJJ-0001", "SZ-SJJ-0002"],
    }
    data.update(overrides)
    return data
