"""Life-event bundle endpoints (一件事一次办), mounted at /api/v1/cases/bundles/.

The applicant submits one merged form and each material once; the bundle is split into one
case per member item (each then followed and worked at ``/api/v1/cases/{id}`` like any
case). Thin: reads are ``cases.selectors``, the write is ``services.case_bundle_submit``.
"""

import base64
import binascii
from datetime import datetime

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Header, Router, Schema
from ninja.files import UploadedFile
from ninja.pagination import paginate
from ninja.responses import Status as Respond

from yiwang.cases import selectors, services
from yiwang.cases.api import (
    READ_ERRORS,
    WRITE_ERRORS,
    CasePagination,
    CaseSummary,
    _summary,
    window_applicant,
    window_hall,
)
from yiwang.cases.models import BundleStatus, CaseBundle, Channel
from yiwang.catalog import selectors as catalog_selectors
from yiwang.core.errors import ValidationFailed
from yiwang.core.masking import mask_id_number, mask_name
from yiwang.identity.auth import api_auth

router = Router(tags=["case bundles"], auth=api_auth)


class BundleMaterialIn(Schema):
    name: str = Field(
        description="A material name of the life event's merged list: ``materials[].name`` of "
        "``GET /api/v1/catalog/life-events/{code}``"
    )
    filename: str = Field("", max_length=255)
    content_base64: str = Field(description="The file, base64-encoded (PDF, JPEG, PNG or OFD, detected by content)")


class BundleSubmitIn(Schema):
    life_event: str = Field(
        description="Code of a published life event: ``code`` of ``GET /api/v1/catalog/life-events``",
        examples=["LE-ESFZY"],
    )
    form_data: dict = Field(default_factory=dict, description="Validated against the merged JSON Schema")
    materials: list[BundleMaterialIn] = Field(
        default_factory=list, description="Each material once; attached to every case whose item requires it"
    )
    idempotency_key: str = Field("", max_length=64, description="Or the Idempotency-Key header")
    channel: Channel = Channel.ONLINE
    applicant_id_number: str = Field("", description="Window channel only: the walk-in applicant's 身份证号")
    intake_department_id: int | None = Field(
        None,
        description="Window channel only: the hall (department) whose window takes the cases in; "
        "default: the clerk's first window",
    )


class BundleSummary(Schema):
    id: int
    number: str = Field(description="YJS + region code, YYYYMMDD, sequence (one series with case numbers)")
    life_event_code: str
    life_event_name: str
    channel: Channel
    applicant_name: str
    submitted_at: datetime
    status: BundleStatus = Field(description="Computed from the cases")
    status_label: str
    cases: list[CaseSummary]


class BundleStepOut(Schema):
    case_number: str
    item_name: str
    kind: str
    label: str
    note: str
    at: datetime


class BundleDetail(BundleSummary):
    applicant_id_number_masked: str
    form_data: dict
    timeline: list[BundleStepOut] = Field(description="The public steps of every case, in time order")


def _bundle_summary(request: HttpRequest, bundle: CaseBundle) -> dict:
    progress = selectors.bundle_status(bundle=bundle)
    own = bundle.applicant_id == request.auth.pk
    return {
        "id": bundle.pk,
        "number": bundle.number,
        "life_event_code": bundle.life_event_version.life_event.code,
        "life_event_name": bundle.life_event_version.name,
        "channel": bundle.channel,
        "applicant_name": bundle.applicant_name if own else mask_name(bundle.applicant_name),
        "submitted_at": bundle.submitted_at,
        "status": progress.status,
        "status_label": progress.label,
        "cases": [_summary(case, full_name=own) for case in bundle.cases.all()],
    }


def _bundle_detail(request: HttpRequest, bundle: CaseBundle) -> dict:
    data = _bundle_summary(request, bundle)
    data.update(
        applicant_id_number_masked=mask_id_number(bundle.applicant_id_number),
        form_data=selectors.shown_form(
            bundle.form_data, owner=bundle, full_name=bundle.applicant_id == request.auth.pk
        ),
        timeline=[
            {
                "case_number": step.case.number,
                "item_name": step.case.item_version.name,
                "kind": step.kind,
                "label": step.get_kind_display(),
                "note": step.note,
                "at": step.created_at,
            }
            for step in selectors.bundle_timeline(bundle=bundle)
        ],
    )
    return data


def _add_material(materials: dict, name: str, filename: str, content: bytes) -> None:
    """One file per material: a second file for the same material is refused, never dropped."""
    if name in materials:
        message = _("材料「%(name)s」重复提交,每种材料只需提交一次") % {"name": name}
        raise ValidationFailed(message, code="material_duplicate", fields={f"materials.{name}": message})
    materials[name] = (filename, content)


def _decoded(materials: list[BundleMaterialIn]) -> dict[str, tuple[str, bytes]]:
    out: dict[str, tuple[str, bytes]] = {}
    for material in materials:
        try:
            content = base64.b64decode(material.content_base64, validate=True)
        except (binascii.Error, ValueError):
            message = _("材料「%(name)s」:文件内容不是有效的 Base64 编码") % {"name": material.name}
            raise ValidationFailed(
                message, code="material_encoding", fields={f"materials.{material.name}": message}
            ) from None
        _add_material(out, material.name, material.filename, content)
    return out


@router.post("/", response={200: BundleDetail, 201: BundleDetail, **WRITE_ERRORS}, summary="Apply for a life event")
def bundle_submit(
    request: HttpRequest, payload: BundleSubmitIn, idempotency_key: str = Header("", alias="Idempotency-Key")
):
    """One form, each material once: creates the bundle and one case per member item, each in
    its own department's queue. All or nothing: a bad field (``form_data.<name>``) or file
    (``materials.<name>``) answers ``422`` and creates nothing. The same idempotency key
    (header or body) for the same applicant answers ``200`` with the first bundle.
    Window clerks pass ``channel: "window"``, the walk-in applicant's ``applicant_id_number``
    and optionally ``intake_department_id``. Large files: ``POST /with-materials``."""
    return _submit(request, payload, idempotency_key, _decoded(payload.materials))


def _submit(request: HttpRequest, payload: BundleSubmitIn, key: str, materials: dict) -> Respond:
    applicant = window_applicant(payload.channel, payload.applicant_id_number)
    hall = window_hall(request, payload.channel, payload.intake_department_id)
    life_event = catalog_selectors.life_event_get_published(code=payload.life_event.strip())
    bundle, created = services.case_bundle_submit(
        actor=request.auth,
        life_event=life_event,
        form_data=payload.form_data,
        materials=materials,
        idempotency_key=key or payload.idempotency_key,
        channel=payload.channel,
        applicant=applicant,
        intake_department=hall,
    )
    bundle = selectors.bundle_get(actor=request.auth, bundle_id=bundle.pk)
    return Respond(201 if created else 200, _bundle_detail(request, bundle))


@router.post(
    "/with-materials",
    response={200: BundleDetail, 201: BundleDetail, **WRITE_ERRORS},
    summary="Apply for a life event with its material files (multipart)",
)
def bundle_submit_with_materials(
    request: HttpRequest,
    application: Form[str],
    files: File[list[UploadedFile]] = None,
    material_names: Form[list[str]] = None,
    idempotency_key: str = Header("", alias="Idempotency-Key"),
):
    """The application and its files in one request and one transaction, as ``POST /`` but
    with the files as multipart parts instead of base64. Fields: ``application``, the JSON
    body of ``POST /`` (its ``materials`` left empty); ``files``; ``material_names``, one per
    file in the same order, the merged material (a name of the life event's material list)
    each file is for. All or nothing: a refused file answers ``422`` naming
    ``materials.<name>`` and nothing is created. Idempotent like ``POST /``."""
    try:
        payload = BundleSubmitIn.model_validate_json(application)
    except ValueError as exc:
        message = _("申请数据不是有效的 JSON 对象")
        raise ValidationFailed(message, code="invalid_application", fields={"application": message}) from exc
    files, material_names = files or [], material_names or []
    if len(material_names) != len(files):
        message = _("material_names 的个数须与文件个数一致")
        raise ValidationFailed(message, code="invalid_materials", fields={"material_names": message})
    materials = _decoded(payload.materials)
    limit = services.max_material_bytes()
    for index, (upload, raw) in enumerate(zip(files, material_names, strict=True)):
        name = raw.strip()
        if not name:
            message = _("第 %(n)d 个文件未注明材料名称") % {"n": index + 1}
            raise ValidationFailed(message, code="invalid_materials", fields={f"material_names.{index}": message})
        _add_material(materials, name, upload.name or "", upload.read(limit + 1))
    return _submit(request, payload, idempotency_key, materials)


@router.get("/", response={200: list[BundleSummary], **READ_ERRORS}, summary="My life-event applications")
@paginate(CasePagination)
def bundle_list(request: HttpRequest):
    return [_bundle_summary(request, b) for b in selectors.bundle_list_for_applicant(actor=request.auth)]


@router.get("/{int:bundle_id}", response={200: BundleDetail, **READ_ERRORS}, summary="A life-event application")
def bundle_detail(request: HttpRequest, bundle_id: int):
    """Only for its applicant (or the window clerk who received it); anyone else gets 404."""
    return _bundle_detail(request, selectors.bundle_get(actor=request.auth, bundle_id=bundle_id))
