"""Concurrent gateway reads append to one unforked evidence-log chain (PostgreSQL: row lock on
the head; SQLite: the IMMEDIATE transaction's write lock)."""

import threading

import pytest
from django.db import connections

from yiwang.exchange.evidence import Entry, log_append, verify_log
from yiwang.exchange.models import ExchangeLog, ExchangeLogHead

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_threads_appending_at_once_never_fork_the_chain():
    nthreads, count = 6, 15
    go = threading.Event()
    errors: list[str] = []

    def work(t: int) -> None:
        try:
            go.wait(30)
            for i in range(count):
                entries = [Entry("system", f"ywx_{t}", None, t, "并发核验", "population", fields=["name"])]
                log_append(entries * (1 + i % 3))  # single entries and small batches
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(t,)) for t in range(nthreads)]
    for thread in threads:
        thread.start()
    go.set()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    expected = nthreads * sum(1 + i % 3 for i in range(count))
    assert list(ExchangeLog.objects.order_by("sequence").values_list("sequence", flat=True)) == list(
        range(1, expected + 1)
    )
    assert ExchangeLogHead.objects.get(pk=1).sequence == expected
    report = verify_log(chunk_size=7)
    assert report.ok and report.checked == expected
