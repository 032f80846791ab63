"""The Excel form of the catalog file: sheets 事项, 材料, 一件事 with Chinese column headers.

``read_workbook`` turns a workbook into the import-file dict plus a locator that names the
sheet, row and column of any field path; ``write_workbook`` does the reverse (export and the
blank template). Cell values are converted leniently (Chinese labels or codes, numbers typed
as text); anything that cannot be converted is passed on as typed, so the one checker in
``content.py`` reports it with the same message as for YAML.
"""

import io
import json
import re
from collections.abc import Callable

from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from yiwang.catalog.content import FORMAT_VERSION, item_labels, life_event_labels, material_labels
from yiwang.catalog.models import (
    ExerciseLevel,
    HandlingForm,
    ItemKind,
    MaterialFormat,
    MaterialRequirementKind,
    MaterialSource,
    OnlineDepth,
    Target,
)
from yiwang.identity.models import Role

ITEMS_SHEET, MATERIALS_SHEET, LIFE_EVENTS_SHEET = "事项", "材料", "一件事"

ITEM_COLUMNS = (
    "implementation_code",
    "basic_code",
    "name",
    "aliases",
    "keywords",
    "description",
    "kind",
    "department",
    "exercise_level",
    "legal_basis",
    "statutory_time_limit",
    "promised_time_limit",
    "acceptance_conditions",
    "fees",
    "handling_form",
    "onsite_visits",
    "onsite_visits_reason",
    "online_depth",
    "targets",
    "handling_place",
    "handling_hours",
    "consultation_contact",
    "complaint_contact",
    "process",
    "form_schema",
    "output_license_type_code",
    "output_description",
    "decision_table",
    "real_name_level",
    "name_en",
    "description_en",
    "auto_accept",
)
MATERIAL_COLUMNS = (
    "implementation_code",
    "name",
    "requirement",
    "condition",
    "copies",
    "format",
    "source",
    "license_type_code",
    "registry_field",
    "description",
    "blank_form",
    "sample",
    "name_en",
)
LIFE_EVENT_COLUMNS = (
    "code",
    "name",
    "aliases",
    "keywords",
    "description",
    "department",
    "targets",
    "items",
    "name_en",
    "description_en",
)

ITEM_CHOICES = {
    "kind": ItemKind,
    "exercise_level": ExerciseLevel,
    "handling_form": HandlingForm,
}
MATERIAL_CHOICES = {
    "requirement": MaterialRequirementKind,
    "format": MaterialFormat,
    "source": MaterialSource,
}
# Words departments commonly write for the same thing.
EXTRA_LABELS = {
    "requirement": {"必要": "required", "必须": "required", "必需材料": "required", "非必需": "conditional"},
    "format": {"纸质和电子": "both", "电子或纸质": "both"},
}
LIST_SPLIT = re.compile(r"[\n、；;，,]+")
INT_COLUMNS = {"statutory_time_limit", "promised_time_limit", "onsite_visits", "copies", "real_name_level"}

HELP = {
    "implementation_code": "必填。事项的唯一标识，字母、数字、-、_、.",
    "aliases": "多个用顿号、逗号或换行分隔",
    "keywords": "多个用顿号、逗号或换行分隔",
    "department": "必填。实施主体的机构编码",
    "statutory_time_limit": "必填。工作日，整数，0 表示即办",
    "promised_time_limit": "必填。工作日，整数，不大于法定办结时限",
    "fees": "不收费留空；每行一项：名称|收费标准|收费依据|减免政策",
    "onsite_visits": "整数，大于 0 时须填写必须现场办理原因",
    "real_name_level": "1、2 或 3：L1 自助注册、L2 人口库核验、L3 窗口当面核验；留空为 1",
    "online_depth": (
        "1 互联网咨询 2 互联网收件 3 互联网预审 4 互联网受理 5 互联网办理 6 互联网办理结果信息反馈 7 其他；"
        "可填多个，用顿号分隔"
    ),
    "targets": "自然人、法人，可填多个",
    "process": "每行一个环节：环节名称|角色（窗口受理人员、审核人员、部门负责人……）|说明（可选）",
    "form_schema": "可选。JSON Schema（2020-12），根节点为 object",
    "condition": "必要性为“按情形提交”时必填",
    "license_type_code": "来源为“电子证照”时必填",
    "registry_field": "来源为“基础库数据”时必填",
    "items": "包含事项的实施编码，按顺序，用顿号或换行分隔",
    "name_en": "可选。英文名称，界面为英文时显示；留空则显示中文",
    "description_en": "可选。英文简介，界面为英文时显示",
    "auto_accept": "是 或 否（留空为否）。是：网上申请材料齐全的，由平台即时自动受理",
}


def _zh_labels(labels: Callable[[], dict]) -> dict[str, str]:
    with translation.override("zh-hans"):
        return {key: str(value) for key, value in labels().items()}


def _choice_map(choices, field: str) -> dict[str, str]:
    with translation.override("zh-hans"):
        mapping = {str(label): value for value, label in choices.choices}
    mapping.update({value: value for value in choices.values})
    mapping.update(EXTRA_LABELS.get(field, {}))
    return mapping


def _role_map() -> dict[str, str]:
    with translation.override("zh-hans"):
        mapping = {str(label): value for value, label in Role.choices}
    mapping.update({value: value for value in Role.values})
    return mapping


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _integer(value):
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = _text(value)
    return int(text) if re.fullmatch(r"\d+", text) else text


def _split(value) -> list[str]:
    return [part.strip() for part in LIST_SPLIT.split(_text(value)) if part.strip()]


def _lines(value) -> list[str]:
    return [line.strip() for line in _text(value).splitlines() if line.strip()]


class Locator:
    """Names the cell of a field path: 「事项」表第 12 行「承诺办结时限」."""

    def __init__(self):
        self.item_rows: list[int] = []
        self.material_rows: dict[tuple[int, int], int] = {}
        self.life_event_rows: list[int] = []

    def __call__(self, path: tuple) -> str:
        if len(path) >= 2 and path[0] == "items" and isinstance(path[1], int):
            if len(path) >= 4 and path[2] == "materials" and isinstance(path[3], int):
                row = self.material_rows.get((path[1], path[3]))
                if row:
                    return _("「%(sheet)s」表第 %(row)d 行") % {"sheet": MATERIALS_SHEET, "row": row}
            if path[1] < len(self.item_rows):
                return _("「%(sheet)s」表第 %(row)d 行") % {"sheet": ITEMS_SHEET, "row": self.item_rows[path[1]]}
        life_event = len(path) >= 2 and path[0] == "life_events" and isinstance(path[1], int)
        if life_event and path[1] < len(self.life_event_rows):
            row = self.life_event_rows[path[1]]
            return _("「%(sheet)s」表第 %(row)d 行") % {"sheet": LIFE_EVENTS_SHEET, "row": row}
        return ""


def _header_map(sheet, labels: dict[str, str], columns: tuple, errors: list[str]) -> dict[str, int]:
    by_label = {labels[c]: c for c in columns}
    found: dict[str, int] = {}
    for index, cell in enumerate(next(sheet.iter_rows(min_row=1, max_row=1, values_only=True), ())):
        header = re.split(r"[（(]", _text(cell))[0].strip()
        if header in by_label:
            found[by_label[header]] = index
    for column in columns[:1]:
        if column not in found:
            errors.append(
                _("「%(sheet)s」表第 1 行缺少列「%(column)s」") % {"sheet": sheet.title, "column": labels[column]}
            )
    return found


def _rows(sheet, header: dict[str, int]):
    for row_number, values in enumerate(sheet.iter_rows(min_row=2, values_only=True), start=2):
        if not any(_text(v) for v in values):
            continue
        yield row_number, {field: values[i] if i < len(values) else None for field, i in header.items()}


def read_workbook(content: bytes) -> tuple[dict, Locator, list[str]]:
    """Parse a workbook into the import-file dict, its locator, and structural errors."""
    errors: list[str] = []
    locator = Locator()
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        return {}, locator, [_("文件不是有效的 Excel（.xlsx）工作簿")]
    if ITEMS_SHEET not in book.sheetnames and LIFE_EVENTS_SHEET not in book.sheetnames:
        return {}, locator, [_("工作簿中没有「事项」或「一件事」工作表，请使用下载的模板")]

    items: list[dict] = []
    index_by_code: dict[str, int] = {}
    if ITEMS_SHEET in book.sheetnames:
        sheet = book[ITEMS_SHEET]
        labels = _zh_labels(item_labels)
        header = _header_map(sheet, labels, ITEM_COLUMNS, errors)
        for row_number, row in _rows(sheet, header):
            item, row_errors = _item_from_row(row)
            errors.extend(
                _("「%(sheet)s」表第 %(row)d 行「%(column)s」%(message)s")
                % {"sheet": ITEMS_SHEET, "row": row_number, "column": labels[col], "message": msg}
                for col, msg in row_errors
            )
            code = item.get("implementation_code")
            if code and code not in index_by_code:
                index_by_code[code] = len(items)
            locator.item_rows.append(row_number)
            items.append(item)
    if MATERIALS_SHEET in book.sheetnames:
        sheet = book[MATERIALS_SHEET]
        labels = _zh_labels(material_labels)
        header = _header_map(sheet, labels, MATERIAL_COLUMNS, errors)
        for row_number, row in _rows(sheet, header):
            code = _text(row.get("implementation_code"))
            if code not in index_by_code:
                errors.append(
                    _("「%(sheet)s」表第 %(row)d 行「实施编码」%(code)s 在「事项」表中不存在")
                    % {"sheet": MATERIALS_SHEET, "row": row_number, "code": code or _("（空）")}
                )
                continue
            item = items[index_by_code[code]]
            materials = item.setdefault("materials", [])
            locator.material_rows[(index_by_code[code], len(materials))] = row_number
            materials.append(_material_from_row(row))
    life_events: list[dict] = []
    if LIFE_EVENTS_SHEET in book.sheetnames:
        sheet = book[LIFE_EVENTS_SHEET]
        header = _header_map(sheet, _zh_labels(life_event_labels), LIFE_EVENT_COLUMNS, errors)
        for row_number, row in _rows(sheet, header):
            locator.life_event_rows.append(row_number)
            life_events.append(_life_event_from_row(row))
    book.close()
    return {"format_version": FORMAT_VERSION, "items": items, "life_events": life_events}, locator, errors


def _item_from_row(row: dict) -> tuple[dict, list[tuple[str, str]]]:
    errors: list[tuple[str, str]] = []
    item: dict = {}
    for field in ITEM_COLUMNS:
        if field not in row:
            continue
        value = row[field]
        if field in ("aliases", "keywords"):
            item[field] = _split(value)
        elif field in ITEM_CHOICES:
            text = _text(value)
            item[field] = _choice_map(ITEM_CHOICES[field], field).get(text, text)
        elif field in INT_COLUMNS:
            item[field] = _integer(value)
        elif field == "targets":
            mapping = _choice_map(Target, field)
            item[field] = [mapping.get(t, t) for t in _split(value)]
        elif field == "online_depth":
            mapping = _choice_map(OnlineDepth, field)
            item[field] = [_integer(t) if t.isdigit() else mapping.get(t, t) for t in _split(value)]
        elif field == "fees":
            text = _text(value)
            if text in ("", "不收费", "无", "免费"):
                item[field] = []
            else:
                item[field] = []
                for line in _lines(text):
                    parts = [p.strip() for p in line.split("|")] + ["", "", "", ""]
                    item[field].append(
                        {"name": parts[0], "amount": parts[1], "basis": parts[2], "exemptions": parts[3]}
                    )
        elif field == "process":
            roles = _role_map()
            steps = []
            for line in _lines(value):
                parts = [p.strip() for p in line.split("|", 2)] + ["", ""]
                step = {"name": parts[0], "role": roles.get(parts[1], parts[1])}
                if parts[2]:
                    step["description"] = parts[2]
                steps.append(step)
            item[field] = steps
        elif field in ("form_schema", "decision_table"):
            text = _text(value)
            if text:
                try:
                    item[field] = json.loads(text)
                except ValueError as exc:
                    errors.append((field, _("不是有效的 JSON:%(error)s") % {"error": exc}))
        elif field not in ("output_license_type_code", "output_description"):
            item[field] = _text(value)
    output = {
        "license_type_code": _text(row.get("output_license_type_code")),
        "description": _text(row.get("output_description")),
    }
    item["output"] = output if any(output.values()) else None
    return item, errors


def _material_from_row(row: dict) -> dict:
    material: dict = {}
    for field in MATERIAL_COLUMNS[1:]:
        if field not in row:
            continue
        value = row[field]
        if field in MATERIAL_CHOICES:
            text = _text(value)
            material[field] = _choice_map(MATERIAL_CHOICES[field], field).get(text, text)
        elif field == "copies":
            material[field] = _integer(value)
        else:
            material[field] = _text(value)
    return material


def _life_event_from_row(row: dict) -> dict:
    life_event: dict = {}
    for field in LIFE_EVENT_COLUMNS:
        if field not in row:
            continue
        value = row[field]
        if field in ("aliases", "keywords", "items"):
            life_event[field] = _split(value)
        elif field == "targets":
            mapping = _choice_map(Target, field)
            life_event[field] = [mapping.get(t, t) for t in _split(value)]
        else:
            life_event[field] = _text(value)
    return life_event


# --- writing -----------------------------------------------------------------------------------


def _label_of(choices, value) -> str:
    with translation.override("zh-hans"):
        return str(dict(choices.choices).get(value, value))


def _item_cells(item: dict) -> list:
    roles = dict(Role.choices)
    output = item.get("output") or {}
    cells = []
    for field in ITEM_COLUMNS:
        value = item.get(field)
        if field in ("aliases", "keywords"):
            cells.append("、".join(value or []))
        elif field in ITEM_CHOICES:
            cells.append(_label_of(ITEM_CHOICES[field], value) if value else "")
        elif field == "targets":
            cells.append("、".join(_label_of(Target, t) for t in value or []))
        elif field == "online_depth":
            cells.append("、".join(str(v) for v in value or []))
        elif field == "fees":
            cells.append(
                "\n".join(
                    "|".join(f.get(k, "") for k in ("name", "amount", "basis", "exemptions")) for f in value or []
                )
            )
        elif field == "process":
            with translation.override("zh-hans"):
                cells.append(
                    "\n".join(
                        "|".join(
                            [s["name"], str(roles.get(s["role"], s["role"]))]
                            + ([s["description"]] if s.get("description") else [])
                        )
                        for s in value or []
                    )
                )
        elif field in ("form_schema", "decision_table"):
            cells.append(json.dumps(value, ensure_ascii=False) if value else "")
        elif field == "output_license_type_code":
            cells.append(output.get("license_type_code", ""))
        elif field == "output_description":
            cells.append(output.get("description", ""))
        elif field == "auto_accept":
            cells.append("是" if value else "")
        else:
            cells.append(value if value is not None else "")
    return cells


def _material_cells(code: str, material: dict) -> list:
    cells = [code]
    for field in MATERIAL_COLUMNS[1:]:
        value = material.get(field)
        if field in MATERIAL_CHOICES:
            cells.append(_label_of(MATERIAL_CHOICES[field], value) if value else "")
        else:
            cells.append(value if value is not None else "")
    return cells


def _life_event_cells(life_event: dict) -> list:
    cells = []
    for field in LIFE_EVENT_COLUMNS:
        value = life_event.get(field)
        if field in ("aliases", "keywords"):
            cells.append("、".join(value or []))
        elif field == "items":
            cells.append("\n".join(value or []))
        elif field == "targets":
            cells.append("、".join(_label_of(Target, t) for t in value or []))
        else:
            cells.append(value or "")
    return cells


def _choice_validation(sheet, column_index: int, choices) -> None:
    with translation.override("zh-hans"):
        options = ",".join(str(label) for _value, label in choices.choices)
    validation = DataValidation(type="list", formula1=f'"{options}"', allow_blank=True)
    letter = sheet.cell(row=1, column=column_index + 1).column_letter
    validation.add(f"{letter}2:{letter}5000")
    sheet.add_data_validation(validation)


def _prepare_sheet(book: Workbook, title: str, columns: tuple, labels: dict[str, str], choices: dict):
    sheet = book.create_sheet(title)
    sheet.append([labels[c] for c in columns])
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    for index, column in enumerate(columns):
        cell = sheet.cell(row=1, column=index + 1)
        cell.font, cell.fill = bold, fill
        if column in HELP:
            cell.comment = Comment(HELP[column], "一网")
        sheet.column_dimensions[cell.column_letter].width = 18
        if column in choices:
            _choice_validation(sheet, index, choices[column])
    sheet.freeze_panes = "A2"
    return sheet


def write_workbook(document: dict) -> bytes:
    """The workbook for an import-file dict; with no items it is the blank template."""
    book = Workbook()
    book.remove(book.active)
    items_sheet = _prepare_sheet(book, ITEMS_SHEET, ITEM_COLUMNS, _zh_labels(item_labels), ITEM_CHOICES)
    materials_sheet = _prepare_sheet(
        book, MATERIALS_SHEET, MATERIAL_COLUMNS, _zh_labels(material_labels), MATERIAL_CHOICES
    )
    life_sheet = _prepare_sheet(book, LIFE_EVENTS_SHEET, LIFE_EVENT_COLUMNS, _zh_labels(life_event_labels), {})
    wrap = Alignment(wrap_text=True, vertical="top")
    for item in document.get("items", []):
        items_sheet.append(_item_cells(item))
        for material in item.get("materials") or []:
            materials_sheet.append(_material_cells(item["implementation_code"], material))
    for life_event in document.get("life_events", []):
        life_sheet.append(_life_event_cells(life_event))
    for sheet in (items_sheet, materials_sheet, life_sheet):
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                cell.alignment = wrap
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"  # text, never a formula
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()
