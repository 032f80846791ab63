"""Demo documents and duty rosters of 示范市 (loaded by ``yiwang demo`` after the city).

Through the services, as people would: the city-wide type 通知 (审核 → 会签 公安局 and 大数据局 →
签发 → 印发); the 市场监管局's clerk drafts two notices. One went all the way round, was issued
with the bureau's seal and sent to the 公安局, the 大数据局 and the 民政局 — the 公安局 has signed
for it, the other two not yet. The other is mid-route: reviewed, countersigned by the 公安局,
waiting for the 大数据局's head. And a week of duty shifts (yesterday to five days on) for the
市场监管局 and the 公安局. Idempotent: what exists is left as it is.
"""

import datetime

from django.utils import timezone

from yiwang.documents import services
from yiwang.documents.models import Document, DocumentType, DutyShift
from yiwang.identity.models import Department, User

ROUTE = [
    {"kind": "review", "role": "reviewer", "departments": []},
    {"kind": "countersign", "role": "department_head", "departments": ["SFS-GAJ", "SFS-SJJ"]},
    {"kind": "sign_off", "role": "department_head", "departments": []},
    {"kind": "issue", "role": "department_admin", "departments": []},
]
ISSUED_TITLE = "关于做好2026年度市场主体年报工作的通知"
ISSUED_BODY = (
    "根据《市场主体登记管理条例》和《企业信息公示暂行条例》,现就做好2026年度市场主体年度报告公示工作通知如下。\n"
    "一、年报时间为每年1月1日至6月30日,各单位要督促辖区市场主体按时报送。\n"
    "二、公安、大数据等部门要配合做好数据共享,年报信息通过“一网通办”平台归集。\n"
    "三、对未按时年报的市场主体,依法列入经营异常名录。\n"
    "特此通知。"
)
ROUTING_TITLE = "关于开展食品安全“守底线、查隐患、保安全”专项行动的通知"
ROUTING_BODY = (
    "为切实保障群众“舌尖上的安全”,市场监管局会同公安局、大数据局开展为期三个月的专项行动。\n"
    "一、聚焦校园周边、农村集市和网络订餐,全面排查风险隐患。\n"
    "二、线索通过12345热线和“互联网+监管”平台统一受理、限时办结。\n"
    "请各单位于每月5日前报送工作进展。"
)
# (department code, usernames on the rota in turn, duty phone)
ROTAS = (
    ("SFS-SCJG", ("scjg_clerk", "scjg_reviewer1", "scjg_reviewer2", "scjg_head"), "0917-3261234"),
    ("SFS-GAJ", ("gaj_clerk", "gaj_reviewer1", "gaj_reviewer2", "gaj_head"), "0917-3265110"),
)


class Summary(dict):
    def summary(self) -> str:
        return (
            f"公文 {self.get('documents', 0)} 份(新建:已印发 1、流转中 1),"
            f"值班 {self.get('shifts', 0)} 班次(新建),已有的不变"
        )


def _pending(document: Document, department_code: str | None = None):
    document.refresh_from_db()
    steps = document.steps.filter(round=document.round, state="pending")
    if department_code:
        steps = steps.filter(department__code=department_code)
    return steps.first()


def _approve(users: dict, username: str, document: Document, department_code: str | None = None, comment: str = ""):
    step = _pending(document, department_code)
    services.step_approve(actor=users[username], step_id=step.pk, comment=comment)


def load(actor=None):
    summary = Summary(documents=0, shifts=0)
    codes = ["SFS-SCJG", "SFS-GAJ", "SFS-SJJ", "SFS-MZJ"]
    departments = {d.code: d for d in Department.objects.filter(code__in=codes)}
    names = [
        "scjg_clerk",
        "scjg_reviewer1",
        "scjg_head",
        "scjg_admin",
        "gaj_head",
        "gaj_clerk",
        "sjj_head",
        "gaj_reviewer1",
        "gaj_reviewer2",
        "scjg_reviewer2",
    ]
    users = {u.username: u for u in User.objects.filter(username__in=names)}
    if len(departments) < len(codes) or len(users) < len(names):
        return summary  # not the demo city (``--city-only`` of another shape)
    doc_type = DocumentType.objects.filter(code="notice").first() or services.document_type_save(
        actor=actor, code="notice", name="通知", steps=ROUTE
    )
    drafter = users["scjg_clerk"]
    recipients = [departments["SFS-GAJ"].pk, departments["SFS-SJJ"].pk, departments["SFS-MZJ"].pk]
    if not Document.objects.filter(title=ISSUED_TITLE).exists():
        document = services.document_create(
            actor=drafter,
            document_type=doc_type,
            department=departments["SFS-SCJG"],
            title=ISSUED_TITLE,
            body=ISSUED_BODY,
            recipient_department_ids=recipients,
        )
        services.document_submit(actor=drafter, document=document)
        _approve(users, "scjg_reviewer1", document, comment="内容符合规定,同意。")
        _approve(users, "gaj_head", document, "SFS-GAJ", "同意,公安局配合数据共享。")
        _approve(users, "sjj_head", document, "SFS-SJJ", "同意。")
        _approve(users, "scjg_head", document, comment="同意印发。")
        _approve(users, "scjg_admin", document)
        services.document_acknowledge(actor=users["gaj_clerk"], document_id=document.pk)
        summary["documents"] += 1
    if not Document.objects.filter(title=ROUTING_TITLE).exists():
        document = services.document_create(
            actor=drafter,
            document_type=doc_type,
            department=departments["SFS-SCJG"],
            title=ROUTING_TITLE,
            body=ROUTING_BODY,
            recipient_department_ids=recipients[:2],
        )
        services.document_submit(actor=drafter, document=document)
        _approve(users, "scjg_reviewer1", document, comment="同意,请公安局、大数据局会签。")
        _approve(users, "gaj_head", document, "SFS-GAJ", "同意。")
        summary["documents"] += 1
    if not DutyShift.objects.exists():
        today = timezone.localdate()
        for code, rota, phone in ROTAS:
            for offset in range(-1, 6):
                day = today + datetime.timedelta(days=offset)
                starts = timezone.make_aware(datetime.datetime.combine(day, datetime.time(8, 30)))
                services.shift_create(
                    actor=actor,
                    department=departments[code],
                    person=users[rota[(offset + 1) % len(rota)]],
                    starts_at=starts,
                    ends_at=starts + datetime.timedelta(days=1),
                    phone=phone,
                    note="带班领导:部门负责人" if offset % 2 == 0 else "",
                )
                summary["shifts"] += 1
        # A swap waiting for an answer: the bureau's reviewer asks the clerk to take a later shift.
        later = (
            DutyShift.objects.filter(person=users["scjg_reviewer1"], department=departments["SFS-SCJG"])
            .order_by("-starts_at")
            .first()
        )
        services.swap_request(
            actor=users["scjg_reviewer1"], shift_id=later.pk, to_user=users["scjg_clerk"], reason="参加省局培训"
        )
    return summary
