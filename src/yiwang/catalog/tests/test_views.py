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
    services.item_save_draft(actor=world.market_admin, data=item_data())
    _sign_in(client, world.tree.root)
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
