"""Pages' forms for cases: the application form rendered from the item version's JSON Schema.

A small server-side renderer, not a general JSON Schema UI: top-level properties of type
string (plain, ``enum``, ``format`` date / email / date-time), number, integer and boolean,
with their ``title``, ``description``, ``default`` and required markers. Anything else
(objects, arrays) is a JSON text box. ``parse_form`` turns the posted strings back into
typed values; the rules themselves (required, patterns, ranges) are the cases service's
validation (``services.form_errors`` / ``case_submit``), whose Chinese messages are shown
next to each field.
"""

import json
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

PREFIX = "f_"
INPUT_FORMATS = {"date": "date", "email": "email", "date-time": "datetime-local"}


@dataclass
class SchemaField:
    key: str
    name: str  # the POST name
    label: str
    kind: str  # text | textarea | select | number | integer | checkbox | json | date | email | datetime-local
    required: bool = False
    description: str = ""
    value: object = ""
    choices: list = field(default_factory=list)
    max_length: int | None = None
    errors: list[str] = field(default_factory=list)
    check: str = ""  # "id_number" | "uscc": checked as the user types (portal:check_code, core.codes)

    @property
    def input_id(self) -> str:
        return f"id_{self.name}"


def _kind(spec: dict) -> str:
    kind = spec.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if "enum" in spec:
        return "select"
    if kind == "string":
        if spec.get("format") in INPUT_FORMATS:
            return INPUT_FORMATS[spec["format"]]
        return "textarea" if (spec.get("maxLength") or 0) > 200 else "text"
    if kind in ("number", "integer"):
        return kind
    if kind == "boolean":
        return "checkbox"
    return "json"


ID_NUMBER_PATTERN = "^[0-9]{17}[0-9Xx]$"


def _check(spec: dict) -> str:
    """Which code check (core.codes) a field gets while the user types: an ID number or a credit code."""
    marker = spec.get("x-applicant") or ""
    if marker == "id_number" or spec.get("pattern") == ID_NUMBER_PATTERN:
        return "id_number"
    if marker == "uscc" or "统一社会信用代码" in str(spec.get("title") or ""):
        return "uscc"
    return ""


def _display(kind: str, value) -> object:
    if value is None or value == "":
        return ""
    if kind == "json":
        return json.dumps(value, ensure_ascii=False)
    if kind == "checkbox":
        return bool(value)
    return value


def schema_fields(schema: dict, data: dict | None = None, errors: dict | None = None) -> list[SchemaField]:
    """The fields to render, with current values (``data``) or defaults, and per-field errors
    (``{"form_data.<key>": [...]}`` as the service reports them, or ``{"<key>": [...]}``)."""
    schema = schema or {}
    required = set(schema.get("required") or [])
    errors = errors or {}
    fields = []
    for key, spec in (schema.get("properties") or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        kind = _kind(spec)
        value = data.get(key, "") if data is not None else spec.get("default", "")
        fields.append(
            SchemaField(
                key=key,
                name=PREFIX + key,
                label=spec.get("title") or key,
                kind=kind,
                required=key in required,
                description=spec.get("description") or "",
                value=_display(kind, value),
                choices=[str(c) for c in spec.get("enum") or []],
                max_length=spec.get("maxLength"),
                errors=[str(m) for m in errors.get(f"form_data.{key}", []) + errors.get(key, [])],
                check=_check(spec),
            )
        )
    return fields


def form_level_errors(errors: dict, schema: dict) -> list[str]:
    """Errors not tied to a rendered field (e.g. unknown fields, the whole form)."""
    keys = {f"form_data.{k}" for k in (schema or {}).get("properties") or {}} | set(
        (schema or {}).get("properties") or {}
    )
    out = []
    for name, messages in errors.items():
        if name not in keys:
            out.extend(str(m) for m in (messages if isinstance(messages, list | tuple) else [messages]))
    return out


def parse_form(schema: dict, post) -> tuple[dict, dict[str, list[str]]]:
    """Typed values from the POST (empty inputs are left out, so "required" applies) and
    the inputs that could not even be read as their type."""
    data: dict = {}
    problems: dict[str, list[str]] = {}
    for key, spec in ((schema or {}).get("properties") or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        kind = _kind(spec)
        title = spec.get("title") or key
        if kind == "checkbox":
            data[key] = post.get(PREFIX + key) in ("on", "true", "1")
            continue
        raw = (post.get(PREFIX + key) or "").strip()
        if raw == "":
            continue
        if kind == "integer":
            try:
                data[key] = int(raw)
            except ValueError:
                problems[key] = [_("「%(title)s」须为整数") % {"title": title}]
        elif kind == "number":
            try:
                number = float(raw)
            except ValueError:
                problems[key] = [_("「%(title)s」须为数字") % {"title": title}]
            else:
                data[key] = int(number) if number.is_integer() and "." not in raw else number
        elif kind == "json":
            try:
                data[key] = json.loads(raw)
            except ValueError:
                problems[key] = [_("「%(title)s」须为有效的 JSON") % {"title": title}]
        else:
            data[key] = raw
    return data, problems


def supplement_items_from_text(text: str) -> list[dict]:
    """One line per missing item, ``材料名称:问题`` (full- or half-width colon)."""
    items = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        for sep in ("：", ":"):
            if sep in line:
                material, problem = line.split(sep, 1)
                break
        else:
            material, problem = line, ""
        items.append({"material": material.strip(), "problem": problem.strip()})
    return items


def posted_materials(request, requirement_ids) -> list:
    """The files posted as ``material_<requirement id>`` (and ``material_other`` with its
    ``material_other_name``), read up to one byte past the limit, for the cases service to check
    and store in one transaction: the apply, window and supplement pages, and an agent's 补正."""
    from yiwang.cases import services

    limit = services.max_material_bytes()
    uploads = [(pk, request.FILES.get(f"material_{pk}")) for pk in requirement_ids]
    uploads.append((None, request.FILES.get("material_other")))
    return [
        services.MaterialUpload(
            requirement_id=pk,
            filename=upload.name or "",
            content=upload.read(limit + 1),
            name=request.POST.get("material_other_name", "") if pk is None else "",
        )
        for pk, upload in uploads
        if upload is not None
    ]
