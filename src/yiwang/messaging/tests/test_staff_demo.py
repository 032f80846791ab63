"""The demo's staff chat and work instruction: loaded through the services, idempotent."""

from yiwang.identity.models import Department, Role
from yiwang.identity.services import department_create
from yiwang.identity.tests.tree import build_tree, make_staff
from yiwang.messaging import demo_data, selectors
from yiwang.messaging.models import ChatMessage, InstructionReceipt, WorkInstruction


def test_demo_groups_and_a_partly_acknowledged_instruction(db):
    tree = build_tree()

    def agency(name, code):
        return department_create(
            actor=tree.root,
            name=name,
            code=code,
            level=Department.Level.CITY,
            kind=Department.Kind.AGENCY,
            region_code="320500",
            parent=tree.city,
        )

    market, police = agency("示范市市场监督管理局", "SFS-SCJG"), agency("示范市公安局", "SFS-GAJ")
    staff = {}
    for username, role, department in [
        ("scjg_head", Role.DEPARTMENT_HEAD, market),
        ("scjg_reviewer1", Role.REVIEWER, market),
        ("scjg_reviewer2", Role.REVIEWER, market),
        ("scjg_clerk", Role.WINDOW_CLERK, market),
        ("gaj_reviewer1", Role.REVIEWER, police),
        ("city_admin", Role.CITY_ADMIN, tree.city),
    ]:
        staff[username] = make_staff(username, real_name=username)
        tree.grant(staff[username], role, department)

    summary = demo_data.load_staff()
    assert "已确认 1 人" in summary and "5 人" in summary
    groups = {g.name: g for g in selectors.chat_group_list(actor=staff["scjg_reviewer1"])}
    assert set(groups) == {"示范市市场监督管理局", demo_data.TASK_GROUP}
    assert groups["示范市市场监督管理局"].unread == 2 and groups[demo_data.TASK_GROUP].unread == 2
    assert demo_data.TASK_GROUP not in {g.name for g in selectors.chat_group_list(actor=staff["scjg_clerk"])}
    agenda = ChatMessage.objects.exclude(attachment="").get()
    assert agenda.attachment_type == "text/plain" and agenda.attachment_name == "部署会议程.txt"
    receipts = {r.recipient.username: r.status for r in InstructionReceipt.objects.select_related("recipient")}
    assert receipts["scjg_head"] == "acknowledged" and receipts["scjg_reviewer1"] == "read"
    assert receipts["gaj_reviewer1"] == "unread"

    counts = (ChatMessage.objects.count(), WorkInstruction.objects.count(), InstructionReceipt.objects.count())
    demo_data.load_staff()
    assert (ChatMessage.objects.count(), WorkInstruction.objects.count(), InstructionReceipt.objects.count()) == counts
