"""Grid management (网格化): GeoJSON import of grid cells, the grid map, grid workers' patrols."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.models import AuditEvent
from yiwang.hotline import services
from yiwang.hotline.models import GridArea, Patrol, Ticket
from yiwang.hotline.tests.factories import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def square(lon, lat, size=0.01):
    return [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]


def feature(code, name="枫桥一网格", region="320505001001", ring=None, kind="Polygon"):
    ring = ring or square(120.50, 31.30)
    coordinates = [ring] if kind == "Polygon" else [[ring]]
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, "region_code": region},
        "geometry": {"type": kind, "coordinates": coordinates},
    }


def collection(*features):
    return json.dumps({"type": "FeatureCollection", "features": list(features)}, ensure_ascii=False)


def png(name="photo.png"):
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(out, "PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


def test_grid_import_creates_then_replaces_cells_and_is_audited(world):
    data = collection(
        feature("320505001001G01"),
        feature("320505001001G02", name="枫桥二网格", ring=square(120.51, 31.30), kind="MultiPolygon"),
    )
    assert services.grid_import(actor=world.supervisor, data=data.encode()) == {"created": 2, "updated": 0}
    again = collection(feature("320505001001G01", name="枫桥一网格(调整)", ring=square(120.49, 31.29)))
    assert services.grid_import(actor=world.supervisor, data=again) == {"created": 0, "updated": 1}
    cell = GridArea.objects.get(code="320505001001G01")
    assert cell.name == "枫桥一网格(调整)" and cell.geometry["coordinates"][0][0] == [120.49, 31.29]
    assert GridArea.objects.count() == 2
    assert AuditEvent.objects.filter(action="hotline.grid_import").count() == 2


def test_grid_import_is_all_or_nothing_and_names_feature_and_field(world):
    open_ring = [*square(120.5, 31.3)[:-1], [120.6, 31.4]]
    data = collection(
        feature("320505001001G01"),  # good, but must not be written either
        feature("320505001001G02", region="999999"),
        feature("320505001001G03", name=""),
        feature("320505001001G04", ring=open_ring),
        feature("320505001001G05", ring=square(10.0, 31.3)),
        feature("320505001001G01"),
    )
    with pytest.raises(ValidationFailed) as caught:
        services.grid_import(actor=world.supervisor, data=data)
    fields = caught.value.fields
    assert set(fields) == {
        "features[1].properties.region_code",
        "features[2].properties.name",
        "features[3].geometry",
        "features[4].geometry",
        "features[5].properties.code",
    }
    assert "第 2 个网格(features[1])" in fields["features[1].properties.region_code"][0]
    assert "闭合" in fields["features[3].geometry"][0]
    assert "不在中国境内" in fields["features[4].geometry"][0]
    assert "与第 1 个重复" in fields["features[5].properties.code"][0]
    assert GridArea.objects.count() == 0
    for bad, message in (
        (b"{not json", "不是有效的 JSON"),
        (json.dumps({"type": "Feature"}).encode(), "FeatureCollection"),
        (b"\xff\xfe", "UTF-8"),
    ):
        with pytest.raises(ValidationFailed) as caught:
            services.grid_import(actor=world.supervisor, data=bad)
        assert message in caught.value.fields["file"][0]


def test_only_supervisors_and_city_admins_import_grids(world, client):
    with pytest.raises(Forbidden):
        services.grid_import(actor=world.dispatcher, data=collection(feature("G1")))
    client.force_login(world.dispatcher)
    assert client.get("/workbench/hotline/grid/import/").status_code == 404
    client.force_login(world.supervisor)
    upload = SimpleUploadedFile("grid.geojson", collection(feature("320505001001G01", region="32050")).encode())
    page = client.post("/workbench/hotline/grid/import/", {"file": upload})
    text = page.content.decode()
    assert page.status_code == 422 and "features[0].properties.region_code" in text and "未导入任何网格" in text
    good = SimpleUploadedFile("grid.geojson", collection(feature("320505001001G01")).encode())
    page = client.post("/workbench/hotline/grid/import/", {"file": good})
    assert page.status_code == 200 and "新增 1 个网格" in page.content.decode()


def test_grid_map_shows_cells_and_open_tickets_by_cell(world, client):
    services.grid_import(
        actor=world.supervisor,
        data=collection(
            feature("320505001001G01", name="枫桥一网格"),
            feature("320505001001G02", name="枫桥二网格", ring=square(120.51, 31.30)),
        ),
    )
    for n in range(3):
        services.ticket_create(
            actor=world.grid_worker,
            channel="grid",
            kind="help",
            content=f"路灯不亮第{n}处",
            region_code="320505001001",
            address="枫桥路",
        )
    closed = Ticket.objects.first()
    services.ticket_close(actor=world.dispatcher, ticket=closed, note="已处理")
    client.force_login(world.dispatcher)
    page = client.get("/workbench/hotline/grid/map/")
    text = page.content.decode()
    assert page.status_code == 200 and "<svg" in text and text.count("<path") == 2
    assert "枫桥一网格(320505001001G01):2 件未办结" in text  # the closed one is not counted
    assert "枫桥二网格(320505001001G02):0 件未办结" in text
    cell = client.get("/workbench/hotline/queue/all/", {"grid": "320505001001G01"}).content.decode()
    assert cell.count("路灯不亮") == 2
    client.force_login(world.citizen)
    assert client.get("/workbench/hotline/grid/map/").status_code == 404


def test_patrol_with_route_and_a_finding_that_becomes_a_ticket(world, client):
    client.force_login(world.grid_worker)
    response = client.post("/workbench/hotline/grid/patrols/", {"grid_code": ""})
    patrol = Patrol.objects.get()
    assert response.status_code == 302 and patrol.grid_code == "320505001001G01"
    url = f"/workbench/hotline/grid/patrols/{patrol.pk}/"
    bad = client.post(url + "point/", {"latitude": "95", "longitude": "120.5"})
    assert bad.status_code == 422 and "坐标超出服务范围" in bad.content.decode()
    assert client.post(url + "point/", {"latitude": "31.301", "longitude": "120.502"}).status_code == 302
    no_photo_place = client.post(url + "report/", {"kind": "help", "content": "井盖缺失", "urgency": "normal"})
    assert no_photo_place.status_code == 422 and "请填写地址" in no_photo_place.content.decode()
    response = client.post(
        url + "report/",
        {
            "kind": "help",
            "category": "road",
            "urgency": "urgent",
            "content": "枫桥路井盖缺失,有安全隐患",
            "latitude": "31.301",
            "longitude": "120.502",
            "photo": png(),
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.patrol == patrol and ticket.channel == "grid" and ticket.grid_code == "320505001001G01"
    assert ticket.photo and ticket.status == "new"
    assert client.post(url + "finish/", {"note": "巡查完毕"}).status_code == 302
    patrol.refresh_from_db()
    assert patrol.status == "finished" and len(patrol.route) == 1 and patrol.route[0]["lat"] == "31.301000"
    page = client.get(url).content.decode()
    assert ticket.number in page and "巡查完毕" in page and "记录轨迹点" not in page
    late = client.post(url + "point/", {"latitude": "31.3", "longitude": "120.5"})
    assert late.status_code == 422 and "该巡查已结束" in late.content.decode()
    assert Patrol.objects.get().route == patrol.route
    actions = set(AuditEvent.objects.filter(action__startswith="hotline.patrol").values_list("action", flat=True))
    assert actions == {"hotline.patrol_start", "hotline.patrol_point", "hotline.patrol_finish"}
    client.force_login(world.supervisor)
    assert "320505001001G01" in client.get("/workbench/hotline/grid/patrols/").content.decode()
    client.force_login(world.urban_handler)
    assert client.get(url).status_code == 404


def test_patrol_rules(world):
    patrol = services.patrol_start(actor=world.grid_worker)
    with pytest.raises(Conflict):
        services.patrol_start(actor=world.grid_worker)
    with pytest.raises(Forbidden):  # not a grid worker
        services.patrol_start(actor=world.urban_handler)
    with pytest.raises(ValidationFailed) as caught:
        services.patrol_finish(actor=world.grid_worker, patrol=patrol)
    assert "未发现问题" in caught.value.fields["note"][0]
    with pytest.raises(NotFound):
        services.patrol_point_add(actor=world.dispatcher, patrol=patrol, latitude="31.3", longitude="120.5")
    services.member_set(actor=world.tree.root, user=world.outsider, role="grid_worker", grid_code="320505001001G02")
    with pytest.raises(NotFound):  # a patrol is its own worker's: no other worker files on it
        services.ticket_create(
            actor=world.outsider, channel="grid", kind="help", content="x 问题", address="枫桥路", patrol=patrol
        )
    services.patrol_finish(actor=world.grid_worker, patrol=patrol, note="未发现问题")
    with pytest.raises(ValidationFailed) as caught:
        services.ticket_create(
            actor=world.grid_worker, channel="grid", kind="help", content="井盖", address="枫桥路", patrol=patrol
        )
    assert "巡查已结束" in caught.value.fields["patrol"][0]
    with pytest.raises(ValidationFailed):
        services.patrol_start(actor=world.grid_worker, grid_code="320505001001G99")
