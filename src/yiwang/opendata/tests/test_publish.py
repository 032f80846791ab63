"""Publishing: metadata, the exchange's catalog (aggregated, no personal field), uploads
parse-checked (errors name line and column) and refused when they hold personal data."""

import datetime
import io

import pytest
from openpyxl import Workbook

from yiwang.core.audit import AuditEvent
from yiwang.core.codes import make_id_number
from yiwang.core.errors import Conflict, Forbidden, ValidationFailed
from yiwang.opendata import selectors, services
from yiwang.opendata.models import DatastoreRow, OpenType
from yiwang.opendata.tests.conftest import CSV, metadata

pytestmark = pytest.mark.django_db


def _upload(world, content, fmt="CSV", **meta):
    return services.dataset_publish_upload(
        actor=world.publisher,
        publisher=world.bigdata,
        metadata=metadata(**meta),
        open_type=OpenType.OPEN,
        files=[(f"file.{fmt.lower()}", fmt, content)],
    )


def test_an_uploaded_csv_is_stored_row_by_row_with_its_metadata_and_audited(world):
    dataset = world.open_dataset
    dist = dataset.distributions.get()
    assert (dist.format, dist.row_count) == ("CSV", 3)
    assert [f["id"] for f in dist.fields] == ["区县", "年份", "企业数"]
    assert DatastoreRow.objects.filter(distribution=dist).order_by("number").first().data == {
        "区县": "姑苏区",
        "年份": "2025",
        "企业数": "120",
    }
    assert dataset.keywords == ["企业", "统计"] and dataset.temporal_end == datetime.date(2025, 12, 31)
    assert AuditEvent.objects.filter(action="opendata.dataset_publish", object_id=str(dataset.pk)).exists()


def test_a_catalog_dataset_is_aggregated_with_small_groups_merged_and_takes_the_strictest_open_type(world):
    dataset = world.conditional_dataset
    # 户籍地行政区划 is 有条件开放 in the catalog (its default), 性别 open: the dataset is conditional.
    assert dataset.open_type == OpenType.CONDITIONAL and dataset.source == "exchange"
    dist = dataset.distributions.order_by("position").first()
    total, rows = selectors.datastore_query(distribution=dist)
    assert total == 3
    by_key = {(r["region_code"], r["sex"]): r["count"] for r in rows}
    # 12 persons in 320505, 6 of each sex; the 2 in 320506 are fewer than 5: merged into 其他.
    assert by_key == {("320505", "female"): 6, ("320505", "male"): 6, ("其他", "其他"): 2}
    assert {d.format for d in dataset.distributions.all()} == {"CSV", "API"}


def test_a_personal_field_is_never_opened_and_the_error_names_it(world):
    with pytest.raises(ValidationFailed) as caught:
        services.dataset_publish_from_catalog(
            actor=world.publisher,
            publisher=world.bigdata,
            registry="population",
            group_by=["region_code", "name"],
            metadata=metadata(name="names"),
        )
    assert caught.value.code == "personal_data_open"
    assert "姓名" in str(caught.value.message) and "name" in str(caught.value.message)
    assert not selectors.datasets_listed().filter(name="names").exists()


def test_a_catalog_item_that_is_not_to_be_opened_is_refused(world):
    from yiwang.exchange import services as exchange
    from yiwang.exchange.models import DataResource

    sex = DataResource.objects.get(registry="population", field="sex")
    exchange.data_resource_update(
        actor=world.root, resource=sex, share_type=sex.share_type, open_type=OpenType.CLOSED, mask_kind=sex.mask_kind
    )
    with pytest.raises(ValidationFailed, match="不予开放"):
        services.dataset_publish_from_catalog(
            actor=world.publisher, publisher=world.bigdata, registry="population", group_by=["sex"], metadata=metadata()
        )


def test_a_ragged_csv_is_refused_naming_its_line(world):
    with pytest.raises(ValidationFailed) as caught:
        _upload(world, "区县,企业数\n姑苏区,120\n吴中区,98,多余\n".encode(), name="ragged")
    assert caught.value.code == "resource_unparsable"
    assert "第3行" in str(caught.value.message) and "file.csv" in str(caught.value.message)


def test_broken_json_is_refused_naming_line_and_column(world):
    with pytest.raises(ValidationFailed) as caught:
        _upload(world, b'[\n  {"a": 1},\n  {"a": 2,,}\n]', fmt="JSON", name="broken-json")
    assert "第3行第11列" in str(caught.value.message)


def test_json_and_xlsx_are_parsed_and_a_file_that_is_not_xlsx_is_refused(world):
    dataset = _upload(world, '[{"区县": "姑苏区", "企业数": 120}]'.encode(), fmt="JSON", name="as-json")
    assert dataset.distributions.get().fields == [{"id": "区县", "type": "text"}, {"id": "企业数", "type": "int"}]
    book = Workbook()
    sheet = book.active
    sheet.append(["区县", "企业数"])
    sheet.append(["吴中区", 98])
    sheet.append([None, None, "越界"])
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(ValidationFailed, match="第3行第3列"):
        _upload(world, out.getvalue(), fmt="XLSX", name="xlsx-overflow")
    with pytest.raises(ValidationFailed, match="XLSX"):
        _upload(world, b"not a zip at all", fmt="XLSX", name="not-xlsx")


def test_an_upload_holding_an_id_number_or_a_personal_column_is_refused(world):
    id_number = make_id_number("320505", datetime.date(1990, 5, 1), 17)
    with pytest.raises(ValidationFailed) as caught:
        _upload(world, f"区县,备注\n姑苏区,{id_number}\n".encode(), name="leak")
    assert caught.value.code == "personal_data_open" and "第2行第2列" in str(caught.value.message)
    with pytest.raises(ValidationFailed, match="姓名"):
        _upload(world, "姓名,区县\n张三,姑苏区\n".encode(), name="leak2")


def test_only_the_publisher_departments_staff_may_publish_and_names_are_unique(world):
    with pytest.raises(Forbidden):
        services.dataset_publish_upload(
            actor=world.outsider,
            publisher=world.bigdata,
            metadata=metadata(name="x-1"),
            open_type=OpenType.OPEN,
            files=[("a.csv", "CSV", CSV)],
        )
    with pytest.raises(Conflict):
        _upload(world, CSV, name="enterprises-by-district")
    with pytest.raises(ValidationFailed) as caught:
        _upload(world, CSV, name="Bad Name!", theme="nope", temporal_start="2025-13-01")
    assert set(caught.value.fields) == {"name", "theme", "temporal_start"}


def test_a_withdrawn_dataset_is_no_longer_listed_nor_found(world):
    services.dataset_withdraw(actor=world.publisher, dataset=world.open_dataset, reason="数据有误,暂停开放")
    assert not selectors.datasets_listed().filter(pk=world.open_dataset.pk).exists()
    with pytest.raises(Exception) as caught:
        selectors.dataset_get(id_or_name="enterprises-by-district")
    assert type(caught.value).__name__ == "NotFound"
