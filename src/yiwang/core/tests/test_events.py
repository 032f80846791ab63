import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from yiwang.core import events
from yiwang.core.models import AuditEvent
from yiwang.core.tests import event_subscribers  # noqa: F401  (registers the subscribers)

pytestmark = pytest.mark.django_db(transaction=True)


def seen(action: str) -> list[str]:
    return list(AuditEvent.objects.filter(action=action).values_list("object_id", flat=True))


def test_subscribers_run_after_commit_with_payload():
    with transaction.atomic():
        events.publish("test.thing_happened", n=7)
        assert seen("test.thing_seen") == []  # nothing before commit
    assert seen("test.thing_seen") == ["7"]
    assert seen("test.thing_seen_twice") == ["x"]


def test_nothing_is_delivered_when_the_publisher_rolls_back():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        events.publish("test.thing_happened", n=8)
        1 / 0  # noqa: B018
    assert seen("test.thing_seen") == []


def test_publisher_does_not_know_its_subscribers():
    assert events.subscribers("test.thing_happened") == [
        "yiwang.core.tests.event_subscribers.record_thing",
        "yiwang.core.tests.event_subscribers.second_listener",
    ]
    assert events.subscribers("nobody.listens") == []
    with transaction.atomic():
        events.publish("nobody.listens", n=1)  # no error


def test_subscribers_must_be_module_level():
    def local(event):
        pass

    with pytest.raises(ValueError):
        events.subscribe("x")(local)


@override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}})
def test_database_queue_and_worker_deliver_events():
    with transaction.atomic():
        events.publish("test.thing_happened", n=42)
    # queued, one task per subscriber, not yet run
    assert DBTaskResult.objects.filter(status="READY").count() == 2
    assert seen("test.thing_seen") == []

    call_command("worker", "--batch", "--interval", "0")

    assert seen("test.thing_seen") == ["42"]
    assert DBTaskResult.objects.filter(status="SUCCESSFUL").count() == 2


@override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}})
def test_a_failing_subscriber_is_recorded_and_does_not_affect_the_publisher():
    with transaction.atomic():
        events.publish("test.fails", n=1)
    call_command("worker", "--batch", "--interval", "0")
    result = DBTaskResult.objects.get()
    assert result.status == "FAILED"


@override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}})
def test_with_the_database_queue_events_are_an_outbox_of_the_publishing_transaction():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        events.publish("test.thing_happened", n=1)
        assert DBTaskResult.objects.count() == 2  # written with the change, in its transaction
        1 / 0  # noqa: B018
    assert DBTaskResult.objects.count() == 0  # and gone with it
    with transaction.atomic():
        events.publish("test.thing_happened", n=2)
        events.publish("nobody.listens", n=3)  # no subscriber: no row
    assert DBTaskResult.objects.filter(status="READY").count() == 2
    call_command("worker", "--batch", "--interval", "0")
    assert seen("test.thing_seen") == ["2"]


@override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}})
def test_a_subscriber_with_only_gets_no_task_for_the_events_it_does_not_want():
    assert events.subscribers("test.kind_happened", {"kind": "other"}) == []
    with transaction.atomic():
        for kind in ("other", "wanted", "other", "also", None):
            events.publish("test.kind_happened", kind=kind)
        events.publish("test.kind_happened")  # no such key: not wanted either
    assert DBTaskResult.objects.count() == 2  # a busy event costs the uninterested subscriber nothing
    call_command("worker", "--batch", "--interval", "0")
    assert sorted(seen("test.kind_seen")) == ["also", "wanted"]
