"""Settings for the test suite: production settings with tasks run immediately.

DATABASE_URL chooses SQLite (default) or PostgreSQL, exactly as in production.
"""

import os
import tempfile

from yiwang.settings import *  # noqa: F403
from yiwang.settings import DATABASES, TASKS

TASKS = {**TASKS, "default": {**TASKS["default"], "BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
AXES_ENABLED = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
YIWANG_SMS_GATEWAY_URL = ""

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not Django's shared-cache in-memory database: concurrency tests open several
    # connections, and only a file locks like production (WAL, IMMEDIATE, busy timeout)
    # instead of failing at once with "table is locked". One file per pytest process, so
    # parallel runs in the same checkout never share a test database.
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.gettempdir(), f"yiwang-test-{os.getpid()}.sqlite3"),
    }

# A second alias on the same test database, so that the read-replica router's tests
# (core/tests/test_replica.py) route real queries; routing is off unless a test turns it on
# (YIWANG_READ_REPLICA and DATABASE_ROUTERS), as in production without a replica.
DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
