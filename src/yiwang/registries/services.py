"""Registry writes: upsert by key (API, import, demo), correction after an upheld dispute, the
source department of each field (一数一源), grid cells.

Guarantees of every write:

* **一数一源.** A field is changed only by staff of its source department (``RegistryField``;
  roles in ``selectors.SOURCE_ROLES``) or by the platform itself (``actor`` None or a
  ``"system:…"`` string: the demo loader, migrations). Creating a record needs the right to
  its key fields. Re-sending a value that is already stored is not a change, so a department
  may send whole records and only its own fields need to differ.
* **All or nothing.** A batch is parsed and checked completely before anything is written;
  any bad row (unknown field, wrong check digit, a field of another department …) fails the
  whole batch with every problem named as (row index, field, message).
* **History, audit, events.** Every created record and every changed field gets a
  ``RecordChange`` (who, when, source department, old and new value — encrypted when the field
  is personal); each batch one audit event on the SM3 chain (counts and field names, no
  personal data); each changed record the domain event ``registries.record_changed`` with
  ``registry``, ``key`` and ``fields``, and each batch ``registries.records_changed`` with the
  ids of its changed records (in chunks of 1,000): a subscriber that re-evaluates many records
  at once (the policies' eligibility re-run) takes that one, not a task per record.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yiwang.core import events
from yiwang.core.audit import audit_record
from yiwang.core.crypto import blind_index
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.identity.models import Department, Role
from yiwang.identity.selectors import actor_has_role
from yiwang.registries import schema
from yiwang.registries.errors import NotSourceDepartment, ReadOnlyRegistry, RegistryError, RowsInvalid
from yiwang.registries.masking import mask_value
from yiwang.registries.models import GridCell, RecordChange, RegistryField
from yiwang.registries.schema import FieldSpec, RegistrySpec
from yiwang.registries.selectors import MODELS, RecordView, registry_require_source, source_departments_of_actor
from yiwang.registries.values import (
    as_text,
    is_empty,
    key_of,
    message_of,
    normalize_key,
    parse,
    registry_spec,
    subject_key,
    validate_grid_code,
)

BATCH_LIMIT = 10_000
RECORD_CHANGED = "registries.record_changed"
RECORDS_CHANGED = "registries.records_changed"
RECORDS_CHANGED_CHUNK = 1000
_LOOKUP_CHUNK = 2000


def _publish_changed(spec: RegistrySpec, record: Model, *, fields: list[str], action: str, batch: str) -> None:
    """``registries.record_changed`` for one record: ``{registry, record_id, key, fields, action, batch}``.

    The payload is stored (the task queue's outbox) and logged, so it carries no personal data:
    a personal key (a 身份证号, a person's credit subject) is masked; subscribers read the record
    by ``record_id`` through ``selectors.record_read_by_id``.
    """
    key = key_of(spec, {f.name: getattr(record, f.name) for f in spec.key_fields})
    key_field = spec.key_fields[0]
    if key_field.personal:
        key = mask_value(key_field, key)
    events.publish(
        RECORD_CHANGED, registry=spec.name, record_id=record.pk, key=key, fields=fields, action=action, batch=batch
    )


def _is_system(actor) -> bool:
    return actor is None or isinstance(actor, str)


def _actor_fields(actor) -> dict:
    if _is_system(actor):
        return {"actor": None, "actor_repr": actor or "system"}
    return {"actor": actor, "actor_repr": actor.get_username()}


@dataclass
class UpsertResult:
    registry: str
    batch: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # only_missing: rows whose key already existed
    fields: list[str] = field(default_factory=list)  # the fields changed, in schema order

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + self.skipped

    def summary(self) -> str:
        return str(
            _("新增 %(created)d 条,更新 %(updated)d 条,无变化 %(unchanged)d 条")
            % {"created": self.created, "updated": self.updated, "unchanged": self.unchanged + self.skipped}
        )


# =============================================================================================
# Sources (一数一源)
# =============================================================================================


def registry_fields_ensure() -> int:
    """Create a ``RegistryField`` row (no source yet) for every writable field that lacks one;
    returns how many were created. Idempotent."""
    existing = set(RegistryField.objects.values_list("registry", "field"))
    missing = [
        RegistryField(registry=spec.name, field=f.name)
        for spec in schema.REGISTRIES.values()
        if spec.writable
        for f in spec.fields
        if (spec.name, f.name) not in existing
    ]
    RegistryField.objects.bulk_create(missing)
    return len(missing)


def registry_field_source_set(*, actor, registry: str, field: str, department: Department | None) -> RegistryField:
    """Name ``department`` the source of ``registry.field`` (None: no source). Only the platform,
    a superuser or a city administrator over that department may do it. Audited."""
    spec = registry_spec(registry)
    if not spec.writable:
        raise ReadOnlyRegistry(registry)
    if spec.field(field) is None:
        from yiwang.registries.errors import UnknownField

        raise UnknownField(registry, field)
    may_set = _is_system(actor) or (
        department is not None and actor_has_role(actor=actor, role=Role.CITY_ADMIN, department=department)
    )
    if not may_set and not getattr(actor, "is_superuser", False):
        raise Forbidden(_("只有市级管理员可以设定数源部门"), code="registry_source_forbidden")
    with transaction.atomic():
        row, _created = RegistryField.objects.select_for_update(no_key=True).get_or_create(
            registry=registry, field=field
        )
        old = row.source_department_id
        row.source_department = department
        row.save(update_fields=["source_department", "updated_at"])
        audit_record(
            actor=actor,
            action="registries.field_source_set",
            obj=row,
            changes={"source_department": [old, department.pk if department else None]},
        )
    return row


def _sources(spec: RegistrySpec) -> dict[str, Department | None]:
    rows = RegistryField.objects.filter(registry=spec.name).select_related("source_department")
    return {row.field: row.source_department for row in rows}


def _source_error(field_spec: FieldSpec, department: Department | None) -> str:
    if department is None:
        return str(_("「%(label)s」尚未设定数源部门,不能修改") % {"label": field_spec.label})
    return str(
        _("「%(label)s」的数源部门是%(department)s,只有该部门可以修改")
        % {"label": field_spec.label, "department": department.name}
    )


# =============================================================================================
# Parsing a batch
# =============================================================================================


@dataclass
class _Row:
    index: int
    key: str
    lookup: dict[str, Any]
    values: dict[str, Any]  # parsed, only the fields the row gave
    bad: bool = False  # some field failed: kept only to find duplicate keys


def _parse_row(spec: RegistrySpec, index: int, raw: Any, errors: list) -> _Row | None:
    if not isinstance(raw, dict):
        errors.append((index, "*", str(_("每一行应为一个对象(字段名: 值)"))))
        return None
    values: dict[str, Any] = {}
    bad = False
    for name, value in raw.items():
        field_spec = spec.field(name)
        if field_spec is None:
            errors.append((index, name, str(_("未知字段"))))
            bad = True
            continue
        if field_spec.kind == schema.SUBJECT_KEY:
            continue  # needs subject_kind: below
        try:
            values[name] = parse(field_spec, value)
        except ValidationError as exc:
            errors.append((index, name, message_of(exc)))
            bad = True
        except (TypeError, ValueError):
            errors.append((index, name, str(_("此字段的值无效"))))
            bad = True
    for key_field in spec.key_fields:
        if key_field.name not in raw or is_empty(raw.get(key_field.name)):
            if key_field.name in values or not any(e[0] == index and e[1] == key_field.name for e in errors):
                errors.append((index, key_field.name, str(_("%(label)s必填") % {"label": key_field.label})))
            bad = True
    if "subject_key" in raw:
        # Without the kind in the row (an update of the key alone) either code is accepted;
        # the quality rules catch a kind and code that disagree.
        kinds = [values["subject_kind"]] if values.get("subject_kind") else ["person", "legal_entity"]
        try:
            values["subject_key"] = "" if is_empty(raw["subject_key"]) else _subject_key(kinds, raw["subject_key"])
        except ValidationError as exc:
            errors.append((index, "subject_key", message_of(exc)))
            bad = True
    before = len(errors)
    _cross_check(spec, index, values, errors)
    bad = bad or len(errors) > before
    if any(f.name not in values for f in spec.key_fields):
        return None
    lookup = {f.name: values[f.name] for f in spec.key_fields}
    return _Row(index, key_of(spec, lookup), lookup, values, bad)


def _subject_key(kinds: list[str], raw: Any) -> str:
    for kind in kinds[:-1]:
        try:
            return subject_key(kind, raw)
        except ValidationError:
            continue
    return subject_key(kinds[-1], raw)


def _cross_check(spec: RegistrySpec, index: int, values: dict, errors: list) -> None:
    """Rules between fields of one row that a single field cannot check."""
    if spec.name == "population" and values.get("id_number"):
        from yiwang.core.codes import validate_id_number

        info = validate_id_number(values["id_number"])
        if values.get("birth_date") and values["birth_date"] != info.birth_date:
            errors.append((index, "birth_date", str(_("出生日期与身份证号中的出生日期不一致"))))
        if values.get("sex") and values["sex"] != info.gender:
            errors.append((index, "sex", str(_("性别与身份证号(第17位)不一致"))))
    if values.get("valid_from") and values.get("valid_to") and values["valid_to"] < values["valid_from"]:
        errors.append((index, "valid_to", str(_("有效期至不能早于有效期自"))))
    if spec.name == "credit" and "kind" in values:
        kind, outcome = values["kind"], values.get("outcome", "")
        if kind == "tax_grade" and outcome not in schema.TAX_GRADES:
            errors.append((index, "outcome", str(_("纳税信用等级记录须给出结论 A、B、M、C 或 D"))))
        elif kind == "commitment" and outcome not in schema.COMMITMENT_OUTCOMES:
            errors.append((index, "outcome", str(_("信用承诺记录须给出履约结论 kept、broken 或 pending"))))
        elif kind not in ("tax_grade", "commitment") and outcome:
            errors.append((index, "outcome", str(_("只有纳税信用等级和信用承诺记录有结论"))))


def _existing(spec: RegistrySpec, rows: list[_Row], *, lock: bool = False) -> dict[str, Model]:
    """The stored records of these rows' keys, {key: record}, a query per 2,000 keys; with
    ``lock`` the rows stay locked until the transaction ends (no lost update between batches)."""
    model = MODELS[spec.name]
    manager = model.objects.select_for_update(no_key=True) if lock else model.objects
    found: dict[str, Model] = {}
    for first in range(0, len(rows), _LOOKUP_CHUNK):
        chunk = rows[first : first + _LOOKUP_CHUNK]
        if spec.name == "population":
            by_index = {blind_index(r.key): r.key for r in chunk}
            for record in manager.filter(id_number_index__in=list(by_index)):
                found[by_index[record.id_number_index]] = record
        elif spec.name == "economy":
            wanted = {r.key for r in chunk}
            records = manager.filter(
                uscc__in={r.lookup["uscc"] for r in chunk}, year__in={r.lookup["year"] for r in chunk}
            )
            for record in records:
                key = key_of(spec, {"uscc": record.uscc, "year": record.year})
                if key in wanted:
                    found[key] = record
        else:
            name = spec.key_fields[0].name
            for record in manager.filter(**{f"{name}__in": [r.key for r in chunk]}):
                found[getattr(record, name)] = record
    return found


def _same(old: Any, new: Any) -> bool:
    if is_empty(old) and is_empty(new):
        return True
    return old == new


def _set_indexes(spec: RegistrySpec, record: Model) -> None:
    if spec.name == "population":
        record.id_number_index = blind_index(record.id_number)
    elif spec.name == "credit":
        record.subject_key_index = blind_index(record.subject_key) if record.subject_key else ""


def _history(spec, record, action, field_spec, old, new, source, base) -> RecordChange:
    change = RecordChange(registry=spec.name, record_id=record.pk, action=action, source_department=source, **base)
    if field_spec is not None:
        change.field = field_spec.name
        if field_spec.personal:
            change.old_secret, change.new_secret = as_text(old), as_text(new)
        else:
            change.old_plain, change.new_plain = as_text(old), as_text(new)
    return change


# =============================================================================================
# Upsert
# =============================================================================================


def records_upsert(
    *,
    actor,
    registry: str,
    rows: Sequence[dict],
    channel: str = "api",
    reason: str = "",
    only_missing: bool = False,
    signed_off_by: Department | None = None,
) -> UpsertResult:
    """Create or update records by key, all or nothing (see the module's guarantees).

    ``rows`` are dicts of field name → value (JSON values, or Excel/CSV cells: dates as
    ``YYYY-MM-DD``, choices as code or Chinese label); a row must carry its key fields and may
    leave any other field out (left as stored). At most ``BATCH_LIMIT`` rows. With
    ``only_missing`` rows whose key exists are skipped untouched (the demo loader: never
    overwrite). ``signed_off_by``: a system actor (an operator's command) imports a file the
    department signed off; the source rule then applies as if that department's staff wrote it.
    Raises ``RowsInvalid`` naming every bad (row, field), ``ReadOnlyRegistry``,
    ``UnknownRegistry`` or a ``RegistryError`` for an empty or oversized batch.
    """
    spec = registry_spec(registry)
    if not spec.writable:
        raise ReadOnlyRegistry(registry)
    registry_require_source(actor=actor, registry=registry)
    rows = list(rows)
    if not rows:
        raise RegistryError(
            _("没有要写入的记录"), code="registry_batch_empty", fields={"records": [_("至少需要 1 项")]}
        )
    if len(rows) > BATCH_LIMIT:
        raise RegistryError(
            _("一批最多 %(limit)d 条记录,本批 %(count)d 条;请分批提交") % {"limit": BATCH_LIMIT, "count": len(rows)},
            code="registry_batch_too_large",
            fields={"records": [_("不能超过 %(limit)d 项") % {"limit": BATCH_LIMIT}]},
        )
    errors: list[tuple[int, str, str]] = []
    parsed: list[_Row] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(rows):
        row = _parse_row(spec, index, raw, errors)
        if row is None:
            continue
        if row.key in seen:
            errors.append((index, spec.key_fields[0].name, str(_("与第 %(row)d 行的键重复") % {"row": seen[row.key]})))
            continue
        seen[row.key] = index
        if not row.bad:
            parsed.append(row)
    try:
        with transaction.atomic():
            existing = _existing(spec, parsed, lock=True) if parsed else {}
            if only_missing:
                skipped = sum(1 for r in parsed if r.key in existing)
                parsed = [r for r in parsed if r.key not in existing]
            else:
                skipped = 0
            sources = _sources(spec)
            allowed = source_departments_of_actor(
                actor=actor, departments=[d for d in sources.values() if d is not None]
            )
            system = _is_system(actor)
            if signed_off_by is not None:
                if not system:
                    raise ValueError(
                        "signed_off_by is for system actors (commands); staff act for their own departments"
                    )
                allowed, system = {signed_off_by.pk}, False
                actor = f"{actor or 'system'} (签收:{signed_off_by.name})"[:200]
            plans: list[tuple[_Row, Model | None, list[str]]] = []
            for row in parsed:
                record = existing.get(row.key)
                if record is None:
                    changed = [n for n, v in row.values.items() if not is_empty(v)]
                    changed += [f.name for f in spec.key_fields if f.name not in changed]
                    if spec.name == "credit":
                        _require_subject(row, errors)
                else:
                    changed = [n for n, v in row.values.items() if not _same(getattr(record, n), v)]
                    if spec.name == "credit" and "subject_kind" in changed and "subject_key" not in row.values:
                        errors.append((row.index, "subject_key", str(_("修改主体类型时须同时提供主体代码"))))
                if not system:
                    for name in changed:
                        source = sources.get(name)
                        if source is None or source.pk not in allowed:
                            errors.append((row.index, name, _source_error(spec.field(name), source)))
                plans.append((row, record, changed))
            if errors:
                errors.sort(key=lambda e: (e[0], e[1]))
                raise RowsInvalid(errors, total=len(rows))
            return _write(spec, actor, plans, sources, channel=channel, reason=reason, skipped=skipped)
    except IntegrityError as exc:  # a concurrent batch created the same key first
        raise Conflict(_("另一批次正在写入相同的记录,请稍后重试"), code="registry_concurrent_write") from exc


def _require_subject(row: _Row, errors: list) -> None:
    for name in ("subject_kind", "subject_key"):
        if is_empty(row.values.get(name)):
            errors.append(
                (row.index, name, str(_("新增信用记录须填写%(label)s") % {"label": schema.CREDIT.field(name).label}))
            )


@transaction.atomic
def _write(
    spec, actor, plans, sources, *, channel: str, reason: str, skipped: int, action: str = "", audit: bool = True
) -> UpsertResult:
    model = MODELS[spec.name]
    batch = uuid.uuid4().hex
    result = UpsertResult(registry=spec.name, batch=batch, skipped=skipped)
    now = timezone.now()
    base = {**_actor_fields(actor), "channel": channel, "batch": batch, "reason": (reason or "")[:500]}
    key_source = sources.get(spec.key_fields[0].name)
    new_records, updates, changes, changed_fields = [], [], [], set()
    published: list[tuple[Model, list[str], str]] = []
    for row, record, changed in plans:
        if record is None:
            record = model(**row.values)
            _set_indexes(spec, record)
            new_records.append((row, record))
            changed_fields.update(changed)
            published.append((record, [f.name for f in spec.fields if f.name in changed], "create"))
            continue
        if not changed:
            result.unchanged += 1
            continue
        for name in changed:
            field_spec = spec.field(name)
            changes.append(
                _history(
                    spec,
                    record,
                    action or "update",
                    field_spec,
                    getattr(record, name),
                    row.values[name],
                    sources.get(name),
                    base,
                )
            )
            setattr(record, name, row.values[name])
        _set_indexes(spec, record)
        record.updated_at = now
        updates.append((record, changed))
        changed_fields.update(changed)
        published.append((record, [f.name for f in spec.fields if f.name in changed], action or "update"))
    if new_records:
        created = model.objects.bulk_create([r for _row, r in new_records], batch_size=1000)
        if any(r.pk is None for r in created):  # backends that do not return ids (none in use today)
            raise RuntimeError("bulk_create returned no primary keys")
        changes += [_history(spec, r, "create", None, None, None, key_source, base) for r in created]
        result.created = len(created)
    if updates:
        columns = sorted({name for _r, names in updates for name in names})
        extra = ["id_number_index"] if spec.name == "population" and "id_number" in columns else []
        extra += ["subject_key_index"] if spec.name == "credit" and "subject_key" in columns else []
        model.objects.bulk_update([r for r, _n in updates], [*columns, *extra, "updated_at"], batch_size=500)
        result.updated = len(updates)
    RecordChange.objects.bulk_create(changes, batch_size=1000)
    result.fields = [f.name for f in spec.fields if f.name in changed_fields]
    if (result.created or result.updated) and audit:
        audit_record(
            actor=actor,
            action=f"registries.records_{action or 'upsert'}",
            object_type=f"registries.{spec.name}",
            object_id=batch,
            object_repr=str(spec.label),
            changes={
                "channel": channel,
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged + result.skipped,
                "fields": result.fields,
                "reason": (reason or "")[:200],
            },
        )
    if result.created or result.updated:
        for record, fields, kind in published:
            _publish_changed(spec, record, fields=fields, action=kind, batch=batch)
        ids = [record.pk for record, _fields, _kind in published]
        for start in range(0, len(ids), RECORDS_CHANGED_CHUNK):
            events.publish(
                RECORDS_CHANGED,
                registry=spec.name,
                batch=batch,
                record_ids=ids[start : start + RECORDS_CHANGED_CHUNK],
                fields=result.fields,
            )
    return result


# =============================================================================================
# Correction (an upheld data dispute)
# =============================================================================================


def record_correct(*, actor, registry: str, key: str, field: str, value: Any, reason: str) -> RecordView:
    """Correct one field of one record after a data dispute was upheld (数据异议更正).

    Only staff of the field's source department (or the platform) may; anyone else gets
    ``NotSourceDepartment`` (403) naming the field and its source. The key must be valid
    (``InvalidKey``), the record must exist (``NotFound``), the value valid for the field
    (``ValidationFailed`` naming it), the reason given. A key field cannot be corrected (the
    record would become another's). Writes the history (action ``correct``, with the reason),
    an audit event with masked old and new values, and ``registries.record_changed``. Returns
    the field's new value as a ``RecordView`` (unchanged value: nothing written).
    """
    spec = registry_spec(registry)
    if not spec.writable:
        raise ReadOnlyRegistry(registry)
    field_spec = spec.field(field)
    if field_spec is None:
        from yiwang.registries.errors import UnknownField

        raise UnknownField(registry, field)
    if field_spec.key:
        raise ValidationFailed(
            _("「%(label)s」是记录的键,不能更正;请新增正确的记录") % {"label": field_spec.label},
            code="registry_key_not_correctable",
            fields={field: [_("键不能更正")]},
        )
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": [_("请填写更正原因")]})
    lookup = normalize_key(spec, key)
    normalized = key_of(spec, lookup)
    with transaction.atomic():
        record = _existing(spec, [_Row(0, normalized, lookup, {})], lock=True).get(normalized)
        if record is None:
            raise NotFound(_("未找到该记录。"), code="registry_record_not_found")
        sources = _sources(spec)
        source = sources.get(field)
        if not _is_system(actor) and (
            source is None or source.pk not in source_departments_of_actor(actor=actor, departments=[source])
        ):
            raise NotSourceDepartment(
                _source_error(field_spec, source), fields={field: [_source_error(field_spec, source)]}
            )
        try:
            if field_spec.kind == schema.SUBJECT_KEY:
                new = subject_key(record.subject_kind or "person", value)
            else:
                new = parse(field_spec, value)
        except ValidationError as exc:
            raise ValidationFailed(fields={field: [message_of(exc)]}) from None
        row = _Row(0, normalized, lookup, {**lookup, field: new})
        old = getattr(record, field)
        changed = [] if _same(old, new) else [field]
        if changed:
            _write(
                spec,
                actor,
                [(row, record, changed)],
                sources,
                channel="correction",
                reason=reason,
                skipped=0,
                action="correct",
                audit=False,
            )
            audit_record(
                actor=actor,
                action="registries.record_correct",
                object_type=f"registries.{spec.name}",
                object_id=str(record.pk),
                object_repr=mask_value(spec.key_fields[0], normalized),
                changes={
                    "field": field,
                    "old": mask_value(field_spec, old),
                    "new": mask_value(field_spec, new),
                    "reason": reason[:200],
                },
            )
    subject_kind = {"population": "person", "legal_entity": "legal_entity", "economy": "legal_entity"}.get(spec.name)
    subject = normalized.split(schema.ECONOMY_KEY_SEPARATOR)[0] if subject_kind else None
    if spec.name == "credit":
        subject_kind, subject = record.subject_kind or None, record.subject_key or None
    return RecordView(spec.name, normalized, {field: new}, subject_kind, subject, record.updated_at)


# =============================================================================================
# Grid cells (reference data of the spatial registry)
# =============================================================================================


def grid_cells_upsert(*, actor, cells: Sequence[dict]) -> int:
    """Create or rename grid cells ({code, name}); only the source department of the spatial
    registry's ``grid_code`` field (or the platform). All or nothing; returns how many changed."""
    source = _sources(schema.SPATIAL).get("grid_code")
    if not _is_system(actor) and (
        source is None or source.pk not in source_departments_of_actor(actor=actor, departments=[source])
    ):
        raise NotSourceDepartment(_source_error(schema.SPATIAL.field("grid_code"), source))
    errors: dict[str, list[str]] = {}
    parsed = {}
    for index, cell in enumerate(cells):
        try:
            code = validate_grid_code(cell.get("code", ""))
        except ValidationError as exc:
            errors[f"cells.{index}.code"] = [message_of(exc)]
            continue
        name = str(cell.get("name") or "").strip()
        if not name:
            errors[f"cells.{index}.name"] = [str(_("请填写网格名称"))]
            continue
        parsed[code] = name[:100]
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        existing = {c.code: c for c in GridCell.objects.filter(code__in=list(parsed))}
        new = [
            GridCell(code=code, name=name, region_code=code[:12])
            for code, name in parsed.items()
            if code not in existing
        ]
        renamed = [existing[code] for code, name in parsed.items() if code in existing and existing[code].name != name]
        for cell in renamed:
            cell.name = parsed[cell.code]
        GridCell.objects.bulk_create(new)
        if renamed:
            now = timezone.now()
            for cell in renamed:
                cell.updated_at = now
            GridCell.objects.bulk_update(renamed, ["name", "updated_at"])
        if new or renamed:
            audit_record(
                actor=actor,
                action="registries.grid_cells_upsert",
                object_type="registries.gridcell",
                object_id="",
                changes={"created": len(new), "renamed": len(renamed)},
            )
    return len(new) + len(renamed)
