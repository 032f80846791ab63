"""Registry endpoints of the JSON API, mounted at /api/v1/registries/.

Feeding (source departments): upsert a batch of up to 10,000 records by key, or import an
Excel/CSV file — all or nothing, every bad row named ``records.<i>.<field>``. Staff of a
source department: the field catalog, masked lookup of one record by key (POST, so that no
身份证号 lands in an access log), its history, the quality reports. Reads of registry data by
other systems go through the exchange's gateway, not here.
"""

import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, File, Router, Schema
from ninja.files import UploadedFile

from yiwang.core.api_errors import ErrorOut
from yiwang.identity.auth import api_auth
from yiwang.registries import importer, presenters, selectors, services

router = Router(tags=["registries"], auth=api_auth)
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class FieldOut(Schema):
    registry: str
    field: str
    label: str
    personal: bool = Field(description="Personal data: encrypted at rest, masked when shown")
    key: bool
    source_department_id: int | None = Field(description="一数一源: the only department that may change it")


class RecordsIn(Schema):
    records: list[dict[str, Any]] = Field(
        description="Up to 10,000 records, each {field: value} with its key field(s); dates YYYY-MM-DD; "
        "choices by code or Chinese label. Fields left out stay as stored."
    )


class UpsertOut(Schema):
    registry: str
    batch: str = Field(description="Ties the history rows of this batch together")
    created: int
    updated: int
    unchanged: int
    fields: list[str] = Field(description="Fields changed by this batch")


class KeyIn(Schema):
    key: str = Field(description="身份证号, USCC, record number, address code or <USCC>-<year>")


class RegistryRecordOut(Schema):
    id: int
    registry: str
    key: str = Field(description="Masked for persons")
    values: dict[str, str] = Field(description="Every field as text, personal fields masked")
    labels: dict[str, str]
    updated_at: datetime.datetime


class ChangeOut(Schema):
    id: int
    action: str = Field(description="create | update | correct")
    action_label: str
    field: str
    field_label: str
    old_value: str = Field(description="Masked when the field is personal")
    new_value: str
    source_department: str
    actor: str
    channel: str = Field(description="api | import | correction | demo | command")
    batch: str
    reason: str
    created_at: datetime.datetime


class QualityOut(Schema):
    registry: str
    department_id: int | None = Field(description="null: the whole registry")
    department: str
    computed_at: datetime.datetime
    records: int
    checks: int
    failed_checks: int
    failing_records: int
    score: float = Field(description="Share of passed checks, 0–100")
    by_rule: dict[str, int]
    failures: list[dict[str, Any]] = Field(
        description="First failing checks: record_id, key (masked), field, rule, message"
    )


def _upsert_out(result: services.UpsertResult) -> dict:
    return {
        "registry": result.registry,
        "batch": result.batch,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged + result.skipped,
        "fields": result.fields,
    }


@router.get("/fields", response={200: list[FieldOut], **ERRORS}, summary="Registry fields and their sources")
def fields(request: HttpRequest, registry: str | None = None):
    return [{**f.__dict__, "label": str(f.label)} for f in selectors.registry_fields(registry=registry)]


@router.get("/quality", response={200: list[QualityOut], **ERRORS}, summary="Data-quality reports")
def quality(request: HttpRequest, registry: str | None = None):
    return [
        {
            **{k: getattr(r, k) for k in ("registry", "department_id", "computed_at", "records", "checks")},
            **{k: getattr(r, k) for k in ("failed_checks", "failing_records", "by_rule", "failures")},
            "department": r.department.name if r.department_id else "",
            "score": float(r.score),
        }
        for r in selectors.quality_reports(actor=request.user, registry=registry)
    ]


@router.post(
    "/{registry}/records", response={200: UpsertOut, **ERRORS}, summary="Upsert records by key (batch ≤ 10,000)"
)
def records_upsert(request: HttpRequest, registry: str, payload: RecordsIn):
    result = services.records_upsert(actor=request.user, registry=registry, rows=payload.records, channel="api")
    return _upsert_out(result)


@router.post("/{registry}/import", response={200: UpsertOut, **ERRORS}, summary="Import an Excel (.xlsx) or CSV file")
def records_import(request: HttpRequest, registry: str, file: File[UploadedFile]):
    selectors.registry_require_source(actor=request.user, registry=registry)  # before reading the file
    result = importer.records_import(
        actor=request.user, registry=registry, content=file.read(), filename=file.name or ""
    )
    return _upsert_out(result)


@router.post("/{registry}/lookup", response={200: RegistryRecordOut, **ERRORS}, summary="One record by key, masked")
def record_lookup(request: HttpRequest, registry: str, payload: KeyIn):
    record = selectors.record_get(actor=request.user, registry=registry, key=payload.key)
    return presenters.masked_record(registry, record)


@router.get(
    "/{registry}/records/{record_id}/history", response={200: list[ChangeOut], **ERRORS}, summary="History of a record"
)
def record_history(request: HttpRequest, registry: str, record_id: int):
    return [
        presenters.masked_change(c)
        for c in selectors.record_history(actor=request.user, registry=registry, id=record_id)
    ]
