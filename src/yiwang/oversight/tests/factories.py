"""Test world of key-task oversight, built through the services: the identity test tree (苏州),
a lead agency (发改委) with its head, reviewer and window clerk, a co-handling agency (住建局)
with a reviewer, an unrelated agency (水务局) with a reviewer, the oversight office, a city
leader, a staff member without grants and a citizen."""

import datetime
from dataclasses import dataclass

from django.utils import timezone

from yiwang.core.codes import make_id_number
from yiwang.identity.models import Department, User
from yiwang.identity.tests.factories import make_city_department
from yiwang.identity.tests.tree import Tree, build_tree, make_staff
from yiwang.oversight import services
from yiwang.oversight.models import KeyTask, Member

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@dataclass
class World:
    tree: Tree
    lead: Department
    co: Department
    other: Department
    office: User
    leader: User
    lead_head: User
    lead_reviewer: User
    lead_clerk: User
    co_reviewer: User
    other_reviewer: User
    loner: User
    citizen: User


def build_world() -> World:
    tree = build_tree()
    root = tree.root
    lead = make_city_department(root, "苏州市发展和改革委员会", "SZ-FGW", tree.city)
    co = make_city_department(root, "苏州市住房和城乡建设局", "SZ-ZJJ", tree.city)
    other = make_city_department(root, "苏州市水务局", "SZ-SWJ", tree.city)
    users = {
        name: make_staff(name, real_name=label)
        for name, label in (
            ("office", "督查室干部"),
            ("leader", "市领导"),
            ("lead_head", "发改委主任"),
            ("lead_reviewer", "发改委科长"),
            ("lead_clerk", "发改委窗口"),
            ("co_reviewer", "住建局科长"),
            ("other_reviewer", "水务局科长"),
            ("loner", "无授权人员"),
        )
    }
    citizen = make_staff(
        "citizen",
        kind=User.Kind.CITIZEN,
        id_number=make_id_number("320505", datetime.date(1990, 1, 2), 11),
        phone="13812345678",
    )
    tree.grant(users["lead_head"], "department_head", lead)
    tree.grant(users["lead_reviewer"], "reviewer", lead)
    tree.grant(users["lead_clerk"], "window_clerk", lead)
    tree.grant(users["co_reviewer"], "reviewer", co)
    tree.grant(users["other_reviewer"], "reviewer", other)
    services.member_set(actor=root, user=users["office"], role=Member.Role.OFFICE)
    services.member_set(actor=root, user=users["leader"], role=Member.Role.LEADER)
    return World(tree=tree, lead=lead, co=co, other=other, citizen=citizen, **users)


def days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


def make_task(world: World, *, deadline_in: int = 60, milestones=None, **extra) -> KeyTask:
    if milestones is None:
        milestones = [
            services.MilestoneSpec("完成可行性研究", days(20), ["可研报告"]),
            services.MilestoneSpec("开工建设", days(50), ["开工许可", "现场照片"]),
        ]
    values = {
        "title": "推进城东片区综合改造",
        "source_kind": KeyTask.SourceKind.INSTRUCTION,
        "source_ref": "市领导批示〔2026〕12号",
        "source_text": "请发改委牵头,住建局配合,年底前完成。",
        "lead_department": world.lead,
        "co_departments": [world.co],
        "deadline": days(deadline_in),
        "milestones": milestones,
    } | extra
    return services.key_task_create(actor=world.office, **values)
