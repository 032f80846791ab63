"""Two web nodes, no shared disk: one PostgreSQL, one object store (SeaweedFS), one Redis.

A case submitted with its files on node A is accepted, reviewed and decided on node B; a worker
(a third process, its own var dir) issues the license; the applicant downloads the material and
the signed license PDF from node B. Node B also reads through the replica router (its replica
alias is the same database: real streaming replication is the operator's).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection

from yiwang.cases.tests.factories import FORM, build_world
from yiwang.catalog.selectors import required_applicant_materials
from yiwang.core.codes import make_uscc
from yiwang.identity.services import api_token_create, department_update
from yiwang.licenses.tests.test_auto_issue import _define_type

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BIN = Path(sys.executable).parent
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_env(var_dir: Path, object_store: dict, prefix: str) -> dict:
    db = connection.settings_dict  # the test database the suite created (committed rows: transactional test)
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "yiwang.settings",
        "DATABASE_URL": url,
        "YIWANG_VAR_DIR": str(var_dir),
        # Shared by every node of a deployment (README): the keys, never generated per machine.
        "YIWANG_SECRET_KEY": settings.SECRET_KEY,
        "YIWANG_DATA_KEY": settings.DATA_KEY,
        "YIWANG_SEAL_KEY": settings.SEAL_KEY,
        "YIWANG_S3_BUCKET": object_store["bucket"],
        "YIWANG_S3_ENDPOINT_URL": object_store["endpoint_url"],
        "YIWANG_S3_ACCESS_KEY_ID": object_store["access_key"],
        "YIWANG_S3_SECRET_ACCESS_KEY": object_store["secret_key"],
        "YIWANG_S3_REGION": object_store["region"],
        "YIWANG_S3_PREFIX": prefix,
        "YIWANG_CACHE_URL": "redis://127.0.0.1:6379/0",
        "YIWANG_CACHE_PREFIX": prefix,
    }
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return env


def start_node(env: dict, port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [BIN / "yiwang", "serve", "--port", str(port), "--workers", "1", "--no-worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_until_up(base: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 300  # a loaded CI machine has taken over 120 s to boot a node
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"node {base} exited with {proc.returncode}"
        try:
            httpx.get(base + "/api/v1/health", timeout=2)  # not openapi.json: seconds of pydantic per node
            return
        except httpx.TransportError:
            time.sleep(0.5)
    pytest.fail(f"node {base} did not start")


@pytest.fixture
def nodes(tmp_path, object_store):
    from yiwang.core.tests.test_shared_cache import _redis_answers

    if not _redis_answers():
        if os.environ.get("CI"):
            pytest.fail("CI is set but Redis does not answer on 127.0.0.1:6379")
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = f"two-nodes-{uuid.uuid4().hex[:8]}"
    envs = {name: node_env(tmp_path / name, object_store, prefix) for name in ("a", "b", "worker")}
    envs["b"]["YIWANG_REPLICA_DATABASE_URL"] = envs["b"]["DATABASE_URL"]
    for env in envs.values():
        Path(env["YIWANG_VAR_DIR"]).mkdir()
    ports = {"a": free_port(), "b": free_port()}
    procs = {name: start_node(envs[name], ports[name]) for name in ports}
    try:
        bases = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        for name in bases:
            wait_until_up(bases[name], procs[name])
        yield bases, envs
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def test_a_case_crosses_two_nodes_from_submission_to_the_license_pdf(settings, nodes, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    world = build_world()
    department_update(actor=world.tree.root, department=world.tree.city_market, uscc=make_uscc("11320500MB0123456"))
    _define_type(
        world,
        {
            "type": "object",
            "properties": {"business_name": {"type": "string", "title": "名称"}},
            "required": ["business_name"],
        },
    )
    tokens = {
        who: api_token_create(actor=user, user=user, name="two nodes")[1]
        for who, user in (
            ("applicant", world.applicant),
            ("clerk", world.clerk),
            ("reviewer", world.reviewer),
            ("head", world.head),
        )
    }
    required = list(required_applicant_materials(version_id=world.market_item.current_version_id))
    assert required
    bases, envs = nodes

    def call(node: str, who: str, method: str, path: str, **kwargs) -> httpx.Response:
        headers = {"Authorization": f"Bearer {tokens[who]}", "Accept-Language": "zh-hans"}
        return httpx.request(method, bases[node] + "/api/v1" + path, headers=headers, timeout=60, **kwargs)

    # Node A: the applicant submits with the files.
    submitted = call(
        "a",
        "applicant",
        "POST",
        "/cases/with-materials",
        data={
            "application": json.dumps({"item": world.market_item.implementation_code, "form_data": FORM}),
            "requirement_ids": [str(r.pk) for r in required],
        },
        files=[("files", (f"scan{n}.pdf", PDF + bytes([n]), "application/pdf")) for n in range(len(required))],
    )
    assert submitted.status_code == 201, submitted.text
    case = submitted.json()
    case_id, version = case["id"], case["version"]
    assert len(case["materials"]) == len(required)
    assert not any(Path(envs["a"]["YIWANG_VAR_DIR"]).rglob("*.pdf"))  # nothing on node A's disk

    # Node B: accepted, claimed, reviewed and decided.
    for who, path, body in (
        ("clerk", "accept", {}),
        ("reviewer", "claim", {}),
        ("reviewer", "opinion", {"opinion": "符合条件"}),
        ("head", "decide", {"decision": "approve"}),
    ):
        response = call("b", who, "POST", f"/cases/{case_id}/{path}", json={"version": version, **body})
        assert response.status_code == 200, (path, response.text)
        version = response.json()["version"]
    assert response.json()["state"] == "approved"

    # A worker elsewhere runs the queued work: the license is issued (case.approved → licenses).
    worker = subprocess.run(
        [BIN / "yiwang", "worker", "--batch", "--interval", "0"],
        env=envs["worker"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert worker.returncode == 0, worker.stderr[-2000:]

    # Node B: the applicant reads the case, downloads a material and the signed license PDF.
    detail = call("b", "applicant", "GET", f"/cases/{case_id}")
    assert detail.status_code == 200 and detail.json()["state"] == "approved"
    material = detail.json()["materials"][0]
    download = call("b", "applicant", "GET", f"/cases/{case_id}/materials/{material['id']}")
    assert download.status_code == 200 and download.content.startswith(b"%PDF-1.4")
    assert call("b", "clerk", "GET", f"/cases/{case_id}/materials/{material['id']}").status_code == 200
    wallet = call("b", "applicant", "GET", "/licenses/mine")
    assert wallet.status_code == 200 and [lic["type"] for lic in wallet.json()] == ["business_license"]
    pdf = call("b", "applicant", "GET", f"/licenses/mine/{wallet.json()[0]['id']}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and b"/ByteRange" in pdf.content
    # Another citizen gets nothing from either node.
    tokens["other"] = api_token_create(actor=world.other_citizen, user=world.other_citizen, name="x")[1]
    for node in ("a", "b"):
        assert call(node, "other", "GET", f"/cases/{case_id}/materials/{material['id']}").status_code == 404
    assert not any(Path(envs["b"]["YIWANG_VAR_DIR"]).rglob("*.pdf"))  # nor on node B's
