"""Browser tests: real Chromium from the system (/usr/bin/chromium) driven by Playwright's sync API.

Never ``playwright install``: the browser comes from the distribution. Where it is missing the
tests skip, except under CI (env ``CI`` set), where a missing browser is a failure.
"""

import os
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = Path(os.environ.get("YIWANG_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}

# Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make to set
# up data are ordinary blocking calls, so tell Django they are intended.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config, items):
    """No browser: skip locally; under CI let the ``browser`` fixture fail loudly instead."""
    if CHROMIUM.exists() or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason=f"no browser at {CHROMIUM} (under CI this is an error)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"CI is set but there is no browser at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class RequestLog:
    """Every request the pages make; the tests assert none leaves this machine."""

    def __init__(self):
        self.urls: list[str] = []

    def __call__(self, request):
        self.urls.append(request.url)

    def foreign(self) -> list[str]:
        return [
            url
            for url in self.urls
            if urlparse(url).scheme in {"http", "https", "ws", "wss"} and urlparse(url).hostname not in LOCAL_HOSTS
        ]


@pytest.fixture
def requests_seen():
    return RequestLog()


@pytest.fixture
def new_page(browser, requests_seen):
    """Open a page in a fresh browser context (own cookies) at a given width."""
    contexts = []

    def open_page(width: int = 375, height: int = 800):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("request", requests_seen)
        return page

    yield open_page
    for context in contexts:
        context.close()
