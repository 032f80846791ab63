"""Settings for the test suite: production settings with tasks run immediately.

DATABASE_URL chooses SQLite (default) or PostgreSQL, exactly as in production.
"""

from yiwang.settings import *  # noqa: F403
from yiwang.settings import TASKS

TASKS = {**TASKS, "default": {**TASKS["default"], "BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
AXES_ENABLED = True
