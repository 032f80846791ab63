"""办件进度查询 against guessing: the last four digits are only 10,000 guesses, so after 5
failed lookups of one case number in 15 minutes that number is locked for the window — even
the right digits, from any IP — while other numbers work. Page and API alike."""

import pytest
from django.test import Client

from yiwang.cases import services
from yiwang.cases.tests.factories import FORM, ID_NUMBER

API = "/api/v1/cases/progress"
PAGE = "/cases/progress/"


@pytest.fixture
def two_cases(world, at):
    at(2025, 9, 30, 10, 0)
    mine = services.case_submit(actor=world.applicant, item=world.market_item, form_data=FORM)[0]
    other = services.case_submit(actor=world.other_citizen, item=world.market_item, form_data=FORM)[0]
    return mine, other


@pytest.mark.parametrize("url", [API, PAGE])
def test_the_sixth_guess_is_refused_even_when_right(world, two_cases, at, url):
    case, other = two_cases
    right = ID_NUMBER[-4:]
    attacker = Client(REMOTE_ADDR="203.0.113.10")
    for guess in ("0000", "0001", "0002", "0003", "0004"):
        assert attacker.get(url, {"number": case.number, "last4": guess}).status_code == 404
    refused = attacker.get(url, {"number": case.number, "last4": right})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) == 900
    if url == API:
        assert refused.json()["code"] == "rate_limited" and "分钟后再试" in refused.json()["message"]
    else:
        assert "操作过于频繁" in refused.content.decode() and "分钟后再试" in refused.content.decode()

    # Another number is unaffected; another IP is still refused for this number.
    other_tail = world.other_citizen.id_number[-4:]
    assert attacker.get(url, {"number": other.number, "last4": other_tail}).status_code == 200
    applicant = Client(REMOTE_ADDR="198.51.100.20")
    assert applicant.get(url, {"number": case.number, "last4": right}).status_code == 429

    at(2025, 9, 30, 10, 14, 59)
    assert int(applicant.get(url, {"number": case.number, "last4": right})["Retry-After"]) == 1
    at(2025, 9, 30, 10, 15)  # the window is over
    ok = applicant.get(url, {"number": case.number, "last4": right})
    assert ok.status_code == 200 and "已提交" in ok.content.decode()


def test_successful_lookups_are_not_counted_against_the_number(two_cases):
    case, _other = two_cases
    client = Client()
    for _ in range(8):
        assert client.get(API, {"number": case.number, "last4": ID_NUMBER[-4:]}).status_code == 200
    assert client.get(API, {"number": case.number, "last4": "9999"}).status_code == 404


def test_lookups_are_limited_per_client_ip(two_cases, settings):
    settings.YIWANG_RATE_LIMITS = {"case_progress_ip": (3, 900)}
    case, _other = two_cases
    client = Client(REMOTE_ADDR="203.0.113.77")
    for _ in range(3):
        assert client.get(API, {"number": case.number, "last4": ID_NUMBER[-4:]}).status_code == 200
    assert client.get(PAGE, {"number": case.number, "last4": ID_NUMBER[-4:]}).status_code == 429
    neighbour = Client(REMOTE_ADDR="203.0.113.78")
    assert neighbour.get(PAGE, {"number": case.number, "last4": ID_NUMBER[-4:]}).status_code == 200
    assert client.get(PAGE).status_code == 200  # the empty form itself is not a lookup


def test_behind_a_trusted_proxy_the_forwarded_client_is_limited(two_cases, settings):
    settings.YIWANG_RATE_LIMITS = {"case_progress_ip": (1, 900)}
    settings.YIWANG_TRUSTED_PROXIES = ["10.0.0.1"]
    case, _other = two_cases
    proxy = Client(REMOTE_ADDR="10.0.0.1")
    query = {"number": case.number, "last4": ID_NUMBER[-4:]}
    assert proxy.get(API, query, HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 200
    assert proxy.get(API, query, HTTP_X_FORWARDED_FOR="203.0.113.2").status_code == 200
    assert proxy.get(API, query, HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 429
