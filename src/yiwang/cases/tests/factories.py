"""Test data for cases: the identity test tree plus a 公安局, staff with case roles, two
published items (市场监管局 with a review and a decision step; 公安局), and citizens."""

import datetime
from dataclasses import dataclass

from yiwang.catalog.models import ServiceItem
from yiwang.catalog.services import item_publish, item_save_draft
from yiwang.catalog.tests.factories import item_data
from yiwang.core.codes import make_id_number
from yiwang.identity.models import Department, Role, User
from yiwang.identity.services import department_create
from yiwang.identity.tests.tree import Tree, build_tree, make_staff

ID_NUMBER = make_id_number("320505", datetime.date(1985, 1, 2), 12)
PHONE = "13812345678"


@dataclass
class World:
    tree: Tree
    police: Department
    market_item: ServiceItem  # 市场监管局: 受理 (clerk) → 审查 (reviewer) → 决定 (head)
    police_item: ServiceItem  # 公安局: 受理 → 审核 (reviewer)
    applicant: User
    other_citizen: User
    clerk: User  # window clerk of the city hall (苏州市人民政府, 320500): every department's items, city region
    reviewer: User  # reviewer of 市场监管局
    reviewer2: User
    head: User  # department head of 市场监管局
    police_reviewer: User
    auditor: User


def make_citizen(username: str, real_name: str, sequence: int, phone: str = "") -> User:
    return make_staff(
        username,
        kind=User.Kind.CITIZEN,
        real_name=real_name,
        id_number=make_id_number("320505", datetime.date(1985, 1, 2), sequence),
        phone=phone,
    )


def publish_item(root: User, **overrides) -> ServiceItem:
    result = item_save_draft(actor=root, data=item_data(**overrides))
    item = result.version.item
    item_publish(actor=root, item=item)
    item.refresh_from_db()
    return item


def build_world() -> World:
    tree = build_tree()
    root = tree.root
    police = department_create(
        actor=root,
        name="苏州市公安局",
        code="SZ-GAJ",
        level=Department.Level.CITY,
        kind=Department.Kind.AGENCY,
        region_code="320500",
        parent=tree.city,
    )
    market_item = publish_item(
        root,
        promised_time_limit=10,
        statutory_time_limit=20,
        process=[
            {"name": "受理", "role": "window_clerk"},
            {"name": "审查", "role": "reviewer"},
            {"name": "决定", "role": "department_head"},
        ],
    )
    police_item = publish_item(
        root,
        implementation_code="SZ-GAJ-0001",
        department="SZ-GAJ",
        name="户口迁移",
        aliases=[],
        keywords=[],
        output={},
        promised_time_limit=5,
        process=[{"name": "受理", "role": "window_clerk"}, {"name": "审核", "role": "reviewer"}],
    )
    applicant = make_citizen("zhangsan", "张三", 12, PHONE)
    other = make_citizen("lisi", "李四", 14)
    clerk = make_staff("clerk", real_name="窗口小王")
    reviewer = make_staff("reviewer", real_name="审核老赵")
    reviewer2 = make_staff("reviewer2", real_name="审核小钱")
    head = make_staff("head", real_name="局长孙")
    police_reviewer = make_staff("police_reviewer", real_name="民警周")
    auditor = make_staff("auditor", real_name="审计吴")
    tree.grant(clerk, Role.WINDOW_CLERK, tree.city)
    tree.grant(reviewer, Role.REVIEWER, tree.city_market)
    tree.grant(reviewer2, Role.REVIEWER, tree.city_market)
    tree.grant(head, Role.DEPARTMENT_HEAD, tree.city_market)
    tree.grant(police_reviewer, Role.REVIEWER, police)
    tree.grant(auditor, Role.AUDITOR, tree.city, include_descendants=True)
    return World(
        tree,
        police,
        market_item,
        police_item,
        applicant,
        other,
        clerk,
        reviewer,
        reviewer2,
        head,
        police_reviewer,
        auditor,
    )


FORM = {"business_name": "张三小吃店"}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def attach_required(case, actor=None):
    """Upload a small PDF for every required material the applicant must supply (what
    acceptance needs), through the service, as the applicant unless ``actor`` is given.
    Returns the case read again (its ``version`` moved on)."""
    from yiwang.cases import selectors, services
    from yiwang.cases.models import Case

    if not isinstance(case, Case):  # a case id
        case = Case.objects.get(pk=case)
    for requirement in selectors.case_missing_materials(case=case):
        services.case_material_add(
            actor=actor or case.applicant,
            case_id=case.pk,
            requirement_id=requirement.pk,
            filename="scan.pdf",
            content=PDF,
        )
    case.refresh_from_db()
    return case
