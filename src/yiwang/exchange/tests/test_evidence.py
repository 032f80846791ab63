"""The evidence log: an intact chain verifies; every kind of tampering is named by entry."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from yiwang.core.audit import BreakKind
from yiwang.exchange import evidence
from yiwang.exchange.evidence import Entry, log_append, log_seal, verify_log
from yiwang.exchange.models import ExchangeLog, ExchangeLogHead, ExchangeLogSeal

pytestmark = pytest.mark.django_db


def _fill(n: int = 6) -> list[int]:
    for i in range(n):
        log_append(
            [
                Entry(
                    consumer_kind="system",
                    consumer=f"ywx_{i}",
                    department_id=None,
                    grant_id=i,
                    purpose="核验",
                    registry="population",
                    key_index=f"{i:064x}",
                    subject_index=f"{i:064x}",
                    fields=["name", "phone"],
                )
            ]
        )
    return list(ExchangeLog.objects.order_by("sequence").values_list("pk", flat=True))


def _kinds(report) -> list[tuple[int, str]]:
    return [(b.sequence, b.kind) for b in report.breaks]


def test_an_intact_log_verifies_with_its_seal():
    _fill()
    assert log_seal().sequence == 6
    assert log_seal() is None  # nothing new since
    report = verify_log()
    assert report.ok and report.checked == 6 and report.seals == 1
    # A batch append is one chain too.
    log_append([Entry("app", "cases:x", None, None, "预填", "population", fields=["name"])] * 3)
    assert verify_log().checked == 9


def test_edited_deleted_and_inserted_entries_are_all_named_in_one_run():
    ids = _fill(8)
    ExchangeLog.objects.filter(pk=ids[1]).update(purpose="随便看看")  # sequence 2 edited
    ExchangeLog.objects.filter(pk=ids[4]).delete()  # sequence 5 deleted
    row = ExchangeLog.objects.get(pk=ids[6])
    # sequence 7 replaced by a forged entry with a made-up link
    ExchangeLog.objects.filter(pk=ids[6]).update(prev_hash="f" * 64, consumer="forger")
    report = verify_log()
    assert _kinds(report) == [(2, BreakKind.EDITED), (6, BreakKind.DELETED), (7, BreakKind.INSERTED)]
    assert row.sequence == 7


def test_reordered_entries_are_named():
    ids = _fill(4)
    a, b = ExchangeLog.objects.get(pk=ids[1]), ExchangeLog.objects.get(pk=ids[2])
    # Swap the contents of sequences 2 and 3 (a reorder keeps each row's own hash).
    ExchangeLog.objects.filter(pk=a.pk).update(sequence=-1)
    ExchangeLog.objects.filter(pk=b.pk).update(sequence=2)
    ExchangeLog.objects.filter(pk=a.pk).update(sequence=3)
    report = verify_log()
    assert (2, BreakKind.REORDERED) in _kinds(report)


def test_truncated_tail_and_appended_rows_are_named():
    ids = _fill(4)
    ExchangeLog.objects.filter(pk=ids[3]).delete()
    assert _kinds(verify_log()) == [(4, BreakKind.TRUNCATED)]
    ExchangeLogHead.objects.filter(pk=1).update(sequence=3, hash=ExchangeLog.objects.get(pk=ids[2]).hash)
    assert verify_log().ok
    last = ExchangeLog.objects.get(pk=ids[2])
    ExchangeLog.objects.create(
        sequence=4,
        created_at=last.created_at,
        consumer_kind="system",
        consumer="forger",
        purpose="x",
        registry="population",
        outcome="ok",
        prev_hash=last.hash,
        hash="e" * 64,
    )
    assert _kinds(verify_log()) == [(4, BreakKind.APPENDED)]


def test_a_rewritten_chain_fails_its_sm2_seal():
    """Someone with database access edits an entry and recomputes every hash after it: the chain
    is consistent again, but the entry the seal names no longer carries the sealed hash."""
    ids = _fill(5)
    seal = log_seal()
    ExchangeLog.objects.filter(pk=ids[0]).update(purpose="篡改")
    prev = evidence.GENESIS_HASH
    for row in ExchangeLog.objects.order_by("sequence"):
        values = tuple(getattr(row, name) for name in evidence.CONTENT)
        digest = evidence.entry_hash(prev, row.sequence, row.created_at, values)
        ExchangeLog.objects.filter(pk=row.pk).update(prev_hash=prev, hash=digest)
        prev = digest
    ExchangeLogHead.objects.filter(pk=1).update(hash=prev)
    report = verify_log()
    assert _kinds(report) == [(seal.sequence, evidence.SEAL_BROKEN)]
    # A forged seal (re-signed without the key) fails its signature.
    ExchangeLogSeal.objects.filter(pk=seal.pk).update(hash=prev)
    assert "封存签名无效" in str(verify_log().breaks[0])


def test_verify_log_command_exits_1_naming_the_entry(capsys):
    ids = _fill(3)
    call_command("exchange", "verify-log")
    assert "交换日志完好" in capsys.readouterr().out
    ExchangeLog.objects.filter(pk=ids[2]).update(fields="name,phone,id_number")
    with pytest.raises(CommandError) as exc:
        call_command("exchange", "verify-log")
    assert exc.value.returncode == 1
    assert "序号 3" in capsys.readouterr().err
