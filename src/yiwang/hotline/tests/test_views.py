import io

import pytest
from openpyxl import load_workbook

from yiwang.hotline import services
from yiwang.hotline.models import Ticket
from yiwang.hotline.tests.factories import build_world, phone_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def test_agent_desk_takes_a_call_and_answers_a_consult_from_knowledge(client, world):
    entry = services.knowledge_save(
        actor=world.water_handler,
        title="停水通知在哪里查询",
        answer="请关注停水公告。",
        keywords="停水",
        department=world.water,
    )
    client.force_login(world.agent)
    page = client.get("/workbench/hotline/intake/")
    assert page.status_code == 200 and "知识库检索" in page.content.decode()
    panel = client.get("/workbench/hotline/knowledge/search/", {"q": "停水"}, HTTP_HX_REQUEST="true")
    assert "停水通知在哪里查询" in panel.content.decode() and "<html" not in panel.content.decode()
    response = client.post(
        "/workbench/hotline/intake/",
        {
            "kind": "consult",
            "category": "water",
            "urgency": "normal",
            "content": "停水通知在哪里看",
            "caller_phone": "13812345678",
            "knowledge_entry_id": entry.pk,
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.status == "closed" and ticket.close_reason == "direct_answer"
    bad = client.post(
        "/workbench/hotline/intake/",
        {
            "kind": "complaint",
            "urgency": "normal",
            "content": "噪音",
            "caller_phone": "not-a-phone",
            "latitude": "999",
            "longitude": "1",
        },
    )
    text = bad.content.decode()
    assert bad.status_code == 200 and "不是有效的电话号码" in text and "坐标超出服务范围" in text
    assert Ticket.objects.count() == 1


def test_dispatcher_and_department_pages_walk_the_ticket(client, world):
    ticket = phone_ticket(world)
    client.force_login(world.dispatcher)
    assert ticket.number in client.get("/workbench/hotline/queue/dispatch/").content.decode()
    client.post(f"/workbench/hotline/tickets/{ticket.pk}/dispatch/", {"department": world.urban.pk})
    ticket.refresh_from_db()
    assert ticket.status == "dispatched"
    client.force_login(world.urban_handler)
    assert ticket.number in client.get("/workbench/hotline/queue/department/").content.decode()
    no_reason = client.post(f"/workbench/hotline/tickets/{ticket.pk}/return/", {"reason": ""})
    assert no_reason.status_code == 422 and "退单理由" in no_reason.content.decode()
    client.post(f"/workbench/hotline/tickets/{ticket.pk}/accept/")
    client.post(f"/workbench/hotline/tickets/{ticket.pk}/reply/", {"reply": "已责令停工整改"})
    ticket.refresh_from_db()
    assert ticket.status == "replied"
    page = client.get(f"/workbench/hotline/tickets/{ticket.pk}/").content.decode()
    assert "138****5678" in page and "13812345678" not in page
    client.force_login(world.outsider)
    assert client.get(f"/workbench/hotline/tickets/{ticket.pk}/").status_code == 404
    assert client.post(f"/workbench/hotline/tickets/{ticket.pk}/reply/", {"reply": "xxxxx"}).status_code == 404


def test_ranking_page_and_excel(client, world):
    ticket = phone_ticket(world)
    services.ticket_dispatch(actor=world.dispatcher, ticket=ticket, department=world.urban)
    services.ticket_reply(actor=world.urban_handler, ticket=ticket, reply="已处理完毕")
    services.ticket_visit(actor=world.agent, ticket=ticket, satisfaction=3, resolved=True)
    client.force_login(world.supervisor)
    assert "苏州市城市管理局" in client.get("/workbench/hotline/ranking/").content.decode()
    response = client.get("/workbench/hotline/ranking.xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][1] == "苏州市城市管理局" and rows[1][10] == 100.0


def test_map_and_hotspots_and_rules_pages(client, world):
    phone_ticket(world, latitude="34.35", longitude="107.2")
    client.force_login(world.dispatcher)
    page = client.get("/workbench/hotline/map/").content.decode()
    assert "<svg" in page and "明湖区" in page and "<circle" in page
    # The map holds links to the tickets: a group, not one image hiding them from assistive technology.
    assert 'role="img"' not in page and 'role="group"' in page and 'aria-label="' in page
    assert client.get("/workbench/hotline/hotspots/").status_code == 200
    response = client.post(
        "/workbench/hotline/rules/", {"name": "噪音", "keywords": "噪音", "department": world.urban.code}
    )
    assert response.status_code == 302
    unknown = client.post("/workbench/hotline/rules/", {"name": "x", "keywords": "x", "department": "NOPE"})
    assert unknown.status_code == 422 and "承办部门不存在" in unknown.content.decode()
    client.force_login(world.urban_handler)
    assert client.get("/workbench/hotline/rules/").status_code == 404


def test_portal_file_and_track_with_masked_phone(client, world):
    client.force_login(world.citizen)
    response = client.post(
        "/hotline/",
        {
            "kind": "suggestion",
            "category": "traffic",
            "content": "建议增加公交班次",
            "caller_phone": "13812345678",
            "mailbox": "1",
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.channel == "mailbox" and ticket.citizen == world.citizen
    detail = client.get(f"/hotline/tickets/{ticket.pk}/").content.decode()
    assert ticket.number in detail and "138****5678" in detail
    client.logout()
    found = client.post("/hotline/track/", {"number": ticket.number, "phone": "13812345678"})
    assert found.status_code == 200 and "138****5678" in found.content.decode()
    assert "13812345678" not in found.content.decode()
    assert client.post("/hotline/track/", {"number": ticket.number, "phone": "13900000000"}).status_code == 404
