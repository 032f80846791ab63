"""Each delivery attempt is made by exactly one worker, and only when it is due.

The redelivery sweep, a retry and a duplicate queue row may all point a worker at the same
message; the claim (``services._claim``: one conditional UPDATE on state, attempts,
``next_attempt_at`` and ``claimed_until``) lets exactly one of them make the attempt.
"""

import datetime
import threading
import time

import pytest
from django.db import connections
from django.utils import timezone

from yiwang.cases.tests.factories import build_world
from yiwang.messaging import services
from yiwang.messaging.channels import DeliveryError, Sent
from yiwang.messaging.models import Message, MessageState


def _queued_sms(world, **overrides) -> Message:
    """An SMS message, queued and not yet attempted (created without running the task)."""
    (sms,) = services.message_send(
        actor="test",
        recipient=world.applicant,
        template_code="case.approved",
        context={"item_name": "户口迁移", "number": "X1"},
        channels=["sms"],
    )
    if overrides:
        Message.objects.filter(pk=sms.pk).update(**overrides)
    sms.refresh_from_db()
    return sms


@pytest.mark.django_db
def test_a_second_worker_during_an_attempt_sends_nothing(monkeypatch):
    world = build_world()
    long_ago = timezone.now() - datetime.timedelta(hours=2)
    sms = _queued_sms(world, created_at=long_ago, next_attempt_at=long_ago)
    calls, enqueued, inner = [], [], {}
    monkeypatch.setattr(services, "_enqueue_delivery", lambda pk, **kw: enqueued.append(pk))

    def slow_gateway(*, message, recipient):
        calls.append(message.pk)
        # While this attempt is in flight: the 15-minute sweep runs, and another worker picks
        # up a duplicate queue row for the same message.
        inner["swept"] = services.message_redeliver_stale()
        inner["second"] = services.message_deliver(message_id=message.pk)
        return Sent(address="138****5678", provider_ref="gw-1")

    monkeypatch.setitem(services.SENDERS, "sms", slow_gateway)
    services.message_deliver(message_id=sms.pk)
    sms.refresh_from_db()
    assert calls == [sms.pk]
    assert inner["swept"] == 0 and enqueued == []
    assert inner["second"].state == MessageState.QUEUED  # it saw the claim and left
    assert sms.state == MessageState.SENT and sms.attempts == 1 and sms.claimed_until is None
    assert list(sms.deliveries.values_list("attempt", "outcome")) == [(1, "sent")]


@pytest.mark.django_db
def test_a_deferred_retry_is_neither_swept_nor_taken_early(monkeypatch, django_capture_on_commit_callbacks):
    world = build_world()
    sms = _queued_sms(world)
    monkeypatch.setattr(services, "_can_defer", lambda: True)
    enqueued = []
    monkeypatch.setattr(services, "_enqueue_delivery", lambda pk, **kw: enqueued.append((pk, kw.get("run_after"))))
    calls = []

    def flaky(*, message, recipient):
        calls.append(timezone.now())
        if len(calls) == 1:
            raise DeliveryError("HTTP 503 网关繁忙")
        return Sent(address="138****5678", provider_ref="gw-2")

    monkeypatch.setitem(services.SENDERS, "sms", flaky)
    with django_capture_on_commit_callbacks(execute=True):
        services.message_deliver(message_id=sms.pk)
    sms.refresh_from_db()
    assert sms.state == MessageState.QUEUED and sms.attempts == 1 and sms.claimed_until is None
    assert sms.next_attempt_at > timezone.now() + datetime.timedelta(seconds=50)
    assert enqueued == [(sms.pk, sms.next_attempt_at)]  # the retry, deferred to its time
    # Hours later by created_at, but the retry is not due: the sweep leaves it alone...
    Message.objects.filter(pk=sms.pk).update(created_at=timezone.now() - datetime.timedelta(hours=2))
    assert services.message_redeliver_stale(older_than_minutes=0) == 0
    # ...and a worker that gets it early (a duplicate row) makes no attempt.
    services.message_deliver(message_id=sms.pk)
    assert len(calls) == 1
    # When it is due, the retry is made.
    later = sms.next_attempt_at + datetime.timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    services.message_deliver(message_id=sms.pk)
    sms.refresh_from_db()
    assert len(calls) == 2 and sms.state == MessageState.SENT and sms.attempts == 2
    assert list(sms.deliveries.values_list("attempt", "outcome")) == [(1, "failed"), (2, "sent")]


@pytest.mark.django_db
def test_a_dead_workers_claim_lapses_and_the_sweep_brings_the_message_back(monkeypatch):
    world = build_world()
    now = timezone.now()
    # Attempt 1 was claimed an hour ago by a worker that never came back.
    sms = _queued_sms(
        world,
        attempts=1,
        created_at=now - datetime.timedelta(hours=1),
        next_attempt_at=now - datetime.timedelta(hours=1),
        claimed_until=now + datetime.timedelta(minutes=5),
    )
    sent = []
    monkeypatch.setitem(services.SENDERS, "sms", lambda **kw: sent.append(1) or Sent(address="x", provider_ref=""))
    assert services.message_redeliver_stale() == 0  # the claim still holds: maybe it is just slow
    services.message_deliver(message_id=sms.pk)
    assert sent == []
    Message.objects.filter(pk=sms.pk).update(claimed_until=now - datetime.timedelta(seconds=1))
    assert services.message_redeliver_stale() == 1  # enqueued (and run: the test queue is immediate)
    sms.refresh_from_db()
    assert sent == [1] and sms.state == MessageState.SENT and sms.attempts == 2


@pytest.mark.django_db
def test_the_last_attempt_in_flight_is_not_failed_under_it(monkeypatch, settings):
    settings.YIWANG_MESSAGE_MAX_ATTEMPTS = 1
    world = build_world()
    sms = _queued_sms(world)
    inner = {}

    def gateway(*, message, recipient):
        inner["other"] = services.message_deliver(message_id=message.pk)  # attempts are used up now
        return Sent(address="x", provider_ref="")

    monkeypatch.setitem(services.SENDERS, "sms", gateway)
    services.message_deliver(message_id=sms.pk)
    sms.refresh_from_db()
    assert inner["other"].state == MessageState.QUEUED
    assert sms.state == MessageState.SENT
    assert not sms.deliveries.filter(outcome="failed").exists()


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_postgres_two_workers_and_the_sweep_send_a_message_once(monkeypatch):
    """Four threads (own connections) deliver the same overdue message at once while the sweep
    runs: the gateway is called once, one attempt is logged."""
    world = build_world()
    lock = threading.Lock()
    calls: list[int] = []

    def slow_gateway(*, message, recipient):
        with lock:
            calls.append(message.pk)
        time.sleep(0.3)
        return Sent(address="138****5678", provider_ref="gw")

    monkeypatch.setitem(services.SENDERS, "sms", slow_gateway)
    monkeypatch.setattr(services, "_enqueue_delivery", lambda pk, **kw: None)  # the threads are the workers
    long_ago = timezone.now() - datetime.timedelta(hours=2)
    messages = [_queued_sms(world, created_at=long_ago, next_attempt_at=long_ago)]
    start = threading.Barrier(5)
    errors: list[BaseException] = []

    def worker(action) -> None:
        try:
            start.wait(10)
            action()
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    pk = messages[0].pk
    threads = [
        threading.Thread(target=worker, args=(lambda: services.message_deliver(message_id=pk),)) for _ in range(4)
    ]
    threads.append(threading.Thread(target=worker, args=(services.message_redeliver_stale,)))
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert not errors, errors
    sms = Message.objects.get(pk=pk)
    assert calls == [pk]
    assert sms.state == MessageState.SENT and sms.attempts == 1
    assert list(sms.deliveries.values_list("attempt", "outcome")) == [(1, "sent")]


@pytest.mark.django_db
def test_a_message_held_by_a_dead_workers_claim_is_looked_at_again_when_the_claim_lapses(
    monkeypatch, django_capture_on_commit_callbacks
):
    """The task of a worker killed mid-attempt runs again (core.taskqueue) while the claim still
    holds: it must not drop the message but come back once the claim has lapsed."""
    world = build_world()
    sms = _queued_sms(world)
    held_until = timezone.now() + datetime.timedelta(seconds=60)
    Message.objects.filter(pk=sms.pk).update(attempts=1, claimed_until=held_until)
    scheduled = []
    monkeypatch.setattr(services, "_can_defer", lambda: True)
    monkeypatch.setattr(services, "_enqueue_delivery", lambda pk, **kw: scheduled.append((pk, kw)))
    sent = []
    monkeypatch.setitem(services.SENDERS, "sms", lambda **kw: sent.append(kw))
    with django_capture_on_commit_callbacks(execute=True):
        services.message_deliver(message_id=sms.pk)
    assert sent == []  # the claim holds: no second send
    assert scheduled == [(sms.pk, {"run_after": held_until + datetime.timedelta(seconds=1)})]
