"""Crash safety: SIGKILL the web server and the task worker in the middle of a load, restart them.

Several client threads submit cases with files (each with its own idempotency key) and drive them
through acceptance, review, decision and delivery over HTTP against gunicorn, while `yiwang worker`
runs the event tasks (messages to the applicant). Mid-load, the whole gunicorn process group and the
worker are killed with SIGKILL — no cleanup, no atexit — and started again. A client whose request
died with the server resends it, the same way, until it gets an answer.

Then, read from the database and the storage directly:
* every acknowledged submission is there exactly once, and every resend got the same case back;
* no case is half-written: each has its number, its material row and the file on disk, and its
  state is no earlier than the last step the client saw acknowledged;
* the audit chain verifies (`yiwang integrity`);
* every queued task ran (a task the worker died in is picked up again after its lease), and each
  message to the applicant exists once and was delivered once.
"""

import contextlib
import json
import os
import signal
import threading
import time
import uuid
from collections import defaultdict

import httpx
import pytest

from tests.installs import Install, free_port

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"0" * 2000
THREADS = 6
KILL_AFTER = 5.0  # seconds of load before the kill
LOAD_AFTER_RESTART = 6.0

SETUP = """
import json
from bench.cases_worker import setup
print(json.dumps(setup({"existing": 0})))
"""

# Each step: (name, who, path suffix, JSON body, the case state it leads to).
STEPS = [
    ("accept", "clerk", "accept", {}, "accepted"),
    ("review", "reviewer", "opinion", {"opinion": "符合条件"}, None),
    ("approve", "reviewer", "decide", {"decision": "approve"}, "approved"),
    ("deliver", "clerk", "deliver", {"method": "electronic"}, "delivered"),
]
STATE_ORDER = ["submitted", "accepted", "under_review", "approved", "delivered"]


class Server:
    def __init__(self, install: Install):
        self.install = install
        self.port = free_port()
        self.web = self.worker = None

    def start(self) -> None:
        self.web = self.install.spawn(
            "-m",
            "gunicorn",
            "yiwang.wsgi",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--timeout",
            "60",
            "--graceful-timeout",
            "1",
            log="web.log",
        )
        self.worker = self.install.spawn(
            "-m",
            "yiwang",
            "worker",
            "--interval",
            "0.2",
            log="worker.log",
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:  # any answer from the app will do: /me answers 401 without a token
                if httpx.get(f"http://127.0.0.1:{self.port}/api/v1/me", timeout=10).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("gunicorn did not come up:\n" + (self.install.var / "web.log").read_text()[-3000:])

    def kill(self) -> None:
        for process in (self.web, self.worker):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)

    def stop(self) -> None:
        for process in (self.web, self.worker):
            if process and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except Exception:
                    os.killpg(process.pid, signal.SIGKILL)


class Load:
    """Client threads; every request is resent until the server answers (the server may be dead)."""

    def __init__(self, port: int, setup: dict):
        self.base = f"http://127.0.0.1:{port}"
        self.setup = setup
        self.stop_at = float("inf")
        self.lock = threading.Lock()
        self.acknowledged: dict[str, int] = {}  # idempotency key -> case id of the first 2xx
        self.resend_answers: dict[str, set[int]] = defaultdict(set)
        self.last_step: dict[int, str] = {}  # case id -> state of the last acknowledged step
        self.resends = 0
        self.unexpected: list[str] = []

    def _send(self, client: httpx.Client, method: str, path: str, **kwargs) -> httpx.Response:
        first = True
        while True:
            try:
                response = client.request(method, self.base + path, timeout=30, **kwargs)
                if response.status_code < 500 and response.status_code != 429:
                    return response
            except httpx.HTTPError:
                pass
            if first:
                with self.lock:
                    self.resends += 1
                first = False
            time.sleep(0.3)

    def client(self) -> None:
        tokens = self.setup["tokens"]
        clients = {who: httpx.Client(headers={"Authorization": f"Bearer {token}"}) for who, token in tokens.items()}
        try:
            while time.monotonic() < self.stop_at:
                key = uuid.uuid4().hex
                application = {"item": self.setup["item"], "form_data": {"business_name": "断电测试小吃店"}}
                response = self._send(
                    clients["applicant"],
                    "POST",
                    "/api/v1/cases/with-materials",
                    headers={"Idempotency-Key": key},
                    data={
                        "application": json.dumps(application, ensure_ascii=False),
                        "requirement_ids": str(self.setup["requirement_id"]),
                    },
                    files={"files": ("scan.pdf", PDF, "application/pdf")},
                )
                if response.status_code not in (200, 201):
                    self.unexpected.append(f"submit {response.status_code} {response.text[:200]}")
                    continue
                case_id = response.json()["id"]
                with self.lock:
                    self.acknowledged[key] = case_id
                    self.last_step[case_id] = "submitted"
                # The same submission sent again: the same case, however often.
                again = self._send(
                    clients["applicant"],
                    "POST",
                    "/api/v1/cases/with-materials",
                    headers={"Idempotency-Key": key},
                    data={
                        "application": json.dumps(application, ensure_ascii=False),
                        "requirement_ids": str(self.setup["requirement_id"]),
                    },
                    files={"files": ("scan.pdf", PDF, "application/pdf")},
                )
                with self.lock:
                    self.resend_answers[key].add(
                        again.json().get("id") if again.status_code < 300 else -again.status_code
                    )
                for name, who, suffix, body, state in STEPS:
                    response = self._send(clients[who], "POST", f"/api/v1/cases/{case_id}/{suffix}", json=body)
                    if response.status_code == 409:
                        # A step resent after the crash may have been applied before it: the case
                        # is then already past it, which the final check verifies.
                        break
                    if response.status_code >= 300:
                        self.unexpected.append(f"{name} {response.status_code} {response.text[:200]}")
                        break
                    if state:
                        with self.lock:
                            self.last_step[case_id] = state
        finally:
            for client in clients.values():
                client.close()


HELD = """
from django.db.models import Max
from django.utils import timezone
from yiwang.messaging.models import Message
latest = Message.objects.filter(state="queued").aggregate(m=Max("claimed_until"))["m"]
print(max((latest - timezone.now()).total_seconds(), 0) if latest else 0)
"""
# Time travel instead of waiting the claim out: every sender is stopped by then, so a claim still
# held is a dead worker's; moved into the past, it has lapsed as it would after its 60 s.
LAPSE = """
from datetime import timedelta
from django.utils import timezone
from yiwang.messaging.models import Message
past = timezone.now() - timedelta(seconds=1)
print(Message.objects.filter(state="queued", claimed_until__gt=past).update(claimed_until=past))
"""
CHECK = f"from tests.crash_check import snapshot; snapshot({len(PDF)})"


@pytest.mark.slow
def test_kill_9_mid_load_loses_and_duplicates_nothing(tmp_path):
    install = Install(tmp_path, "crash")
    install.extra_env["YIWANG_TASK_LEASE_SECONDS"] = "3"
    server = Server(install)
    try:
        install.migrate()
        setup = json.loads(install.python(SETUP).strip().splitlines()[-1])
        server.start()
        load = Load(server.port, setup)
        threads = [threading.Thread(target=load.client, daemon=True) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        time.sleep(KILL_AFTER)
        acknowledged_before_kill = len(load.acknowledged)
        server.kill()
        time.sleep(1.0)
        server.start()
        load.stop_at = time.monotonic() + LOAD_AFTER_RESTART
        for thread in threads:
            thread.join(timeout=180)
        assert not any(thread.is_alive() for thread in threads), "a client never got an answer"
        time.sleep(4)  # the restarted worker: the lease of a task killed mid-run expires (3 s), it runs again
        server.stop()
        install.run("worker", "--batch")
        # A message whose sender died mid-attempt is held by its claim (at least 60 s); its task,
        # run again, looks once more when the claim lapses: let the claim lapse and drain again.
        held = float(install.python(HELD).strip().splitlines()[-1])
        if held > 0:
            install.python(LAPSE)
            install.run("worker", "--batch")
        state = json.loads(install.python(CHECK).strip().splitlines()[-1])
        integrity = install.run("integrity", check=False)
    finally:
        server.stop()
        install.drop()

    print(
        f"kill -9 mid-load: {len(load.acknowledged)} submissions acknowledged ({acknowledged_before_kill} before "
        f"the kill), {len(state['cases'])} cases stored, {load.resends} requests resent, tasks {state['tasks']}"
    )
    assert acknowledged_before_kill > 0 and len(load.acknowledged) > acknowledged_before_kill
    assert load.resends > 0, "the kill should have cut some requests"
    assert load.unexpected == []
    cases = {int(pk): row for pk, row in state["cases"].items()}
    by_key = defaultdict(list)
    for pk, row in cases.items():
        by_key[row["key"]].append(pk)
    # Exactly once: one case per idempotency key, and it is the one the client was told.
    assert {key: pks for key, pks in by_key.items() if len(pks) > 1} == {}
    for key, case_id in load.acknowledged.items():
        assert by_key[key] == [case_id]
        assert load.resend_answers[key] == {case_id}
    # Nothing half-written: a number, the material with its file, a state at least as far as acknowledged.
    for pk, row in cases.items():
        assert row["number"], pk
        assert row["files"], f"case {pk} lacks its material file"
    for case_id, acknowledged_state in load.last_step.items():
        reached = cases[case_id]["state"]
        assert STATE_ORDER.index(reached) >= STATE_ORDER.index(acknowledged_state), (case_id, reached)
    assert integrity.returncode == 0, integrity.stdout + integrity.stderr
    assert state["failed_tasks"] == [], "\n".join(state["failed_tasks"])
    assert state["queued_messages"] == []
    assert state["tasks"]["RUNNING"] == 0 and state["tasks"]["READY"] == 0 and state["tasks"]["FAILED"] == 0, state
    assert state["message_dupes"] == [] and state["sent_twice"] == 0
    assert state["messages"]["sent"] > 0 and state["messages"]["queued"] == 0, state["messages"]
