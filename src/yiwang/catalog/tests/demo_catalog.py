"""A module-scoped fixture with the demo city and the demo catalog loaded once.

Loading 示范市 and its 49 items takes seconds, so the search tests share one load per module:
the data is written inside an outer transaction that is rolled back when the module ends, and
each test runs in its own savepoint inside it (pytest-django's ``db``), so tests stay isolated
from each other and the rest of the suite never sees the data.
"""

import pytest
from django.db import connections, transaction
from django.test.utils import override_settings


@pytest.fixture(scope="module")
def demo_catalog(django_db_setup, django_db_blocker):
    from yiwang.catalog import demo_data
    from yiwang.demo.services import demo_load

    with django_db_blocker.unblock():
        fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
        fast.enable()
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            demo_load()
            report = demo_data.load(None)
            yield report
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            fast.disable()
            connections["default"].close()
