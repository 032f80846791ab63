"""A small office for the documents tests, built through the real services: a city, three
departments (the drafting 市场监管局 with a seal-able USCC, two countersigning ones), staff with
roles, and a document type whose route is review → countersign (two departments) → sign-off → issue."""

import datetime
from dataclasses import dataclass

from yiwang.core.codes import make_id_number, make_uscc
from yiwang.documents import services
from yiwang.documents.models import Document, DocumentType
from yiwang.identity.models import Department, Role, User
from yiwang.identity.services import department_update, role_grant_create, user_create
from yiwang.identity.tests.factories import make_city_department, make_root

MARKET_USCC = make_uscc("11320500MB0123456")
ROUTE = [
    {"kind": "review", "role": "reviewer", "departments": []},
    {"kind": "countersign", "role": "department_head", "departments": ["T-GAJ", "T-SJJ"]},
    {"kind": "sign_off", "role": "department_head", "departments": []},
    {"kind": "issue", "role": "department_admin", "departments": []},
]


@dataclass
class Office:
    root: User
    city: Department
    market: Department
    police: Department
    data: Department
    users: dict[str, User]
    doc_type: DocumentType

    def __getitem__(self, name: str) -> User:
        return self.users[name]


STAFF = {
    # username: (role, department attribute)
    "drafter": (Role.WINDOW_CLERK, "market"),
    "reviewer": (Role.REVIEWER, "market"),
    "head": (Role.DEPARTMENT_HEAD, "market"),
    "admin": (Role.DEPARTMENT_ADMIN, "market"),
    "police_head": (Role.DEPARTMENT_HEAD, "police"),
    "police_clerk": (Role.WINDOW_CLERK, "police"),
    "data_head": (Role.DEPARTMENT_HEAD, "data"),
    "data_clerk": (Role.WINDOW_CLERK, "data"),
}


def build_office() -> Office:
    root = make_root("root", "Qiang-Mima-2024")
    city = make_city_department(root, "测试市人民政府", "T")
    market = make_city_department(root, "测试市市场监督管理局", "T-SCJG", city)
    market = department_update(actor=root, department=market, uscc=MARKET_USCC, short_name="测市监")
    police = make_city_department(root, "测试市公安局", "T-GAJ", city)
    data = make_city_department(root, "测试市大数据局", "T-SJJ", city)
    departments = {"market": market, "police": police, "data": data}
    users = {}
    for n, (username, (role, dept)) in enumerate(STAFF.items()):
        user = user_create(
            actor=None,
            username=username,
            password="Qiang-Mima-2024",
            kind="staff",
            real_name=f"测试{n}",
            phone=f"1390000{n:04d}",
        )
        role_grant_create(actor=root, user=user, role=role, department=departments[dept])
        users[username] = user
    users["citizen"] = user_create(
        actor=None,
        username="citizen",
        password="Qiang-Mima-2024",
        kind="citizen",
        real_name="市民",
        id_number=make_id_number("320505", datetime.date(1990, 3, 7), 12),
    )
    doc_type = services.document_type_save(
        actor=root, code="notice", name="通知", number_prefix="测市监发", steps=ROUTE
    )
    return Office(root, city, market, police, data, users, doc_type)


def draft(
    office: Office, *, title: str = "关于开展市场主体年报工作的通知", body: str = "各单位:\n请按时完成年报。"
) -> Document:
    return services.document_create(
        actor=office["drafter"],
        document_type=office.doc_type,
        department=office.market,
        title=title,
        body=body,
        recipient_department_ids=[office.police.pk, office.data.pk],
        recipient_user_ids=[office["reviewer"].pk],
    )


def pending_step(document: Document, department: Department | None = None):
    document.refresh_from_db()
    steps = document.steps.filter(round=document.round, state="pending")
    if department is not None:
        steps = steps.filter(department=department)
    return steps.get()


def route_to_issue(office: Office, document: Document | None = None) -> Document:
    """Draft, submit and approve every step: the issued document."""
    document = document or draft(office)
    services.document_submit(actor=office["drafter"], document=document)
    services.step_approve(actor=office["reviewer"], step_id=pending_step(document).pk, comment="同意")
    services.step_approve(actor=office["police_head"], step_id=pending_step(document, office.police).pk)
    services.step_approve(actor=office["data_head"], step_id=pending_step(document, office.data).pk)
    services.step_approve(actor=office["head"], step_id=pending_step(document).pk, comment="同意印发")
    services.step_approve(actor=office["admin"], step_id=pending_step(document).pk)
    document.refresh_from_db()
    return document
