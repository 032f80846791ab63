"""yiwang.E003: a deployment set up for several machines must take its keys from the environment."""

import pytest

from yiwang.core.checks import SHARED_KEYS, check_keys_of_a_multi_node_deployment


@pytest.fixture
def keys_from_files(monkeypatch):
    for name in SHARED_KEYS:
        monkeypatch.delenv(name, raising=False)


def test_one_machine_may_keep_generated_keys(settings, keys_from_files):
    settings.YIWANG_S3_BUCKET, settings.YIWANG_CACHE_URL, settings.YIWANG_READ_REPLICA = "", "", None
    assert check_keys_of_a_multi_node_deployment() == []


@pytest.mark.parametrize(
    "setting", [("YIWANG_S3_BUCKET", "yiwang"), ("YIWANG_CACHE_URL", "redis://x/0"), ("YIWANG_READ_REPLICA", "replica")]
)
def test_several_machines_need_the_keys_in_the_environment(settings, keys_from_files, monkeypatch, setting):
    settings.YIWANG_S3_BUCKET, settings.YIWANG_CACHE_URL, settings.YIWANG_READ_REPLICA = "", "", None
    setattr(settings, *setting)
    (error,) = check_keys_of_a_multi_node_deployment()
    assert error.id == "yiwang.E003" and all(name in error.msg for name in SHARED_KEYS)
    monkeypatch.setenv("YIWANG_SECRET_KEY", "s")
    monkeypatch.setenv("YIWANG_DATA_KEY", "d")
    (error,) = check_keys_of_a_multi_node_deployment()
    assert "YIWANG_SEAL_KEY" in error.msg and "YIWANG_DATA_KEY" not in error.msg
    monkeypatch.setenv("YIWANG_SEAL_KEY", "k")
    assert check_keys_of_a_multi_node_deployment() == []
