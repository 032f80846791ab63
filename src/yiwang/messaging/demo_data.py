"""Demo messages (loaded by ``yiwang demo`` after the demo cases): the demo applicants get the
notifications their cases' events would have brought them, through the same code the event
subscribers run. Idempotent: the dedupe keys are the subscribers' own, so a rerun, or the
worker later delivering the demo cases' queued events, adds nothing."""

from django.contrib.auth import get_user_model


def events_for(case) -> list[str]:
    """What a demo case has been through, as the events the subscribers handle."""
    if case.state == "refused":
        return ["case.refused"]
    if case.state == "supplement_requested":
        return ["case.supplement_requested"]
    events = ["case.accepted"] if case.accepted_at else []
    if case.decision:
        events.append("case.approved" if case.decision == "approve" else "case.rejected")
    if case.state == "delivered":
        events.append("case.delivered")
    return events


class Summary(list):
    staff: str = ""

    def summary(self) -> str:
        return f"消息 {sum(self)} 条(新建,站内和短信),已有的不变;{self.staff}"


def load(actor=None):
    from yiwang.cases.selectors import case_list_for_applicant
    from yiwang.messaging.subscribers import notify_applicant

    created = Summary()
    users = get_user_model().objects.filter(username__regex=r"^citizen0[1-4]$", is_active=True).order_by("username")
    for user in users:
        for case in case_list_for_applicant(actor=user).order_by("pk"):
            for event in events_for(case):
                created.append(notify_applicant(case.pk, event))
    created.staff = load_staff()
    return created


# --- staff chat and a work instruction (市场监督管理局 and 公安局) ------------------------------

DEPARTMENT_CHAT = [
    ("scjg_head", "各位,本周五上午九点在三楼会议室召开食品安全专项整治部署会,请准时参加。"),
    ("scjg_reviewer1", "收到,我准备近期抽检情况的汇报材料。"),
    ("scjg_clerk", "收到。窗口这边周五上午安排人员轮岗。"),
]
AGENDA = "食品安全专项整治部署会议程\n一、通报近期抽检情况\n二、部署节前专项检查\n三、明确分工和时限\n"
TASK_GROUP = "个体工商户设立协同办理"
TASK_CHAT = [
    ("scjg_head", "这件办件请两位一起跟进,申请人反映经营场所证明有疑问。"),
    ("scjg_reviewer1", "我已联系申请人,补充了租赁合同,今天内完成审查。"),
    ("scjg_reviewer2", "好的,我复核。"),
]
INSTRUCTION_KEY = "demo-instruction-gas-safety"


def load_staff() -> str:
    """A department group and a task group with a few messages, and one work instruction from
    the city admin to the 市场监督管理局 and the 公安局, partly acknowledged. Idempotent."""
    from datetime import timedelta

    from django.utils import timezone

    from yiwang.cases.selectors import case_list_for_applicant
    from yiwang.identity.models import Department, User
    from yiwang.messaging import selectors, services
    from yiwang.messaging.models import ChatGroupKind

    users = {u.username: u for u in User.objects.filter(username__startswith="scjg_")}
    users |= {u.username: u for u in User.objects.filter(username__in=["city_admin", "citizen01"])}
    market = Department.objects.filter(code="SFS-SCJG").first()
    police = Department.objects.filter(code="SFS-GAJ").first()
    head = users.get("scjg_head")
    if market is None or head is None or "city_admin" not in users:
        return "工作群和工作指令:示范部门或人员缺失,未加载"
    posted = 0
    department_group = services.chat_department_group_create(actor=None, department_id=market.pk)
    if not department_group.messages.exists():
        from django.core.files.uploadedfile import SimpleUploadedFile

        for index, (username, body) in enumerate(DEPARTMENT_CHAT):
            agenda = SimpleUploadedFile("部署会议程.txt", AGENDA.encode()) if index == 0 else None
            services.chat_message_post(
                actor=users[username], group_id=department_group.pk, body=body, attachment=agenda
            )
            posted += 1
    task = next((g for g in selectors.chat_group_list(actor=head) if g.name == TASK_GROUP), None)
    if task is None:
        case = None
        if "citizen01" in users:
            case = case_list_for_applicant(actor=users["citizen01"]).order_by("pk").first()
        task = services.chat_group_create(
            actor=head,
            name=TASK_GROUP,
            kind=ChatGroupKind.TASK,
            ref_type="case" if case else "",
            ref_id=case.number if case else "",
            member_ids=[users[u].pk for u in ("scjg_reviewer1", "scjg_reviewer2") if u in users],
        )
        for username, body in TASK_CHAT:
            services.chat_message_post(actor=users[username], group_id=task.pk, body=body)
            posted += 1
    instruction = services.instruction_send(
        actor=users["city_admin"],
        title="关于开展节前燃气和食品安全联合检查的通知",
        body="请各单位于三日内完成辖区餐饮单位燃气和食品安全联合检查,发现隐患立即整改,并通过工作台确认收到。",
        deadline=timezone.now() + timedelta(days=3),
        department_ids=[d.pk for d in (market, police) if d is not None],
        request_key=INSTRUCTION_KEY,
    )
    services.instruction_acknowledge(actor=head, instruction_id=instruction.pk, note="已部署,周四前完成。")
    if "scjg_reviewer1" in users:
        services.instruction_mark_read(actor=users["scjg_reviewer1"], instruction_id=instruction.pk)
    receipts = instruction.receipts.count()
    acknowledged = instruction.receipts.filter(acknowledged_at__isnull=False).count()
    return f"工作群 2 个(新消息 {posted} 条),工作指令 1 条({receipts} 人,已确认 {acknowledged} 人)"
