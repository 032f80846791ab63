import json

import pytest

from yiwang.hotline.models import Ticket
from yiwang.hotline.tests.factories import build_world
from yiwang.identity.services import api_token_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def _bearer(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(actor=user, user=user, name='t')[1]}"}


def _post(client, path, body, user):
    return client.post(path, json.dumps(body), content_type="application/json", **_bearer(user))


def test_phone_intake_dispatch_return_reply_visit_over_the_api(client, world):
    created = _post(
        client,
        "/api/v1/hotline/tickets",
        {
            "channel": "phone",
            "kind": "complaint",
            "content": "楼下烧烤油烟扰民",
            "category": "sanitation",
            "caller_phone": "13812345678",
            "caller_name": "王五",
            "recording_ref": "REC-1",
            "region_code": "320505",
        },
        world.agent,
    )
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["caller_phone"] == "138****5678" and data["status"] == "new"
    tid = data["id"]
    wrong = _post(client, f"/api/v1/hotline/tickets/{tid}/dispatch", {"department": "NO-SUCH"}, world.dispatcher)
    assert wrong.status_code == 422 and wrong.json()["code"] == "department_unknown"
    ok = _post(client, f"/api/v1/hotline/tickets/{tid}/dispatch", {"department": world.urban.code}, world.dispatcher)
    assert ok.status_code == 200 and ok.json()["status"] == "dispatched"
    no_reason = _post(client, f"/api/v1/hotline/tickets/{tid}/return", {"reason": ""}, world.urban_handler)
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["fields"]
    assert (
        _post(client, f"/api/v1/hotline/tickets/{tid}/reply", {"reply": "已处理完毕"}, world.water_handler).status_code
        == 404
    )
    assert (
        _post(client, f"/api/v1/hotline/tickets/{tid}/reply", {"reply": "已处理完毕"}, world.urban_handler).status_code
        == 200
    )
    visit = _post(client, f"/api/v1/hotline/tickets/{tid}/visit", {"satisfaction": 3, "resolved": True}, world.agent)
    assert visit.json()["status"] == "closed"
    assert client.get(f"/api/v1/hotline/tickets/{tid}", **_bearer(world.outsider)).status_code == 404
    assert client.get("/api/v1/hotline/tickets/987654321", **_bearer(world.agent)).status_code == 404


def test_citizen_cannot_file_as_phone_agent_and_bad_phone_is_clear(client, world):
    forbidden = _post(
        client,
        "/api/v1/hotline/tickets",
        {"channel": "phone", "kind": "help", "content": "x", "caller_phone": "13812345678"},
        world.citizen,
    )
    assert forbidden.status_code == 403
    bad = _post(
        client, "/api/v1/hotline/tickets", {"kind": "help", "content": "求助", "caller_phone": "12"}, world.citizen
    )
    assert bad.status_code == 422 and "caller_phone" in bad.json()["fields"]
    mine = _post(
        client,
        "/api/v1/hotline/tickets",
        {"kind": "help", "content": "路灯不亮", "caller_phone": "13812345678"},
        world.citizen,
    )
    assert mine.status_code == 201
    listed = client.get("/api/v1/hotline/tickets", **_bearer(world.citizen)).json()
    assert [t["number"] for t in listed] == [mine.json()["number"]]
    assert Ticket.objects.get(number=mine.json()["number"]).citizen == world.citizen


def test_sensor_readings_deduplicate(client, world):
    body = {"device_id": "SMOKE-9", "metric": "smoke", "value": 5, "threshold": 1, "place": "枫桥社区"}
    first = _post(client, "/api/v1/hotline/sensors/readings", body, world.dispatcher).json()
    second = _post(client, "/api/v1/hotline/sensors/readings", body, world.dispatcher).json()
    assert first["ticket_opened"] and not second["ticket_opened"] and second["count"] == 2
    assert first["ticket"] == second["ticket"]
    assert _post(client, "/api/v1/hotline/sensors/readings", body, world.citizen).status_code == 403
