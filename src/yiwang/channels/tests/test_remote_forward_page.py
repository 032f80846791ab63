"""The clerk's form to forward a window case to another installation (跨省通办): errors under the
fields with the input kept, the other side's refusal of the item under the item code, then the
real signed round trip. One database plays both installations (the peer's address is this test's
live server, as in test_peer_results); the two-database round trip is test_two_installations."""

import pytest
from django.test import Client

from yiwang.cases import selectors as case_selectors
from yiwang.cases import services as case_services
from yiwang.cases.models import Channel
from yiwang.cases.tests.factories import FORM, attach_required
from yiwang.channels import services
from yiwang.channels.models import RemoteForward
from yiwang.core.models import AuditEvent
from yiwang.exchange.services import consumer_system_create

CLIENT_ID, SECRET = "ywx_loop_fwd", "Loop-Fwd-Secret-2026-0001"


def _window_case(world):
    case, _ = case_services.case_submit(
        actor=world.wuzhong_clerk,
        item=world.county_item,
        form_data=FORM,
        applicant=world.base.applicant,
        channel=Channel.WINDOW,
        intake_department=world.base.tree.wuzhong,
    )
    return attach_required(case, actor=world.wuzhong_clerk)


@pytest.mark.django_db(transaction=True)
def test_clerk_forwards_a_window_case_to_another_installation_on_the_page(live_server, world):
    w = world.base
    consumer_system_create(actor=None, department=w.tree.wuzhong, name="回环", client_id=CLIENT_ID, secret=SECRET)
    peer = services.peer_save(
        actor=w.tree.root,
        code="LOOP",
        name="示范省一网平台",
        region_prefix="99",
        base_url=live_server.url,
        client_id=CLIENT_ID,
        client_secret=SECRET,
        inbound_client_id=CLIENT_ID,
        inbound_clerk=world.wuzhong_clerk,  # the other side's window account for us
    )
    case = _window_case(world)
    clerk = Client()
    clerk.force_login(world.wuzhong_clerk)
    url = f"/workbench/channels/cases/{case.pk}/forward/"
    page = clerk.get(url).content.decode()
    assert "转其他一网平台办理" in page and "示范省一网平台" in page

    # Nothing chosen: each field names its error; what was typed stays.
    empty = clerk.post(url, {"action": "remote", "peer": "", "item_code": "", "reason": "  "})
    html = empty.content.decode()
    assert empty.status_code == 422
    assert 'id="err_peer"' in html and "请选择对端一网平台" in html
    assert 'id="err_item_code"' in html and 'id="err_reason"' in html and "请填写转办原因" in html
    kept = clerk.post(url, {"action": "remote", "peer": str(peer.pk), "item_code": "", "reason": "申请人户籍在外省"})
    html = kept.content.decode()
    assert kept.status_code == 422 and "申请人户籍在外省" in html and f'value="{peer.pk}" selected' in html
    assert 'id="err_item_code"' in html and 'id="err_reason"' not in html

    # The other installation has no such item: its refusal shows under the item code; nothing kept.
    unknown = clerk.post(
        url, {"action": "remote", "peer": str(peer.pk), "item_code": "NO-SUCH-ITEM", "reason": "户籍在外省"}
    )
    html = unknown.content.decode()
    assert unknown.status_code == 422 and 'id="err_item_code"' in html and "对端平台没有该事项" in html
    assert 'value="NO-SUCH-ITEM"' in html
    assert not RemoteForward.objects.exists()
    assert AuditEvent.objects.filter(action="channels.inbound_refused").count() == 1  # the other side said no

    # Forwarded: the other side took the application in on its own item; linked, noted, audited.
    done = clerk.post(
        url,
        {
            "action": "remote",
            "peer": str(peer.pk),
            "item_code": world.county_item.implementation_code,
            "reason": "申请人户籍在外省",
            "return_method": "window",
        },
    )
    assert done.status_code == 302
    forward = RemoteForward.objects.get()
    assert forward.case_id == case.pk and forward.peer == peer and forward.reason == "申请人户籍在外省"
    assert forward.created_by == world.wuzhong_clerk and forward.remote_case_number != case.number
    remote_case = case_selectors.case_get(actor=world.wuzhong_clerk, case_id=forward.remote_case_id)
    assert remote_case.state == "accepted" and remote_case.item_version.item_id == world.county_item.pk
    audit = AuditEvent.objects.get(action="channels.remote_forward_send")
    assert audit.actor_id == world.wuzhong_clerk.pk and audit.changes["case"] == case.pk
    assert audit.changes["reason"] == "申请人户籍在外省"
    steps = [
        s.note
        for s in case_selectors.case_timeline(actor=world.wuzhong_clerk, case=case)
        if "示范省一网平台" in (s.note or "")
    ]
    assert steps and forward.remote_case_number in steps[0]
    page = clerk.get(url).content.decode()
    assert forward.remote_case_number in page and "转其他一网平台办理" not in page

    # Posting again (a double click, a reload) forwards nothing more.
    again = clerk.post(url, {"action": "remote", "peer": str(peer.pk), "item_code": "X", "reason": "再次"})
    assert again.status_code == 200 and RemoteForward.objects.count() == 1
    assert AuditEvent.objects.filter(action="channels.remote_forward_send").count() == 1

    # Staff who may not forward this case: the other county's clerk never sees it.
    other = Client()
    other.force_login(w.reviewer)
    assert other.post(url, {"action": "remote", "peer": str(peer.pk)}).status_code == 404
