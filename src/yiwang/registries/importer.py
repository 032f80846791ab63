"""Excel (.xlsx) and CSV import into a registry, with exactly the API's rules.

The first row names the columns, by the field's Chinese label (as in the template) or its
API name; the following rows are records. Empty rows are skipped. The rows go to
``services.records_upsert`` as one batch (at most 10,000 rows): all or nothing, and every bad
cell is reported by its spreadsheet row number and column title.
"""

from __future__ import annotations

import csv
import datetime
import io

from django.utils.translation import gettext as _

from yiwang.core.errors import ValidationFailed
from yiwang.registries import selectors, services
from yiwang.registries.errors import RowsInvalid
from yiwang.registries.values import registry_spec

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def template_workbook(registry: str) -> bytes:
    """An empty workbook whose header row is the registry's field labels (key fields first)."""
    from openpyxl import Workbook

    spec = registry_spec(registry)
    wb = Workbook()
    ws = wb.active
    ws.title = str(spec.label)[:31]
    ws.append([str(f.label) for f in spec.fields])
    for cell in ws[1]:
        cell.number_format = "@"
    for column in range(1, len(spec.fields) + 1):
        ws.column_dimensions[ws.cell(1, column).column_letter].number_format = "@"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _cell(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, datetime.datetime) and value.time() == datetime.time(0):
        return value.date()
    if isinstance(value, str):
        return value.strip()
    return value


def _rows(content: bytes, filename: str) -> list[tuple]:
    name = (filename or "").lower()
    if name.endswith(".csv"):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = content.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ValidationFailed(_("无法识别 CSV 文件的编码,请保存为 UTF-8"), fields={"file": [_("文件编码不正确")]})
        return [tuple(row) for row in csv.reader(io.StringIO(text))]
    from openpyxl import load_workbook

    try:
        ws = load_workbook(io.BytesIO(content), read_only=True, data_only=True).worksheets[0]
    except Exception as exc:  # not an xlsx file: say so, never a 500
        raise ValidationFailed(
            _("无法读取文件,请上传 Excel(.xlsx)或 CSV 文件"), fields={"file": [_("文件格式不正确")]}
        ) from exc
    return [tuple(_cell(v) for v in row) for row in ws.iter_rows(values_only=True)]


def records_import(*, actor, registry: str, content: bytes, filename: str, signed_off_by=None) -> services.UpsertResult:
    """Import one file into ``registry`` as ``actor`` (who must be the source of every field
    the file changes). Raises ``ValidationFailed`` naming each bad cell as 第N行「列」."""
    spec = registry_spec(registry)
    selectors.registry_require_source(actor=actor, registry=registry)  # the caller before the file
    rows = _rows(content, filename)
    while rows and all(v in (None, "") for v in rows[0]):
        rows.pop(0)
    if not rows:
        raise ValidationFailed(_("文件是空的"), fields={"file": [_("文件是空的")]})
    labels = {str(f.label): f.name for f in spec.fields} | {f.name: f.name for f in spec.fields}
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    unknown = [h for h in header if h and h not in labels]
    if unknown:
        raise ValidationFailed(
            _("表头有无法识别的列:%(columns)s") % {"columns": "、".join(unknown)},
            fields={_("表头"): [_("可用的列:%(labels)s") % {"labels": "、".join(str(f.label) for f in spec.fields)}]},
        )
    columns = [(i, labels[h]) for i, h in enumerate(header) if h]
    records, numbers = [], []
    for number, row in enumerate(rows[1:], start=2):
        if all(v in (None, "") for v in row):
            continue
        records.append({name: row[i] if i < len(row) else None for i, name in columns})
        numbers.append(number)
    if not records:
        raise ValidationFailed(_("文件中没有数据行"), fields={"file": [_("文件中没有数据行")]})
    try:
        return services.records_upsert(
            actor=actor, registry=registry, rows=records, channel="import", signed_off_by=signed_off_by
        )
    except RowsInvalid as exc:
        fields: dict[str, list[str]] = {}
        for index, field, message in exc.rows:
            spec_field = spec.field(field)
            title = str(spec_field.label) if spec_field else field
            fields.setdefault(_("第%(row)d行「%(column)s」") % {"row": numbers[index], "column": title}, []).append(
                message
            )
        raise ValidationFailed(exc.message, code=exc.code, fields=fields) from None
