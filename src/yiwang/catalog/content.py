"""The catalog's one data shape: an item or a bundle as a plain dict (the import file format).

Services, the importer, the exporter and the API all speak this shape, described for
integrators by ``docs/catalog-import.schema.json``. ``check_item`` / ``check_life_event``
normalize a dict and list every problem at once (never stopping at the first), each with
the path of the field and a Chinese message, so a caller can place it: a YAML path, an
Excel sheet/row/column, or an API ``fields`` entry.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import jsonschema
from django.utils.translation import gettext as _

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
from yiwang.core.audit import canonical_json
from yiwang.core.crypto import sm3_hex
from yiwang.identity.models import Role

FORMAT_VERSION = 1
CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.\-]{0,63}$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where (a path of keys/indexes), which field, what rule."""

    path: tuple
    label: str
    message: str

    def __str__(self) -> str:
        return f"「{self.label}」{self.message}" if self.label else self.message


def item_labels() -> dict[str, str]:
    """Chinese labels of item fields, as used in messages and as Excel column headers."""
    return {
        "implementation_code": _("实施编码"),
        "basic_code": _("基本编码"),
        "name": _("事项名称"),
        "aliases": _("别名"),
        "keywords": _("关键词"),
        "description": _("事项简介"),
        "kind": _("事项类型"),
        "department": _("实施主体编码"),
        "exercise_level": _("行使层级"),
        "legal_basis": _("设定依据"),
        "statutory_time_limit": _("法定办结时限"),
        "promised_time_limit": _("承诺办结时限"),
        "acceptance_conditions": _("受理条件"),
        "fees": _("收费项目"),
        "handling_form": _("办理形式"),
        "onsite_visits": _("到现场次数"),
        "onsite_visits_reason": _("必须现场办理原因"),
        "online_depth": _("网上办理深度"),
        "targets": _("服务对象"),
        "handling_place": _("办理地点"),
        "handling_hours": _("办理时间"),
        "consultation_contact": _("咨询方式"),
        "complaint_contact": _("监督投诉方式"),
        "materials": _("申请材料"),
        "process": _("办理流程"),
        "form_schema": _("申请表"),
        "output_license_type_code": _("出件证照类型编码"),
        "output_description": _("办理结果"),
        "output": _("办理结果"),
        "decision_table": _("决策表"),
        "real_name_level": _("申报所需实名等级"),
        "name_en": _("英文事项名称"),
        "description_en": _("英文事项简介"),
        "auto_accept": _("网上申请自动受理"),
    }


def material_labels() -> dict[str, str]:
    return {
        "implementation_code": _("实施编码"),
        "name": _("材料名称"),
        "requirement": _("必要性"),
        "condition": _("提交情形"),
        "copies": _("份数"),
        "format": _("材料形式"),
        "source": _("来源"),
        "license_type_code": _("证照类型编码"),
        "registry_field": _("基础库字段"),
        "description": _("填报说明"),
        "blank_form": _("空白表格"),
        "sample": _("示例样表"),
        "name_en": _("英文材料名称"),
    }


def life_event_labels() -> dict[str, str]:
    return {
        "code": _("一件事编码"),
        "name": _("名称"),
        "aliases": _("别名"),
        "keywords": _("关键词"),
        "description": _("简介"),
        "department": _("牵头部门编码"),
        "targets": _("服务对象"),
        "items": _("包含事项"),
        "name_en": _("英文名称"),
        "description_en": _("英文简介"),
    }


ITEM_TEXT_FIELDS = (
    "description",
    "legal_basis",
    "acceptance_conditions",
    "onsite_visits_reason",
    "handling_place",
    "handling_hours",
    "consultation_contact",
    "complaint_contact",
)
MATERIAL_TEXT_FIELDS = ("condition", "description", "blank_form", "sample", "license_type_code", "registry_field")
ITEM_FIELDS = (
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
    "materials",
    "process",
    "form_schema",
    "output",
    "decision_table",
    "real_name_level",
    "name_en",
    "description_en",
    "auto_accept",
)
# Left out of an item's dict when empty (a real-name level of L1, the default, is left out too),
# so that items without one keep their content digest.
OPTIONAL_ITEM_FIELDS = ("decision_table", "real_name_level", "name_en", "description_en", "auto_accept")
# The English content (issue #14) is optional everywhere and left out when empty, like the above.
OPTIONAL_MATERIAL_FIELDS = ("name_en",)
OPTIONAL_LIFE_EVENT_FIELDS = ("name_en", "description_en")
MATERIAL_FIELDS = (
    "name",
    "requirement",
    "condition",
    "copies",
    "format",
    "description",
    "blank_form",
    "sample",
    "source",
    "license_type_code",
    "registry_field",
    "name_en",
)
LIFE_EVENT_FIELDS = (
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


def _choices_text(choices) -> str:
    return "、".join(f"{value}（{label}）" for value, label in choices)


class _Checker:
    def __init__(self, labels: Callable[[], dict[str, str]], prefix: tuple = ()):
        self._labels = labels  # translated only when there is a problem to name
        self.prefix = prefix
        self.problems: list[Problem] = []

    @property
    def labels(self) -> dict[str, str]:
        return self._labels()

    def add(self, field: str, message: str, *, path: tuple | None = None) -> None:
        self.problems.append(Problem(self.prefix + (path or (field,)), self.labels.get(field, field), message))

    def unknown_keys(self, data: dict, allowed: tuple) -> None:
        for key in data:
            if key not in allowed:
                self.problems.append(Problem((*self.prefix, key), "", _("未知字段「%(key)s」") % {"key": key}))

    def text(self, data: dict, field: str, *, required: bool = False, max_length: int | None = None) -> str:
        value = data.get(field)
        if value is None:
            value = ""
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            self.add(field, _("必须是文本"))
            return ""
        value = value.strip()
        if required and not value:
            self.add(field, _("不能为空"))
        elif max_length and len(value) > max_length:
            self.add(field, _("不能超过 %(n)d 个字") % {"n": max_length})
        return value

    def code(self, data: dict, field: str) -> str:
        value = self.text(data, field, required=True)
        if value and not CODE_RE.match(value):
            self.add(field, _("只能由字母、数字、“-”“_”“.”组成，以字母或数字开头，不超过 64 位"))
        return value

    def string_list(self, data: dict, field: str) -> list[str]:
        value = data.get(field)
        if value in (None, ""):
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.add(field, _("必须是文本列表"))
            return []
        result: list[str] = []
        for entry in value:
            entry = entry.strip()
            if entry and entry not in result:
                result.append(entry)
        return result

    def choice(self, data: dict, field: str, choices, *, required: bool = True, default: str = "") -> str:
        value = data.get(field)
        if value in (None, ""):
            if required and not default:
                self.add(field, _("不能为空，可选：%(choices)s") % {"choices": _choices_text(choices.choices)})
            return default
        if value not in choices.values:
            self.add(field, _("必须是以下之一：%(choices)s") % {"choices": _choices_text(choices.choices)})
            return default
        return value

    def integer(self, data: dict, field: str, *, minimum: int, message: str, default: int | None = None) -> int | None:
        value = data.get(field)
        if value in (None, "") and default is not None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.add(field, message)
            return None
        return value


def check_item(data, *, prefix: tuple = ()) -> tuple[dict, list[Problem]]:
    """Normalize one item dict (defaults filled, text stripped) and list its problems.

    Does not look at the database: department existence, permissions and uniqueness
    across a file are the caller's checks.
    """
    c = _Checker(item_labels, prefix)
    if not isinstance(data, dict):
        c.problems.append(Problem(prefix, "", _("每个事项必须是一个对象（键值对）")))
        return {}, c.problems
    c.unknown_keys(data, ITEM_FIELDS)
    out: dict = {}
    out["implementation_code"] = c.code(data, "implementation_code")
    out["basic_code"] = c.code(data, "basic_code")
    out["name"] = c.text(data, "name", required=True, max_length=200)
    out["aliases"] = c.string_list(data, "aliases")
    out["keywords"] = c.string_list(data, "keywords")
    out["kind"] = c.choice(data, "kind", ItemKind)
    out["department"] = c.text(data, "department", required=True)
    out["exercise_level"] = c.choice(data, "exercise_level", ExerciseLevel, required=False)
    days = _("必须是不小于 0 的整数（工作日，0 表示即办）")
    out["statutory_time_limit"] = c.integer(data, "statutory_time_limit", minimum=0, message=days)
    promised = data.get("promised_time_limit")
    statutory = out["statutory_time_limit"]
    if isinstance(promised, int) and not isinstance(promised, bool) and promised >= 0:
        if statutory is not None and promised > statutory:
            c.add("promised_time_limit", _("必须是不大于法定办结时限（%(n)d 个工作日）的整数") % {"n": statutory})
        out["promised_time_limit"] = promised
    else:
        c.add("promised_time_limit", _("必须是不大于法定办结时限的非负整数（工作日，0 表示即办）"))
        out["promised_time_limit"] = None
    out["fees"] = _check_fees(c, data.get("fees"))
    out["handling_form"] = c.choice(data, "handling_form", HandlingForm)
    out["onsite_visits"] = c.integer(
        data, "onsite_visits", minimum=0, default=0, message=_("必须是不小于 0 的整数（次）")
    )
    for field in ITEM_TEXT_FIELDS:
        out[field] = c.text(data, field, max_length=200 if field in ("handling_hours",) else None)
    for field in ("consultation_contact", "complaint_contact"):
        if len(out[field]) > 200:
            c.add(field, _("不能超过 %(n)d 个字") % {"n": 200})
    if out["onsite_visits"] and not out["onsite_visits_reason"]:
        c.add("onsite_visits_reason", _("到现场次数大于 0 时必须填写必须现场办理的原因"))
    out["online_depth"] = _check_online_depth(c, data.get("online_depth"))
    out["targets"] = _check_targets(c, data, "targets", required=True)
    out["materials"] = _check_materials(c, data.get("materials"), prefix)
    out["process"] = _check_process(c, data.get("process"))
    out["form_schema"] = _check_form_schema(c, data.get("form_schema"))
    out["output"] = _check_output(c, data.get("output"))
    out["decision_table"] = _check_decision_table(c, data.get("decision_table"), out["form_schema"])
    out["real_name_level"] = _check_real_name_level(c, data.get("real_name_level"))
    out["name_en"] = c.text(data, "name_en", max_length=200)
    out["description_en"] = c.text(data, "description_en")
    out["auto_accept"] = _check_flag(c, data, "auto_accept")
    if out["auto_accept"] and out["handling_form"] == HandlingForm.WINDOW:
        c.add("auto_accept", _("窗口办理的事项没有网上申请，不能设为网上申请自动受理"))
    return {key: out[key] for key in ITEM_FIELDS if key not in OPTIONAL_ITEM_FIELDS or out[key]}, c.problems


def _check_flag(c: _Checker, data: dict, field: str) -> bool:
    """A yes/no field: true/false (YAML, JSON) or 是/否 (Excel); empty is no."""
    value = data.get(field)
    if value in (None, "", False, "否", "false", "False"):
        return False
    if value in (True, "是", "true", "True"):
        return True
    c.add(field, _("必须是“是”或“否”（true / false）"))
    return False


def _check_real_name_level(c: _Checker, value) -> int:
    """1, 2 or 3 (L1 自助注册, L2 人口库核验, L3 当面核验); empty is L1, returned as 0 so that the
    key is left out of the item's dict (``OPTIONAL_ITEM_FIELDS``)."""
    if isinstance(value, bool) or value not in (None, "", 1, 2, 3):
        c.add("real_name_level", _("必须是 1、2 或 3（L1 自助注册、L2 人口库核验、L3 窗口当面核验）"))
        return 0
    if value in (None, "", 1):
        return 0
    if not isinstance(value, int):
        c.add("real_name_level", _("必须是 1、2 或 3（L1 自助注册、L2 人口库核验、L3 窗口当面核验）"))
        return 0
    return value


def _check_decision_table(c: _Checker, value, form_schema: dict) -> dict:
    """The table's shape, facts and rows (``catalog.decision.check_table``); examples are run
    at publication (``services.item_publish``), so a draft may be saved while they fail."""
    from yiwang.catalog.decision import check_table
    from yiwang.registries.selectors import registry_fields

    if value in (None, "", {}):
        return {}
    known: dict[str, set[str]] = {}
    for info in registry_fields():
        known.setdefault(info.registry, set()).add(info.field)
    table, problems = check_table(value, form_schema=form_schema, registry_fields=known, run_examples=False)
    for problem in problems:
        c.add("decision_table", problem.message, path=("decision_table", *problem.path))
    return table


def _check_fees(c: _Checker, value) -> list[dict]:
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        c.add("fees", _("必须是收费项目列表；不收费时留空"))
        return []
    fees = []
    for index, fee in enumerate(value, start=1):
        if not isinstance(fee, dict):
            c.add("fees", _("第 %(n)d 条必须是对象（名称、收费标准、收费依据、减免政策）") % {"n": index})
            continue
        unknown = set(fee) - {"name", "amount", "basis", "exemptions"}
        if unknown:
            c.add("fees", _("第 %(n)d 条有未知字段：%(keys)s") % {"n": index, "keys": "、".join(sorted(unknown))})
        clean = {}
        for key in ("name", "amount", "basis", "exemptions"):
            part = fee.get(key)
            if part is None:
                part = ""
            if isinstance(part, int | float) and not isinstance(part, bool):
                part = str(part)
            if not isinstance(part, str):
                c.add("fees", _("第 %(n)d 条的内容必须是文本") % {"n": index})
                part = ""
            clean[key] = part.strip()
        if not clean["name"]:
            c.add("fees", _("第 %(n)d 条缺少收费项目名称") % {"n": index})
        fees.append(clean)
    return fees


def _check_online_depth(c: _Checker, value) -> list[int]:
    if value in (None, ""):
        return []
    message = _("必须是 1–7 的整数列表（%(choices)s）") % {"choices": _choices_text(OnlineDepth.choices)}
    if not isinstance(value, list):
        c.add("online_depth", message)
        return []
    result = []
    for level in value:
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 7:
            c.add("online_depth", message)
            return []
        if level not in result:
            result.append(level)
    return sorted(result)


def _check_targets(c: _Checker, data: dict, field: str, *, required: bool) -> list[str]:
    value = data.get(field)
    message = _("必须从以下选择至少一项：%(choices)s") % {"choices": _choices_text(Target.choices)}
    if value in (None, "", []):
        if required:
            c.add(field, message)
        return []
    if not isinstance(value, list) or any(v not in Target.values for v in value):
        c.add(field, message)
        return []
    return [t for t in Target.values if t in value]


def _check_materials(c: _Checker, value, prefix: tuple) -> list[dict]:
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        c.add("materials", _("必须是材料列表"))
        return []
    materials = []
    seen: set[tuple] = set()
    for index, material in enumerate(value):
        m = _Checker(material_labels, (*prefix, "materials", index))
        if not isinstance(material, dict):
            m.problems.append(Problem(m.prefix, _("申请材料"), _("每条材料必须是一个对象")))
            c.problems.extend(m.problems)
            continue
        m.unknown_keys(material, MATERIAL_FIELDS)
        out = {"name": m.text(material, "name", required=True, max_length=200)}
        out["requirement"] = m.choice(
            material, "requirement", MaterialRequirementKind, default=MaterialRequirementKind.REQUIRED
        )
        for field in MATERIAL_TEXT_FIELDS:
            out[field] = m.text(material, field, max_length=None if field in ("condition", "description") else 300)
        out["name_en"] = m.text(material, "name_en", max_length=200)
        out["copies"] = m.integer(material, "copies", minimum=1, default=1, message=_("必须是不小于 1 的整数"))
        out["format"] = m.choice(material, "format", MaterialFormat, default=MaterialFormat.BOTH)
        out["source"] = m.choice(material, "source", MaterialSource, default=MaterialSource.APPLICANT)
        if out["requirement"] == MaterialRequirementKind.CONDITIONAL and not out["condition"]:
            m.add("condition", _("按情形提交的材料必须写明提交情形"))
        if out["source"] == MaterialSource.LICENSE and not out["license_type_code"]:
            m.add("license_type_code", _("来源为电子证照时必须填写证照类型编码"))
        if out["source"] == MaterialSource.REGISTRY and not out["registry_field"]:
            m.add("registry_field", _("来源为基础库数据时必须填写基础库字段"))
        key = (out["name"], out["source"])
        if out["name"] and key in seen:
            m.add("name", _("同一事项中材料「%(name)s」重复") % {"name": out["name"]})
        seen.add(key)
        c.problems.extend(m.problems)
        materials.append({key: out[key] for key in MATERIAL_FIELDS if key not in OPTIONAL_MATERIAL_FIELDS or out[key]})
    return materials


def _check_process(c: _Checker, value) -> list[dict]:
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        c.add("process", _("必须是办理环节列表"))
        return []
    roles = _choices_text(Role.choices)
    steps = []
    for index, step in enumerate(value, start=1):
        if not isinstance(step, dict):
            c.add("process", _("第 %(n)d 个环节必须是对象（环节名称、角色）") % {"n": index})
            continue
        unknown = set(step) - {"name", "role", "description"}
        if unknown:
            c.add(
                "process", _("第 %(n)d 个环节有未知字段：%(keys)s") % {"n": index, "keys": "、".join(sorted(unknown))}
            )
        name = step.get("name")
        name = name.strip() if isinstance(name, str) else ""
        if not name:
            c.add("process", _("第 %(n)d 个环节缺少环节名称") % {"n": index})
        role = step.get("role")
        if role not in Role.values:
            c.add("process", _("第 %(n)d 个环节的角色必须是以下之一：%(roles)s") % {"n": index, "roles": roles})
        description = step.get("description") or ""
        clean = {"name": name, "role": role if role in Role.values else ""}
        if isinstance(description, str) and description.strip():
            clean["description"] = description.strip()
        steps.append(clean)
    return steps


@lru_cache(maxsize=4096)
def _schema_error(schema_json: str) -> tuple[str, str] | None:
    """Where and why a schema is not valid Draft 2020-12, or None. Checking against the
    meta-schema takes ~10 ms; an import checks each item twice (file check, then service)."""
    try:
        jsonschema.Draft202012Validator.check_schema(json.loads(schema_json))
    except jsonschema.SchemaError as exc:
        return "/".join(str(p) for p in exc.absolute_path), exc.message
    return None


def _check_form_schema(c: _Checker, value) -> dict:
    if value in (None, "", {}):
        return {}
    if not isinstance(value, dict):
        c.add("form_schema", _("必须是 JSON Schema 对象"))
        return {}
    schema_error = _schema_error(canonical_json(value))
    if schema_error is not None:
        where, error = schema_error
        c.add(
            "form_schema",
            _("不是有效的 JSON Schema（2020-12）：位置 %(where)s：%(error)s")
            % {"where": where or _("根"), "error": error},
        )
        return value
    if value.get("type") != "object":
        c.add("form_schema", _('根节点必须是 {"type": "object"}'))
    return value


def _check_output(c: _Checker, value) -> dict | None:
    if value in (None, "", {}):
        return None
    if not isinstance(value, dict) or set(value) - {"license_type_code", "description"}:
        c.add("output", _("必须是对象，只含 license_type_code（出件证照类型编码）和 description（办理结果）"))
        return None
    out = {}
    for key in ("license_type_code", "description"):
        part = value.get(key) or ""
        if not isinstance(part, str):
            c.add("output", _("内容必须是文本"))
            part = ""
        out[key] = part.strip()
    if not any(out.values()):
        return None
    return out


def check_life_event(data, *, prefix: tuple = ()) -> tuple[dict, list[Problem]]:
    """Normalize one life-event dict and list its problems (item existence is the caller's check)."""
    c = _Checker(life_event_labels, prefix)
    if not isinstance(data, dict):
        c.problems.append(Problem(prefix, "", _("每个一件事必须是一个对象（键值对）")))
        return {}, c.problems
    c.unknown_keys(data, LIFE_EVENT_FIELDS)
    out: dict = {"code": c.code(data, "code")}
    out["name"] = c.text(data, "name", required=True, max_length=200)
    out["aliases"] = c.string_list(data, "aliases")
    out["keywords"] = c.string_list(data, "keywords")
    out["description"] = c.text(data, "description")
    out["department"] = c.text(data, "department", required=True)
    out["targets"] = _check_targets(c, data, "targets", required=False)
    items = data.get("items")
    if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
        c.add("items", _("必须是事项实施编码的列表"))
        items = []
    items = [i.strip() for i in items]
    if len(set(items)) != len(items):
        c.add("items", _("同一事项不能重复列出"))
    elif len(items) < 2 and not any(p.path[len(prefix) :][:1] == ("items",) for p in c.problems):
        c.add("items", _("一件事至少包含两个事项"))
    out["items"] = list(dict.fromkeys(items))
    out["name_en"] = c.text(data, "name_en", max_length=200)
    out["description_en"] = c.text(data, "description_en")
    return {key: out[key] for key in LIFE_EVENT_FIELDS if key not in OPTIONAL_LIFE_EVENT_FIELDS or out[key]}, c.problems


def content_digest(data: dict, *, exclude: tuple = ("department",)) -> str:
    """SM3 of the canonical content: two dicts with the same meaning have the same digest."""
    return sm3_hex(canonical_json({k: v for k, v in data.items() if k not in exclude}))
