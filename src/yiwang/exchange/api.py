"""Exchange endpoints of the JSON API, mounted at /api/v1/exchange/ (docs/exchange.md).

* ``gateway/…`` — consuming systems, with their client credential (HTTP Basic
  ``client_id:secret``) and a declared purpose: one record, or a bounded batch; ask for fields.
  A credential bound to a client certificate also needs that certificate (mutual TLS, verified
  by the TLS proxy: ``gateway.check_client_certificate``).
* ``catalog`` — the resource catalog, public.
* ``requests``, ``grants``, ``systems`` — staff of consuming and source departments.
* ``usage`` — 数据使用记录 of the signed-in citizen or enterprise agent.
* ``disputes`` — raise (citizen, agent, staff of a grant holder) and decide (source department).
"""

import base64
import binascii
import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status as Respond
from ninja.security import HttpBasicAuth

from yiwang.core.api_errors import ErrorOut
from yiwang.core.errors import NotFound
from yiwang.exchange import gateway, selectors, services
from yiwang.exchange.models import DataDispute, ExchangeLog, Grant, ShareRequest
from yiwang.identity.auth import api_auth
from yiwang.identity.selectors import department_get

router = Router(tags=["exchange"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 429: ErrorOut}


class SystemAuth(HttpBasicAuth):
    """``Authorization: Basic base64(client_id:secret)`` of a consuming system (cached per process)."""

    def __call__(self, request: HttpRequest):
        header = request.headers.get("Authorization", "")
        scheme, _sep, value = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            client_id, _colon, secret = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        return self.authenticate(request, client_id, secret)

    def authenticate(self, request: HttpRequest, username: str, password: str):
        consumer = gateway.authenticate_system(username, password)
        if consumer is not None:
            match = getattr(request, "resolver_match", None)
            registry = (match.kwargs.get("registry", "") if match else "") or ""
            gateway.check_client_certificate(consumer, request, registry=registry)  # mutual TLS, if bound
            request.exchange_consumer = consumer
        return consumer


system_auth = SystemAuth()


# --- gateway ---------------------------------------------------------------------------------------


class GatewayRecordOut(Schema):
    registry: str
    key: str
    values: dict[str, Any] = Field(
        description="Exactly the granted fields; personal ones masked unless granted in clear"
    )
    masked: list[str] = Field(description="Fields whose values are masked (脱敏)")
    disputed: list[str] = Field(description="Fields under an open data dispute (数据异议): treat with care")
    grant: int


class BatchIn(Schema):
    purpose: str = Field(description="Declared purpose of this read (written to the evidence log)")
    keys: list[str] = Field(description="Record keys, at most YIWANG_EXCHANGE_BATCH_LIMIT (default 100)")
    fields: list[str] = Field(default_factory=list, description="Empty: every field of the widest live grant")


class BatchOut(Schema):
    registry: str
    grant: int
    fields: list[str]
    records: list[GatewayRecordOut]
    not_found: list[str]


def _record(result: gateway.ReadResult) -> dict:
    return {
        "registry": result.registry,
        "key": result.key,
        "values": result.values,
        "masked": result.masked,
        "disputed": result.disputed,
        "grant": result.grant_id,
    }


class LookupQuery(Schema):
    purpose: str = ""
    fields: str = Field("", description="Comma-separated field names; empty: the widest live grant's fields")


# The batch route comes first: Django matches in order, and no key is the word "batch".
@router.post("/gateway/{registry}/batch", auth=system_auth, response={200: BatchOut, **ERRORS}, summary="Read a batch")
def gateway_batch(request, registry: str, payload: BatchIn):
    """Up to the batch limit of records in one call; unknown keys come back in ``not_found``."""
    result = gateway.read_many(
        consumer=request.exchange_consumer,
        purpose=payload.purpose,
        registry=registry,
        keys=payload.keys,
        fields=payload.fields,
    )
    return {
        "registry": registry,
        "grant": result["grant_id"],
        "fields": result["fields"],
        "records": [_record(r) for r in result["records"]],
        "not_found": result["not_found"],
    }


@router.get(
    "/gateway/{registry}/{key}", auth=system_auth, response={200: GatewayRecordOut, **ERRORS}, summary="Read one record"
)
def gateway_lookup(request, registry: str, key: str, query: Query[LookupQuery]):
    """One record's granted fields, masked as the grant says. Every call is in the evidence log."""
    fields = [f for f in query.fields.split(",") if f.strip()]
    result = gateway.read_one(
        consumer=request.exchange_consumer, purpose=query.purpose, registry=registry, key=key, fields=fields
    )
    return _record(result)


@router.get(
    "/gateway/{registry}/batch", auth=system_auth, response={200: GatewayRecordOut, **ERRORS}, include_in_schema=False
)
def gateway_lookup_batch_word(request, registry: str, query: Query[LookupQuery]):
    """A GET of ``…/{registry}/batch`` reaches the batch route's URL first: it is the lookup of
    the key "batch" (refused as a key, like any malformed one), not a 405."""
    return gateway_lookup(request, registry, "batch", query)


# --- catalog ---------------------------------------------------------------------------------------


class ResourceOut(Schema):
    registry: str
    field: str
    label: str
    personal: bool
    key: bool
    source_department: str | None
    share_type: str = Field(description="unconditional | conditional | not_shared")
    open_type: str = Field(description="open | conditional | closed")
    mask_kind: str
    not_shared_reason: str


def _resource_out(r) -> dict:
    return {
        "registry": r.registry,
        "field": r.field,
        "label": r.label,
        "personal": r.personal,
        "key": r.key,
        "source_department": r.source_department.name if r.source_department else None,
        "share_type": r.share_type,
        "open_type": r.open_type,
        "mask_kind": r.mask_kind,
        "not_shared_reason": r.not_shared_reason,
    }


@router.get("/catalog", response=list[ResourceOut], auth=None, summary="Resource catalog")
def catalog(request, registry: str = ""):
    return [_resource_out(r) for r in selectors.catalog_list(registry=registry or None)]


class ResourceIn(Schema):
    share_type: str = Field(description="unconditional | conditional | not_shared")
    open_type: str = Field(description="open | conditional | closed")
    mask_kind: str = Field(description="none | name | id_number | phone | address | other")
    not_shared_reason: str = Field("", description="Required for not_shared: the legal or policy basis")


@router.put("/catalog/{registry}/{field}", auth=api_auth, response={200: ResourceOut, **ERRORS})
def catalog_update(request, registry: str, field: str, payload: ResourceIn):
    """Change a data item's share type, open type or masking (city administrator, or an
    administrator of the item's source department)."""
    resource = selectors.catalog_list(registry=registry).filter(field=field).first()
    if resource is None:
        raise NotFound(
            _("数据项“%(field)s”不在基础库“%(registry)s”的资源目录中") % {"field": field, "registry": registry}
        )
    services.data_resource_update(
        actor=request.user,
        resource=resource,
        share_type=payload.share_type,
        open_type=payload.open_type,
        mask_kind=payload.mask_kind,
        not_shared_reason=payload.not_shared_reason,
    )
    return _resource_out(selectors.catalog_list(registry=registry).get(field=field))


# --- share requests and grants -----------------------------------------------------------------------


class RequestIn(Schema):
    department: int | None = Field(None, description="Consuming department (staff); a system asks for its own")
    registry: str
    fields: list[str]
    purpose: str
    legal_basis: str
    valid_until: datetime.date
    system: int | None = Field(None, description="Grant only this consuming system of the department")
    unmasked_fields: list[str] = Field(default_factory=list, description="Personal fields asked for in clear")


class RequestOut(Schema):
    id: int
    registry: str
    fields: list[str]
    unmasked_fields: list[str]
    consumer_department: str
    source_department: str | None
    system: str | None
    purpose: str
    legal_basis: str
    valid_until: datetime.date
    status: str = Field(description="pending | approved | refused")
    due_date: datetime.date
    decision_reason: str
    grant: int | None


def _request_out(r: ShareRequest) -> dict:
    grant = getattr(r, "grant", None) if r.status == ShareRequest.Status.APPROVED else None
    return {
        "id": r.pk,
        "registry": r.registry,
        "fields": r.fields,
        "unmasked_fields": r.unmasked_fields,
        "consumer_department": r.consumer_department.name,
        "source_department": r.source_department.name if r.source_department else None,
        "system": r.system.client_id if r.system_id else None,
        "purpose": r.purpose,
        "legal_basis": r.legal_basis,
        "valid_until": r.valid_until,
        "status": r.status,
        "due_date": r.due_date,
        "decision_reason": r.decision_reason,
        "grant": grant.pk if grant else None,
    }


def _create_requests(actor, department, payload: RequestIn, system) -> list[dict]:
    made = services.share_request_create(
        actor=actor,
        consumer_department=department,
        registry=payload.registry,
        fields=payload.fields,
        purpose=payload.purpose,
        legal_basis=payload.legal_basis,
        valid_until=payload.valid_until,
        system=system,
        unmasked_fields=payload.unmasked_fields,
    )
    ids = [r.pk for r in made]
    fresh = ShareRequest.objects.select_related("consumer_department", "source_department", "system", "grant")
    return [_request_out(r) for r in fresh.filter(pk__in=ids).order_by("pk")]


@router.post("/gateway/requests", auth=system_auth, response={201: list[RequestOut], **ERRORS}, summary="A system asks")
def gateway_request(request, payload: RequestIn):
    """A consuming system asks for fields for its own department (one request per source department)."""
    from yiwang.exchange.models import ConsumerSystem

    system = ConsumerSystem.objects.select_related("department").get(pk=request.exchange_consumer.system.id)
    return Respond(201, _create_requests(system, system.department, payload, system))


@router.post("/requests", auth=api_auth, response={201: list[RequestOut], **ERRORS}, summary="Request fields")
def request_create(request, payload: RequestIn):
    department = department_get(actor=request.user, id=payload.department)
    system = selectors.system_get(actor=request.user, id=payload.system) if payload.system else None
    return Respond(201, _create_requests(request.user, department, payload, system))


@router.get("/requests", auth=api_auth, response=list[RequestOut], summary="Requests of my departments")
def request_list(request, status: str = ""):
    rows = selectors.share_requests_for_actor(actor=request.user)
    if status:
        rows = rows.filter(status=status)
    return [_request_out(r) for r in rows[:500]]


class ExchangeDecisionIn(Schema):
    reason: str = ""


@router.post("/requests/{request_id}/approve", auth=api_auth, response={200: RequestOut, **ERRORS})
def request_approve(request, request_id: int, payload: ExchangeDecisionIn):
    share_request = selectors.share_request_get(actor=request.user, id=request_id)
    services.share_request_approve(actor=request.user, request=share_request, reason=payload.reason)
    return _request_out(selectors.share_request_get(actor=request.user, id=request_id))


@router.post("/requests/{request_id}/refuse", auth=api_auth, response={200: RequestOut, **ERRORS})
def request_refuse(request, request_id: int, payload: ExchangeDecisionIn):
    share_request = selectors.share_request_get(actor=request.user, id=request_id)
    services.share_request_refuse(actor=request.user, request=share_request, reason=payload.reason)
    return _request_out(selectors.share_request_get(actor=request.user, id=request_id))


class GrantOut(Schema):
    id: int
    registry: str
    fields: list[str]
    unmasked_fields: list[str]
    consumer_department: str
    system: str | None
    consumer_app: str
    purpose: str
    expires_at: datetime.datetime
    revoked_at: datetime.datetime | None
    revoke_reason: str


def _grant_out(g: Grant) -> dict:
    return {
        "id": g.pk,
        "registry": g.registry,
        "fields": g.fields,
        "unmasked_fields": g.unmasked_fields,
        "consumer_department": g.consumer_department.name,
        "system": g.system.client_id if g.system_id else None,
        "consumer_app": g.consumer_app,
        "purpose": g.purpose,
        "expires_at": g.expires_at,
        "revoked_at": g.revoked_at,
        "revoke_reason": g.revoke_reason,
    }


@router.get("/grants", auth=api_auth, response=list[GrantOut], summary="Grants held or given by my departments")
def grant_list(request):
    return [_grant_out(g) for g in selectors.grants_for_actor(actor=request.user)[:500]]


@router.post("/grants/{grant_id}/revoke", auth=api_auth, response={200: GrantOut, **ERRORS})
def grant_revoke(request, grant_id: int, payload: ExchangeDecisionIn):
    grant = selectors.grant_get(actor=request.user, id=grant_id)
    services.grant_revoke(actor=request.user, grant=grant, reason=payload.reason)
    return _grant_out(selectors.grant_get(actor=request.user, id=grant_id))


class SystemIn(Schema):
    department: int
    name: str


class SystemOut(Schema):
    id: int
    name: str
    department: str
    client_id: str
    client_secret: str | None = Field(None, description="Only in the answer that creates the system")
    revoked_at: datetime.datetime | None
    client_cert_sha256: str = Field("", description="SHA-256 of the bound client certificate (mutual TLS), or empty")
    client_cert_subject: str = ""
    client_cert_not_after: datetime.datetime | None = None


def _system_out(s, secret: str | None = None) -> dict:
    return {
        "id": s.pk,
        "name": s.name,
        "department": s.department.name,
        "client_id": s.client_id,
        "client_secret": secret,
        "revoked_at": s.revoked_at,
        "client_cert_sha256": s.client_cert_sha256,
        "client_cert_subject": s.client_cert_subject,
        "client_cert_not_after": s.client_cert_not_after,
    }


class SystemCertificateIn(Schema):
    certificate: str = Field(
        description="The client certificate (PEM) or its SHA-256 fingerprint (hex); empty removes the binding"
    )


@router.get("/systems", auth=api_auth, response=list[SystemOut], summary="Consuming systems of my departments")
def system_list(request):
    return [_system_out(s) for s in selectors.systems_for_actor(actor=request.user)]


@router.post("/systems", auth=api_auth, response={201: SystemOut, **ERRORS}, summary="Register a consuming system")
def system_create(request, payload: SystemIn):
    department = department_get(actor=request.user, id=payload.department)
    system, secret = services.consumer_system_create(actor=request.user, department=department, name=payload.name)
    return Respond(201, _system_out(system, secret))


@router.post("/systems/{system_id}/revoke", auth=api_auth, response={200: SystemOut, **ERRORS})
def system_revoke(request, system_id: int):
    system = services.consumer_system_revoke(
        actor=request.user, system=selectors.system_get(actor=request.user, id=system_id)
    )
    return _system_out(system)


@router.post(
    "/systems/{system_id}/certificate",
    auth=api_auth,
    response={200: SystemOut, **ERRORS},
    summary="Bind a system's credential to a client certificate (mutual TLS)",
)
def system_certificate(request, system_id: int, payload: SystemCertificateIn):
    system = services.consumer_system_bind_certificate(
        actor=request.user,
        system=selectors.system_get(actor=request.user, id=system_id),
        certificate=payload.certificate,
    )
    return _system_out(system)


# --- 数据使用记录 -------------------------------------------------------------------------------------


class UsageOut(Schema):
    sequence: int
    time: datetime.datetime
    department: str | None
    consumer_kind: str
    purpose: str
    registry: str
    fields: list[str]
    field_labels: list[str]


@router.get("/usage", auth=api_auth, response=list[UsageOut], summary="Who read my data (数据使用记录)")
def usage(request, limit: int = 200):
    labels = selectors.catalog_labels()
    rows: list[ExchangeLog] = list(selectors.usage_for_subject(actor=request.user)[: max(1, min(limit, 1000))])
    return [
        {
            "sequence": row.sequence,
            "time": row.created_at,
            "department": row.department.name if row.department_id and row.department else None,
            "consumer_kind": row.consumer_kind,
            "purpose": row.purpose,
            "registry": row.registry,
            "fields": row.field_list,
            "field_labels": [labels.get((row.registry, f), f) for f in row.field_list],
        }
        for row in rows
    ]


# --- disputes ----------------------------------------------------------------------------------------


class DisputeOut(Schema):
    id: int
    registry: str
    field: str
    reason: str
    status: str = Field(description="open | corrected | rejected")
    source_department: str | None
    due_date: datetime.date
    decision_reason: str
    has_evidence: bool
    created_at: datetime.datetime


def _dispute_out(d: DataDispute) -> dict:
    return {
        "id": d.pk,
        "registry": d.registry,
        "field": d.field,
        "reason": d.reason,
        "status": d.status,
        "source_department": d.source_department.name if d.source_department else None,
        "due_date": d.due_date,
        "decision_reason": d.decision_reason,
        "has_evidence": bool(d.evidence),
        "created_at": d.created_at,
    }


@router.post("/disputes", auth=api_auth, response={201: DisputeOut, **ERRORS}, summary="Raise a data dispute")
def dispute_create(
    request,
    registry: Form[str],
    key: Form[str],
    field: Form[str],
    reason: Form[str],
    claimed_value: Form[str] = "",
    evidence: File[UploadedFile] | None = None,
):
    """Multipart form (the evidence file is optional: PDF, JPG or PNG up to 10 MB)."""
    dispute = services.dispute_raise(
        actor=request.user,
        registry=registry,
        key=key,
        field=field,
        reason=reason,
        claimed_value=claimed_value,
        evidence=evidence,
    )
    return Respond(201, _dispute_out(dispute))


@router.get("/disputes", auth=api_auth, response=list[DisputeOut], summary="My disputes, or those to verify")
def dispute_list(request):
    return [_dispute_out(d) for d in selectors.disputes_for_actor(actor=request.user)[:500]]


class CorrectIn(Schema):
    value: str = Field("", description="Corrected value; empty: the value the dispute claims")
    reason: str = ""


@router.post("/disputes/{dispute_id}/correct", auth=api_auth, response={200: DisputeOut, **ERRORS})
def dispute_correct(request, dispute_id: int, payload: CorrectIn):
    dispute = selectors.dispute_get(actor=request.user, id=dispute_id)
    return _dispute_out(
        services.dispute_correct(actor=request.user, dispute=dispute, value=payload.value, reason=payload.reason)
    )


@router.post("/disputes/{dispute_id}/reject", auth=api_auth, response={200: DisputeOut, **ERRORS})
def dispute_reject(request, dispute_id: int, payload: ExchangeDecisionIn):
    dispute = selectors.dispute_get(actor=request.user, id=dispute_id)
    return _dispute_out(services.dispute_reject(actor=request.user, dispute=dispute, reason=payload.reason))
