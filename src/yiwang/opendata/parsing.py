"""Parse-checking of uploaded resources: CSV, XLSX and JSON become (fields, rows) or a
``ValidationFailed`` naming the line and column where the file stops making sense.

Rows are plain dicts of strings (numbers from XLSX/JSON kept as numbers), keyed by the header.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from django.utils.translation import gettext as _

from yiwang.core.errors import ValidationFailed
from yiwang.core.inputs import text_problem

MAX_COLUMNS = 200
MAX_HEADER = 100
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_RIC = re.compile(r"^\d{17}[\dXx]$")


def _fail(message: str) -> ValidationFailed:
    return ValidationFailed(message, code="resource_unparsable", fields={"file": [message]})


def _header(names: list[Any]) -> list[str]:
    header = []
    for column, raw in enumerate(names, start=1):
        name = "" if raw is None else str(raw).strip()
        if not name:
            raise _fail(_("第1行第%(col)d列:表头为空") % {"col": column})
        if len(name) > MAX_HEADER or text_problem(name):
            raise _fail(_("第1行第%(col)d列:表头无效") % {"col": column})
        if name in header:
            raise _fail(_("第1行第%(col)d列:表头“%(name)s”重复") % {"col": column, "name": name})
        header.append(name)
    if not header:
        raise _fail(_("文件没有表头"))
    if len(header) > MAX_COLUMNS:
        raise _fail(_("列数超过 %(n)d") % {"n": MAX_COLUMNS})
    return header


def _decode(content: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 as Chinese spreadsheets save it; else an error
    naming the line of the first byte that is not UTF-8."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
    try:
        return content.decode("gb18030")
    except UnicodeDecodeError:
        raise _fail(_("第%(line)d行:文件不是 UTF-8 或 GB18030 编码") % {"line": line}) from None


def parse_csv(content: bytes) -> tuple[list[str], list[dict[str, Any]]]:
    text = _decode(content)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = _header(next(reader, []))
        rows = []
        for record in reader:
            line = reader.line_num
            if not record:
                continue
            if len(record) != len(header):
                raise _fail(
                    _("第%(line)d行:有 %(n)d 列,表头有 %(m)d 列") % {"line": line, "n": len(record), "m": len(header)}
                )
            for column, value in enumerate(record, start=1):
                if text_problem(value):
                    raise _fail(_("第%(line)d行第%(col)d列:含有不可存储的字符") % {"line": line, "col": column})
            rows.append(dict(zip(header, record, strict=True)))
    except csv.Error as exc:
        raise _fail(_("第%(line)d行:CSV 格式错误(%(error)s)") % {"line": reader.line_num, "error": exc}) from None
    return header, rows


def parse_json(content: bytes) -> tuple[list[str], list[dict[str, Any]]]:
    try:
        data = json.loads(_decode(content))
    except json.JSONDecodeError as exc:
        raise _fail(
            _("第%(line)d行第%(col)d列:JSON 格式错误(%(error)s)")
            % {"line": exc.lineno, "col": exc.colno, "error": exc.msg}
        ) from None
    if isinstance(data, dict) and isinstance(data.get("records"), list):
        data = data["records"]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise _fail(_('JSON 须为对象数组,如 [{"列": "值"}, ...]'))
    header: list[str] = []
    for row in data:
        for key in row:
            if key not in header:
                header.append(key)
    header = _header(header)
    rows = []
    for number, row in enumerate(data, start=1):
        clean = {}
        for key in header:
            value = row.get(key)
            if isinstance(value, dict | list):
                raise _fail(_("第%(n)d条记录“%(key)s”:值须为文字或数字") % {"n": number, "key": key})
            if isinstance(value, str) and text_problem(value):
                raise _fail(_("第%(n)d条记录“%(key)s”:含有不可存储的字符") % {"n": number, "key": key})
            clean[key] = value
        rows.append(clean)
    return header, rows


def parse_xlsx(content: bytes) -> tuple[list[str], list[dict[str, Any]]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise _fail(_("不是有效的 XLSX 文件(%(error)s)") % {"error": type(exc).__name__}) from None
    sheet = book.worksheets[0]
    lines = sheet.iter_rows(values_only=True)
    header = _header([c for c in next(lines, ()) if c is not None])
    rows = []
    for line, values in enumerate(lines, start=2):
        values = list(values)
        if all(v is None for v in values):
            continue
        extra = [i for i, v in enumerate(values[len(header) :], start=len(header) + 1) if v is not None]
        if extra:
            raise _fail(_("第%(line)d行第%(col)d列:超出表头的单元格") % {"line": line, "col": extra[0]})
        row = {}
        for column, name in enumerate(header, start=1):
            value = values[column - 1] if column - 1 < len(values) else None
            if hasattr(value, "isoformat"):
                value = value.isoformat()
            if isinstance(value, str) and text_problem(value):
                raise _fail(_("第%(line)d行第%(col)d列:含有不可存储的字符") % {"line": line, "col": column})
            row[name] = value
        rows.append(row)
    book.close()
    return header, rows


PARSERS = {"CSV": parse_csv, "JSON": parse_json, "XLSX": parse_xlsx}


def parse(fmt: str, content: bytes) -> tuple[list[str], list[dict[str, Any]]]:
    parser = PARSERS.get(fmt.upper())
    if parser is None:
        raise ValidationFailed(fields={"format": [_("支持 CSV、XLSX、JSON")]})
    return parser(content)


def _ric_checksum_ok(value: str) -> bool:
    """GB 11643 check character (ISO 7064 MOD 11-2): a real-looking 身份证号 whatever its region code."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(value[:17], weights, strict=True))
    return "10X98765432"[total % 11] == value[17].upper()


def personal_cells(header: list[str], rows: list[dict[str, Any]], *, personal_names: set[str]) -> list[str]:
    """Where the rows hold personal data: a column named like a personal registry field, or a
    cell that is a 身份证号 or a mobile number. Returns human messages (first few)."""
    problems = []
    for column, name in enumerate(header, start=1):
        if name.lower() in personal_names:
            problems.append(_("第%(col)d列“%(name)s”是个人信息") % {"col": column, "name": name})
    for line, row in enumerate(rows, start=2):
        for column, name in enumerate(header, start=1):
            value = row.get(name)
            if not isinstance(value, str | int):
                continue
            text = str(value).strip()
            if (_RIC.match(text) and _ric_checksum_ok(text)) or _MOBILE.match(text):
                problems.append(
                    _("第%(line)d行第%(col)d列“%(name)s”含有身份证号或手机号码")
                    % {"line": line, "col": column, "name": name}
                )
                if len(problems) >= 5:
                    return problems
    return problems
