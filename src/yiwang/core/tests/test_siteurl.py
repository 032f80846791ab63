"""The public URL in QR codes follows configuration, and a mismatch with how the server is reached is said."""

import logging

import pytest

from yiwang.core import siteurl


def test_serve_derives_site_url_from_the_port_unless_configured(monkeypatch):
    monkeypatch.delenv("YIWANG_SITE_URL", raising=False)
    assert siteurl.serve_site_url("127.0.0.1", 8123) == "http://127.0.0.1:8123"
    assert siteurl.serve_site_url("0.0.0.0", 8123) is None  # noqa: S104 - a wildcard bind has no public name
    monkeypatch.setenv("YIWANG_SITE_URL", "https://zwfw.example.gov.cn")
    assert siteurl.serve_site_url("127.0.0.1", 8123) is None


def test_bind_mismatch_warns_only_when_the_qr_would_point_elsewhere():
    assert siteurl.bind_mismatch("127.0.0.1", 8000, "http://127.0.0.1:8000") is None
    assert siteurl.bind_mismatch("localhost", 8000, "http://127.0.0.1:8000/") is None
    warning = siteurl.bind_mismatch("127.0.0.1", 8123, "http://127.0.0.1:8000")
    assert warning and "8123" in warning and "YIWANG_SITE_URL" in warning
    assert siteurl.bind_mismatch("0.0.0.0", 8000, "https://zwfw.example.gov.cn") is None  # noqa: S104


def test_request_mismatch():
    assert siteurl.request_mismatch("http", "127.0.0.1:8000", "http://127.0.0.1:8000") is None
    assert siteurl.request_mismatch("https", "zwfw.example.gov.cn", "https://zwfw.example.gov.cn/") is None
    assert "192.168.1.5:8000" in siteurl.request_mismatch("http", "192.168.1.5:8000", "http://127.0.0.1:8000")


@pytest.mark.django_db
def test_a_request_under_another_address_is_logged_once(client, settings, caplog):
    settings.SITE_URL = "http://127.0.0.1:8000"
    settings.ALLOWED_HOSTS = ["*"]
    siteurl._warned.clear()
    with caplog.at_level(logging.WARNING, logger="yiwang.siteurl"):
        client.get("/", HTTP_HOST="10.0.0.7:9000")
        client.get("/", HTTP_HOST="10.0.0.7:9000")
    assert [r.getMessage() for r in caplog.records if "10.0.0.7:9000" in r.getMessage()].__len__() == 1


def test_license_qr_uses_the_configured_site_url(settings):
    from types import SimpleNamespace

    from yiwang.licenses.services import verify_url

    settings.SITE_URL = "http://127.0.0.1:8123"
    fake = SimpleNamespace(identifier="1.2.3", signature="00" * 64)
    assert verify_url(fake).startswith("http://127.0.0.1:8123/verify/1.2.3?s=")
