"""Open311 GeoReport v2, checked two ways: the real client library ``georeport`` (PyPI) against
a live server for everything it implements (it has no POST), and a spec-conformance client
(``requests`` + ``xmltodict``, as the library itself parses XML) for POST and the error arrays."""

import datetime
import xml.etree.ElementTree as ET

import pytest
import requests
import xmltodict
from georeport import GeoReport

from yiwang.hotline.models import Ticket
from yiwang.hotline.tests.factories import build_world, phone_ticket
from yiwang.identity.services import api_token_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


@pytest.fixture
def api_key(world):
    _token, raw = api_token_create(actor=world.agent, user=world.agent, name="open311 app")
    return raw


def test_services_json_and_xml(client, world):
    response = client.get("/open311/v2/services.json")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    services = response.json()
    assert isinstance(services, list)
    road = next(s for s in services if s["service_code"] == "road")
    assert set(road) == {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
    assert road["metadata"] is True and road["type"] == "realtime"
    xml = client.get("/open311/v2/services.xml")
    assert xml["Content-Type"].startswith("text/xml")
    root = ET.fromstring(xml.content)  # noqa: S314 - our own server's answer
    assert root.tag == "services" and len(root.findall("service")) == len(services)
    definition = client.get("/open311/v2/services/road.json").json()
    assert definition["service_code"] == "road"
    assert definition["attributes"][0]["code"] == "hazard" and definition["attributes"][0]["values"]
    parsed = xmltodict.parse(client.get("/open311/v2/services/road.xml").content)
    assert parsed["service_definition"]["attributes"]["attribute"]["code"] == "hazard"


def test_errors_are_spec_arrays(client, world, api_key):
    response = client.get("/open311/v2/services/nope.json")
    assert response.status_code == 404
    assert response.json() == [{"code": 404, "description": "service_code not found: nope"}]
    xml = client.get("/open311/v2/services/nope.xml")
    parsed = xmltodict.parse(xml.content)
    assert xml.status_code == 404 and parsed["errors"]["error"]["code"] == "404"
    post = client.post(
        "/open311/v2/requests.json", {"api_key": api_key, "service_code": "nope", "lat": "31.3", "long": "120.6"}
    )
    assert post.status_code == 404 and post.json()[0]["code"] == 404
    assert client.post("/open311/v2/requests.json", {"service_code": "road"}).json()[0]["code"] == 400
    bad_key = client.post("/open311/v2/requests.json", {"api_key": "yw_x_y", "service_code": "road", "lat": "1"})
    assert bad_key.status_code == 403 and bad_key.json()[0]["code"] == 403
    no_place = client.post("/open311/v2/requests.json", {"api_key": api_key, "service_code": "road"})
    assert no_place.status_code == 400 and "location" in no_place.json()[0]["description"]
    absurd = client.post(
        "/open311/v2/requests.json",
        {"api_key": api_key, "service_code": "road", "lat": "95", "long": "500", "description": "x"},
    )
    assert absurd.status_code == 400 and "lat" in absurd.json()[0]["description"]
    bad_phone = client.post(
        "/open311/v2/requests.json",
        {"api_key": api_key, "service_code": "road", "address_string": "枫桥路", "phone": "call me"},
    )
    assert bad_phone.status_code == 400 and "caller_phone" in bad_phone.json()[0]["description"]
    bad_attr = client.post(
        "/open311/v2/requests.json",
        {"api_key": api_key, "service_code": "road", "address_string": "枫桥路", "attribute[hazard]": "maybe"},
    )
    assert bad_attr.status_code == 400
    assert client.get("/open311/v2/requests.json", {"start_date": "yesterday"}).status_code == 400
    assert client.get("/open311/v2/requests.json", {"status": "pending"}).json()[0]["code"] == 400
    assert client.get("/open311/v2/services.csv").json() == [{"code": 400, "description": "format must be json or xml"}]
    assert Ticket.objects.count() == 0  # nothing half-written


def test_post_then_get_with_filters(client, world, api_key):
    response = client.post(
        "/open311/v2/requests.xml",
        {
            "api_key": api_key,
            "service_code": "road",
            "lat": "31.300000",
            "long": "120.600000",
            "address_string": "枫桥路 8 号",
            "description": "路面塌陷一个大坑",
            "attribute[hazard]": "yes",
            "first_name": "三",
            "last_name": "张",
            "phone": "13812345678",
        },
    )
    assert response.status_code == 200, response.content
    created = xmltodict.parse(response.content)["service_requests"]["request"]
    number = created["service_request_id"]
    ticket = Ticket.objects.get(number=number)
    assert ticket.channel == "open311" and ticket.caller_name == "张三" and "影响通行" in ticket.content
    phone_ticket(world, kind="report", category_code="road")  # a 举报: never public
    listed = client.get("/open311/v2/requests.json", {"service_code": "road"}).json()
    assert [r["service_request_id"] for r in listed] == [number]
    assert listed[0]["status"] == "open" and listed[0]["lat"] == 31.3 and "张" not in str(listed[0])
    assert client.get("/open311/v2/requests.json", {"status": "closed"}).json() == []
    by_id = client.get(f"/open311/v2/requests/{number}.json").json()
    assert len(by_id) == 1 and by_id[0]["service_request_id"] == number
    old = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=200)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert client.get("/open311/v2/requests.json", {"start_date": old}).json() == []
    too_long = client.get(
        "/open311/v2/requests.json", {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}
    )
    assert too_long.status_code == 400


@pytest.mark.django_db(transaction=True)
def test_real_client_library_against_live_server(live_server, world, api_key):
    base = f"{live_server.url}/open311/v2"
    for fmt in ("json", "xml"):
        client = GeoReport(base, output_format=fmt)
        services = client.get_service_list()
        assert {s["service_code"] for s in services} >= {"road", "noise"}
        definition = client.get_service_definition("road")
        assert definition["service_code"] == "road"
    # POST with a plain HTTP client as the spec describes (georeport has no POST).
    posted = requests.post(
        f"{base}/requests.json",
        data={
            "api_key": api_key,
            "service_code": "noise",
            "address_string": "枫桥路 1 号",
            "description": "夜间施工噪音",
        },
        timeout=10,
    )
    assert posted.status_code == 200
    number = posted.json()[0]["service_request_id"]
    for fmt in ("json", "xml"):
        client = GeoReport(base, output_format=fmt)
        one = client.get_service_request(number)
        assert one["service_request_id"] == number and one["status"] == "open"
        many = client.get_service_requests(service_code="noise", status="open")
        many = [many] if isinstance(many, dict) else many
        assert number in [r["service_request_id"] for r in many]
