"""One demo city for the whole trust harness (fuzzing and the permission matrix), loaded once
and rolled back at the end of the package; every test runs in its own savepoint on top."""

import shutil
import tempfile

import pytest
from django.core.cache import caches
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import TestCase, override_settings

from tests.trust.world import World, build_world


@pytest.fixture(scope="package")
def demo_world(django_db_setup, django_db_blocker) -> World:
    media = tempfile.mkdtemp(prefix="yiwang-trust-media-")
    with (
        override_settings(MEDIA_ROOT=media),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        # The demo's events (the license issued on approval, the messages) run on commit:
        # deliver them now, inside the transaction that is rolled back at the end.
        with TestCase.captureOnCommitCallbacks(execute=True):
            world = build_world()
        yield world
        transaction.set_rollback(True)
    shutil.rmtree(media, ignore_errors=True)


@pytest.fixture
def world(demo_world, db) -> World:
    for cache in caches.all():
        cache.clear()  # rate limits counted by one test do not refuse the next
    # Requests sent straight to the WSGI handler (the fuzzer) would close the test's database
    # connection when they finish; Django's test client disconnects these for the same reason.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield demo_world
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
