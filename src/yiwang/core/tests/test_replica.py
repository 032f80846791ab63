"""The read-replica router's decisions (yiwang.core.replica), on two aliases of one database.

Real replication is the operator's (PostgreSQL streaming replication); here ``replica`` is a
second connection to the test database, which is enough to see which connection each query
takes. The tests are transactional: inside the usual test transaction every read must (and
does) go to the primary.
"""

import contextvars

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from yiwang.core.models import Holiday
from yiwang.core.replica import REPLICA, ReplicaPinMiddleware, ReplicaRouter, lag_tolerant, read_alias

pytestmark = pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA])


@lag_tolerant
def holidays():
    return Holiday.objects.order_by("date")


@lag_tolerant
def holiday_count() -> int:
    return Holiday.objects.count()


@pytest.fixture
def replica(settings):
    settings.YIWANG_READ_REPLICA = REPLICA
    settings.DATABASE_ROUTERS = ["yiwang.core.replica.ReplicaRouter"]
    settings.YIWANG_REPLICA_PIN_SECONDS = 30
    cache.clear()
    yield
    cache.clear()


def request_through_middleware(method="get", *, view, headers=None, cookies=None):
    request = getattr(RequestFactory(), method)("/", headers=headers or {})
    request.COOKIES.update(cookies or {})
    outcome = {}

    def get_response(request):
        outcome["value"] = view()
        return HttpResponse("ok")

    ReplicaPinMiddleware(get_response)(request)
    return outcome["value"]


def where(func) -> str:
    """The alias a lag-tolerant selector read from, seen on the connections themselves."""
    with (
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary,
    ):
        result = func()
        if hasattr(result, "query"):
            list(result)
    assert bool(on_replica.captured_queries) != bool(on_primary.captured_queries)
    return REPLICA if on_replica.captured_queries else DEFAULT_DB_ALIAS


def test_without_a_replica_everything_reads_the_primary(settings):
    assert settings.YIWANG_READ_REPLICA is None
    assert request_through_middleware(view=lambda: where(holidays)) == DEFAULT_DB_ALIAS
    assert where(holiday_count) == DEFAULT_DB_ALIAS


def test_lag_tolerant_reads_go_to_the_replica_other_reads_to_the_primary(replica):
    assert request_through_middleware(view=lambda: where(holidays)) == REPLICA
    assert request_through_middleware(view=lambda: where(holiday_count)) == REPLICA
    assert holidays().db == REPLICA  # decided when the selector is called, not when evaluated
    assert request_through_middleware(view=lambda: where(lambda: Holiday.objects.all())) == DEFAULT_DB_ALIAS


def test_inside_a_transaction_reads_stay_on_the_primary(replica):
    def view():
        with transaction.atomic():
            return where(holidays)

    assert request_through_middleware(view=view) == DEFAULT_DB_ALIAS


def test_after_a_write_the_rest_of_the_request_reads_the_primary(replica):
    def view():
        before = where(holidays)
        Holiday.objects.create(date="2031-01-01", kind=Holiday.Kind.HOLIDAY, name="元旦")
        return before, where(holidays), where(holiday_count)

    assert request_through_middleware(view=view) == (REPLICA, DEFAULT_DB_ALIAS, DEFAULT_DB_ALIAS)
    # the pin ended with that request
    assert request_through_middleware(view=lambda: where(holidays), headers={"Authorization": "Bearer other"}) == (
        REPLICA
    )


def test_a_client_that_wrote_reads_the_primary_for_a_while_on_any_node(replica):
    alice = {"Authorization": "Bearer yw_alice"}
    assert request_through_middleware("post", view=lambda: where(holidays), headers=alice) == DEFAULT_DB_ALIAS
    # the next request, on whichever node (the pin is in the shared cache), reads its own write
    assert request_through_middleware(view=lambda: where(holidays), headers=alice) == DEFAULT_DB_ALIAS
    assert request_through_middleware(view=lambda: where(holidays), headers={"Authorization": "Bearer yw_bob"}) == (
        REPLICA
    )
    # a browser: its session cookie names it
    cookies = {"sessionid": "s3ss10n"}
    request_through_middleware(
        view=lambda: Holiday.objects.create(date="2031-05-01", kind=Holiday.Kind.HOLIDAY, name="劳动节"),
        cookies=cookies,
    )  # a GET that wrote
    assert request_through_middleware(view=lambda: where(holidays), cookies=cookies) == DEFAULT_DB_ALIAS
    cache.clear()  # the pin expired (YIWANG_REPLICA_PIN_SECONDS)
    assert request_through_middleware(view=lambda: where(holidays), headers=alice) == REPLICA


def test_bookkeeping_writes_do_not_pin(replica):
    def view():
        session = SessionStore()
        session["last_activity"] = 1
        session.save()  # the idle-timeout stamp every signed-in page writes
        return where(holidays)

    cookies = {"sessionid": "k33p"}
    assert request_through_middleware(view=view, cookies=cookies) == REPLICA
    assert request_through_middleware(view=lambda: where(holidays), cookies=cookies) == REPLICA


def test_writes_and_migrations_only_on_the_primary(replica):
    router = ReplicaRouter()

    def outside_a_request():
        assert read_alias() == REPLICA
        assert router.db_for_write(Holiday) == DEFAULT_DB_ALIAS
        return read_alias()  # that write pinned this context: a worker that wrote stays on the primary

    assert contextvars.copy_context().run(outside_a_request) == DEFAULT_DB_ALIAS
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "core") is True
    assert router.allow_migrate(REPLICA, "core") is False
