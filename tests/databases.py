"""Databases built once per test run and copied for each pytest-xdist worker.

Migrating the schema and loading the demo city each take a minute of CPU; under ``pytest -n auto``
every worker used to do both itself. Now the first worker that needs one builds it (under a file
lock, so the others wait for it instead of building their own) and every worker works on a copy:
SQLite copies the file (the SQLite backup API), PostgreSQL ``CREATE DATABASE … TEMPLATE …``.

Everything a run builds lives in ``run_dir()`` (a directory named after the run, shared by its
workers) and, on PostgreSQL, in databases named after the run; the process that started the run
removes both when it ends (``cleanup_run``, called from the root ``conftest.py``).
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import os
import re
import shutil
import sqlite3
import tempfile
from pathlib import Path

RUN_ENV = "YIWANG_TEST_RUN"

# Rows that data migrations put in every install (message templates, the exchange log heads).
# A transactional test flushes the database, rows of data migrations included: they are put back
# before each such test (root conftest) and before a template is built from a worker's database.
PLATFORM_ROWS = (
    ("yiwang.core.migrations.0001_initial", "create_chain_head"),
    ("yiwang.registries.migrations.0002_registry_fields", "create"),
    ("yiwang.registries.migrations.0004_credit_tax_grade_commitment_outcome", "outcome_field"),
    ("yiwang.messaging.migrations.0002_seed_templates", "seed"),
    ("yiwang.messaging.migrations.0003_delivery_claim_kind_preferences", "forwards"),
    ("yiwang.messaging.migrations.0005_seed_instruction_templates", "seed"),
    ("yiwang.identity.migrations.0007_seed_assist_request_template", "seed"),
    ("yiwang.identity.migrations.0008_seed_delegation_notice_templates", "seed"),
    ("yiwang.exchange.migrations.0002_heads_and_message_templates", "seed"),
    ("yiwang.evaluation.migrations.0002_message_templates", "seed"),
    ("yiwang.policies.migrations.0002_message_templates", "seed"),
    ("yiwang.policies.migrations.0004_objection_message_templates", "seed"),
    ("yiwang.hotline.migrations.0002_message_templates_and_categories", "seed"),
    ("yiwang.analytics.migrations.0002_message_templates", "seed"),
    ("yiwang.appointments.migrations.0002_message_templates", "seed"),
    ("yiwang.documents.migrations.0002_message_templates", "seed"),
    ("yiwang.oversight.migrations.0002_message_templates", "seed"),
)
# Data migrations that only convert rows already there (nothing to put back after a flush).
CONVERSIONS_ONLY = (
    "yiwang.cases.migrations.0003_front_office_intake_hall_and_region",
    "yiwang.cases.migrations.0007_form_data_encrypted",
    "yiwang.channels.migrations.0003_peer_results",
    "yiwang.opendata.migrations.0002_datastore_gin_index",
    "yiwang.payments.migrations.0002_refunds_and_counter",
    "yiwang.policies.migrations.0003_rules_as_tables_instant_objections",
)


def restore_platform_rows() -> None:
    """Put back the data migrations' rows (each seed leaves existing rows alone)."""
    from django.apps import apps

    for module, function in PLATFORM_ROWS:
        getattr(importlib.import_module(module), function)(apps, None)


def run_id() -> str:
    """The run's name, the same in every worker (set by the root conftest before workers start)."""
    return os.environ.get(RUN_ENV) or os.environ.get("PYTEST_XDIST_TESTRUNUID", "")[:12] or str(os.getpid())


def worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def run_dir() -> Path:
    path = Path(tempfile.gettempdir()) / f"yiwang-run-{run_id()}"
    path.mkdir(exist_ok=True)
    return path


@contextlib.contextmanager
def locked(name: str):
    """Hold the run's lock ``name`` (one worker at a time, across processes)."""
    with open(run_dir() / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- copying a database ----------------------------------------------------------------------


def is_sqlite(connection) -> bool:
    return connection.vendor == "sqlite"


def database_name(connection, label: str) -> str:
    """Where a database called ``label`` of this run lives: a file in ``run_dir()`` (SQLite) or a
    PostgreSQL database named after the test database, the run and the label."""
    if is_sqlite(connection):
        return str(run_dir() / f"{label}.sqlite3")
    return re.sub(r"\W", "_", f"test_yiwang_{run_id()}_{label}")[:63]


def copy_database(connection, source: str, target: str) -> None:
    """A copy of the database ``source`` as ``target`` (dropped first if it exists). No connection
    may be open on ``source`` on PostgreSQL; on SQLite its committed contents are copied."""
    if is_sqlite(connection):
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(target + suffix)
        src, dst = sqlite3.connect(source), sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
        return
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{target}"')
        cursor.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')


def drop_database(connection, name: str) -> None:
    if is_sqlite(connection):
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(name + suffix)
        return
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def point_at(name: str) -> str:
    """Point the default connection (and the replica alias that mirrors it) at database ``name``;
    returns the name it had."""
    from django.db import connections

    previous = connections["default"].settings_dict["NAME"]
    # The mirror may share the default's settings dict: find them all before renaming any.
    on_previous = [connections[alias] for alias in connections if connections[alias].settings_dict["NAME"] == previous]
    for connection in on_previous:
        connection.close()
    for connection in on_previous:
        connection.settings_dict["NAME"] = name
    return previous


def cleanup_run() -> None:
    """Remove what this run built: its directory and, on PostgreSQL, its databases."""
    path = Path(tempfile.gettempdir()) / f"yiwang-run-{run_id()}"
    names = (path / "databases").read_text().split() if (path / "databases").exists() else []
    if names:
        from django.db import connection

        for name in names:
            with contextlib.suppress(Exception):
                drop_database(connection, name)
    shutil.rmtree(path, ignore_errors=True)


def remember(name: str) -> None:
    """Note a PostgreSQL database of this run, for ``cleanup_run``."""
    with open(run_dir() / "databases", "a") as out:
        out.write(name + "\n")
