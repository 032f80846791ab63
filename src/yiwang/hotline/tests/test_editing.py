"""Workbench editing of dispatch rules and knowledge entries (audited, errors per field), the
citizen's rating of the reply on the portal, and the rate limit of the public track page."""

import re

import pytest

from yiwang.core import ratelimit
from yiwang.core.models import AuditEvent
from yiwang.hotline import services
from yiwang.hotline.models import DispatchRule, KnowledgeEntry, Ticket
from yiwang.hotline.tests.factories import build_world, phone_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def test_dispatcher_edits_a_rule_with_errors_under_each_field(client, world):
    rule = services.rule_save(
        actor=world.dispatcher, name="噪音", keywords="噪音", department=world.urban.code, priority=1
    )
    client.force_login(world.dispatcher)
    url = f"/workbench/hotline/rules/{rule.pk}/edit/"
    page = client.get(url).content.decode()
    assert 'value="噪音"' in page and 'value="SZ-CGJ"' in page
    bad = client.post(
        url, {"name": "", "keywords": "噪音", "region_prefix": "32a", "department": "SZ-CGJ", "priority": "1"}
    )
    text = bad.content.decode()
    assert bad.status_code == 422
    assert 'id="region_prefix-error"' in text and "区划代码前缀只能是 1 到 12 位数字" in text
    unknown = client.post(url, {"name": "噪音", "keywords": "噪音", "department": "NOPE", "priority": "x"})
    assert unknown.status_code == 422 and 'id="priority-error"' in unknown.content.decode()
    unknown = client.post(url, {"name": "噪音", "keywords": "噪音", "department": "NOPE", "priority": "2"})
    assert 'id="department-error"' in unknown.content.decode() and "承办部门不存在" in unknown.content.decode()
    rule.refresh_from_db()
    assert rule.priority == 1 and rule.region_prefix == ""
    done = client.post(
        url,
        {
            "name": "噪音(水务)",
            "keywords": "噪音 施工",
            "region_prefix": "320505",
            "department": "SZ-SWJ",
            "priority": "3",
        },
    )
    assert done.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.department, rule.priority, rule.active) == ("噪音(水务)", world.water, 3, False)
    assert AuditEvent.objects.filter(action="hotline.rule_save", object_id=str(rule.pk)).count() == 2
    # intake follows the edit at once: inactive, the rule suggests nothing; active again, its department
    assert phone_ticket(world, caller_phone="13700000001").suggested_department != world.water
    client.post(
        url,
        {"name": "噪音(水务)", "keywords": "噪音", "department": "SZ-SWJ", "priority": "3", "active": "1"},
    )
    assert phone_ticket(world, caller_phone="13700000002").suggested_department == world.water
    assert (
        client.post(
            "/workbench/hotline/rules/new/",
            {"name": "新", "keywords": "路灯", "department": "SZ-CGJ", "priority": "0", "active": "1"},
        ).status_code
        == 302
    )
    assert DispatchRule.objects.filter(name="新", active=True).exists()
    client.force_login(world.urban_handler)
    assert client.get(url).status_code == 404 and client.post(url, {"name": "x"}).status_code == 404


def test_department_edits_its_knowledge_entry_and_no_other(client, world):
    entry = services.knowledge_save(
        actor=world.water_handler, title="停水查询", answer="请关注停水公告。", keywords="停水", department=world.water
    )
    client.force_login(world.water_handler)
    url = f"/workbench/hotline/knowledge/{entry.pk}/edit/"
    assert "请关注停水公告" in client.get(url).content.decode()
    bad = client.post(
        url, {"title": "停水查询", "answer": "", "department": world.water.pk, "expires_on": "2026-13-01"}
    )
    text = bad.content.decode()
    assert bad.status_code == 422 and 'id="expires_on-error"' in text and "日期格式" in text
    bad = client.post(url, {"title": "停水查询", "answer": "  ", "department": world.water.pk})
    assert bad.status_code == 422 and 'id="answer-error"' in bad.content.decode()
    other = client.post(url, {"title": "停水查询", "answer": "新口径", "department": world.urban.pk, "active": "1"})
    assert other.status_code == 422 and "本部门" in other.content.decode()
    done = client.post(
        url,
        {
            "title": "停水查询",
            "answer": "请拨打 96123 或查看公告。",
            "keywords": "停水 供水",
            "department": world.water.pk,
            "expires_on": "2027-06-30",
        },
    )
    assert done.status_code == 302
    entry.refresh_from_db()
    assert entry.answer.startswith("请拨打") and str(entry.expires_on) == "2027-06-30" and not entry.active
    assert AuditEvent.objects.filter(action="hotline.knowledge_save", object_id=str(entry.pk)).count() == 2
    assert services.knowledge_save  # withdrawn entries leave the agent's search
    from yiwang.hotline.selectors import knowledge_search

    assert not [h for h in knowledge_search(query="停水") if h.kind == "entry"]
    client.force_login(world.urban_handler)
    assert client.get(url).status_code == 404
    assert client.post(url, {"title": "x", "answer": "yyyy", "department": world.water.pk}).status_code == 404
    assert KnowledgeEntry.objects.get().answer.startswith("请拨打")


def test_citizen_sees_the_reply_and_rates_it(client, world):
    ticket = services.ticket_create(
        actor=world.citizen, channel="portal", kind="complaint", content="小区路灯不亮", caller_phone="13812345678"
    )
    services.ticket_dispatch(actor=world.dispatcher, ticket=ticket, department=world.urban)
    client.force_login(world.citizen)
    url = f"/hotline/tickets/{ticket.pk}/"
    assert "提交评价" not in client.get(url).content.decode()
    services.ticket_reply(actor=world.urban_handler, ticket=ticket, reply="已更换灯泡")
    page = client.get(url).content.decode()
    assert "已更换灯泡" in page and "提交评价" in page
    bad = client.post(url + "rate/", {"satisfaction": "9", "resolved": "1"})
    assert bad.status_code == 422 and "满意、基本满意" in bad.content.decode()
    client.force_login(world.outsider)
    assert client.post(url + "rate/", {"satisfaction": "3", "resolved": "1"}).status_code == 404
    client.force_login(world.citizen)
    assert client.post(url + "rate/", {"satisfaction": "3", "resolved": "1", "note": "很快"}).status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.satisfaction, ticket.resolved, ticket.close_reason) == ("closed", 3, True, "visited")
    assert ticket.events.filter(kind="rated").exists()
    assert AuditEvent.objects.filter(action="hotline.ticket_rate").count() == 1
    again = client.post(url + "rate/", {"satisfaction": "1", "resolved": "0"})
    assert again.status_code == 422 and Ticket.objects.get().satisfaction == 3


def test_track_page_is_rate_limited_with_a_clear_message(client, world, settings):
    settings.YIWANG_RATE_LIMITS = {"hotline_track_number": (3, 900), "hotline_track_ip": (6, 900)}
    ticket = phone_ticket(world)
    for _n in range(3):
        assert client.post("/hotline/track/", {"number": ticket.number, "phone": "13900000000"}).status_code == 404
    refused = client.post("/hotline/track/", {"number": ticket.number, "phone": "13812345678"})
    text = refused.content.decode()
    assert refused.status_code == 429 and "查询过于频繁" in text and re.search(r"请 \d+ 分钟后再查询", text)
    assert refused["Retry-After"] and "13812345678" not in text and "工单编号" in text
    other = phone_ticket(world, caller_phone="13700000000", category_code="road")
    assert client.post("/hotline/track/", {"number": other.number, "phone": "13700000000"}).status_code == 200
    assert client.post("/hotline/track/", {"number": other.number, "phone": "13700000000"}).status_code == 200
    assert client.post("/hotline/track/", {"number": other.number, "phone": "13700000000"}).status_code == 429
    assert ratelimit.hits("hotline_track_ip", "127.0.0.1") == 7
