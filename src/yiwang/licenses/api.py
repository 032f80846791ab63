"""Licenses endpoints of the JSON API, mounted at /api/v1/licenses/.

Public: verification of an identifier (what the QR code's page shows) and opening a
presentation code. Holders (signed in): their wallet, PDFs, presentations. Staff: direct
issuance, revoke, suspend, reinstate for departments where they hold a reviewer, head or
admin role. Every read is a selector, every write a service.
"""

import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema
from ninja.responses import Status as Respond

from yiwang.core.api_errors import ErrorOut
from yiwang.core.errors import NotFound
from yiwang.core.masking import mask_id_number
from yiwang.core.ratelimit import rate_limit
from yiwang.identity.auth import api_auth
from yiwang.identity.models import Department
from yiwang.licenses import selectors, services
from yiwang.licenses.models import License, LicenseType

router = Router(tags=["licenses"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class VerifiedLicense(Schema):
    type: str
    type_name: str
    issuer: str
    issuer_uscc: str
    holder_kind: str = Field(description="person | enterprise")
    holder_name: str = Field(description="Masked for persons (张*三)")
    holder_id: str = Field(description="Masked 身份证号 for persons; USCC for enterprises")
    issue_date: str
    valid_until: str | None
    status: str = Field(description="valid | suspended | revoked | expired (stored status)")
    status_reason: str
    key_version: int


class VerificationOut(Schema):
    result: str = Field(description="valid | suspended | revoked | expired | not_found | invalid_signature | malformed")
    message: str
    identifier: str
    signature_valid: bool = Field(description="SM2 signature over the recomputed canonical data")
    token_matches: bool | None = Field(description="The QR code's `s` token matches the signature (null if none)")
    reasons: list[str]
    license: VerifiedLicense | None


class WalletLicense(Schema):
    id: int
    identifier: str
    type: str
    type_name: str
    issuer: str
    holder_name: str
    holder_id: str = Field(description="Masked")
    issue_date: datetime.date
    valid_until: datetime.date | None
    status: str
    data: dict[str, Any]
    verify_url: str


class PresentationIn(Schema):
    minutes: int = Field(10, description="1 … 1440")
    purpose: str = ""


class PresentationOut(Schema):
    id: int
    code: str
    license_id: int
    purpose: str
    expires_at: datetime.datetime
    revoked_at: datetime.datetime | None
    url: str
    views: int


class IssueIn(Schema):
    license_type: str = Field(description="License type code, e.g. business_license")
    issuer_department: str = Field(description="Department code")
    holder_kind: str = Field(description="person | enterprise")
    holder_name: str
    holder_id: str = Field(description="身份证号 or 统一社会信用代码")
    data: dict[str, Any] = {}
    issue_date: datetime.date | None = None
    valid_until: datetime.date | None = None


class LicenseReasonIn(Schema):
    reason: str


class IssuedOut(Schema):
    id: int
    identifier: str
    status: str
    key_version: int
    verify_url: str


def _wallet(lic: License) -> dict:
    return {
        "id": lic.pk,
        "identifier": lic.identifier,
        "type": lic.license_type.code,
        "type_name": lic.license_type.name,
        "issuer": lic.issuer.name,
        "holder_name": lic.holder_name,
        "holder_id": mask_id_number(lic.holder_id) if lic.holder_kind == "person" else lic.holder_id,
        "issue_date": lic.issue_date,
        "valid_until": lic.valid_until,
        "status": lic.status,
        "data": lic.data,
        "verify_url": services.verify_url(lic),
    }


def _presentation(p) -> dict:
    from django.conf import settings

    return {
        "id": p.pk,
        "code": p.code,
        "license_id": p.license_id,
        "purpose": p.purpose,
        "expires_at": p.expires_at,
        "revoked_at": p.revoked_at,
        "url": f"{settings.SITE_URL.rstrip('/')}/verify/present/{p.code}",
        "views": p.views.count(),
    }


def _issued(lic: License) -> dict:
    return {
        "id": lic.pk,
        "identifier": lic.identifier,
        "status": lic.status,
        "key_version": lic.seal_key.version,
        "verify_url": services.verify_url(lic),
    }


# --- public ------------------------------------------------------------------------------------


@router.get(
    "/verify/{identifier}",
    response={200: VerificationOut, 429: ErrorOut},
    auth=None,
    summary="Verify a license (status, dates, SM2 signature; masked holder)",
)
@rate_limit("license_verify_ip")
def verify(request: HttpRequest, identifier: str, s: str = ""):
    return selectors.license_verify(identifier=identifier, token=s or None).as_dict()


@router.get(
    "/presentations/{code}",
    response={200: VerificationOut, 404: ErrorOut, 429: ErrorOut},
    auth=None,
    summary="Open a presentation code (the view is logged)",
)
@rate_limit("license_verify_ip")
def presentation_open(request: HttpRequest, code: str):
    return selectors.presentation_open(
        code=code,
        viewer=request.user,
        viewer_label=request.headers.get("X-Viewer", ""),
        user_agent=request.headers.get("User-Agent", ""),
    ).as_dict()


# --- holders -----------------------------------------------------------------------------------


@router.get("/mine", response=list[WalletLicense], auth=api_auth, summary="My licenses (wallet)")
def mine(request: HttpRequest):
    return [_wallet(lic) for lic in selectors.licenses_for_holder(actor=request.auth)]


@router.get("/mine/{license_id}/pdf", auth=api_auth, response={404: ErrorOut}, summary="My license as a signed PDF")
def mine_pdf(request: HttpRequest, license_id: int):
    lic = selectors.license_get_for_holder(actor=request.auth, id=license_id)
    response = HttpResponse(services.license_pdf(license=lic), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{lic.license_type.code}-{lic.pk}.pdf"'
    return response


@router.get("/mine/presentations", response=list[PresentationOut], auth=api_auth, summary="My presentations")
def my_presentations(request: HttpRequest):
    return [_presentation(p) for p in selectors.presentations_for_holder(actor=request.auth)]


@router.post(
    "/mine/{license_id}/presentations",
    response={201: PresentationOut, **ERRORS},
    auth=api_auth,
    summary="Show a license: a time-limited, revocable code",
)
def presentation_create(request: HttpRequest, license_id: int, payload: PresentationIn):
    lic = selectors.license_get_for_holder(actor=request.auth, id=license_id)
    p = services.presentation_create(actor=request.auth, license=lic, minutes=payload.minutes, purpose=payload.purpose)
    return Respond(201, _presentation(p))


@router.post(
    "/mine/presentations/{presentation_id}/revoke",
    response={200: PresentationOut, **ERRORS},
    auth=api_auth,
    summary="Withdraw a presentation code",
)
def presentation_revoke(request: HttpRequest, presentation_id: int):
    p = selectors.presentations_for_holder(actor=request.auth).filter(pk=presentation_id).first()
    if p is None:
        raise NotFound()
    return _presentation(services.presentation_revoke(actor=request.auth, presentation=p))


# --- staff -------------------------------------------------------------------------------------


@router.post("/issue", response={201: IssuedOut, **ERRORS}, auth=api_auth, summary="Issue a license directly")
def issue(request: HttpRequest, payload: IssueIn):
    license_type = LicenseType.objects.filter(code=payload.license_type).first()
    department = Department.objects.filter(code=payload.issuer_department, is_active=True).first()
    if license_type is None:
        raise NotFound(code="license_type_not_found")
    if department is None:
        raise NotFound(code="department_not_found")
    lic = services.license_issue(
        actor=request.auth,
        license_type=license_type,
        holder_kind=payload.holder_kind,
        holder_name=payload.holder_name,
        holder_id=payload.holder_id,
        data=payload.data,
        issuer_department=department,
        issue_date=payload.issue_date,
        valid_until=payload.valid_until,
    )
    return Respond(201, _issued(lic))


def _change_status(request: HttpRequest, license_id: int, payload: LicenseReasonIn, service) -> dict:
    lic = selectors.license_get_for_staff(actor=request.auth, id=license_id)
    return _issued(service(actor=request.auth, license=lic, reason=payload.reason))


@router.post("/{license_id}/revoke", response={200: IssuedOut, **ERRORS}, auth=api_auth, summary="Revoke a license")
def revoke(request: HttpRequest, license_id: int, payload: LicenseReasonIn):
    return _change_status(request, license_id, payload, services.license_revoke)


@router.post("/{license_id}/suspend", response={200: IssuedOut, **ERRORS}, auth=api_auth, summary="Suspend a license")
def suspend(request: HttpRequest, license_id: int, payload: LicenseReasonIn):
    return _change_status(request, license_id, payload, services.license_suspend)


@router.post(
    "/{license_id}/reinstate", response={200: IssuedOut, **ERRORS}, auth=api_auth, summary="Reinstate a license"
)
def reinstate(request: HttpRequest, license_id: int, payload: LicenseReasonIn):
    return _change_status(request, license_id, payload, services.license_reinstate)
