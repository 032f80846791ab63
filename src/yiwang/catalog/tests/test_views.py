import io

import pytest
import yaml

from yiwang.catalog import services
from yiwang.catalog.importer import render_document
from yiwang.catalog.models import ServiceItem, Status
from yiwang.catalog.tests.factories import build_world, item_data
from yiwang.identity import mfa
from yiwang.identity.tests.auth_helpers import make_citizen

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def _sign_in(client, user):
    client.force_login(user)
    session = client.session
    session[mfa.SESSION_VERIFIED] = True  # as after a TOTP check (tested in identity)
    session.save()


def _upload(client, content: bytes, name: str, publish: bool = False):
    upload = io.BytesIO(content)
    upload.name = name
    data = {"file": upload}
    if publish:
        data["publish"] = "on"
    return client.post("/workbench/catalog/import/", data)


def test_upload_page_lists_every_bad_cell_and_writes_nothing(client, world):
    _sign_in(client, world.market_admin)
    page = client.get("/workbench/catalog/import/")
    assert page.status_code == 200 and "上传并导入" in page.content.decode()
    document = {"format_version": 1, "items": [item_data(), item_data(implementation_code="SZ-SJJ-0002")]}
    workbook = render_document(document, fmt="xlsx")
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(workbook))
    headers = [c.value for c in book["事项"][1]]
    book["事项"].cell(row=3, column=headers.index("承诺办结时限") + 1, value=16)
    book["事项"].cell(row=2, column=headers.index("服务对象") + 1, value="居民")
    out = io.BytesIO()
    book.save(out)
    response = _upload(client, out.getvalue(), "清单.xlsx", publish=True)
    assert response.status_code == 422
    html = response.content.decode()
    assert "发现 2 处错误，未写入任何内容" in html
    assert "「事项」表第 3 行「承诺办结时限」必须是不大于法定办结时限（15 个工作日）的整数" in html
    assert "「事项」表第 2 行「服务对象」必须从以下选择至少一项" in html
    assert not ServiceItem.objects.exists()


def test_upload_then_publish_and_retire_from_the_list(client, world):
    _sign_in(client, world.market_admin)
    response = _upload(client, yaml.safe_dump({"format_version": 1, "items": [item_data()]}).encode(), "a.yaml")
    assert response.status_code == 302
    listing = client.get(response["Location"]).content.decode()
    assert "导入成功" in listing and "个体工商户设立登记" in listing and "草稿" in listing

    preview = client.get("/workbench/catalog/items/SZ-SJJ-0001/").content.decode()
    assert "经营者身份证明" in preview and "免提交" in preview

    client.post("/workbench/catalog/items/SZ-SJJ-0001/publish/")
    assert ServiceItem.objects.get().status == Status.PUBLISHED
    client.post("/workbench/catalog/items/SZ-SJJ-0001/retire/")
    assert ServiceItem.objects.get().status == Status.RETIRED


def test_other_departments_items_do_not_exist_for_an_admin(client, world):
    item = services.item_save_draft(actor=world.market_admin, data=item_data()).version.item
    _sign_in(client, world.huqiu_admin)
    assert "SZ-SJJ-0001" not in client.get("/workbench/catalog/").content.decode()
    assert client.get("/workbench/catalog/items/SZ-SJJ-0001/").status_code == 404
    assert client.post("/workbench/catalog/items/SZ-SJJ-0001/publish/").status_code == 404
    item.refresh_from_db()
    assert item.status == Status.DRAFT


def test_citizens_get_a_404_and_anonymous_users_the_login_page(client, world):
    assert client.get("/workbench/catalog/").status_code == 302
    client.force_login(make_citizen())
    assert client.get("/workbench/catalog/import/").status_code == 404


def test_template_download(client, world):
    _sign_in(client, world.clerk)
    response = client.get("/workbench/catalog/template.xlsx")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    page = client.get("/workbench/catalog/").content.decode()
    assert "您不是任何部门的管理员" in page


def test_admin_site_shows_items_read_only(client, world):
    from yiwang.identity.tests.auth_helpers import grant_admin_role

    services.item_save_draft(actor=world.market_admin, data=item_data())
    _sign_in(client, grant_admin_role(world.tree.root))  # 三员分立: the system admin's area
    listing = client.get("/admin/catalog/serviceitem/")
    assert listing.status_code == 200 and "SZ-SJJ-0001" in listing.content.decode()
    item = ServiceItem.objects.get()
    page = client.get(f"/admin/catalog/serviceitem/{item.pk}/change/")
    assert page.status_code == 200 and 'name="implementation_code"' not in page.content.decode()
    assert client.get("/admin/catalog/serviceitem/add/").status_code == 403


def test_the_item_list_costs_the_same_number_of_queries_for_3_or_30_items(client, world, django_assert_max_num_queries):
    _sign_in(client, world.market_admin)

    def add(count, start):
        for n in range(start, start + count):
            services.item_save_draft(actor=world.market_admin, data=item_data(implementation_code=f"SZ-SJJ-{n:04d}"))

    add(3, 1)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get("/workbench/catalog/").status_code == 200
    add(27, 4)
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get("/workbench/catalog/").content.decode()
    assert "SZ-SJJ-0030" in html


def test_edit_an_item_as_yaml_makes_a_draft_and_names_every_problem(client, world):
    item = services.item_save_draft(actor=world.market_admin, data=item_data()).version.item
    services.item_publish(actor=world.market_admin, item=item)
    _sign_in(client, world.market_admin)
    page = client.get("/workbench/catalog/items/SZ-SJJ-0001/edit/").content.decode()
    assert "promised_time_limit: 1" in page and "个体工商户登记申请书" in page

    bad = yaml.safe_dump({**item_data(), "promised_time_limit": 20, "onsite_visits": 1}, allow_unicode=True)
    response = client.post("/workbench/catalog/items/SZ-SJJ-0001/edit/", {"content": bad})
    assert response.status_code == 422
    html = response.content.decode()
    assert "有 2 处需要修改" in html and "「承诺办结时限」必须是不大于法定办结时限（15 个工作日）的整数" in html
    assert "必须现场办理的原因" in html

    good = yaml.safe_dump({**item_data(), "promised_time_limit": 2}, allow_unicode=True)
    response = client.post("/workbench/catalog/items/SZ-SJJ-0001/edit/", {"content": good})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.current_version.promised_time_limit == 1  # published version untouched
    assert item.versions.get(number=2).promised_time_limit == 2
    assert client.post("/workbench/catalog/items/SZ-SJJ-0001/edit/", {"content": "a: [1"}).status_code == 422


def test_new_item_from_the_skeleton(client, world):
    _sign_in(client, world.market_admin)
    skeleton = client.get("/workbench/catalog/new/").content.decode()
    assert "department: &quot;SZ-SJJ&quot;" in skeleton
    data = item_data(implementation_code="SZ-SJJ-0100", name="新事项")
    response = client.post("/workbench/catalog/new/", {"content": yaml.safe_dump(data, allow_unicode=True)})
    assert response.status_code == 302 and response["Location"] == "/workbench/catalog/items/SZ-SJJ-0100/"
    # Another department's admin cannot create items for this one.
    _sign_in(client, world.huqiu_admin)
    data = item_data(implementation_code="SZ-SJJ-0101")
    response = client.post("/workbench/catalog/new/", {"content": yaml.safe_dump(data, allow_unicode=True)})
    assert response.status_code == 422 and "您不是部门「苏州市市场监督管理局」的管理员" in response.content.decode()


def test_life_events_are_created_and_edited_as_yaml(client, world):
    from yiwang.catalog.models import LifeEvent
    from yiwang.catalog.tests.factories import life_event_data

    for code in ("SZ-SJJ-0001", "SZ-SJJ-0002"):
        services.item_save_draft(actor=world.market_admin, data=item_data(implementation_code=code))
    _sign_in(client, world.market_admin)
    assert "department: &quot;SZ-SJJ&quot;" in client.get("/workbench/catalog/life-events/new/").content.decode()
    response = client.post(
        "/workbench/catalog/life-events/new/", {"content": yaml.safe_dump(life_event_data(), allow_unicode=True)}
    )
    assert response.status_code == 302
    assert LifeEvent.objects.get().versions.get().name == "开办企业一件事"

    page = client.get("/workbench/catalog/life-events/LE-KBQY/edit/").content.decode()
    assert "SZ-SJJ-0002" in page
    bad = yaml.safe_dump(life_event_data(items=["SZ-SJJ-0001", "SZ-X"]), allow_unicode=True)
    response = client.post("/workbench/catalog/life-events/LE-KBQY/edit/", {"content": bad})
    assert response.status_code == 422 and "SZ-X" in response.content.decode()
    renamed = yaml.safe_dump(life_event_data(name="开办企业一件事(新)"), allow_unicode=True)
    assert client.post("/workbench/catalog/life-events/LE-KBQY/edit/", {"content": renamed}).status_code == 302
    assert LifeEvent.objects.get().versions.get().name == "开办企业一件事(新)"  # still the one draft
    _sign_in(client, world.huqiu_admin)
    assert client.get("/workbench/catalog/life-events/LE-KBQY/edit/").status_code == 404
