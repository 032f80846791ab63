"""Payments test fixtures: the cases test world with a fee on the 市场监管局 item, an accepted case
with a bill, and the payment simulator as a real separate process (``yiwang paysim``)."""

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from yiwang.cases import services as case_services
from yiwang.cases.tests.factories import FORM, attach_required, build_world

FEE = {"name": "营业执照工本费", "amount": "每证 20 元", "basis": "示范收费依据", "exemptions": ""}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def add_fee(world) -> None:
    """Publish a new guide version of the market item naming a fee (through the catalog services)."""
    from yiwang.catalog.services import item_publish, item_save_draft
    from yiwang.catalog.tests.factories import item_data

    item_save_draft(
        actor=world.tree.root,
        data=item_data(
            fees=[FEE],
            promised_time_limit=10,
            statutory_time_limit=20,
            process=[
                {"name": "受理", "role": "window_clerk"},
                {"name": "审查", "role": "reviewer"},
                {"name": "决定", "role": "department_head"},
            ],
        ),
    )
    item_publish(actor=world.tree.root, item=world.market_item)
    world.market_item.refresh_from_db()


def accepted_case(world, applicant=None):
    case, _created = case_services.case_submit(
        actor=applicant or world.applicant, item=world.market_item, form_data=FORM
    )
    case = attach_required(case)
    return case_services.case_accept(actor=world.clerk, case_id=case.pk)


@pytest.fixture
def world(db):
    from yiwang.core.codes import make_uscc
    from yiwang.identity.services import department_update

    world = build_world()
    add_fee(world)
    # The collecting department seals receipts: its seal needs its 统一社会信用代码.
    department_update(actor=world.tree.root, department=world.tree.city_market, uscc=make_uscc("11320500MB0123456"))
    return world


def start_paysim(key_file) -> tuple[subprocess.Popen, str, str]:
    """Start ``yiwang paysim`` on a free port; (process, base URL, public key)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "yiwang.settings"}
    process = subprocess.Popen(
        [sys.executable, "-m", "yiwang", "paysim", "--port", "0", "--key-file", str(key_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    seen = []  # Django's system-check warnings (e.g. a holiday year not entered yet) may come first
    first = process.stdout.readline()
    while first and "listening on" not in first and len(seen) < 50:
        seen.append(first)
        first = process.stdout.readline()
    second = process.stdout.readline()
    if "listening on" not in first:
        process.kill()
        raise RuntimeError(f"paysim did not start: {''.join(seen)}{first}{second}{process.stdout.read()}")
    url = "http://" + first.strip().rsplit(" ", 1)[1]
    public_key = second.strip().rsplit(" ", 1)[1]
    for _ in range(50):
        try:
            urllib.request.urlopen(url + "/health", timeout=1).read()  # noqa: S310
            break
        except OSError:
            time.sleep(0.1)
    return process, url, public_key


@pytest.fixture(scope="session")
def paysim(tmp_path_factory):
    process, url, public_key = start_paysim(tmp_path_factory.mktemp("paysim") / "paysim.key")
    yield url, public_key
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def channel(settings, paysim, live_server):
    """The platform wired to the live simulator, and the simulator's callbacks to the live server."""
    url, public_key = paysim
    settings.YIWANG_PAYMENTS = {
        "channel": "paysim",
        "paysim_url": url,
        "paysim_public_key": public_key,
        "paysim_key_file": "",
    }
    settings.SITE_URL = live_server.url
    return url


@pytest.fixture
def own_channel(settings, live_server, tmp_path):
    """A simulator process of its own (empty books: the statement holds only this test's orders)."""
    process, url, public_key = start_paysim(tmp_path / "paysim.key")
    settings.YIWANG_PAYMENTS = {
        "channel": "paysim",
        "paysim_url": url,
        "paysim_public_key": public_key,
        "paysim_key_file": "",
    }
    settings.SITE_URL = live_server.url
    yield url
    process.terminate()
    process.wait(timeout=10)
