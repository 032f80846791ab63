"""Data quality (数据质量): rules per field, a report per registry and per source department.

Rules, each named by a stable code:

* ``completeness`` — a required field (``FieldSpec.required``) is empty;
* ``format`` — a stored value no longer passes its field's validation (a 身份证号 check digit, a
  USCC, a phone number, a date …);
* ``allowed_codes`` — a value outside its code list: a choice, a GB/T 2260 region code (e.g.
  abolished since), a GB/T 4754 industry code;
* ``cross_registry`` — disagreement with another registry: a person's or legal entity's address
  code missing from the spatial registry, or the address lying outside the 户籍/registration
  region; a legal representative not in the population registry; an economic indicator or a
  credit record about a subject no registry knows; an address in a grid cell that does not exist
  or lies in another region.

A check is one rule applied to one field of one record. The score is the share of checks that
pass (0–100). A report for a source department counts only the fields it is the source of.
``quality_refresh`` recomputes every report (the scheduled job ``registries.quality``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.core.codes import region_prefix
from yiwang.core.crypto import blind_index
from yiwang.registries import schema
from yiwang.registries.masking import mask_value
from yiwang.registries.models import Address, GridCell, LegalEntity, Person, QualityReport, RegistryField
from yiwang.registries.selectors import MODELS
from yiwang.registries.values import is_empty, key_of, message_of, parse

RULES = ("completeness", "format", "allowed_codes", "cross_registry")
FAILURES_KEPT = 200  # failing checks kept per report (masked), for the page and the API
CHUNK = 2000
_CODE_KINDS = (schema.CHOICE, schema.REGION, schema.INDUSTRY)


def _field_checks(spec: schema.RegistrySpec, record) -> tuple[int, list[tuple[str, str, str]]]:
    """(checks made, failures as (field, rule, message)) of the single-field rules."""
    checks, failures = 0, []
    for field in spec.fields:
        value = getattr(record, field.name)
        if field.required:
            checks += 1
            if is_empty(value):
                failures.append((field.name, "completeness", _("「%(label)s」为空") % {"label": field.label}))
                continue
        if is_empty(value):
            continue
        checks += 1
        rule = "allowed_codes" if field.kind in _CODE_KINDS else "format"
        try:
            if field.kind == schema.SUBJECT_KEY:
                from yiwang.registries.values import subject_key

                subject_key(record.subject_kind or "person", value)
            elif field.kind == schema.DECIMAL:
                parse(field, Decimal(value))
            else:
                parse(field, value.isoformat() if hasattr(value, "isoformat") else value)
        except ValidationError as exc:
            failures.append((field.name, rule, f"{field.label}:{message_of(exc)}"))
    return checks, failures


class _Lookups:
    """The other registries a chunk of records is compared with, read once per chunk."""

    def __init__(self, spec: schema.RegistrySpec, records: list):
        self.addresses: dict[str, str] = {}
        self.persons: set[str] = set()
        self.entities: set[str] = set()
        self.grids: dict[str, str] = {}
        codes = {getattr(r, "address_code", "") for r in records} - {""}
        if codes:
            self.addresses = dict(Address.objects.filter(code__in=codes).values_list("code", "region_code"))
        if spec.name == "legal_entity":
            indexes = {
                blind_index(r.legal_representative_id_number) for r in records if r.legal_representative_id_number
            }
            self.persons = set(
                Person.objects.filter(id_number_index__in=indexes).values_list("id_number_index", flat=True)
            )
        if spec.name == "credit":
            indexes = {r.subject_key_index for r in records if r.subject_kind == "person" and r.subject_key_index}
            self.persons = set(
                Person.objects.filter(id_number_index__in=indexes).values_list("id_number_index", flat=True)
            )
            usccs = {r.subject_key for r in records if r.subject_kind == "legal_entity" and r.subject_key}
            self.entities = set(LegalEntity.objects.filter(uscc__in=usccs).values_list("uscc", flat=True))
        if spec.name == "economy":
            usccs = {r.uscc for r in records}
            self.entities = set(LegalEntity.objects.filter(uscc__in=usccs).values_list("uscc", flat=True))
        if spec.name == "spatial":
            grids = {r.grid_code for r in records} - {""}
            self.grids = dict(GridCell.objects.filter(code__in=grids).values_list("code", "region_code"))


def _address_check(record, region: str, failures: list, lookups: _Lookups) -> int:
    code = getattr(record, "address_code", "")
    if not code:
        return 0
    found = lookups.addresses.get(code)
    if found is None:
        failures.append(
            ("address_code", "cross_registry", _("标准地址编码 %(code)s 不在空间地理库中") % {"code": code})
        )
    elif region and not found.startswith(region_prefix(region)):
        failures.append(
            (
                "address_code",
                "cross_registry",
                _("标准地址所在区划 %(address)s 不在登记区划 %(region)s 内") % {"address": found, "region": region},
            )
        )
    return 1


def _cross_checks(spec: schema.RegistrySpec, record, lookups: _Lookups) -> tuple[int, list[tuple[str, str, str]]]:
    failures: list[tuple[str, str, str]] = []
    checks = 0
    if spec.name in ("population", "legal_entity"):
        checks += _address_check(record, record.region_code, failures, lookups)
    if spec.name == "legal_entity" and record.legal_representative_id_number:
        checks += 1
        if blind_index(record.legal_representative_id_number) not in lookups.persons:
            failures.append(("legal_representative_id_number", "cross_registry", _("法定代表人不在人口库中")))
    if spec.name == "credit" and record.subject_key:
        checks += 1
        known = (
            record.subject_key_index in lookups.persons
            if record.subject_kind == "person"
            else record.subject_key in lookups.entities
        )
        if not known:
            failures.append(("subject_key", "cross_registry", _("信用主体不在人口库或法人库中")))
    if spec.name == "economy":
        checks += 1
        if record.uscc not in lookups.entities:
            failures.append(("uscc", "cross_registry", _("该统一社会信用代码不在法人库中")))
    if spec.name == "spatial" and record.grid_code:
        checks += 1
        grid_region = lookups.grids.get(record.grid_code)
        if grid_region is None:
            failures.append(("grid_code", "cross_registry", _("网格 %(code)s 不存在") % {"code": record.grid_code}))
        elif record.region_code and grid_region != record.region_code:
            failures.append(("grid_code", "cross_registry", _("网格所在区划与地址所在区划不一致")))
    return checks, failures


class _Tally:
    def __init__(self):
        self.records = 0
        self.checks = 0
        self.failed = 0
        self.failing_records = 0
        self.by_rule: Counter = Counter()
        self.failures: list[dict[str, Any]] = []

    def add(self, checks: int, failures: list, describe) -> None:
        self.records += 1
        self.checks += checks
        self.failed += len(failures)
        if failures:
            self.failing_records += 1
        for field, rule, message in failures:
            self.by_rule[rule] += 1
            if len(self.failures) < FAILURES_KEPT:
                self.failures.append({**describe(), "field": field, "rule": rule, "message": str(message)})

    @property
    def score(self) -> Decimal:
        if not self.checks:
            return Decimal(100)
        return (Decimal(100) * (self.checks - self.failed) / self.checks).quantize(Decimal("0.01"))


def registry_quality(registry: str) -> tuple[_Tally, dict[int, _Tally]]:
    """Check every record of ``registry``: the whole registry's tally and one per source department."""
    spec = schema.REGISTRIES[registry]
    sources = dict(RegistryField.objects.filter(registry=registry).values_list("field", "source_department_id"))
    whole = _Tally()
    per_department: dict[int, _Tally] = defaultdict(_Tally)
    departments = {d for d in sources.values() if d is not None}
    records = MODELS[registry].objects.order_by("pk")
    last = 0
    while True:
        chunk = list(records.filter(pk__gt=last)[:CHUNK])
        if not chunk:
            break
        last = chunk[-1].pk
        lookups = _Lookups(spec, chunk)
        for record in chunk:
            checks, failures = _field_checks(spec, record)
            more, cross = _cross_checks(spec, record, lookups)
            checks, failures = checks + more, failures + cross

            def describe(record=record):
                key = key_of(spec, {f.name: getattr(record, f.name) for f in spec.key_fields})
                return {"record_id": record.pk, "key": mask_value(spec.key_fields[0], key)}

            whole.add(checks, failures, describe)
            for department in departments:
                own = {f.name for f in spec.fields if sources.get(f.name) == department}
                own_checks = _own_checks(spec, record, own)
                if own_checks:
                    per_department[department].add(own_checks, [f for f in failures if f[0] in own], describe)
    return whole, dict(per_department)


def _own_checks(spec, record, own: set[str]) -> int:
    """How many checks concern the fields in ``own`` (recounted without building messages)."""
    count = 0
    for field in spec.fields:
        if field.name not in own:
            continue
        value = getattr(record, field.name)
        count += int(field.required) + int(not is_empty(value))  # as ``_field_checks`` counts
    cross_fields = {
        "population": ["address_code"],
        "legal_entity": ["address_code", "legal_representative_id_number"],
        "credit": ["subject_key"],
        "economy": ["uscc"],
        "spatial": ["grid_code"],
    }.get(spec.name, [])
    for name in cross_fields:
        if name in own and (name == "uscc" or not is_empty(getattr(record, name))):
            count += 1
    return count


def quality_refresh(*, registries: list[str] | None = None) -> list[QualityReport]:
    """Recompute the quality reports (whole registry and per source department), replacing the old ones."""
    names = registries or [name for name, spec in schema.REGISTRIES.items() if spec.writable]
    reports = []
    now = timezone.now()
    for name in names:
        whole, per_department = registry_quality(name)
        with transaction.atomic():
            QualityReport.objects.filter(registry=name).delete()
            for department_id, tally in [(None, whole), *per_department.items()]:
                reports.append(
                    QualityReport.objects.create(
                        registry=name,
                        department_id=department_id,
                        computed_at=now,
                        records=tally.records,
                        checks=tally.checks,
                        failed_checks=tally.failed,
                        failing_records=tally.failing_records,
                        score=tally.score,
                        by_rule=dict(tally.by_rule),
                        failures=tally.failures,
                    )
                )
    return reports
