"""Excel/CSV import: the template round-trips, bad cells are named by row and column, nothing is half-written."""

import io

import pytest
from openpyxl import load_workbook

from yiwang.core.errors import ValidationFailed
from yiwang.registries import importer
from yiwang.registries.models import Person
from yiwang.registries.tests.factories import PERSON_ID, PERSON_ID_2, build_world, person_row

pytestmark = pytest.mark.django_db


def _workbook(rows: list[dict]) -> bytes:
    ws_bytes = importer.template_workbook("population")
    wb = load_workbook(io.BytesIO(ws_bytes))
    ws = wb.active
    header = [c.value for c in ws[1]]
    from yiwang.registries.schema import POPULATION

    by_label = {str(f.label): f.name for f in POPULATION.fields}
    for row in rows:
        ws.append([row.get(by_label[h], "") for h in header])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_an_excel_import_creates_records_like_the_api():
    world = build_world()
    content = _workbook([person_row(), {}, person_row(PERSON_ID_2, name="李四")])  # an empty row is skipped
    result = importer.records_import(
        actor=world.police_clerk, registry="population", content=content, filename="p.xlsx"
    )
    assert result.created == 2
    assert set(Person.objects.values_list("name", flat=True)) == {"张小三", "李四"}


def test_bad_cells_are_named_by_spreadsheet_row_and_column_and_nothing_is_written():
    world = build_world()
    bad = PERSON_ID_2[:17] + ("0" if PERSON_ID_2[17] != "0" else "1")
    content = _workbook([person_row(), person_row(bad), person_row(PERSON_ID, name="重复", phone="12")])
    with pytest.raises(ValidationFailed) as exc:
        importer.records_import(actor=world.police_clerk, registry="population", content=content, filename="p.xlsx")
    fields = exc.value.fields
    assert "第3行「公民身份号码」" in fields
    assert "第4行「公民身份号码」" in fields and "第4行「联系电话」" in fields
    assert Person.objects.count() == 0


def test_a_civil_affairs_import_may_not_touch_police_fields_and_bad_files_are_refused():
    world = build_world()
    importer.records_import(
        actor=world.police_clerk, registry="population", content=_workbook([person_row()]), filename="p.xlsx"
    )
    csv = f"公民身份号码,婚姻状况,姓名\n{PERSON_ID},已婚,张晓三\n".encode("gb18030")
    with pytest.raises(ValidationFailed) as exc:
        importer.records_import(actor=world.civil_clerk, registry="population", content=csv, filename="m.csv")
    assert list(exc.value.fields) == ["第2行「姓名」"] and "苏州市公安局" in exc.value.fields["第2行「姓名」"][0]
    assert Person.objects.get().marital_status == ""
    with pytest.raises(ValidationFailed) as exc:
        importer.records_import(actor=world.civil_clerk, registry="population", content=b"not excel", filename="x.xlsx")
    assert "file" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        importer.records_import(
            actor=world.civil_clerk, registry="population", content="公民身份号码,工资\n".encode(), filename="x.csv"
        )
    assert "工资" in str(exc.value.message)
