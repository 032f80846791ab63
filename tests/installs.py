"""Separate installations of Yiwang for tests that run its real commands in child processes.

Each `Install` has its own var dir (keys, SQLite file, uploads) and its own database: a SQLite file,
or, when the suite runs on PostgreSQL, a database of its own on the same server.
"""

import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import yiwang

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

    def __init__(self, root: Path, name: str):
        self.var = root / name
        self.var.mkdir()
        self.extra_env: dict[str, str] = {}
        base = _postgres_url()
        if base:
            parts = urlsplit(base)
            self.pg_name = f"yiwang_it_{name}_{os.getpid()}"
            _pg_admin(base, f'DROP DATABASE IF EXISTS "{self.pg_name}"')
            _pg_admin(base, f'CREATE DATABASE "{self.pg_name}"')
            self.database_url = urlunsplit(parts._replace(path=f"/{self.pg_name}"))
        else:
            self.pg_name = None
            self.database_url = f"sqlite:///{self.var / 'yiwang.sqlite3'}"

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
