"""Concurrent writers never fork the audit chain: threads in this process and writer
processes of their own, all appending at once, leave one gap-free chain that verifies."""

import os
import sqlite3
import subprocess
import sys
import threading
from urllib.parse import quote

import pytest
from django.db import DatabaseError, connection, connections, transaction

from yiwang.core.audit import audit_record, verify_chain_report
from yiwang.core.models import AuditChainHead, AuditEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ON_POSTGRES = connection.vendor == "postgresql"

# A writer process: sets Django up against the test database, says "ready", waits for "go"
# on stdin so every process starts writing at the same moment, then appends with threads.
WRITER = r"""
import sys, threading
import django
django.setup()
from django.db import connections, transaction
from yiwang.core.audit import audit_record

tag, nthreads, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
errors = []

def work(t):
    try:
        for i in range(count):
            with transaction.atomic():
                audit_record(actor=f"proc:{tag}:{t}", action="test.concurrent", object_type="test.proc",
                             object_id=f"{tag}-{t}-{i}", changes={"i": i})
    except Exception as exc:
        errors.append(repr(exc))
    finally:
        connections.close_all()

print("ready", flush=True)
sys.stdin.readline()
threads = [threading.Thread(target=work, args=(t,)) for t in range(nthreads)]
for th in threads: th.start()
for th in threads: th.join()
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
"""


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = quote(s["USER"] or "") + (":" + quote(s["PASSWORD"]) if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start_writers(processes: int, threads: int, count: int) -> list[subprocess.Popen]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "yiwang.settings", "DATABASE_URL": database_url()}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, f"p{n}", str(threads), str(count)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(processes)
    ]
    for proc in procs:
        line = proc.stdout.readline()
        assert line.strip() == "ready", proc.stderr.read()
    return procs


def write_in_threads(nthreads: int, count: int, go: threading.Event | None = None) -> list[threading.Thread]:
    errors: list[str] = []

    def work(t: int) -> None:
        try:
            if go is not None:
                go.wait(30)
            for i in range(count):
                # Like a service: its own transaction, a read first, then the audited write.
                with transaction.atomic():
                    AuditEvent.objects.filter(object_type="test.thread").count()
                    audit_record(
                        actor=f"thread:{t}",
                        action="test.concurrent",
                        object_type="test.thread",
                        object_id=f"{t}-{i}",
                        changes={"i": i},
                    )
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(t,)) for t in range(nthreads)]
    for th in threads:
        th.start()
    threads.append(errors)  # type: ignore[arg-type]
    return threads


def join(threads) -> None:
    *threads, errors = threads
    for th in threads:
        th.join(120)
    assert not errors, errors


def assert_one_unforked_chain(expected: int) -> None:
    sequences = list(AuditEvent.objects.order_by("sequence").values_list("sequence", flat=True))
    assert sequences == list(range(1, expected + 1)), "gaps or duplicates in the sequence"
    prev_hashes = AuditEvent.objects.values_list("prev_hash", flat=True)
    assert len(set(prev_hashes)) == expected, "two events claim the same predecessor: the chain forked"
    head = AuditChainHead.objects.get(pk=1)
    assert head.sequence == expected
    report = verify_chain_report(chunk_size=50)
    assert report.chain_break is None, str(report.chain_break)
    assert report.checked == expected


def test_threads_and_processes_append_to_one_chain():
    processes, proc_threads, local_threads, count = (3, 3, 4, 20) if ON_POSTGRES else (2, 2, 3, 15)
    procs = start_writers(processes, proc_threads, count)
    go = threading.Event()
    threads = write_in_threads(local_threads, count, go)
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    go.set()
    join(threads)
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert_one_unforked_chain(processes * proc_threads * count + local_threads * count)
    per_writer = AuditEvent.objects.filter(actor_repr="proc:p0:0").count()
    assert per_writer == count


def test_rolled_back_writer_leaves_no_gap():
    audit_record(actor=None, action="test.first")
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=None, action="test.rolled_back")
        raise RuntimeError("service failed after auditing")
    event = audit_record(actor=None, action="test.after")
    assert event.sequence == 2
    assert_one_unforked_chain(2)


@pytest.mark.postgres
def test_postgres_head_stays_locked_until_the_writer_commits():
    audit_record(actor=None, action="test.first")
    written, release = threading.Event(), threading.Event()

    def writer() -> None:
        try:
            with transaction.atomic():
                audit_record(actor=None, action="test.slow_service")
                written.set()
                release.wait(30)
        finally:
            connections.close_all()

    th = threading.Thread(target=writer)
    th.start()
    assert written.wait(30)
    try:
        with pytest.raises(DatabaseError, match="could not obtain lock"), transaction.atomic():
            AuditChainHead.objects.select_for_update(nowait=True).get(pk=1)
    finally:
        release.set()
        th.join(30)
    with transaction.atomic():
        assert AuditChainHead.objects.select_for_update(nowait=True).get(pk=1).sequence == 2


def test_sqlite_writer_holds_the_write_lock_until_commit():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite locking")
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    written, release = threading.Event(), threading.Event()

    def writer() -> None:
        try:
            with transaction.atomic():
                audit_record(actor=None, action="test.slow_service")
                written.set()
                release.wait(30)
        finally:
            connections.close_all()

    th = threading.Thread(target=writer)
    th.start()
    assert written.wait(30)
    other = sqlite3.connect(connection.settings_dict["NAME"], timeout=0.1, isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            other.execute("BEGIN IMMEDIATE")
    finally:
        release.set()
        th.join(30)
    other.execute("BEGIN IMMEDIATE")
    other.execute("ROLLBACK")
    other.close()
    assert_one_unforked_chain(1)
