"""System checks of a deployment's settings (``yiwang check``; every command runs them)."""

import os

from django.conf import settings
from django.core import checks

SHARED_KEYS = ("YIWANG_SECRET_KEY", "YIWANG_DATA_KEY", "YIWANG_SEAL_KEY")


@checks.register(checks.Tags.security)
def check_keys_of_a_multi_node_deployment(app_configs=None, **kwargs) -> list:
    """An object store, a shared cache or a replica means several machines; then the keys must
    come from the environment, the same on every machine. A key generated into one machine's
    ``var/`` would sign sessions, encrypt personal data and seal keys that no other node reads."""
    several_machines = bool(
        getattr(settings, "YIWANG_S3_BUCKET", "")
        or getattr(settings, "YIWANG_CACHE_URL", "")
        or getattr(settings, "YIWANG_READ_REPLICA", None)
    )
    if not several_machines:
        return []
    missing = [name for name in SHARED_KEYS if not os.environ.get(name)]
    if not missing:
        return []
    return [
        checks.Error(
            f"{', '.join(missing)} not set, although this install is configured for several machines "
            "(object store, shared cache or replica): each machine would generate its own under var/",
            hint="Set the same values on every web node and worker (README, 'Running at scale'); copy "
            "them from var/ of the machine that has run so far, or personal data already encrypted "
            "with its YIWANG_DATA_KEY becomes unreadable.",
            id="yiwang.E003",
        )
    ]
