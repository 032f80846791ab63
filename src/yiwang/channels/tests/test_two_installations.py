"""跨省通办 between two installations over the signed API: installation A is the live server of
this test, installation B a separate ``yiwang serve`` process (its own process and settings
module, the same database file: the two installations' rows never meet but through HTTP). A's
window clerk forwards over A's API; A signs the request with the exchange credential B issued to
it; B checks credential and signature, creates the case on its own item's form, accepts and
forwards it; B decides; A reads the state back. Forged, unsigned and unknown requests are refused."""

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection

from yiwang.cases import services as case_services
from yiwang.cases.models import Case, CaseState
from yiwang.cases.tests.factories import FORM, ID_NUMBER, PDF
from yiwang.channels import peers, services
from yiwang.channels.models import CrossRegionForward, RemoteForward
from yiwang.channels.tests.conftest import free_port
from yiwang.core.models import AuditEvent
from yiwang.exchange.services import consumer_system_create
from yiwang.identity.models import Role
from yiwang.identity.services import api_token_create
from yiwang.identity.tests.tree import make_staff

BIN = Path(sys.executable).parent
CLIENT_ID, SECRET = "ywx_peer_a", "Peer-A-Secret-2026-xyz"


def _test_database_url() -> str:
    """The test database itself (B is a second process on the same data), SQLite or PostgreSQL."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        user = db.get("USER") or "postgres"
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    return f"sqlite:///{db['NAME']}"


def start_b(tmp_path: Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "yiwang.settings",
        "DATABASE_URL": _test_database_url(),
        "YIWANG_VAR_DIR": str(tmp_path),
        "YIWANG_SECRET_KEY": settings.SECRET_KEY,
        "YIWANG_DATA_KEY": settings.DATA_KEY,
        "YIWANG_SEAL_KEY": settings.SEAL_KEY,
    }
    return subprocess.Popen(
        [str(BIN / "yiwang"), "serve", "--port", str(port), "--workers", "1", "--no-worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_up(base: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"installation B exited with {proc.returncode}"
        try:
            httpx.get(base + "/api/v1/openapi.json", timeout=5)
            return
        except httpx.TransportError:
            time.sleep(0.5)
    pytest.fail("installation B did not start")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_forward_between_two_installations(live_server, world, tmp_path):
    w = world.base
    root = w.tree.root
    # B: its exchange issues A a consuming-system credential; its window account for A's windows.
    consumer_system_create(
        actor=None, department=w.tree.wuzhong, name="A 平台跨省通办", client_id=CLIENT_ID, secret=SECRET
    )
    b_window = make_staff("b_window_for_a", real_name="代收窗口(A 平台)")
    w.tree.grant(b_window, Role.WINDOW_CLERK, w.tree.wuzhong)
    services.peer_save(actor=root, code="A", name="A 省一网", client_id=CLIENT_ID, inbound_clerk=b_window)
    port = free_port()
    b_url = f"http://127.0.0.1:{port}"
    # A: where region 320505 is handled, and the credential.
    services.peer_save(
        actor=root,
        code="B",
        name="B 省一网",
        region_prefix="320505",
        base_url=b_url,
        client_id=CLIENT_ID,
        client_secret=SECRET,
    )
    _token, token = api_token_create(actor=world.wuzhong_clerk, user=world.wuzhong_clerk, name="window")
    a_api = f"{live_server.url}/api/v1/channels/remote-forwards"
    auth = {"Authorization": f"Bearer {token}"}
    (tmp_path / "b").mkdir()
    proc = start_b(tmp_path / "b", port)
    try:
        wait_up(b_url, proc)
        body = {
            "region_code": "320505",
            "item_code": world.county_item.implementation_code,
            "applicant_name": "张三",
            "applicant_id_number": ID_NUMBER,
            "applicant_phone": "13812345678",
            "form_data": FORM,
            "materials": [
                {"requirement": name, "filename": "scan.pdf", "content_base64": base64.b64encode(PDF).decode()}
                for name in world.county_item.current_version.materials.filter(
                    source="applicant", requirement="required"
                ).values_list("name", flat=True)
            ],
            "idempotency_key": "a-0001",
        }
        unknown = httpx.post(a_api, json={**body, "region_code": "110101"}, headers=auth, timeout=60)
        assert unknown.status_code == 422 and unknown.json()["code"] == "region_unknown"
        no_item = httpx.post(
            a_api, json={**body, "item_code": "NO-SUCH-0001", "idempotency_key": "a-x"}, headers=auth, timeout=60
        )
        assert no_item.status_code == 404 and no_item.json()["code"] == "item_unknown"

        sent = httpx.post(a_api, json=body, headers=auth, timeout=120)
        assert sent.status_code == 201, sent.text
        answer = sent.json()
        assert answer["peer"] == "B" and answer["remote_state"] == CaseState.ACCEPTED
        again = httpx.post(a_api, json=body, headers=auth, timeout=120)  # a double click: the same forward
        assert again.json()["id"] == answer["id"] and RemoteForward.objects.count() == 1

        case = Case.objects.get(number=answer["remote_case_number"])
        assert case.department_id == w.tree.huqiu_market.pk and case.received_by_id == b_window.pk
        assert case.applicant.id_number == ID_NUMBER and case.state == CaseState.ACCEPTED
        assert CrossRegionForward.objects.get(case=case).receiving_region == "320506"
        assert AuditEvent.objects.filter(action="channels.inbound_forward").count() == 1

        # B decides; A reads the state back over the signed API.
        case_services.case_claim(actor=world.huqiu_reviewer, case_id=case.pk)
        case_services.case_record_opinion(actor=world.huqiu_reviewer, case_id=case.pk, opinion="符合条件")
        case_services.case_decide(actor=world.huqiu_head, case_id=case.pk, decision="approve")
        refreshed = httpx.post(f"{a_api}/{answer['id']}/refresh", headers=auth, timeout=60)
        assert refreshed.status_code == 200 and refreshed.json()["remote_state"] == CaseState.APPROVED

        # B refuses what is not signed with A's credential.
        inbound = f"{b_url}/api/v1/channels/inbound/forwards"
        raw = json.dumps({"reference": "z", "item_code": "x", "applicant": {}}).encode()
        assert httpx.post(inbound, content=raw, timeout=30).status_code == 401
        forged = peers.signed_headers(CLIENT_ID, SECRET, raw)
        forged["X-Yiwang-Signature"] = "0" * 64
        refused = httpx.post(inbound, content=raw, headers=forged, timeout=30)
        assert refused.status_code == 403 and refused.json()["code"] == "peer_signature"
        wrong = httpx.post(
            inbound, content=raw, headers=peers.signed_headers(CLIENT_ID, "wrong-secret-000000", raw), timeout=30
        )
        assert wrong.status_code == 401
        refusals = AuditEvent.objects.filter(action="channels.inbound_refused").values_list("changes", flat=True)
        assert [c["code"] for c in refusals] == [
            "item_unknown",
            "not_authenticated",
            "peer_signature",
            "not_authenticated",
        ]
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=20)
