"""The audit chain catches tampering: each test edits the database behind the platform's back
(raw SQL or a queryset ``update``, never a service) and checks the exact report."""

import io
import itertools
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from yiwang.core.audit import (
    GENESIS_HASH,
    BreakKind,
    ChainBreak,
    audit_record,
    event_hash,
    verify_chain,
    verify_chain_report,
)
from yiwang.core.crypto import sm3_hex
from yiwang.core.models import AuditChainHead, AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain():
    """Five events, sequences 1–5, written the only legitimate way."""
    events = [
        audit_record(
            actor="task:test",
            action=f"case.step{i}",
            object_type="cases.case",
            object_id=str(i),
            changes={"status": ["draft", "submitted"], "n": i},
        )
        for i in range(1, 6)
    ]
    assert [e.sequence for e in events] == [1, 2, 3, 4, 5]
    return {e.sequence: e for e in events}


def run_verify(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit", "verify", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def renumber(sql_where: str, delta: int) -> None:
    """Shift sequences in two steps so the unique index never sees a duplicate."""
    table = AuditEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET sequence = -sequence WHERE {sql_where}")  # noqa: S608
        cursor.execute(f"UPDATE {table} SET sequence = -sequence + %s WHERE sequence < 0", [delta])  # noqa: S608


def forge(*, sequence: int, prev_hash: str, action: str = "license.issue") -> AuditEvent:
    """A row an intruder writes directly, with a correctly computed hash of its own."""
    created_at = datetime.now(UTC)
    digest = sm3_hex("{}")
    values = dict(
        sequence=sequence,
        created_at=created_at,
        actor_id=None,
        actor_repr="intruder",
        action=action,
        object_type="licenses.license",
        object_id="99",
        object_repr="forged",
        digest=digest,
    )
    return AuditEvent.objects.create(prev_hash=prev_hash, hash=event_hash(prev_hash=prev_hash, **values), **values)


def test_intact_chain_verifies_and_command_reports_count(chain):
    assert verify_chain() is None
    code, out, err = run_verify()
    assert code == 0, err
    assert "已校验 5 条事件(序号 1–5)" in out
    assert f"链头:5:{chain[5].hash}" in out


def test_empty_chain_verifies():
    report = verify_chain_report()
    assert report.ok and report.checked == 0


def test_chain_links_each_event_to_the_one_before(chain):
    assert chain[1].prev_hash == GENESIS_HASH
    for seq in range(2, 6):
        assert chain[seq].prev_hash == chain[seq - 1].hash
    head = AuditChainHead.objects.get(pk=1)
    assert (head.sequence, head.hash) == (5, chain[5].hash)


def test_edited_field_is_reported_at_that_row(chain):
    AuditEvent.objects.filter(sequence=3).update(action="case.approve")
    found = verify_chain()
    assert (found.kind, found.sequence, found.event_id) == (BreakKind.EDITED, 3, chain[3].pk)
    assert found.problem.startswith("哈希不符:按内容重算为 ")
    assert found.problem.endswith(f"存储为 {chain[3].hash[:12]}…;此行被修改")
    code, _, err = run_verify()
    assert code == 1
    assert err.startswith(f"审计链断裂:序号 3(行 id {chain[3].pk}):[edited] 哈希不符")
    assert "断点之前已校验 2 条事件" in err


def test_edited_changes_are_caught_by_the_digest(chain):
    table = AuditEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET changes = %s WHERE sequence = 2", ['{"status": ["draft", "approved"]}'])  # noqa: S608
    found = verify_chain()
    assert found == ChainBreak(2, chain[2].pk, "变更内容与其摘要不符:此行的变更内容被修改", BreakKind.EDITED)


def test_edited_timestamp_is_caught(chain):
    AuditEvent.objects.filter(sequence=4).update(created_at=datetime(2020, 1, 1, tzinfo=UTC))
    found = verify_chain()
    assert (found.kind, found.sequence) == (BreakKind.EDITED, 4)


def test_edited_and_rehashed_row_breaks_the_next_link(chain):
    """A careful intruder recomputes the edited row's hash; the next row still points at the old one."""
    row = AuditEvent.objects.get(sequence=3)
    row.action = "case.approve"
    values = {
        f: getattr(row, f)
        for f in (
            "sequence",
            "created_at",
            "actor_id",
            "actor_repr",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "digest",
        )
    }
    AuditEvent.objects.filter(pk=row.pk).update(action=row.action, hash=event_hash(prev_hash=row.prev_hash, **values))
    found = verify_chain()
    assert (found.kind, found.sequence, found.event_id) == (BreakKind.INSERTED, 4, chain[4].pk)
    assert f"不是前一条序号 3 的哈希 {chain[3].hash[:12]}…" not in found.problem  # the new hash is reported
    assert "不属于链上任何事件" in found.problem


def test_deleted_middle_row_is_reported_as_a_gap(chain):
    AuditEvent.objects.filter(sequence=3).delete()
    found = verify_chain()
    assert found == ChainBreak(4, chain[4].pk, "序号不连续:应为 3,实为 4;序号 3 的事件已被删除", BreakKind.DELETED)
    code, _, err = run_verify()
    assert code == 1
    assert err.startswith(f"审计链断裂:序号 4(行 id {chain[4].pk}):[deleted] 序号不连续:应为 3,实为 4")


def test_several_deleted_rows_are_named_as_a_range(chain):
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table} WHERE sequence IN (2, 3)")  # noqa: S608
    found = verify_chain()
    assert found.problem == "序号不连续:应为 2,实为 4;序号 2–3 的事件已被删除"
    assert (found.sequence, found.event_id) == (4, chain[4].pk)


def test_deleted_first_row_is_reported(chain):
    AuditEvent.objects.filter(sequence=1).delete()
    found = verify_chain()
    assert (found.kind, found.sequence, found.event_id) == (BreakKind.DELETED, 2, chain[2].pk)


def test_deleted_last_row_is_a_truncated_tail(chain):
    AuditEvent.objects.filter(sequence=5).delete()
    found = verify_chain()
    assert found == ChainBreak(
        5,
        None,
        f"链尾被截断:链头记录最后序号为 5,但最后一条是序号 4(行 id {chain[4].pk});序号 5–5 的事件已被删除",
        BreakKind.TRUNCATED,
    )
    code, _, err = run_verify()
    assert code == 1
    assert err.startswith("审计链断裂:序号 5(行 id 无):[truncated] 链尾被截断")


def test_forged_row_inserted_in_the_middle(chain):
    renumber("sequence > 2", 1)  # make room: 3, 4, 5 become 4, 5, 6
    forged = forge(sequence=3, prev_hash=sm3_hex("made up"))
    found = verify_chain()
    assert (found.kind, found.sequence, found.event_id) == (BreakKind.INSERTED, 3, forged.pk)
    assert found.problem.startswith(
        f"前一哈希 {sm3_hex('made up')[:12]}… 不是前一条序号 2 的哈希 {chain[2].hash[:12]}…"
    )


def test_forged_row_appended_past_the_head(chain):
    forged = forge(sequence=6, prev_hash=chain[5].hash)
    found = verify_chain()
    assert found == ChainBreak(
        6, forged.pk, "此行位于链头(序号 5)之后:未经审计写入而被追加的伪造事件", BreakKind.APPENDED
    )


def test_swapped_rows_are_reported_as_reordered(chain):
    table = AuditEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET sequence = -1 WHERE sequence = 2")  # noqa: S608
        cursor.execute(f"UPDATE {table} SET sequence = 2 WHERE sequence = 3")  # noqa: S608
        cursor.execute(f"UPDATE {table} SET sequence = 3 WHERE sequence = -1")  # noqa: S608
    found = verify_chain()
    assert found == ChainBreak(
        2,
        chain[3].pk,
        f"前一哈希指向序号 3(行 id {chain[2].pk})而不是前一条序号 1:行的顺序被调换",
        BreakKind.REORDERED,
    )


def test_head_that_disagrees_with_the_last_event(chain):
    AuditChainHead.objects.filter(pk=1).update(hash=sm3_hex("other"))
    found = verify_chain()
    assert (found.kind, found.sequence, found.event_id) == (BreakKind.HEAD, 5, chain[5].pk)


def test_missing_head_with_events(chain):
    AuditChainHead.objects.all().delete()
    found = verify_chain()
    assert (found.kind, found.sequence, found.event_id) == (BreakKind.HEAD, 1, chain[1].pk)


def test_first_break_wins_and_small_chunks_give_the_same_answer(chain):
    AuditEvent.objects.filter(sequence=4).update(object_id="8")
    AuditEvent.objects.filter(sequence=2).update(object_id="7")
    for chunk_size in (1, 2, 1000):
        found = verify_chain(chunk_size=chunk_size)
        assert (found.sequence, found.kind) == (2, BreakKind.EDITED)


def test_verify_from_a_sequence_and_anchor(chain):
    AuditEvent.objects.filter(sequence=1).update(action="x")  # outside the range verified
    code, out, _ = run_verify("--from", "3")
    assert code == 0
    assert "已校验 3 条事件(序号 3–5)" in out
    code, out, _ = run_verify("--from", "3", "--anchor", f"4:{chain[4].hash}")
    assert code == 0
    code, _, err = run_verify("--from", "3", "--anchor", f"4:{sm3_hex('x')}")
    assert code == 1
    assert err.startswith(f"锚点不符:序号 4 记录的哈希是 {sm3_hex('x')}")


def test_rewritten_history_is_caught_by_an_anchor(chain):
    """Rewriting every row and the head fools the chain alone; a head kept elsewhere does not."""
    anchor = f"5:{chain[5].hash}"
    AuditEvent.objects.all().delete()
    AuditChainHead.objects.update(sequence=0, hash=GENESIS_HASH)
    for i in range(1, 6):
        audit_record(actor="intruder", action=f"case.step{i}", object_type="cases.case", object_id=str(i))
    assert verify_chain() is None
    code, _, err = run_verify("--anchor", anchor)
    assert code == 1 and "锚点不符:序号 5" in err


def test_changes_with_dates_and_decimals_are_stored_as_digested():
    event = audit_record(actor=None, action="fee.set", changes={"amount": Decimal("12.50"), "on": date(2026, 1, 2)})
    event.refresh_from_db()
    assert event.changes == {"amount": "12.50", "on": "2026-01-02"}
    assert verify_chain() is None


def test_tail_head_and_show(chain):
    out = io.StringIO()
    call_command("audit", "tail", "-n", "2", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "case.step4" in lines[0] and "case.step5" in lines[1]
    out = io.StringIO()
    call_command("audit", "head", stdout=out)
    assert out.getvalue().strip() == f"5:{chain[5].hash}"
    out = io.StringIO()
    call_command("audit", "show", "3", stdout=out)
    assert '"action": "case.step3"' in out.getvalue() and chain[3].hash in out.getvalue()
    with pytest.raises(CommandError, match="没有序号为 42 的审计事件"):
        call_command("audit", "show", "42")


def test_events_appended_at_once_chain_like_events_appended_one_by_one(django_assert_max_num_queries):
    from yiwang.core.audit import audit_record_many

    audit_record(actor="test", action="one.before", object_type="x", object_id="0")
    with django_assert_max_num_queries(3):  # lock the head, insert every event, move the head
        events = audit_record_many(
            [
                {"actor": "test", "action": "many", "object_type": "x", "object_id": str(n), "changes": {"n": n}}
                for n in range(5)
            ]
        )
    audit_record(actor="test", action="one.after", object_type="x", object_id="6")
    assert [e.sequence for e in events] == [events[0].sequence + n for n in range(5)]
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(events))
    assert verify_chain() is None
    assert AuditEvent.objects.get(action="one.after").prev_hash == events[-1].hash
