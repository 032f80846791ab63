"""The database rate limiter: counting per key and window, time moved by a fixed clock (never
slept), purge of ended windows, client IPs behind trusted proxies, and the 429 answers."""

import datetime

import pytest
from django.test import RequestFactory

from yiwang.core import ratelimit
from yiwang.core.errors import NotFound, RateLimited
from yiwang.core.models import RateLimitCounter

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    """A fixed clock for the limiter: ``clock.set(minutes=…)`` moves it from 10:00 UTC."""

    class Clock:
        start = datetime.datetime(2025, 9, 30, 10, 0, tzinfo=datetime.UTC)
        now = start

        def set(self, **delta):
            self.now = self.start + datetime.timedelta(**delta)

    fixed = Clock()
    monkeypatch.setattr(ratelimit, "clock", lambda: fixed.now)
    return fixed


@pytest.fixture
def limits(settings):
    settings.YIWANG_RATE_LIMITS = {"t": (3, 900)}


def test_consume_counts_per_key_and_refuses_over_the_limit_until_the_window_ends(clock, limits):
    for _ in range(3):
        ratelimit.consume("t", "1.2.3.4")
    clock.set(minutes=5)
    with pytest.raises(RateLimited) as exc:
        ratelimit.consume("t", "1.2.3.4")
    assert exc.value.status == 429 and exc.value.code == "rate_limited"
    assert exc.value.retry_after == 600  # the 15-minute window ends at 10:15
    assert "10 分钟" in str(exc.value.message)
    ratelimit.consume("t", "5.6.7.8")  # another key is unaffected
    clock.set(minutes=15)  # the next window
    ratelimit.consume("t", "1.2.3.4")
    assert ratelimit.hits("t", "1.2.3.4") == 1


def test_failure_limit_counts_failures_only_and_then_refuses_even_a_success(clock, limits):
    def attempt(ok: bool):
        with ratelimit.failure_limit("t", "N1"):
            if not ok:
                raise NotFound()
            return "found"

    for _ in range(5):
        assert attempt(True) == "found"  # successes are not counted
    for _ in range(3):
        with pytest.raises(NotFound):
            attempt(False)
    with pytest.raises(RateLimited):
        attempt(True)
    clock.set(minutes=16)
    assert attempt(True) == "found"


def test_keys_are_stored_as_digests_and_ended_windows_are_purged(clock, limits):
    ratelimit.hit("t", "203.0.113.9")
    row = RateLimitCounter.objects.get()
    assert "203.0.113.9" not in row.key and len(row.key) == 64 and row.count == 1
    clock.set(minutes=31)
    ratelimit.hit("t", "198.51.100.1")  # a new window row: the ended one goes
    assert RateLimitCounter.objects.count() == 1


def test_a_limit_of_zero_switches_the_rule_off(clock, settings):
    settings.YIWANG_RATE_LIMITS = {"t": (0, 60)}
    for _ in range(10):
        ratelimit.consume("t", "k")
    assert RateLimitCounter.objects.count() == 0


def test_client_ip_believes_forwarded_for_only_from_trusted_proxies(settings):
    factory = RequestFactory()
    forged = factory.get("/", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert ratelimit.client_ip(forged) == "203.0.113.5"  # no trusted proxy configured
    settings.YIWANG_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert ratelimit.client_ip(forged) == "203.0.113.5"  # REMOTE_ADDR is not a trusted proxy
    proxied = factory.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.1.1.1, 198.51.100.7, 10.0.0.3")
    assert ratelimit.client_ip(proxied) == "198.51.100.7"  # the right-most untrusted hop; 1.1.1.1 may be forged
    garbage = factory.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-ip")
    assert ratelimit.client_ip(garbage) == "10.0.0.2"


def test_license_verification_is_limited_per_ip_on_the_page_and_the_api(client, settings, clock):
    settings.YIWANG_RATE_LIMITS = {"license_verify_ip": (2, 60)}
    for _ in range(2):
        assert client.get("/verify/1.2.156.3005.2.nothing").status_code == 404
    page = client.get("/verify/1.2.156.3005.2.nothing")
    assert page.status_code == 429 and "操作过于频繁" in page.content.decode()
    assert page["Retry-After"] == "60"
    api = client.get("/api/v1/licenses/verify/1.2.156.3005.2.nothing")
    assert api.status_code == 429 and api["Retry-After"] == "60"
    assert api.json()["code"] == "rate_limited" and set(api.json()) == {"code", "message", "fields"}
    other = client.get("/api/v1/licenses/verify/1.2.156.3005.2.nothing", REMOTE_ADDR="192.0.2.44")
    assert other.status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_hits_from_many_connections_are_all_counted(settings):
    """Eight connections (as eight gunicorn workers would) hit one key at once, including the
    window's first hit: no hit is lost and exactly one window row exists."""
    import threading

    from django.db import connections

    settings.YIWANG_RATE_LIMITS = {"t": (1000, 3600)}
    start = threading.Barrier(8)

    def worker():
        try:
            start.wait(10)
            for _ in range(5):
                ratelimit.hit("t", "shared")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert ratelimit.hits("t", "shared") == 40
    assert RateLimitCounter.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_failing_guesses_cannot_all_pass_the_failure_limit(settings):
    """Eight connections guess one number at once, each failing: the attempt is counted before
    the guess runs, so at most ``limit`` of them reach the lookup (a check made before counting
    would let all eight through)."""
    import threading

    from django.db import connections

    settings.YIWANG_RATE_LIMITS = {"t": (3, 3600)}
    start = threading.Barrier(8)
    inside = []
    refused = []

    def worker():
        try:
            start.wait(10)
            with ratelimit.failure_limit("t", "N1"):
                inside.append(1)
                raise NotFound()
        except NotFound:
            pass
        except RateLimited:
            refused.append(1)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(inside) <= 3 and len(inside) + len(refused) == 8
    assert ratelimit.hits("t", "N1") == len(inside)  # refused attempts took their hit back


def test_a_success_takes_its_hit_back_so_the_counter_holds_failures_only(clock, limits):
    with ratelimit.failure_limit("t", "N2"):
        pass
    with pytest.raises(ValueError), ratelimit.failure_limit("t", "N2"):
        raise ValueError("not a counted failure")
    with pytest.raises(NotFound), ratelimit.failure_limit("t", "N2", counts=lambda exc: False):
        raise NotFound()
    assert ratelimit.hits("t", "N2") == 0
    with pytest.raises(NotFound), ratelimit.failure_limit("t", "N2"):
        raise NotFound()
    assert ratelimit.hits("t", "N2") == 1


def test_an_unknown_scope_is_a_configuration_error_even_where_the_decorator_is_applied(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.YIWANG_RATE_LIMITS = {"t": (3, 900)}
    with pytest.raises(ImproperlyConfigured, match="license_verfy_ip"):
        ratelimit.consume("license_verfy_ip", "1.2.3.4")
    with pytest.raises(ImproperlyConfigured):
        ratelimit.rate_limit("license_verfy_ip")  # fails at import, before any request
    assert ratelimit.limit_for("license_verify_ip") == (120, 60)  # the default of a known scope
    assert RateLimitCounter.objects.count() == 0


def test_a_malformed_rate_limit_setting_names_the_variable_and_the_bad_part(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from yiwang import settings as project_settings

    monkeypatch.setenv("YIWANG_RATE_LIMITS", "t=3/900,case_progress_number=5")
    with pytest.raises(ImproperlyConfigured, match=r"YIWANG_RATE_LIMITS.*case_progress_number=5"):
        project_settings._rate_limits("YIWANG_RATE_LIMITS")
    monkeypatch.setenv("YIWANG_RATE_LIMITS", "t=3/900, u=0/60")
    assert project_settings._rate_limits("YIWANG_RATE_LIMITS") == {"t": (3, 900), "u": (0, 60)}


def test_opening_presentation_codes_is_limited_per_ip_like_the_verify_page(client, settings, clock):
    settings.YIWANG_RATE_LIMITS = {"license_verify_ip": (2, 60)}
    for _ in range(2):
        assert client.get("/api/v1/licenses/presentations/NOSUCHCODE").status_code == 404
    api = client.get("/api/v1/licenses/presentations/NOSUCHCODE")
    assert api.status_code == 429 and api["Retry-After"] == "60" and api.json()["code"] == "rate_limited"
    other = client.get("/api/v1/licenses/presentations/NOSUCHCODE", REMOTE_ADDR="192.0.2.44")
    assert other.status_code == 404
