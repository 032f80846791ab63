"""Registry reads.

Two kinds of reader:

* **The exchange** (``record_read``, ``record_read_many``): a RAW read of named fields of
  one record (or a bounded batch), decrypted, with no authorization at all. Only the
  ``exchange`` app may call these (``tests/test_architecture.py``): it checks the caller's
  grant, masks, and writes the evidence log. Each call costs at most two queries whatever
  the registry's size (lookup by blind index or unique key, only the asked columns).
* **Source-department staff** (``record_list``, ``record_get``, ``record_history``,
  ``registries_for_actor``): scoped to the actor; a record of a registry the actor does
  not source looks exactly like a missing one (``NotFound``).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Model, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from yiwang.core import db
from yiwang.core.crypto import blind_index
from yiwang.core.errors import NotFound
from yiwang.identity.models import Department, Role, RoleGrant
from yiwang.identity.selectors import ancestor_paths
from yiwang.registries import schema
from yiwang.registries.errors import RegistryError, UnknownField
from yiwang.registries.models import (
    Address,
    CreditRecord,
    GridCell,
    Indicator,
    LegalEntity,
    Person,
    QualityReport,
    RecordChange,
    RegistryField,
)
from yiwang.registries.values import key_of, normalize_key, registry_spec

REGISTRY_NAMES = ("population", "legal_entity", "license", "credit", "spatial", "economy")
# The most keys one ``record_read_many`` call may ask for (one query whatever the number).
READ_BATCH_LIMIT = 1000
# Roles whose holders count as a department's staff for 一数一源 (not auditors, not the city
# administrator who manages accounts but is no data source).
SOURCE_ROLES = (Role.WINDOW_CLERK, Role.REVIEWER, Role.DEPARTMENT_HEAD, Role.DEPARTMENT_ADMIN)

MODELS: dict[str, type[Model]] = {
    "population": Person,
    "legal_entity": LegalEntity,
    "credit": CreditRecord,
    "spatial": Address,
    "economy": Indicator,
}


@dataclass(frozen=True)
class FieldInfo:
    registry: str
    field: str
    label: Promise | str  # Simplified Chinese, translated lazily
    personal: bool
    source_department_id: int | None
    key: bool


@dataclass(frozen=True)
class RecordView:
    registry: str
    key: str  # normalized: upper-case X, USCC upper-case, "<USCC>-<year>" for economy
    values: dict[str, Any]  # decrypted plain values of the asked fields
    subject_kind: str | None  # "person" | "legal_entity" | None (e.g. an address)
    subject_key: str | None  # the 身份证号 or USCC of whom the record concerns
    updated_at: datetime.datetime | None


def registry_fields(*, registry: str | None = None) -> list[FieldInfo]:
    """Every registry field with its source department (one query), in schema order.

    The license view's fields have no source department: each license's source is the
    department that issued it.
    """
    sources = dict(
        ((row[0], row[1]), row[2])
        for row in RegistryField.objects.values_list("registry", "field", "source_department_id")
    )
    specs = [registry_spec(registry)] if registry else list(schema.REGISTRIES.values())
    return [
        FieldInfo(spec.name, f.name, f.label, f.personal, sources.get((spec.name, f.name)), f.key)
        for spec in specs
        for f in spec.fields
    ]


def _check_fields(spec: schema.RegistrySpec, fields: Sequence[str]) -> list[str]:
    if isinstance(fields, str):
        fields = [fields]
    for name in fields:
        if spec.field(name) is None:
            raise UnknownField(spec.name, name)
    return list(dict.fromkeys(fields))


def _lookup(spec: schema.RegistrySpec, key_values: dict[str, Any]) -> dict[str, Any]:
    if spec.name == "population":
        return {"id_number_index": blind_index(key_values["id_number"])}
    return dict(key_values)


def _columns(spec: schema.RegistrySpec, fields: list[str]) -> list[str]:
    columns = ["id", "updated_at", *fields]
    if spec.name == "credit":
        columns += ["subject_kind", "subject_key"]
    return list(dict.fromkeys(columns))


def _view(spec: schema.RegistrySpec, key: str, row: Model, fields: list[str]) -> RecordView:
    values = {name: getattr(row, name) for name in fields}
    if spec.name == "credit":
        subject_kind, subject = row.subject_kind or None, row.subject_key or None
    elif spec.subject_kind == "person":
        subject_kind, subject = "person", key
    elif spec.subject_kind == "legal_entity":
        subject_kind, subject = "legal_entity", key.split(schema.ECONOMY_KEY_SEPARATOR)[0]
    else:
        subject_kind, subject = None, None
    return RecordView(spec.name, key, values, subject_kind, subject, row.updated_at)


def _license_view(row: dict, fields: list[str]) -> RecordView:
    subject_kind = "person" if row["holder_kind"] == "person" else "legal_entity"
    return RecordView(
        "license",
        row["identifier"],
        {name: row[name] for name in fields},
        subject_kind,
        row["holder_id"] or None,
        row["updated_at"],
    )


def record_read(*, registry: str, key: str, fields: Sequence[str]) -> RecordView | None:
    """The asked fields of one record, decrypted, or None if there is no such record.

    RAW: no authorization, no masking, no log — for the exchange only. Raises
    ``UnknownRegistry`` / ``UnknownField`` (422, naming it) and ``InvalidKey`` for a key with a
    wrong format or check digit. One query.
    """
    spec = registry_spec(registry)
    fields = _check_fields(spec, fields)
    key_values = normalize_key(spec, key)
    normalized = key_of(spec, key_values)
    if spec.name == "license":
        from yiwang.licenses import selectors as licenses

        rows = licenses.license_registry_rows(identifiers=[normalized])
        return _license_view(rows[0], fields) if rows else None
    row = MODELS[spec.name].objects.filter(**_lookup(spec, key_values)).only(*_columns(spec, fields)).first()
    return None if row is None else _view(spec, normalized, row, fields)


def record_read_by_id(*, registry: str, record_id: int, fields: Sequence[str]) -> RecordView | None:
    """``record_read`` by primary key — for subscribers of ``registries.record_changed``, whose
    payload names the record by ``record_id`` (its key may be masked). RAW like ``record_read``:
    the subscriber is the platform itself. None if the record is gone."""
    spec = registry_spec(registry)
    fields = _check_fields(spec, fields)
    if spec.name == "license":
        raise RegistryError(_("电子证照库按证照标识读取。"), code="registry_read_by_id_unsupported")
    key_names = [f.name for f in spec.key_fields]
    row = MODELS[spec.name].objects.filter(pk=record_id).only(*_columns(spec, [*fields, *key_names])).first()
    if row is None:
        return None
    key = key_of(spec, {name: getattr(row, name) for name in key_names})
    return _view(spec, key, row, fields)


def record_subjects(*, registry: str, record_ids: Sequence[int]) -> list[str]:
    """The legal entities (统一社会信用代码) these records of the 法人库 or 经济库 concern, in one
    query — for subscribers of ``registries.records_changed``. RAW: the platform itself reads."""
    spec = registry_spec(registry)
    if spec.subject_kind != "legal_entity":
        raise RegistryError(_("该库的记录不以法人为主体。"), code="registry_subjects_unsupported")
    rows = MODELS[spec.name].objects.filter(pk__in=list(record_ids)).values_list("uscc", flat=True)
    return sorted(set(rows))


def record_read_many(*, registry: str, keys: Sequence[str], fields: Sequence[str]) -> dict[str, RecordView]:
    """``record_read`` for up to ``READ_BATCH_LIMIT`` keys in one query: {normalized key: view}.

    Keys without a record are absent from the result. A malformed key raises ``InvalidKey``
    naming it as ``keys.<i>``.
    """
    spec = registry_spec(registry)
    fields = _check_fields(spec, fields)
    keys = list(keys)
    if len(keys) > READ_BATCH_LIMIT:
        raise RegistryError(
            _("一次最多读取 %(limit)d 条记录") % {"limit": READ_BATCH_LIMIT},
            code="registry_batch_too_large",
            fields={"keys": [_("不能超过 %(limit)d 项") % {"limit": READ_BATCH_LIMIT}]},
        )
    parsed: dict[str, dict[str, Any]] = {}
    for index, key in enumerate(keys):
        try:
            values = normalize_key(spec, key)
        except RegistryError as exc:
            raise RegistryError(exc.message, code=exc.code, fields={f"keys.{index}": [exc.message]}) from None
        parsed[key_of(spec, values)] = values
    if not parsed:
        return {}
    if spec.name == "license":
        from yiwang.licenses import selectors as licenses

        return {
            row["identifier"]: _license_view(row, fields)
            for row in licenses.license_registry_rows(identifiers=list(parsed))
        }
    model = MODELS[spec.name]
    columns = _columns(spec, fields)
    if spec.name == "population":
        by_index = {blind_index(k): k for k in parsed}
        rows = db.rows_in(model, columns=columns, where={"id_number_index": list(by_index)})
        return {by_index[r.id_number_index]: _view(spec, by_index[r.id_number_index], r, fields) for r in rows}
    if spec.name == "economy":
        usccs = list(dict.fromkeys(v["uscc"] for v in parsed.values()))
        years = list(dict.fromkeys(v["year"] for v in parsed.values()))
        found = {}
        for row in db.rows_in(model, columns=columns, where={"uscc": usccs, "year": years}):
            key = key_of(spec, {"uscc": row.uscc, "year": row.year})
            if key in parsed:
                found[key] = _view(spec, key, row, fields)
        return found
    key_field = spec.key_fields[0].name
    rows = db.rows_in(model, columns=columns, where={key_field: list(parsed)})
    return {getattr(r, key_field): _view(spec, getattr(r, key_field), r, fields) for r in rows}


def record_counts(*, registry: str, group_by: Sequence[str], minimum: int = 5) -> list[dict[str, Any]]:
    """Aggregate counts of a registry's records grouped by non-personal, non-key fields, for open
    data (公共数据开放): no row names anybody. Groups with fewer than ``minimum`` records are merged
    into one row whose values are ``"其他"`` (small-cell suppression), so a rare combination does
    not single a person out. A personal or key field raises ``UnknownField`` naming it.
    One query whatever the registry's size.
    """
    from django.db.models import Count

    spec = registry_spec(registry)
    names = list(group_by)
    for name in names:
        info = spec.field(name)
        if info is None or info.personal or info.key or spec.name == "license":
            raise UnknownField(registry, name)
    rows = MODELS[spec.name].objects.values(*names).annotate(count=Count("pk")).order_by(*names)
    kept: list[dict[str, Any]] = []
    other = 0
    for row in rows:
        if row["count"] < minimum:
            other += row["count"]
            continue
        values = {n: (row[n].isoformat() if hasattr(row[n], "isoformat") else row[n]) for n in names}
        kept.append(values | {"count": row["count"]})
    if other:
        kept.append({n: "其他" for n in names} | {"count": other})
    return kept


# =============================================================================================
# Staff of source departments
# =============================================================================================


def _signed_in(actor) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and getattr(actor, "is_active", False)


def source_departments_of_actor(*, actor, departments: Sequence[Department]) -> set[int]:
    """Which of ``departments`` the actor is staff of (a source role granted there, or above it
    with descendants included). One query. System actors (None or a string) are everyone's."""
    if actor is None or isinstance(actor, str):
        return {d.pk for d in departments}
    if not _signed_in(actor):
        return set()
    grants = list(
        RoleGrant.objects.filter(user=actor, role__in=SOURCE_ROLES, department__is_active=True).values_list(
            "department_id", "department__path", "include_descendants"
        )
    )
    allowed = set()
    for dept in departments:
        if not dept.is_active:
            continue
        above = set(ancestor_paths(dept.path))
        if any(gid == dept.pk or (below and path in above) for gid, path, below in grants):
            allowed.add(dept.pk)
    return allowed


def registries_for_actor(*, actor) -> list[str]:
    """The registries in which the actor's department is the source of at least one field
    (superusers and auditors: every registry with a table), in schema order."""
    if not _signed_in(actor):
        return []
    writable = [name for name in REGISTRY_NAMES if schema.REGISTRIES[name].writable]
    if actor.is_superuser or RoleGrant.objects.filter(user=actor, role=Role.AUDITOR).exists():
        return writable
    rows = RegistryField.objects.filter(source_department__isnull=False).select_related("source_department")
    by_registry: dict[str, list[Department]] = {}
    for row in rows:
        by_registry.setdefault(row.registry, []).append(row.source_department)
    departments = {d.pk: d for ds in by_registry.values() for d in ds}
    allowed = source_departments_of_actor(actor=actor, departments=list(departments.values()))
    return [name for name in writable if any(d.pk in allowed for d in by_registry.get(name, ()))]


def _require_registry(actor, registry: str) -> schema.RegistrySpec:
    spec = registry_spec(registry)
    if registry not in registries_for_actor(actor=actor):
        raise NotFound(_("未找到该基础库。"), code="registry_not_found")
    return spec


def registry_require_source(*, actor, registry: str) -> schema.RegistrySpec:
    """The gate of every write, checked before a row or file is read: a signed-in actor must be
    staff of a source department of ``registry`` (or a superuser or auditor, whose rows the
    per-field source rule then refuses); anyone else gets ``NotFound`` as for a missing registry.
    System actors (None or a string: the demo, an operator's command) pass."""
    if actor is None or isinstance(actor, str):
        return registry_spec(registry)
    return _require_registry(actor, registry)


def record_list(*, actor, registry: str) -> QuerySet:
    """The records of a registry the actor's department sources, newest change first."""
    _require_registry(actor, registry)
    return MODELS[registry].objects.order_by("-updated_at", "-pk")


def record_get(*, actor, registry: str, key: str | None = None, id: int | None = None) -> Model:
    """One record by key (validated: ``InvalidKey``) or id; ``NotFound`` if missing or not the actor's."""
    spec = _require_registry(actor, registry)
    records = MODELS[registry].objects.all()
    if key is not None:
        row = records.filter(**_lookup(spec, normalize_key(spec, key))).first()
    else:
        row = records.filter(pk=id).first() if id is not None else None
    if row is None:
        raise NotFound(_("未找到该记录。"), code="registry_record_not_found")
    return row


def record_key(*, registry: str, record: Model) -> str:
    spec = registry_spec(registry)
    return key_of(spec, {f.name: getattr(record, f.name) for f in spec.key_fields})


def record_history(*, actor, registry: str, id: int) -> QuerySet[RecordChange]:
    """The changes of one record, oldest first (the record must be visible to the actor)."""
    record = record_get(actor=actor, registry=registry, id=id)
    return RecordChange.objects.filter(registry=registry, record_id=record.pk).select_related(
        "source_department", "actor"
    )


def grid_cells(*, region_prefix: str = "") -> QuerySet[GridCell]:
    cells = GridCell.objects.all()
    return cells.filter(region_code__startswith=region_prefix) if region_prefix else cells


def quality_reports(*, actor, registry: str | None = None) -> QuerySet[QualityReport]:
    """The latest quality reports of the registries the actor sources (whole registry and per
    source department)."""
    names = registries_for_actor(actor=actor)
    if registry is not None:
        registry_spec(registry)
        names = [n for n in names if n == registry]
    return QualityReport.objects.filter(registry__in=names).select_related("department")


# =============================================================================================
# Bulk reads for supervision (双随机 pools, credit grades, 亩均效益) — platform-side, no actor:
# the caller (``supervision.services``) decides who may act; these return no personal data
# beyond an entity's public registration facts.
# =============================================================================================


def legal_entity_pool(
    *,
    kinds: Sequence[str] = (),
    industry_prefixes: Sequence[str] = (),
    region_prefixes: Sequence[str] = (),
    usccs: Sequence[str] | None = None,
) -> list[dict[str, str]]:
    """Active legal entities (存续) matching every given filter, ordered by USCC; one query.

    Each row: ``uscc``, ``name``, ``kind``, ``industry_code``, ``region_code``. An empty filter
    does not narrow; ``usccs`` (if given) narrows to those entities.
    """
    from django.db.models import Q

    if usccs is not None and len(usccs) > READ_BATCH_LIMIT:  # bounded IN lists (SQLite's variable limit)
        found = []
        for first in range(0, len(usccs), READ_BATCH_LIMIT):
            chunk = usccs[first : first + READ_BATCH_LIMIT]
            found += legal_entity_pool(
                kinds=kinds, industry_prefixes=industry_prefixes, region_prefixes=region_prefixes, usccs=chunk
            )
        return sorted(found, key=lambda row: row["uscc"])
    rows = LegalEntity.objects.filter(status="active")
    if usccs is not None:
        rows = rows.filter(uscc__in=list(usccs))
    if kinds:
        rows = rows.filter(kind__in=list(kinds))
    for field, prefixes in (("industry_code", industry_prefixes), ("region_code", region_prefixes)):
        if prefixes:
            q = Q()
            for prefix in prefixes:
                q |= Q(**{f"{field}__startswith": prefix})
            rows = rows.filter(q)
    return list(rows.order_by("uscc").values("uscc", "name", "kind", "industry_code", "region_code"))


CREDIT_COLUMNS = (
    "record_number", "kind", "content", "outcome", "authority", "decided_on", "valid_from", "valid_to",
)  # fmt: skip


def credit_records_of_entities(*, usccs: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """{USCC: [credit record values …]} for legal entities, found by the subject's blind index
    (chunks of ``READ_BATCH_LIMIT``). USCCs without records are absent."""
    found: dict[str, list[dict[str, Any]]] = {}
    usccs = list(dict.fromkeys(usccs))
    for first in range(0, len(usccs), READ_BATCH_LIMIT):
        chunk = {blind_index(u): u for u in usccs[first : first + READ_BATCH_LIMIT]}
        rows = CreditRecord.objects.filter(subject_kind="legal_entity", subject_key_index__in=list(chunk))
        for row in rows.values("subject_key_index", *CREDIT_COLUMNS):
            found.setdefault(chunk[row.pop("subject_key_index")], []).append(row)
    return found


ECONOMY_COLUMNS = ("uscc", "year", "tax_paid", "output_value", "energy_use", "land_area_mu", "employees", "rd_spend")


def economy_indicators(*, year: int) -> list[dict[str, Any]]:
    """Every enterprise's 经济 indicators of one year, with the entity's name, by USCC."""
    rows = list(Indicator.objects.filter(year=year).order_by("uscc").values(*ECONOMY_COLUMNS))
    names = dict(LegalEntity.objects.filter(uscc__in=[r["uscc"] for r in rows]).values_list("uscc", "name"))
    for row in rows:
        row["name"] = names.get(row["uscc"], "")
    return rows
