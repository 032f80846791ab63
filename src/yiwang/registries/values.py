"""Parsing and validating registry values: one place for the API, imports and the quality rules.

``parse(field, raw)`` turns what a client sent (JSON or an Excel/CSV cell) into the stored
Python value, or raises Django's ``ValidationError`` with a Chinese message. Keys are checked
with ``yiwang.core.codes`` (GB 11643, GB 32100, GB/T 2260).
"""

from __future__ import annotations

import datetime
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from yiwang.core.codes import validate_id_number, validate_region_code, validate_uscc
from yiwang.core.inputs import json_problems, text_problem
from yiwang.registries import schema
from yiwang.registries.errors import InvalidKey, UnknownRegistry
from yiwang.registries.schema import FieldSpec, RegistrySpec

_PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
_INDUSTRY = re.compile(r"^([A-T])(\d{2}(\d{1,2})?)?$")
_RECORD_NUMBER = re.compile(r"^[0-9A-Za-z\-_.]{1,64}$")

# GB/T 4754-2017: the 2-digit divisions (大类) of each section (门类).
INDUSTRY_SECTIONS = {
    "A": (1, 5),
    "B": (6, 12),
    "C": (13, 43),
    "D": (44, 46),
    "E": (47, 50),
    "F": (51, 52),
    "G": (53, 60),
    "H": (61, 62),
    "I": (63, 65),
    "J": (66, 69),
    "K": (70, 70),
    "L": (71, 72),
    "M": (73, 75),
    "N": (76, 79),
    "O": (80, 82),
    "P": (83, 83),
    "Q": (84, 85),
    "R": (86, 90),
    "S": (91, 97),
    "T": (98, 98),
}


def registry_spec(registry: str) -> RegistrySpec:
    spec = schema.REGISTRIES.get(registry)
    if spec is None:
        raise UnknownRegistry(registry)
    return spec


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def validate_industry_code(value: str) -> str:
    code = re.sub(r"\s+", "", str(value)).upper()
    match = _INDUSTRY.match(code)
    if not match:
        raise ValidationError(
            _("行业代码应为门类字母加2至4位数字(GB/T 4754),如 I6510、H62 或 C"), code="industry_format"
        )
    if match.group(2):
        low, high = INDUSTRY_SECTIONS[match.group(1)]
        if not low <= int(code[1:3]) <= high:
            raise ValidationError(
                _("行业代码 %(code)s 的大类 %(division)s 不属于门类 %(section)s"),
                code="industry_section",
                params={"code": code, "division": code[1:3], "section": code[0]},
            )
    return code


def validate_address_code(value: str) -> str:
    """标准地址编码: the 12-digit statistical region code of the place + a 6-digit serial."""
    code = re.sub(r"\s+", "", str(value))
    if not (len(code) == 18 and code.isdigit()):
        raise ValidationError(_("标准地址编码应为18位数字(12位统计用区划代码+6位顺序码)"), code="address_code_format")
    validate_region_code(code[:12])
    return code


def validate_grid_code(value: str) -> str:
    """网格编码: the 12-digit statistical region code of the township or village + a 3-digit number."""
    code = re.sub(r"\s+", "", str(value))
    if not (len(code) == 15 and code.isdigit()):
        raise ValidationError(_("网格编码应为15位数字(12位统计用区划代码+3位网格序号)"), code="grid_code_format")
    validate_region_code(code[:12])
    return code


def _choice(field: FieldSpec, raw: Any) -> str:
    text = str(raw).strip()
    for value, label in field.choices:
        if text == value or text == str(label):
            return value
    raise ValidationError(
        _("应为以下之一:%(choices)s"),
        code="choice",
        params={"choices": "、".join(f"{label}({value})" for value, label in field.choices)},
    )


def _date(raw: Any) -> datetime.date:
    if isinstance(raw, datetime.datetime):
        return raw.date()
    if isinstance(raw, datetime.date):
        return raw
    try:
        return datetime.date.fromisoformat(str(raw).strip().replace("/", "-"))
    except ValueError:
        raise ValidationError(_("应为日期,格式为 YYYY-MM-DD"), code="date") from None


def _decimal(field: FieldSpec, raw: Any) -> Decimal:
    if isinstance(raw, bool):
        raise ValidationError(_("应为数字"), code="decimal")
    try:
        value = Decimal(str(raw).strip().replace(",", ""))
    except InvalidOperation:
        raise ValidationError(_("应为数字"), code="decimal") from None
    if not value.is_finite():
        raise ValidationError(_("应为数字"), code="decimal")
    value = value.quantize(Decimal(1).scaleb(-field.decimal_places))
    if len(value.as_tuple().digits) > field.max_digits or abs(value) >= Decimal(10) ** (
        field.max_digits - field.decimal_places
    ):
        raise ValidationError(_("数值过大"), code="decimal_range")
    if field.name not in ("longitude", "latitude") and value < 0:
        raise ValidationError(_("不能为负数"), code="decimal_negative")
    if field.name == "longitude" and not Decimal(-180) <= value <= Decimal(180):
        raise ValidationError(_("经度应在 -180 至 180 之间"), code="longitude")
    if field.name == "latitude" and not Decimal(-90) <= value <= Decimal(90):
        raise ValidationError(_("纬度应在 -90 至 90 之间"), code="latitude")
    return value


def _int(field: FieldSpec, raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValidationError(_("应为整数"), code="int")
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ValidationError(_("应为整数"), code="int") from None
    if value < 0:
        raise ValidationError(_("不能为负数"), code="int_negative")
    if field.name == "year" and not 1949 <= value <= 2100:
        raise ValidationError(_("年度应在 1949 至 2100 之间"), code="year")
    if value > 2_000_000_000:
        raise ValidationError(_("数值过大"), code="int_range")
    return value


def parse(field: FieldSpec, raw: Any) -> Any:
    """The stored value for ``raw``; empty input gives the field's empty value ("" or None)."""
    kind = field.kind
    if is_empty(raw):
        return None if kind in (schema.DATE, schema.DECIMAL, schema.INT) else ""
    if kind == schema.ID_NUMBER:
        return validate_id_number(str(raw)).number
    if kind == schema.USCC:
        return validate_uscc(str(raw))
    if kind == schema.REGION:
        return validate_region_code(str(raw))
    if kind == schema.ADDRESS_CODE:
        return validate_address_code(raw)
    if kind == schema.GRID_CODE:
        return validate_grid_code(raw)
    if kind == schema.INDUSTRY:
        return validate_industry_code(raw)
    if kind == schema.PHONE:
        phone = re.sub(r"[\s()]+", "", str(raw)).removeprefix("+86")
        if not _PHONE.match(phone):
            raise ValidationError(_("联系电话应为11位手机号或带区号的固定电话"), code="phone")
        return phone
    if kind == schema.CHOICE:
        return _choice(field, raw)
    if kind == schema.DATE:
        return _date(raw)
    if kind == schema.DECIMAL:
        return _decimal(field, raw)
    if kind == schema.INT:
        return _int(field, raw)
    if kind == schema.JSON:
        value = raw if isinstance(raw, dict | list) else json.loads(str(raw))
        problems, _too_deep = json_problems(value)
        if problems:
            raise ValidationError(next(iter(problems.values()))[0], code="invalid_text")
        return value
    text = str(raw).strip()
    problem = text_problem(text)
    if problem:  # NUL or a lone surrogate: refused here, before the batch writes anything
        raise ValidationError(problem, code="invalid_text")
    if field.name == "record_number" and not _RECORD_NUMBER.match(text):
        raise ValidationError(_("信用记录编号只能包含字母、数字和 - _ .,最长64位"), code="record_number")
    if len(text) > field.max_length:
        raise ValidationError(_("不能超过 %(max)d 个字符"), code="max_length", params={"max": field.max_length})
    return text


def subject_key(subject_kind: str, raw: Any) -> str:
    """A credit record's subject: a 身份证号 for a person, a USCC for a legal entity."""
    if subject_kind == "person":
        return validate_id_number(str(raw)).number
    return validate_uscc(str(raw))


def message_of(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages)


def normalize_key(spec: RegistrySpec, key: str) -> dict[str, Any]:
    """The key fields' values for a key string; ``InvalidKey`` naming what is wrong.

    Keys: 身份证号 (population), USCC (legal_entity), license identifier (license), record
    number (credit), address code (spatial), ``<USCC>-<year>`` (economy).
    """
    raw = "" if key is None else str(key).strip()
    if spec.name == "economy":
        uscc, sep, year = raw.rpartition(schema.ECONOMY_KEY_SEPARATOR)
        if not sep:
            raise InvalidKey(_("宏观经济库的键应为“统一社会信用代码-年度”,如 91610302MA0000000X-2025"))
        fields = {"uscc": uscc, "year": year}
    else:
        fields = {spec.key_fields[0].name: raw}
    values = {}
    for name, value in fields.items():
        field = spec.field(name)
        if is_empty(value):
            raise InvalidKey(_("请填写%(label)s") % {"label": field.label})
        try:
            if spec.name == "license":
                from yiwang.core.codes import validate_license_identifier

                values[name] = validate_license_identifier(value).identifier
            else:
                values[name] = parse(field, value)
        except ValidationError as exc:
            raise InvalidKey(message_of(exc)) from None
    return values


def key_of(spec: RegistrySpec, values: dict[str, Any]) -> str:
    if spec.name == "economy":
        return f"{values['uscc']}{schema.ECONOMY_KEY_SEPARATOR}{values['year']}"
    return str(values[spec.key_fields[0].name])


def as_text(value: Any) -> str:
    """A stored value as text for history and CSV: dates ISO, decimals plain, JSON canonical."""
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)
