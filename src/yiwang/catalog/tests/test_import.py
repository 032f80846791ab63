import io
import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import load_workbook

from yiwang.catalog import selectors
from yiwang.catalog.importer import (
    CatalogImportFailed,
    catalog_document,
    catalog_import,
    render_document,
    template_workbook,
)
from yiwang.catalog.models import LifeEvent, ServiceItem, ServiceItemVersion, Status
from yiwang.catalog.tests.factories import build_world, item_data, life_event_data

pytestmark = pytest.mark.django_db
DOCS = Path(__file__).resolve().parents[4] / "docs"


@pytest.fixture
def world():
    return build_world()


def _document(**overrides) -> dict:
    second = item_data(implementation_code="SZ-SJJ-0002", name="公章刻制备案", targets=["legal_person"])
    second["materials"] = [{"name": "印章样式"}]
    document = {"format_version": 1, "items": [item_data(), second], "life_events": [life_event_data()]}
    document.update(overrides)
    return document


def _yaml(document: dict) -> bytes:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False).encode()


def test_import_publish_and_reimport_is_idempotent(world):
    content = _yaml(_document())
    report = catalog_import(actor=world.market_admin, content=content, filename="scjg.yaml", publish=True)
    assert report.items == {"created": 2, "updated": 0, "unchanged": 0}
    assert report.published_items == 2 and report.published_life_events == 1
    assert {i.implementation_code for i in selectors.item_list_published()} == {"SZ-SJJ-0001", "SZ-SJJ-0002"}
    assert selectors.life_event_get_published(code="LE-KBQY").current_version.name == "开办企业一件事"

    again = catalog_import(actor=world.market_admin, content=content, filename="scjg.yaml", publish=True)
    assert again.items == {"created": 0, "updated": 0, "unchanged": 2}
    assert again.published_items == 0 and again.life_events["unchanged"] == 1
    assert ServiceItemVersion.objects.count() == 2

    document = _document()
    document["items"][0]["promised_time_limit"] = 2
    changed = catalog_import(actor=world.market_admin, content=_yaml(document), filename="scjg.yml")
    assert changed.items == {"created": 0, "updated": 1, "unchanged": 1}
    item = ServiceItem.objects.get(implementation_code="SZ-SJJ-0001")
    # Without --publish the change waits as a draft; the public still sees version 1.
    assert item.current_version.promised_time_limit == 1
    assert selectors.item_draft(item=item).promised_time_limit == 2


def test_a_file_with_errors_is_rejected_whole_and_every_error_is_named(world):
    document = _document()
    document["items"][0]["promised_time_limit"] = 30
    document["items"][1]["kind"] = "许可"
    document["items"][1]["materials"][0]["requirement"] = "conditional"
    document["life_events"][0]["items"] = ["SZ-SJJ-0001", "SZ-NONE-9"]
    with pytest.raises(CatalogImportFailed) as exc:
        catalog_import(actor=world.market_admin, content=_yaml(document), filename="bad.yaml", publish=True)
    errors = exc.value.errors
    assert len(errors) == 4, errors
    lines = _yaml(document).decode().splitlines()
    first = errors[0]
    assert first.startswith("第 ") and "items[0]（编码 SZ-SJJ-0001）.promised_time_limit" in first
    line_number = int(first.split()[1])
    assert lines[line_number - 1].strip() == "promised_time_limit: 30"
    assert first.endswith("「承诺办结时限」必须是不大于法定办结时限（15 个工作日）的整数")
    assert "items[1]（编码 SZ-SJJ-0002）.kind" in errors[1] and "行政许可" in errors[1]
    assert "materials[0].condition" in errors[2] and "提交情形" in errors[2]
    assert "life_events[0]（编码 LE-KBQY）.items" in errors[3] and "SZ-NONE-9" in errors[3]
    assert not ServiceItem.objects.exists() and not LifeEvent.objects.exists()


def test_a_department_admin_cannot_import_another_departments_items(world):
    with pytest.raises(CatalogImportFailed) as exc:
        catalog_import(actor=world.huqiu_admin, content=_yaml(_document()), filename="x.yaml")
    assert any("您不是部门「苏州市市场监督管理局」的管理员" in e for e in exc.value.errors)
    assert not ServiceItem.objects.exists()


def test_syntax_errors_and_unknown_file_types_are_reported(world):
    with pytest.raises(CatalogImportFailed) as exc:
        catalog_import(actor=None, content=b"format_version: 1\nitems: [\n", filename="x.yaml")
    assert "YAML 格式错误" in exc.value.errors[0]
    with pytest.raises(CatalogImportFailed) as exc:
        catalog_import(actor=None, content=b'{"format_version": 1,}', filename="x.json")
    assert exc.value.errors[0].startswith("第 1 行：JSON 格式错误")
    with pytest.raises(CatalogImportFailed) as exc:
        catalog_import(actor=None, content=b"a,b", filename="x.csv")
    assert ".xlsx" in exc.value.errors[0]
    with pytest.raises(CatalogImportFailed) as exc:
        catalog_import(actor=None, content=b"not a zip", filename="x.xlsx")
    assert "Excel" in exc.value.errors[0]


def _workbook_with_errors(document: dict) -> bytes:
    book = load_workbook(io.BytesIO(render_document(document, fmt="xlsx")))
    items = book["事项"]
    headers = [c.value for c in items[1]]
    items.cell(row=3, column=headers.index("承诺办结时限") + 1, value=99)
    items.cell(row=2, column=headers.index("事项类型") + 1, value="许可")
    items.cell(row=2, column=headers.index("到现场次数") + 1, value="两次")
    materials = book["材料"]
    m_headers = [c.value for c in materials[1]]
    materials.cell(row=2, column=m_headers.index("来源") + 1, value="电子证照")
    materials.append(["SZ-NOPE", "多余材料"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_excel_file_with_errors_is_rejected_whole_with_every_bad_cell_named(world):
    content = _workbook_with_errors(_document())
    with pytest.raises(CatalogImportFailed) as exc:
        catalog_import(actor=world.market_admin, content=content, filename="事项清单.xlsx")
    errors = exc.value.errors
    assert errors[0] == "「材料」表第 6 行「实施编码」SZ-NOPE 在「事项」表中不存在"
    assert "「事项」表第 2 行「事项类型」必须是以下之一：licensing（行政许可）" in errors[1]
    assert "「事项」表第 2 行「到现场次数」必须是不小于 0 的整数（次）" in errors
    assert "「材料」表第 2 行「证照类型编码」来源为电子证照时必须填写证照类型编码" in errors
    assert "「事项」表第 3 行「承诺办结时限」必须是不大于法定办结时限（15 个工作日）的整数" in errors
    assert len(errors) == 5, errors
    assert not ServiceItem.objects.exists()


def test_export_import_round_trips_in_every_format(world, tmp_path):
    catalog_import(actor=None, content=_yaml(_document()), filename="a.yaml", publish=True)
    exported = catalog_document(actor=None)
    schema = json.loads((DOCS / "catalog-import.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(exported)
    assert exported["items"][0]["materials"][1]["license_type_code"] == "resident_id_card"
    for fmt in ("yaml", "json", "xlsx"):
        content = render_document(exported, fmt=fmt)
        report = catalog_import(actor=world.market_admin, content=content, filename=f"catalog.{fmt}", publish=True)
        assert report.items == {"created": 0, "updated": 0, "unchanged": 2}, fmt
        assert report.life_events == {"created": 0, "updated": 0, "unchanged": 1}, fmt
    # The Excel form reads back to exactly the same document.
    from yiwang.catalog.xlsx import read_workbook

    document, _locator, errors = read_workbook(render_document(exported, fmt="xlsx"))
    assert errors == []
    from yiwang.catalog.importer import check_document

    items, events, problems = check_document(document, actor=None, publish=False)
    assert problems == [] and items == exported["items"] and events == exported["life_events"]


def test_admin_export_is_scoped_to_their_departments(world):
    catalog_import(actor=None, content=_yaml(_document()), filename="a.yaml")
    assert len(catalog_document(actor=world.market_admin)["items"]) == 2
    assert catalog_document(actor=world.huqiu_admin)["items"] == []
    # Drafts are not in a published-only export.
    assert catalog_document(actor=None, published_only=True)["items"] == []


def test_template_has_the_three_sheets_with_chinese_headers():
    book = load_workbook(io.BytesIO(template_workbook()))
    assert book.sheetnames == ["事项", "材料", "一件事"]
    headers = [c.value for c in book["事项"][1]]
    assert headers[:3] == ["实施编码", "基本编码", "事项名称"] and "承诺办结时限" in headers
    assert [c.value for c in book["材料"][1]][:2] == ["实施编码", "材料名称"]
    assert book["事项"].max_row == 1


def test_docs_example_is_valid(world):
    text = (DOCS / "catalog.md").read_text()
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    document = yaml.safe_load(example)
    schema = json.loads((DOCS / "catalog-import.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(document)
    from yiwang.catalog.importer import check_document

    _items, _events, problems = check_document(document, actor=None, publish=False)
    # Only the departments of the example are unknown to this test city.
    assert {p.path[-1] for p in problems} == {"department", "items"}


def test_command_imports_exports_and_reports_errors(world, tmp_path, capsys):
    source = tmp_path / "catalog.yaml"
    source.write_bytes(_yaml(_document()))
    call_command("catalog", "import", str(source), "--publish")
    assert "新增 2" in capsys.readouterr().out
    assert ServiceItem.objects.filter(status=Status.PUBLISHED).count() == 2
    out = tmp_path / "out.xlsx"
    call_command("catalog", "export", str(out))
    assert load_workbook(out)["事项"].max_row == 3
    bad = tmp_path / "bad.yaml"
    document = _document()
    document["items"][0]["statutory_time_limit"] = -1
    bad.write_bytes(_yaml(document))
    with pytest.raises(CommandError, match="1 处错误"):
        call_command("catalog", "import", str(bad))
    assert "「法定办结时限」必须是不小于 0 的整数" in capsys.readouterr().err


def test_excel_cells_accept_chinese_labels_and_full_width_separators():
    document = {"format_version": 1, "items": [item_data()], "life_events": []}
    book = load_workbook(io.BytesIO(render_document(document, fmt="xlsx")))
    sheet = book["事项"]
    headers = [c.value for c in sheet[1]]

    def put(header, value):
        sheet.cell(row=2, column=headers.index(header) + 1, value=value)

    put("别名", "个体户注册，开个体户；办执照")
    put("服务对象", "自然人，法人")
    put("网上办理深度", "1、互联网预审,5")
    put("承诺办结时限", "3")  # typed as text
    put("收费项目", "工本费|每本 10 元|《收费标准》|低保户免收\n邮寄费|到付")
    put("办理流程", "受理|窗口受理人员\n审查|reviewer|五个工作日内完成")
    out = io.BytesIO()
    book.save(out)
    from yiwang.catalog.xlsx import read_workbook

    parsed, _locator, errors = read_workbook(out.getvalue())
    item = parsed["items"][0]
    assert errors == []
    assert item["aliases"] == ["个体户注册", "开个体户", "办执照"]
    assert item["targets"] == ["natural_person", "legal_person"]
    assert item["online_depth"] == [1, 3, 5]
    assert item["promised_time_limit"] == 3
    assert item["fees"][0] == {
        "name": "工本费",
        "amount": "每本 10 元",
        "basis": "《收费标准》",
        "exemptions": "低保户免收",
    }
    assert item["fees"][1]["amount"] == "到付"
    assert item["process"] == [
        {"name": "受理", "role": "window_clerk"},
        {"name": "审查", "role": "reviewer", "description": "五个工作日内完成"},
    ]


def test_export_query_count_does_not_grow_with_the_catalog(world, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def add(start, count):
        for n in range(start, start + count):
            data = item_data(implementation_code=f"SZ-SJJ-{n:04d}")
            item = services.item_save_draft(actor=None, data=data).version.item
            if n % 2:
                services.item_publish(actor=None, item=item)

    from yiwang.catalog import services

    add(1, 4)
    with CaptureQueriesContext(connection) as few:
        catalog_document(actor=None)
    add(5, 20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        document = catalog_document(actor=None)
    assert len(document["items"]) == 24
    assert all(len(item["materials"]) == 3 for item in document["items"])


def test_a_failure_while_writing_rolls_back_everything_already_written(world):
    catalog_import(actor=None, content=_yaml(_document(life_events=[])), filename="a.yaml", publish=True)
    from yiwang.catalog import services

    services.item_retire(actor=None, item=ServiceItem.objects.get(implementation_code="SZ-SJJ-0002"))
    document = _document()
    document["items"][0]["name"] = "个体工商户设立登记(新)"  # a change that would be written first
    with pytest.raises(CatalogImportFailed) as exc:
        catalog_import(actor=None, content=_yaml(document), filename="a.yaml", publish=True)
    assert "life_events[0]（编码 LE-KBQY）" in exc.value.errors[0]
    assert "以下事项尚未发布,不能发布一件事:SZ-SJJ-0002" in exc.value.errors[0].replace("，", ",").replace("：", ":")
    item = ServiceItem.objects.get(implementation_code="SZ-SJJ-0001")
    assert item.current_version.name == "个体工商户设立登记" and item.versions.count() == 1
    assert not LifeEvent.objects.exists()


def test_the_packaged_schema_is_the_documented_one_and_is_served(client):
    packaged = Path(__file__).resolve().parents[1] / "import.schema.json"
    assert packaged.read_text() == (DOCS / "catalog-import.schema.json").read_text()
    response = client.get("/api/v1/catalog/import-schema.json")
    assert response.status_code == 200 and response.json()["$defs"]["item"]["title"] == "政务服务事项"


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "permit"},
        {"targets": []},
        {"online_depth": [8]},
        {"statutory_time_limit": -1},
        {"handling_form": "mail"},
        {"unknown_field": 1},
        {"materials": [{"name": "x", "source": "post"}]},
        {"process": [{"name": "受理", "role": "boss"}]},
        {"output": {"license": "x"}},
        {"implementation_code": "含空格 的编码"},
    ],
)
def test_the_schema_and_the_importer_reject_the_same_shapes(change):
    """The documented schema and the importer's checks agree (the importer also checks what a
    schema cannot: departments, promised ≤ statutory, conditional requirements)."""
    from yiwang.catalog.content import check_item

    schema = json.loads((DOCS / "catalog-import.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    good = {"format_version": 1, "items": [item_data()]}
    assert not list(validator.iter_errors(good))
    assert check_item(item_data())[1] == []
    bad = item_data(**change)
    assert list(validator.iter_errors({"format_version": 1, "items": [bad]}))
    assert check_item(bad)[1]
