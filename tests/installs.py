"""Separate installations of Yiwang for tests that run its real commands in child processes.

Each `Install` has its own var dir (keys, SQLite file, uploads) and its own database: a SQLite file,
or, when the suite runs on PostgreSQL, a database of its own on the same server.

`Install.migrate()` is `yiwang migrate` done once per test run: the first test that asks migrates
a template installation (under the run's lock) and every install copies its var dir and database.
"""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import yiwang
from tests import databases

SRC = str(Path(yiwang.__file__).resolve().parent.parent)
ROOT = str(Path(SRC).parent)
PASSPHRASE = "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


def _pg_admin(url: str, sql: str) -> None:
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql)


class Install:
    """One installation: its own var dir (keys, SQLite, uploads) and database."""

    def __init__(self, root: Path, name: str, *, sqlite: bool = False):
        self.var = root / name
        self.var.mkdir()
        self.extra_env: dict[str, str] = {}
        base = None if sqlite else _postgres_url()
        if base:
            parts = urlsplit(base)
            self.pg_name = f"yiwang_it_{name}_{os.getpid()}"
            _pg_admin(base, f'DROP DATABASE IF EXISTS "{self.pg_name}"')
            _pg_admin(base, f'CREATE DATABASE "{self.pg_name}"')
            self.database_url = urlunsplit(parts._replace(path=f"/{self.pg_name}"))
        else:
            self.pg_name = None
            self.database_url = f"sqlite:///{self.var / 'yiwang.sqlite3'}"

    def migrate(self) -> None:
        """This installation as `yiwang migrate --noinput` leaves it: a copy of the run's migrated
        template installation (its var dir, keys included, and its database)."""
        template, pg_name = _migrated_template(postgres=self.pg_name is not None)
        shutil.copytree(template, self.var, dirs_exist_ok=True)
        if self.pg_name:
            base = _postgres_url()
            _pg_admin(base, f'DROP DATABASE IF EXISTS "{self.pg_name}"')
            _pg_admin(base, f'CREATE DATABASE "{self.pg_name}" TEMPLATE "{pg_name}"')

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("YIWANG_") and k != "DJANGO_SETTINGS_MODULE"}
        env.update(
            YIWANG_VAR_DIR=str(self.var),
            DATABASE_URL=self.database_url,
            YIWANG_BACKUP_PASSPHRASE=PASSPHRASE,
            PYTHONPATH=os.pathsep.join([SRC, ROOT]),
        )
        env.update(self.extra_env)
        return env

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "-m", "yiwang", *args], env=self.env(), capture_output=True, text=True, timeout=600
        )
        if check and result.returncode != 0:
            raise AssertionError(f"yiwang {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def python(self, code: str) -> str:
        env = {**self.env(), "DJANGO_SETTINGS_MODULE": "yiwang.settings"}
        result = subprocess.run(
            [sys.executable, "-c", "import django; django.setup()\n" + code],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def spawn(self, *argv: str, log: str, extra_env: dict | None = None) -> subprocess.Popen:
        """Start a long-running process of this installation in its own session (so that killpg
        reaches its children, e.g. gunicorn's workers), its output appended to var/<log>."""
        handle = open(self.var / log, "ab")  # noqa: SIM115 - owned by the process
        return subprocess.Popen(
            [sys.executable, *argv],
            env={**self.env(), **(extra_env or {})},
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def drop(self) -> None:
        if self.pg_name:
            _pg_admin(_postgres_url(), f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')


def _migrated_template(*, postgres: bool) -> tuple[Path, str]:
    """The var dir of the run's migrated installation (SQLite, or on the suite's PostgreSQL) and
    the name of its PostgreSQL database; migrated by the first test that asks, under a lock."""
    kind = "postgres" if postgres else "sqlite"
    root = databases.run_dir()
    ready = root / f"install-{kind}.ready"
    with databases.locked(f"install-{kind}"):
        if not ready.exists():
            shutil.rmtree(root / f"install-{kind}", ignore_errors=True)
            template = Install(root, f"install-{kind}", sqlite=not postgres)
            if template.pg_name:
                databases.remember(template.pg_name)
            template.run("migrate", "--noinput")
            ready.write_text(template.pg_name or "")
    return root / f"install-{kind}", ready.read_text()


def migrated_sqlite_var(var: Path) -> None:
    """Fill ``var`` (a YIWANG_VAR_DIR whose database is the default var/yiwang.sqlite3) with a
    freshly migrated installation, as `yiwang migrate` would leave it (once per run, copied)."""
    template, _ = _migrated_template(postgres=False)
    shutil.copytree(template, var, dirs_exist_ok=True)
