"""YIWANG_CACHE_URL: every process (every web node) shares one Redis cache; unset, each keeps its own.

Needs Redis on 127.0.0.1:6379 (the machine's service; .ci/run starts it when it is down):
skipped locally where none answers, a failure under CI.
"""

import os
import socket
import subprocess
import sys
import uuid

import pytest

pytestmark = pytest.mark.slow  # each "node" is a fresh process that sets Django up

REDIS = ("127.0.0.1", 6379)


def _redis_answers() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def run_node(code: str, **env) -> str:
    """A fresh process with the production settings, as a web node would start."""
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "yiwang.settings", **env}
    script = "import django; django.setup()\nfrom django.core.cache import caches\ncache = caches['default']\n" + code
    result = subprocess.run(
        [sys.executable, "-c", script], env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


@pytest.fixture
def redis_url():
    if not _redis_answers():
        if os.environ.get("CI"):
            pytest.fail("CI is set but Redis does not answer on 127.0.0.1:6379 (.ci/run starts it)")
        pytest.skip("no Redis on 127.0.0.1:6379")
    return "redis://127.0.0.1:6379/0"


def test_two_nodes_share_the_redis_cache_and_not_each_others_prefix(redis_url, tmp_path):
    prefix = f"yiwang-test-{uuid.uuid4().hex[:8]}"
    node = {"YIWANG_CACHE_URL": redis_url, "YIWANG_CACHE_PREFIX": prefix, "YIWANG_VAR_DIR": str(tmp_path)}
    assert run_node("print(type(cache).__name__); cache.set('grants:7', 'reviewer', 60)", **node) == "RedisCache"
    assert run_node("print(cache.get('grants:7'))", **node) == "reviewer"
    other_install = {**node, "YIWANG_CACHE_PREFIX": prefix + "-other"}
    assert run_node("print(cache.get('grants:7'))", **other_install) == "None"
    run_node("cache.delete('grants:7')", **node)  # an invalidation on one node reaches the others
    assert run_node("print(cache.get('grants:7'))", **node) == "None"


def test_without_a_cache_url_each_process_keeps_its_own(tmp_path):
    env = {"YIWANG_CACHE_URL": "", "YIWANG_VAR_DIR": str(tmp_path)}
    assert run_node("print(type(cache).__name__); cache.set('k', 1)", **env) == "LocMemCache"
    assert run_node("print(cache.get('k'))", **env) == "None"


def test_a_cache_url_of_another_kind_is_refused_at_startup(tmp_path):
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "yiwang.settings",
        "YIWANG_CACHE_URL": "memcached://127.0.0.1:11211",
        "YIWANG_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], env=environment, capture_output=True, text=True
    )
    assert result.returncode != 0 and "YIWANG_CACHE_URL" in result.stderr and "redis://" in result.stderr
