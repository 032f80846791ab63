"""跨省通办 between two installations over the signed API, each with its own database.

Installation A is this test's live server on the test database; installation B is a separate
``yiwang serve`` process (web and background worker) on a database of its own — a second SQLite
file, or a second PostgreSQL database — migrated by ``yiwang migrate`` and filled by B's own
process (``installation_b``): the two share nothing but HTTP. A's window clerk forwards over A's
API, signed with the credential B's exchange issued to A; B checks credential and signature,
creates the case on its own item's form and accepts it; B's staff decide over B's API; B's worker
calls A back with the result, signed with the credential A's exchange issued to B. Forged,
unsigned and unknown requests are refused on both sides."""

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.db import connection

from yiwang.cases.models import CaseState
from yiwang.cases.tests.factories import FORM, ID_NUMBER, PDF
from yiwang.channels import peers, services
from yiwang.channels.models import RemoteForward
from yiwang.channels.tests.conftest import free_port
from yiwang.core.models import AuditEvent
from yiwang.exchange.services import consumer_system_create
from yiwang.identity.services import api_token_create

BIN = Path(sys.executable).parent
A_ON_B, A_SECRET = "ywx_peer_a", "Peer-A-Secret-2026-xyz"  # issued by B's exchange to A
B_ON_A, B_SECRET = "ywx_peer_b", "Peer-B-Secret-2026-abc"  # issued by A's exchange to B


def _b_database(tmp_path: Path) -> str:
    """B's own, empty database: a second SQLite file, or a second PostgreSQL database beside the
    test database (dropped and created afresh)."""
    db = connection.settings_dict
    if connection.vendor != "postgresql":
        return f"sqlite:///{tmp_path / 'b.sqlite3'}"
    import psycopg

    name = f"{db['NAME']}_b"
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    user = db.get("USER") or "postgres"
    password = db.get("PASSWORD") or None
    with psycopg.connect(host=host, port=port, user=user, password=password, dbname="postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}"')
        c.execute(f'CREATE DATABASE "{name}"')
    secret = f":{password}" if password else ""
    return f"postgres://{user}{secret}@{host}:{port}/{name}"


def _b_env(tmp_path: Path, database_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YIWANG_", "DJANGO_", "PYTEST"))}
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "yiwang.settings",
        "DATABASE_URL": database_url,
        "YIWANG_VAR_DIR": str(tmp_path),  # B's own keys are made there on first start
        "PEER_A_CLIENT_ID": A_ON_B,
        "PEER_A_SECRET": A_SECRET,
        "PEER_B_CLIENT_ID": B_ON_A,
        "PEER_B_SECRET": B_SECRET,
    }


def build_b(tmp_path: Path, a_url: str) -> tuple[dict, dict]:
    env = _b_env(tmp_path, _b_database(tmp_path))
    subprocess.run([str(BIN / "yiwang"), "migrate", "--noinput"], env=env, check=True, capture_output=True)
    done = subprocess.run(
        [sys.executable, "-m", "yiwang.channels.tests.installation_b", a_url],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return env, json.loads(done.stdout.strip().splitlines()[-1])


def start_b(env: dict, port: int) -> subprocess.Popen:
    # A loaded test machine can take longer than gunicorn's 30 s worker timeout to import the
    # application: the worker would be killed and restarted for ever.
    return subprocess.Popen(
        [str(BIN / "yiwang"), "serve", "--port", str(port), "--workers", "1"],
        env={**env, "GUNICORN_CMD_ARGS": "--timeout 600"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_up(base: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"installation B exited with {proc.returncode}"
        try:
            httpx.get(base + "/api/v1/health", timeout=120)  # any answer: up (no OpenAPI build)
            return
        except httpx.TransportError:
            time.sleep(0.5)
    pytest.fail("installation B did not start")


def wait_for(predicate, seconds: float = 300) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_forward_between_two_installations(live_server, world, tmp_path):
    w = world.base
    root = w.tree.root
    port = free_port()
    b_url = f"http://127.0.0.1:{port}"
    # A: its exchange issues B a credential (for B's result call-backs); where 320505 is handled.
    consumer_system_create(actor=None, department=w.tree.wuzhong, name="B 平台回告", client_id=B_ON_A, secret=B_SECRET)
    services.peer_save(
        actor=root,
        code="B",
        name="B 省一网",
        region_prefix="320505",
        base_url=b_url,
        client_id=A_ON_B,
        client_secret=A_SECRET,
        inbound_client_id=B_ON_A,
    )
    (tmp_path / "b").mkdir()
    env, b = build_b(tmp_path / "b", live_server.url)
    _token, token = api_token_create(actor=world.wuzhong_clerk, user=world.wuzhong_clerk, name="window")
    a_api = f"{live_server.url}/api/v1/channels/remote-forwards"
    auth = {"Authorization": f"Bearer {token}"}
    proc = start_b(env, port)
    try:
        wait_up(b_url, proc)
        body = {
            "region_code": "320505",
            "item_code": b["item_code"],
            "applicant_name": "张三",
            "applicant_id_number": ID_NUMBER,
            "applicant_phone": "13812345678",
            "form_data": FORM,
            "materials": [
                {"requirement": name, "filename": "scan.pdf", "content_base64": base64.b64encode(PDF).decode()}
                for name in b["materials"]
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

        # The case lives in B's database only; B's own staff see it over B's API.
        b_case_id = RemoteForward.objects.get().remote_case_id
        reviewer = {"Authorization": f"Bearer {b['reviewer_token']}"}
        head = {"Authorization": f"Bearer {b['head_token']}"}
        seen = httpx.get(f"{b_url}/api/v1/cases/{b_case_id}", headers=reviewer, timeout=30)
        assert seen.status_code == 200, seen.text
        assert seen.json()["number"] == answer["remote_case_number"] and seen.json()["state"] == CaseState.ACCEPTED
        assert not _case_in_a(answer["remote_case_number"])  # not in A's database

        # B decides over B's API; B's worker calls A back with the result, signed.
        for url, who, payload in (
            (f"/api/v1/cases/{b_case_id}/claim", reviewer, {}),
            (f"/api/v1/cases/{b_case_id}/opinion", reviewer, {"opinion": "符合条件"}),
            (f"/api/v1/cases/{b_case_id}/decide", head, {"decision": "approve"}),
        ):
            done = httpx.post(b_url + url, json=payload, headers=who, timeout=60)
            assert done.status_code == 200, (url, done.text)
        assert wait_for(lambda: RemoteForward.objects.get().result_received_at is not None), "no call-back from B"
        forward = RemoteForward.objects.get()
        assert forward.remote_state == CaseState.APPROVED
        result = AuditEvent.objects.get(action="channels.remote_forward_result")
        assert result.actor_repr == "peer:B"
        assert result.changes["remote_state"] == [CaseState.ACCEPTED, CaseState.APPROVED]
        # Asking still works (the pull the first version had).
        refreshed = httpx.post(f"{a_api}/{answer['id']}/refresh", headers=auth, timeout=60)
        assert refreshed.status_code == 200 and refreshed.json()["remote_state"] == CaseState.APPROVED

        # B refuses what is not signed with A's credential.
        inbound = f"{b_url}/api/v1/channels/inbound/forwards"
        raw = json.dumps({"reference": "z", "item_code": "x", "applicant": {}}).encode()
        assert httpx.post(inbound, content=raw, timeout=30).status_code == 401
        forged = peers.signed_headers(A_ON_B, A_SECRET, raw)
        forged["X-Yiwang-Signature"] = "0" * 64
        refused = httpx.post(inbound, content=raw, headers=forged, timeout=30)
        assert refused.status_code == 403 and refused.json()["code"] == "peer_signature"
        wrong = httpx.post(
            inbound, content=raw, headers=peers.signed_headers(A_ON_B, "wrong-secret-000000", raw), timeout=30
        )
        assert wrong.status_code == 401
        # A refuses a result call-back not signed by B, or for a forward it never sent.
        results = f"{live_server.url}/api/v1/channels/inbound/results"
        fake = json.dumps({"reference": "a-0001", "case_number": answer["remote_case_number"], "state": "rejected"})
        bad = peers.signed_headers(B_ON_A, B_SECRET, fake.encode())
        bad["X-Yiwang-Signature"] = "f" * 64
        assert httpx.post(results, content=fake, headers=bad, timeout=30).status_code == 403
        assert httpx.post(results, content=fake, timeout=30).status_code == 401
        other = json.dumps({"reference": "nope", "case_number": "X", "state": "rejected"}).encode()
        missing = httpx.post(results, content=other, headers=peers.signed_headers(B_ON_A, B_SECRET, other), timeout=30)
        assert missing.status_code == 404 and missing.json()["code"] == "forward_not_found"
        assert RemoteForward.objects.get().remote_state == CaseState.APPROVED  # nothing forged took hold
        refusals = AuditEvent.objects.filter(action="channels.inbound_refused").values_list("changes", flat=True)
        assert sorted(c["code"] for c in refusals) == ["forward_not_found", "not_authenticated", "peer_signature"]
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


def _case_in_a(number: str) -> bool:
    from yiwang.cases.models import Case

    return Case.objects.filter(number=number).exists()
