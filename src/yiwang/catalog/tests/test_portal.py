import pytest

from yiwang.catalog import services
from yiwang.catalog.tests.factories import build_world, item_data, life_event_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(django_capture_on_commit_callbacks):
    world = build_world()
    with django_capture_on_commit_callbacks(execute=True):  # indexes for search on publish
        for code, name, extra in (
            ("SZ-SJJ-0001", "个体工商户设立登记", {}),
            (
                "SZ-SJJ-0002",
                "公章刻制备案",
                {"targets": ["legal_person"], "fees": [{"name": "刻章费", "amount": "每枚 50 元"}]},
            ),
        ):
            data = item_data(implementation_code=code, name=name, **extra)
            item = services.item_save_draft(actor=world.market_admin, data=data).version.item
            services.item_publish(actor=world.market_admin, item=item)
        bundle = services.life_event_save_draft(actor=world.market_admin, data=life_event_data()).version.life_event
        services.life_event_publish(actor=world.market_admin, life_event=bundle)
        draft = item_data(implementation_code="SZ-SJJ-0003", name="尚未发布的事项")
        services.item_save_draft(actor=world.market_admin, data=draft)
    return world


def test_guide_page_is_complete(client, world):
    html = client.get("/services/items/SZ-SJJ-0001/").content.decode()
    for text in (
        "个体工商户设立登记",
        "行政许可",
        "苏州市市场监督管理局",
        "15 个工作日",  # statutory
        "1 个工作日",  # promised
        "不收费",
        "经营者身份证明",
        "免提交",
        "经营场所为租赁房屋的",
        "受理",
        "窗口受理人员",
        "营业执照",
        "《促进个体工商户发展条例》",
        "打印办事指南",
        "开办企业一件事",  # the bundle it belongs to
    ):
        assert text in html, text
    assert "每枚 50 元" in client.get("/services/items/SZ-SJJ-0002/").content.decode()


def test_drafts_and_unknown_items_are_not_found(client, world):
    assert client.get("/services/items/SZ-SJJ-0003/").status_code == 404
    assert client.get("/services/items/NOPE/").status_code == 404
    assert client.get("/services/life-events/NOPE/").status_code == 404


def test_browse_by_theme_department_and_life_event(client, world):
    home = client.get("/services/").content.decode()
    assert "开办企业一件事" in home and "苏州市市场监督管理局" in home
    enterprise = client.get("/services/", {"target": "legal_person"}).content.decode()
    assert "公章刻制备案" in enterprise and "个体工商户设立登记" not in enterprise
    department = client.get("/services/", {"department": "SZ-SJJ"}).content.decode()
    assert "公章刻制备案" in department and "尚未发布的事项" not in department


def test_life_event_page_asks_shared_materials_once(client, world):
    html = client.get("/services/life-events/LE-KBQY/").content.decode()
    assert html.count("个体工商户登记申请书") == 1
    assert "个体工商户设立登记" in html and "公章刻制备案" in html


def test_search_and_suggestions(client, world):
    html = client.get("/services/", {"q": "个体户"}).content.decode()
    assert "个体工商户设立登记" in html
    suggestions = client.get("/services/suggest/", {"q": "gtgsh"}).content.decode()
    assert "/services/items/SZ-SJJ-0001/" in suggestions
    assert client.get("/services/suggest/", {"q": ""}).content.decode().strip() == ""


def test_search_results_can_be_filtered(client, world):
    everything = client.get("/services/", {"q": "登记"}).content.decode()
    assert "个体工商户设立登记" in everything
    enterprise = client.get("/services/", {"q": "登记", "target": "legal_person"}).content.decode()
    assert "个体工商户设立登记</strong>" not in enterprise
    assert 'value="legal_person" selected' in enterprise
    bundles = client.get("/services/", {"q": "开办企业", "kind": "life_event"}).content.decode()
    assert "开办企业一件事" in bundles and "公章刻制备案</strong>" not in bundles
