"""The result call-back between installations, in one database standing for both sides (the
two-database round trip is test_two_installations): the duty is written before the call, a
call-back that cannot reach the other side stays pending and the job retries it; the other side
records it once. And the system administrator's page that registers the installations."""

import pytest
from django.test import Client

from yiwang.cases.models import CaseState
from yiwang.channels import services
from yiwang.channels.models import InboundForward, NotifyState, PeerInstallation, RemoteForward
from yiwang.channels.tests.conftest import approved_case, free_port
from yiwang.core.models import AuditEvent
from yiwang.exchange.services import consumer_system_create

CLIENT_ID, SECRET = "ywx_loop_b", "Loop-B-Secret-2026-0001"


@pytest.mark.django_db(transaction=True)
def test_result_call_back_is_retried_until_the_other_side_answers(live_server, world):
    w = world.base
    consumer_system_create(actor=None, department=w.tree.wuzhong, name="回告", client_id=CLIENT_ID, secret=SECRET)
    dead = f"http://127.0.0.1:{free_port()}"
    # One record plays both: the installation that forwarded (we call it back at base_url with the
    # credential it issued us) and the handling one (it calls us with the credential we issued it).
    peer = services.peer_save(
        actor=w.tree.root,
        code="LOOP",
        name="回环",
        base_url=dead,
        client_id=CLIENT_ID,
        client_secret=SECRET,
        inbound_client_id=CLIENT_ID,
    )
    case = approved_case(world)
    InboundForward.objects.create(peer=peer, case=case, reference="r-1")
    sent = RemoteForward.objects.create(
        peer=peer,
        item_code="X",
        applicant_name="张三",
        applicant_id_number="x",
        hall=w.tree.wuzhong,
        remote_case_id=case.pk,
        remote_case_number=case.number,
        remote_state=CaseState.ACCEPTED,
        idempotency_key="r-1",
        created_by=world.wuzhong_clerk,
    )

    inbound = services.inbound_result_notify(case_id=case.pk)
    assert inbound.notify_state == NotifyState.PENDING and inbound.attempts == 1
    assert inbound.last_error.startswith("peer_unavailable")
    assert AuditEvent.objects.filter(action="channels.result_pending").count() == 1
    assert AuditEvent.objects.filter(action="channels.result_failed").count() == 1
    assert RemoteForward.objects.get(pk=sent.pk).result_received_at is None

    services.peer_save(
        actor=w.tree.root,
        code="LOOP",
        name="回环",
        base_url=live_server.url,
        client_id=CLIENT_ID,
        inbound_client_id=CLIENT_ID,  # the secret left out: kept
    )
    assert services.results_notify_pending() == {"sent": 1, "pending": 0}
    inbound.refresh_from_db()
    assert inbound.notify_state == NotifyState.SENT and inbound.notified_state == CaseState.APPROVED
    assert inbound.attempts == 2 and inbound.last_error == ""
    sent.refresh_from_db()
    assert sent.remote_state == CaseState.APPROVED and sent.result_received_at is not None
    assert AuditEvent.objects.get(action="channels.remote_forward_result").actor_repr == "peer:LOOP"
    # Nothing more to say: no call.
    assert services.results_notify_pending() == {"sent": 0, "pending": 0}
    assert services.inbound_result_notify(case_id=case.pk).attempts == 2


def _superuser_client(world) -> Client:
    from yiwang.identity import mfa

    client = Client()
    client.force_login(world.base.tree.root)
    session = client.session
    session[mfa.SESSION_VERIFIED] = True  # the superuser's role requires TOTP; as after a TOTP check
    session.save()
    return client


def test_peers_page_registers_and_changes_an_installation(world):
    w = world.base
    consumer_system_create(actor=None, department=w.tree.wuzhong, name="A", client_id="ywx_a_on_us", secret="x" * 20)
    client = _superuser_client(world)
    assert client.get("/workbench/channels/peers/").status_code == 200
    bad = client.post(
        "/workbench/channels/peers/new/",
        {"code": "B 省", "name": "", "region_prefix": "32x", "base_url": "ftp://b", "inbound_client_id": "nobody"},
    )
    assert bad.status_code == 422
    page = bad.content.decode()
    for message in ("请填写代码", "请填写名称", "行政区划代码前缀", "请填写对端平台的网址", "没有该系统凭证"):
        assert message in page, message
    assert not PeerInstallation.objects.exists()
    good = client.post(
        "/workbench/channels/peers/new/",
        {
            "code": "B",
            "name": "B 省一网",
            "region_prefix": "320505",
            "base_url": "https://yiwang.b.example/",
            "client_id": "ywx_us_on_b",
            "client_secret": "S" * 24,
            "inbound_client_id": "ywx_a_on_us",
            "inbound_clerk": world.wuzhong_clerk.username,
            "is_active": "on",
        },
    )
    assert good.status_code == 302, good.content.decode()[:2000]
    peer = PeerInstallation.objects.get(code="B")
    assert peer.base_url == "https://yiwang.b.example" and peer.client_secret == "S" * 24
    assert peer.inbound_clerk_id == world.wuzhong_clerk.pk
    listing = client.get("/workbench/channels/peers/").content.decode()
    assert "B 省一网" in listing and "S" * 24 not in listing
    edit = client.get(f"/workbench/channels/peers/{peer.pk}/").content.decode()
    assert "S" * 24 not in edit  # the secret is never shown
    changed = client.post(
        f"/workbench/channels/peers/{peer.pk}/",
        {"name": "B 省一体化平台", "base_url": "https://yiwang.b.example", "client_id": "ywx_us_on_b"},
    )
    assert changed.status_code == 302
    peer.refresh_from_db()
    assert peer.name == "B 省一体化平台" and peer.client_secret == "S" * 24 and not peer.is_active
    audit = list(AuditEvent.objects.filter(action__startswith="channels.peer_").order_by("pk"))
    assert [a.action for a in audit] == ["channels.peer_create", "channels.peer_change"]
    assert audit[0].changes["secret_changed"] is True and audit[1].changes["secret_changed"] is False
    assert "S" * 24 not in str([a.changes for a in audit])
    # Nobody but the system administrator sees the page.
    other = Client()
    other.force_login(world.wuzhong_clerk)
    assert other.get("/workbench/channels/peers/").status_code == 404
    assert other.post(f"/workbench/channels/peers/{peer.pk}/", {"name": "x"}).status_code == 404
