"""One demo city for the whole trust harness (fuzzing and the permission matrix).

It is built once per run (``yiwang demo`` and the harness's own objects, a minute of CPU) by the
first worker that needs it, into a database of its own beside the worker's test database, with
its uploaded files in a directory of its own; each worker of the run then works on a copy of that
database and of those files, for the whole package (``tests/databases.py``), and every test runs
in its own transaction on top, rolled back at its end. The copy is dropped after the package, so
nothing leaks into the other tests.
"""

import pickle
import shutil
import tempfile

import pytest
from django.core.cache import caches
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, transaction
from django.test import TestCase, override_settings

from tests import databases
from tests.trust.world import World, build_world


def _world_template() -> tuple[World, str, str]:
    """``(world, template database, template media dir)``, built once per run."""
    template = databases.database_name(connection, "world")
    media = databases.run_dir() / "world-media"
    saved = databases.run_dir() / "world.pickle"
    with databases.locked("world"):
        if not saved.exists():
            current = databases.point_at(connection.settings_dict["NAME"])  # closes the connection
            if not databases.is_sqlite(connection):
                databases.remember(template)
            databases.copy_database(connection, current, template)
            databases.point_at(template)
            try:
                databases.restore_platform_rows()  # in case a transactional test flushed them
                shutil.rmtree(media, ignore_errors=True)
                media.mkdir()
                # The demo's events (the license issued on approval, the messages) run on commit:
                # deliver them inside the build's transaction, as before it commits.
                with (
                    override_settings(MEDIA_ROOT=str(media)),
                    transaction.atomic(),
                    TestCase.captureOnCommitCallbacks(execute=True),
                ):
                    world = build_world()
                saved.write_bytes(pickle.dumps(world))
            finally:
                databases.point_at(current)
    return pickle.loads(saved.read_bytes()), template, str(media)  # noqa: S301 (written by this run)


@pytest.fixture(scope="package")
def demo_world(django_db_setup, django_db_blocker) -> World:
    media = tempfile.mkdtemp(prefix="yiwang-trust-media-")
    with django_db_blocker.unblock():
        world, template, template_media = _world_template()
        mine = databases.database_name(connection, f"world-{databases.worker_id()}")
        if not databases.is_sqlite(connection):
            databases.remember(mine)
        with databases.locked("world"):
            databases.copy_database(connection, template, mine)
        shutil.copytree(template_media, media, dirs_exist_ok=True)
        previous = databases.point_at(mine)
    try:
        with override_settings(MEDIA_ROOT=media):
            yield world
    finally:
        with django_db_blocker.unblock():
            databases.point_at(previous)
            databases.drop_database(connection, mine)
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


def pytest_collection_modifyitems(config, items):
    """``make test`` fuzzes each API operation as a rotating few roles (test_api_fuzz.roles_for)."""
    from tests.trust.test_api_fuzz import deselect_roles

    dropped = deselect_roles(items)
    if dropped:
        gone = set(map(id, dropped))
        items[:] = [item for item in items if id(item) not in gone]
        config.hook.pytest_deselected(items=dropped)
