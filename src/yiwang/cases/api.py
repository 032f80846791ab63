"""Case endpoints of the JSON API, mounted at /api/v1/cases/.

Applicants submit (idempotently), upload materials, answer the supplement notice, withdraw
and follow their cases; staff work the intake and back-office queues and move cases on.
Anyone may look up a case's progress by number plus the last four characters of the
applicant's ID number or phone. Thin: reads are selectors, writes are services.

Every staff action takes ``version`` — the case's ``version`` as the client last saw it —
and answers ``409 case_changed`` if somebody else acted first.
"""

from datetime import date, datetime
from typing import TYPE_CHECKING

from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Header, Query, Router, Schema
from ninja.decorators import decorate_view
from ninja.files import UploadedFile
from ninja.pagination import paginate
from ninja.responses import Status as Respond

from yiwang.cases import selectors, services
from yiwang.cases.models import Case, CaseMaterial, CaseState, Channel, SlaStatus
from yiwang.cases.notices import available_notices, notice_pdf
from yiwang.catalog import selectors as catalog_selectors
from yiwang.core.api_errors import ErrorOut
from yiwang.core.errors import NotFound, ValidationFailed
from yiwang.core.masking import mask_id_number, mask_name
from yiwang.core.pagination import PageNumberPagination
from yiwang.core.ratelimit import failure_limit, rate_limit
from yiwang.identity.auth import api_auth, check_before_body
from yiwang.identity.models import User
from yiwang.identity.selectors import department_get, user_get_by_id_number

if TYPE_CHECKING:
    from yiwang.catalog.models import ServiceItem

router = Router(tags=["cases"], auth=api_auth)

READ_ERRORS = {401: ErrorOut, 404: ErrorOut}
WRITE_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class CasePagination(PageNumberPagination):
    """``?page=1&page_size=50`` (at most 200); answers ``{"items": [...], "count": N}``."""

    def __init__(self, **kwargs):
        super().__init__(page_size=50, max_page_size=200, **kwargs)


# --- schemas -----------------------------------------------------------------------------------


class CaseSummary(Schema):
    id: int
    number: str = Field(description="办件编号: 6-digit region code, YYYYMMDD, 6-digit sequence")
    item_code: str = Field(description="Implementation code of the service item")
    item_name: str
    department_id: int
    department_name: str
    state: CaseState
    state_label: str
    channel: Channel
    intake_department_id: int | None = Field(description="Walk-in: the hall whose window took the case in")
    intake_region: str = Field(
        description="Front-office region: the hall's (walk-in) or the implementing department's (online) region code"
    )
    applicant_name: str = Field(description="Masked for staff (张*三); in full for the applicant")
    submitted_at: datetime
    accepted_at: datetime | None
    deemed_accepted: bool = Field(description="Accepted by law: no supplement notice within 5 working days")
    due_date: date | None = Field(description="Last working day of the time limit (after pauses and extension)")
    sla_status: SlaStatus
    assignee_name: str | None
    version: int = Field(description="Send back as `version` with the next action (optimistic concurrency)")


class StepOut(Schema):
    kind: str
    label: str
    actor_name: str
    process_step_name: str
    outcome: str
    note: str
    at: datetime


class SupplementItem(Schema):
    material: str = Field(min_length=1, max_length=200)
    problem: str = Field(min_length=1, max_length=500)


class SupplementOut(Schema):
    items: list[SupplementItem]
    note: str
    before_acceptance: bool
    requested_at: datetime
    answered_at: datetime | None


class MaterialOut(Schema):
    id: int
    requirement_id: int | None
    name: str
    size: int
    content_type: str
    sm3: str
    uploaded_at: datetime


class BundleSiblingOut(Schema):
    item_name: str
    state_label: str
    this_case: bool


class BundleNoteOut(Schema):
    bundle_id: int
    number: str
    name: str
    cases: list[BundleSiblingOut] = Field(description="Item name and state of each case of the bundle, nothing more")


class CaseDetail(CaseSummary):
    applicant_id_number_masked: str
    form_data: dict
    time_limit_days: int
    paused_days: int
    extension_days: int
    extension_reason: str
    decision: str
    decision_reasons: str
    refusal_reason: str
    remedy_notice: str = Field(description="Right to reconsideration or litigation (行政许可法第三十八条)")
    delivered_at: datetime | None
    delivery_method: str
    supplement: SupplementOut | None
    materials: list[MaterialOut]
    timeline: list[StepOut] = Field(description="The applicant sees public steps only")
    notices: list[str] = Field(description="Notices available as PDF at notices/{kind}")
    bundle: BundleNoteOut | None = Field(None, description="The life-event application (一件事) it belongs to")


class SubmitIn(Schema):
    item: str = Field(
        description="Implementation code of a published item: ``implementation_code`` of "
        "``GET /api/v1/catalog/items`` or of a search hit",
        examples=["SZ-SJJ-0001"],
    )
    form_data: dict = Field(default_factory=dict, description="Validated against the item version's JSON Schema")
    idempotency_key: str = Field("", max_length=64, description="Or the Idempotency-Key header")
    channel: Channel = Channel.ONLINE
    applicant_id_number: str = Field("", description="Window channel only: the walk-in applicant's 身份证号")
    intake_department_id: int | None = Field(
        None,
        description="Window channel only: the hall (department) whose window takes the case in; "
        "default: the clerk's first window",
    )


class VersionIn(Schema):
    version: int | None = Field(None, description="The case version the client last saw")


class ReasonIn(VersionIn):
    reason: str = ""


class SupplementIn(VersionIn):
    items: list[SupplementItem] = Field(description="Everything missing, at once (一次性告知)")
    note: str = ""


class AnswerIn(VersionIn):
    note: str = ""


class AssignIn(VersionIn):
    assignee_id: int


class OpinionIn(VersionIn):
    opinion: str
    outcome: str = Field("agree", description="agree | disagree")


class ExtendIn(VersionIn):
    days: int = Field(description="1–10 working days")
    reason: str


class DecideIn(VersionIn):
    decision: str = Field(description="approve | reject")
    reasons: str = Field("", description="Required for a rejection")


class DeliverIn(VersionIn):
    method: str = Field("window", description="window | mail | electronic")


class QueueFilters(Schema):
    department_id: int | None = None
    sla_status: SlaStatus | None = None
    mine: bool = Field(False, description="Only cases assigned to me")


class ProgressOut(Schema):
    number: str
    item_name: str
    department_name: str
    state: str
    state_label: str
    submitted_on: str
    accepted_on: str | None
    due_date: str | None
    concluded_on: str | None


# --- shaping -----------------------------------------------------------------------------------


def _summary(case: Case, *, full_name: bool) -> dict:
    assignee = case.assignee if case.assignee_id else None
    return {
        "id": case.pk,
        "number": case.number,
        "item_code": case.item_version.item.implementation_code,
        "item_name": case.item_version.name,
        "department_id": case.department_id,
        "department_name": case.department.name,
        "state": case.state,
        "state_label": case.get_state_display(),
        "channel": case.channel,
        "intake_department_id": case.intake_department_id,
        "intake_region": case.intake_region,
        "applicant_name": case.applicant_name if full_name else mask_name(case.applicant_name),
        "submitted_at": case.submitted_at,
        "accepted_at": case.accepted_at,
        "deemed_accepted": case.deemed_accepted,
        "due_date": case.due_date,
        "sla_status": case.sla_status,
        "assignee_name": (assignee.real_name or assignee.username) if assignee else None,
        "version": case.version,
    }


def _is_own(request: HttpRequest, case: Case) -> bool:
    return case.applicant_id == request.auth.pk


def _detail(request: HttpRequest, case: Case) -> dict:
    actor = request.auth
    fresh = getattr(case, "_fresh", None)  # just submitted: its steps and files are in hand
    supplement = None if fresh else selectors.case_supplement(case=case)
    data = _summary(case, full_name=_is_own(request, case))
    data.update(
        applicant_id_number_masked=mask_id_number(case.applicant_id_number),
        form_data=selectors.shown_form(case.form_data, owner=case, full_name=_is_own(request, case)),
        time_limit_days=case.time_limit_days,
        paused_days=case.paused_days,
        extension_days=case.extension_days,
        extension_reason=case.extension_reason,
        decision=case.decision,
        decision_reasons=case.decision_reasons,
        refusal_reason=case.refusal_reason,
        remedy_notice=case.remedy_notice,
        delivered_at=case.delivered_at,
        delivery_method=case.delivery_method,
        supplement=supplement,
        materials=fresh["materials"] if fresh else list(case.materials.all()),
        notices=available_notices(case, supplement=supplement),
        bundle=_bundle_note(case),
        timeline=[
            {
                "kind": step.kind,
                "label": step.get_kind_display(),
                "actor_name": step.actor_name,
                "process_step_name": step.process_step_name,
                "outcome": step.outcome,
                "note": step.note,
                "at": step.created_at,
            }
            for step in (fresh["steps"] if fresh else selectors.case_timeline(actor=actor, case=case))
        ],
    )
    return data


def _bundle_note(case: Case) -> dict | None:
    note = selectors.case_bundle_note(case=case)
    if note is None:
        return None
    return {
        "bundle_id": note.bundle_id,
        "number": note.number,
        "name": note.name,
        "cases": [{"item_name": n, "state_label": s, "this_case": own} for n, s, own in note.siblings],
    }


def _published_item(code: str) -> "ServiceItem":
    try:
        return catalog_selectors.item_get_published(implementation_code=(code or "").strip())
    except NotFound:
        raise NotFound(_("该事项未发布或已停用。"), code="item_not_found") from None


# --- applicant ---------------------------------------------------------------------------------


def window_applicant(channel: str, id_number: str) -> User | None:
    """At a window, the registered applicant of ``id_number`` (422 naming the field if none)."""
    if channel != Channel.WINDOW:
        return None
    applicant = user_get_by_id_number(id_number=id_number)
    if applicant is None:
        message = _("该身份证号尚未注册,请先为申请人登记账户")
        raise ValidationFailed(message, code="applicant_not_found", fields={"applicant_id_number": message})
    return applicant


def window_hall(request: HttpRequest, channel: str, department_id: int | None):
    """At a window, the hall of ``intake_department_id`` (422 naming the field if there is none;
    the service checks that the clerk works there); else None (the clerk's first window)."""
    if channel != Channel.WINDOW or department_id is None:
        return None
    try:
        return department_get(actor=request.auth, id=department_id)
    except NotFound:
        message = _("未找到该政务服务大厅")
        raise ValidationFailed(message, fields={"intake_department_id": message}) from None


def _submit(request: HttpRequest, payload: SubmitIn, key: str, materials=()) -> Respond:
    applicant = window_applicant(payload.channel, payload.applicant_id_number)
    hall = window_hall(request, payload.channel, payload.intake_department_id)
    item = _published_item(payload.item)
    case, created = services.case_submit(
        actor=request.auth,
        item=item,
        form_data=payload.form_data,
        applicant=applicant,
        channel=payload.channel,
        idempotency_key=key or payload.idempotency_key,
        materials=materials,
        intake_department=hall,
    )
    if created:  # the service's own object: no need to read the case back
        case.item_version.item = item
        return Respond(201, _detail(request, case))
    return Respond(200, _detail(request, selectors.case_get(actor=request.auth, case_id=case.pk)))


@router.post("/", response={200: CaseDetail, 201: CaseDetail, **WRITE_ERRORS}, summary="Submit an application")
def submit(request: HttpRequest, payload: SubmitIn, idempotency_key: str = Header("", alias="Idempotency-Key")):
    """Submit for the item's current version. The same idempotency key (header or body) for the
    same applicant answers ``200`` with the first case instead of creating another (``201``).
    Window clerks pass ``channel: "window"`` and the walk-in applicant's ``applicant_id_number``.
    To send the materials with the application, use ``POST /with-materials``."""
    return _submit(request, payload, idempotency_key)


@router.post(
    "/with-materials",
    response={200: CaseDetail, 201: CaseDetail, **WRITE_ERRORS},
    summary="Submit an application with its material files (multipart)",
)
def submit_with_materials(
    request: HttpRequest,
    application: Form[str],
    files: File[list[UploadedFile]] = None,
    requirement_ids: Form[list[str]] = None,
    names: Form[list[str]] = None,
    idempotency_key: str = Header("", alias="Idempotency-Key"),
):
    """The application and its files in one request and one transaction: if any file is refused
    (type by content, size, requirement), nothing is submitted and the error names the material
    (``fields`` has ``material_<requirement id>``). Idempotent like ``POST /``.

    Fields: ``application``, the same JSON object as the body of ``POST /``; ``files``, the
    files; ``requirement_ids``, one per file in the same order, the material requirement's id
    (empty for 「其他材料」), taken from ``guide.materials[].id`` of
    ``GET /api/v1/catalog/items/{implementation_code}``; ``names``, optional, one per file, what
    an other material is."""
    try:
        payload = SubmitIn.model_validate_json(application)
    except ValueError as exc:
        message = _("申请数据不是有效的 JSON 对象")
        raise ValidationFailed(message, code="invalid_application", fields={"application": message}) from exc
    files, requirement_ids, names = files or [], requirement_ids or [], names or []
    if len(requirement_ids) not in (0, len(files)):
        message = _("requirement_ids 的个数须与文件个数一致")
        raise ValidationFailed(message, code="invalid_materials", fields={"requirement_ids": message})
    limit = services.max_material_bytes()
    materials = []
    for index, upload in enumerate(files):
        raw = requirement_ids[index].strip() if requirement_ids else ""
        try:
            requirement_id = int(raw) if raw else None
        except ValueError:
            message = _("第 %(n)d 个文件的材料编号无效") % {"n": index + 1}
            fields = {f"requirement_ids.{index}": message}
            raise ValidationFailed(message, code="invalid_materials", fields=fields) from None
        materials.append(
            services.MaterialUpload(
                requirement_id=requirement_id,
                filename=upload.name or "",
                content=upload.read(limit + 1),
                name=names[index] if index < len(names) else "",
            )
        )
    return _submit(request, payload, idempotency_key, materials)


@router.get("/mine", response={200: list[CaseSummary], **READ_ERRORS}, summary="My cases")
@paginate(CasePagination)
def my_cases(request: HttpRequest, state: CaseState | None = None):
    return [_summary(c, full_name=True) for c in selectors.case_list_for_applicant(actor=request.auth, state=state)]


@router.get(
    "/progress", response={200: ProgressOut, 404: ErrorOut, 429: ErrorOut}, auth=None, summary="Public progress lookup"
)
@rate_limit("case_progress_ip")
def progress(
    request: HttpRequest,
    number: str = Query(..., max_length=32, description="办件编号"),
    last4: str = Query(..., max_length=4, description="Last four characters of the applicant's ID number or phone"),
):
    """办件进度查询: the progress only, nothing about the applicant; any mismatch is a 404.

    Rate limited (``429 rate_limited`` with ``Retry-After``): per client IP, and per case
    number after 5 failed lookups in 15 minutes (then even the right digits wait)."""
    with failure_limit("case_progress_number", (number or "").strip()):
        return selectors.case_public_progress(number=number, last4=last4).__dict__


@router.get("/{int:case_id}", response={200: CaseDetail, **READ_ERRORS}, summary="A case with its timeline")
def case_detail(request: HttpRequest, case_id: int):
    return _detail(request, selectors.case_get(actor=request.auth, case_id=case_id))


def _case_known(request: HttpRequest, user, case_id: int, **_path) -> None:
    """Before a material's bytes are read: the case exists and the caller can see it."""
    if not selectors.visible_cases(actor=user).filter(pk=case_id).exists():
        raise NotFound(_("未找到该办件。"), code="case_not_found")


@router.post("/{int:case_id}/materials", response={201: MaterialOut, **WRITE_ERRORS}, summary="Upload a material file")
@decorate_view(check_before_body(_case_known))
def material_upload(
    request: HttpRequest,
    case_id: int,
    file: File[UploadedFile],
    requirement_id: Form[int | None] = None,
    name: Form[str] = "",
):
    """PDF, JPEG, PNG or OFD, detected from the content; size-limited (``YIWANG_CASE_MATERIAL_MAX_BYTES``).
    ``requirement_id``: ``guide.materials[].id`` of ``GET /api/v1/catalog/items/{implementation_code}``
    (empty for 「其他材料」, then ``name`` says what the file is)."""
    limit = services.max_material_bytes()
    content = file.read(limit + 1)
    material = services.case_material_add(
        actor=request.auth,
        case_id=case_id,
        requirement_id=requirement_id,
        filename=file.name or "",
        content=content,
        name=name,
    )
    return Respond(201, material)


@router.get(
    "/{int:case_id}/materials/{int:material_id}", response={200: None, **READ_ERRORS}, summary="A material file"
)
def material_download(request: HttpRequest, case_id: int, material_id: int):
    """Only for the applicant, the handling staff, window clerks who handled it and auditors."""
    material: CaseMaterial = selectors.case_material_get(actor=request.auth, case_id=case_id, material_id=material_id)
    extension = material.file.name.rsplit(".", 1)[-1]
    response = FileResponse(
        material.file.open("rb"), content_type=material.content_type, filename=f"{material.name}.{extension}"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@router.get(
    "/{int:case_id}/notices/{kind}",
    response={200: None, **READ_ERRORS},
    summary="A notice as PDF (申请书, 受理通知书, 不予受理通知书, 补正告知书, decision)",
)
def notice(request: HttpRequest, case_id: int, kind: str):
    """``kind``: ``application`` (申请书, from the form data) | ``acceptance`` | ``refusal`` | ``supplement`` |
    ``decision``. ``404 notice_not_found`` when the case has no such notice (yet). Same visibility as the case."""
    case = selectors.case_get(actor=request.auth, case_id=case_id)
    response = HttpResponse(notice_pdf(case, kind), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{case.number}-{kind}.pdf"'
    return response


@router.post(
    "/{int:case_id}/supplement/answer", response={200: CaseDetail, **WRITE_ERRORS}, summary="Answer the supplement"
)
def supplement_answer(request: HttpRequest, case_id: int, payload: AnswerIn):
    services.case_supplement_answer(
        actor=request.auth, case_id=case_id, note=payload.note, expected_version=payload.version
    )
    return _detail(request, selectors.case_get(actor=request.auth, case_id=case_id))


@router.post(
    "/{int:case_id}/withdraw", response={200: CaseDetail, **WRITE_ERRORS}, summary="Withdraw before a decision"
)
def withdraw(request: HttpRequest, case_id: int, payload: ReasonIn):
    services.case_withdraw(actor=request.auth, case_id=case_id, reason=payload.reason, expected_version=payload.version)
    return _detail(request, selectors.case_get(actor=request.auth, case_id=case_id))


@router.post(
    "/{int:case_id}/human-review",
    response={200: CaseDetail, **WRITE_ERRORS},
    summary="Ask for a human review of an automatic refusal (人工复核)",
)
def human_review_request(request: HttpRequest, case_id: int, payload: ReasonIn):
    """The applicant asks that a person look again at a 秒批 refusal: the case goes back to review
    in the department's queue with the table's findings. Only the applicant, once, and only for
    a refusal made by the system actor (``409 not_auto_refused`` / ``review_already_requested``)."""
    services.case_request_human_review(
        actor=request.auth, case_id=case_id, reason=payload.reason, expected_version=payload.version
    )
    return _detail(request, selectors.case_get(actor=request.auth, case_id=case_id))


# --- drafts ------------------------------------------------------------------------------------


class DraftIn(Schema):
    item: str = Field(description="Implementation code of a published item offered online", examples=["SZ-SJJ-0001"])
    form_data: dict = Field(default_factory=dict, description="Any JSON object up to 64 KB; not validated yet")


class DraftUpdateIn(Schema):
    form_data: dict = Field(default_factory=dict, description="Replaces the draft's form data")
    version: int | None = Field(None, description="The draft version the client last saw")


class DraftSubmitIn(Schema):
    idempotency_key: str = Field("", max_length=64, description="Or the Idempotency-Key header")


class DraftOut(Schema):
    id: int
    item_code: str
    item_name: str
    item_version: int = Field(description="The guide version the draft is pinned to")
    guide_changed: bool = Field(description="The item has a newer published version; submitting moves the draft to it")
    form_data: dict
    materials: list[MaterialOut] = Field(description="Upload with POST /api/v1/cases/{id}/materials")
    updated_at: datetime
    version: int = Field(description="Send back as `version` with the next update")


def _draft_out(draft: Case) -> dict:
    item = draft.item_version.item
    return {
        "id": draft.pk,
        "item_code": item.implementation_code,
        "item_name": draft.item_version.name,
        "item_version": draft.item_version.number,
        "guide_changed": item.current_version_id not in (None, draft.item_version_id),
        "form_data": draft.form_data,
        "materials": list(draft.materials.all()),
        "updated_at": draft.updated_at,
        "version": draft.version,
    }


@router.get("/drafts", response={200: list[DraftOut], **READ_ERRORS}, summary="My drafts")
@paginate(CasePagination)
def drafts(request: HttpRequest):
    """Applications saved but not submitted, last edited first. Only their applicant sees them."""
    return [_draft_out(d) for d in selectors.case_draft_list(actor=request.auth).prefetch_related("materials")]


@router.post("/drafts", response={201: DraftOut, **WRITE_ERRORS}, summary="Save a new draft")
def draft_create(request: HttpRequest, payload: DraftIn):
    """Pinned to the item's current version; no case number, no clock, visible to the applicant only."""
    draft = services.case_draft_save(
        actor=request.auth, item=_published_item(payload.item), form_data=payload.form_data
    )
    return Respond(201, _draft_out(draft))


@router.get("/drafts/{int:draft_id}", response={200: DraftOut, **READ_ERRORS}, summary="One of my drafts")
def draft_detail(request: HttpRequest, draft_id: int):
    return _draft_out(selectors.case_draft_get(actor=request.auth, draft_id=draft_id))


@router.put("/drafts/{int:draft_id}", response={200: DraftOut, **WRITE_ERRORS}, summary="Update a draft")
def draft_update(request: HttpRequest, draft_id: int, payload: DraftUpdateIn):
    """``409 draft_changed`` when ``version`` is stale (edited elsewhere)."""
    draft = services.case_draft_save(
        actor=request.auth, draft_id=draft_id, form_data=payload.form_data, expected_version=payload.version
    )
    return _draft_out(draft)


@router.post(
    "/drafts/{int:draft_id}/submit",
    response={200: CaseDetail, 201: CaseDetail, **WRITE_ERRORS},
    summary="Submit a draft",
)
def draft_submit(
    request: HttpRequest,
    draft_id: int,
    payload: DraftSubmitIn,
    idempotency_key: str = Header("", alias="Idempotency-Key"),
):
    """Validated like ``POST /``; the case gets its number and the normal flow starts (``201``).
    Submitting the same draft again answers ``200`` with the case. If the guide changed since the
    draft was started: ``409 guide_changed``, the draft now on the new version (form data kept,
    the new schema's problems in ``fields``); check and submit again."""
    case, created = services.case_draft_submit(
        actor=request.auth, draft_id=draft_id, idempotency_key=idempotency_key or payload.idempotency_key
    )
    return Respond(201 if created else 200, _detail(request, selectors.case_get(actor=request.auth, case_id=case.pk)))


@router.delete("/drafts/{int:draft_id}", response={204: None, **WRITE_ERRORS}, summary="Delete a draft")
def draft_delete(request: HttpRequest, draft_id: int):
    services.case_draft_delete(actor=request.auth, draft_id=draft_id)
    return Respond(204, None)


# --- staff -------------------------------------------------------------------------------------


@router.get("/queue", response={200: list[CaseSummary], **READ_ERRORS}, summary="Back-office queue, most urgent first")
@paginate(CasePagination)
def queue(request: HttpRequest, filters: Query[QueueFilters]):
    """Accepted, under review and paused cases of my departments, earliest due date first."""
    cases = selectors.case_queue(
        actor=request.auth, department_id=filters.department_id, sla_status=filters.sla_status, mine=filters.mine
    )
    return [_summary(c, full_name=False) for c in cases]


@router.get("/intake", response={200: list[CaseSummary], **READ_ERRORS}, summary="Front-office queue (window clerks)")
@paginate(CasePagination)
def intake(request: HttpRequest, stage: str = Query("intake", description="intake | delivery")):
    return [_summary(c, full_name=False) for c in selectors.case_intake_queue(actor=request.auth, stage=stage)]


def _after(request: HttpRequest, case: Case) -> dict:
    return _summary(case, full_name=_is_own(request, case))


@router.post("/{int:case_id}/accept", response={200: CaseSummary, **WRITE_ERRORS}, summary="Accept (受理)")
def accept(request: HttpRequest, case_id: int, payload: VersionIn):
    return _after(request, services.case_accept(actor=request.auth, case_id=case_id, expected_version=payload.version))


@router.post("/{int:case_id}/refuse", response={200: CaseSummary, **WRITE_ERRORS}, summary="Refuse (不予受理)")
def refuse(request: HttpRequest, case_id: int, payload: ReasonIn):
    case = services.case_refuse(
        actor=request.auth, case_id=case_id, reason=payload.reason, expected_version=payload.version
    )
    return _after(request, case)


@router.post(
    "/{int:case_id}/supplement", response={200: CaseSummary, **WRITE_ERRORS}, summary="Request the supplement (补正)"
)
def supplement(request: HttpRequest, case_id: int, payload: SupplementIn):
    """Once per case; before acceptance within five working days of submission."""
    supplement = services.case_request_supplement(
        actor=request.auth,
        case_id=case_id,
        items=[item.dict() for item in payload.items],
        note=payload.note,
        expected_version=payload.version,
    )
    return _after(request, supplement.case)


@router.post("/{int:case_id}/claim", response={200: CaseSummary, **WRITE_ERRORS}, summary="Claim (reviewer)")
def claim(request: HttpRequest, case_id: int, payload: VersionIn):
    return _after(request, services.case_claim(actor=request.auth, case_id=case_id, expected_version=payload.version))


@router.post("/{int:case_id}/assign", response={200: CaseSummary, **WRITE_ERRORS}, summary="Assign (department head)")
def assign(request: HttpRequest, case_id: int, payload: AssignIn):
    assignee = User.objects.filter(pk=payload.assignee_id, is_active=True).first()  # None: refused after the gate
    case = services.case_assign(
        actor=request.auth, case_id=case_id, assignee=assignee, expected_version=payload.version
    )
    return _after(request, case)


@router.post("/{int:case_id}/opinion", response={200: CaseSummary, **WRITE_ERRORS}, summary="Record the step's opinion")
def opinion(request: HttpRequest, case_id: int, payload: OpinionIn):
    step = services.case_record_opinion(
        actor=request.auth,
        case_id=case_id,
        opinion=payload.opinion,
        outcome=payload.outcome,
        expected_version=payload.version,
    )
    return _after(request, step.case)


@router.post("/{int:case_id}/extend", response={200: CaseSummary, **WRITE_ERRORS}, summary="Extend once (head)")
def extend(request: HttpRequest, case_id: int, payload: ExtendIn):
    case = services.case_extend(
        actor=request.auth, case_id=case_id, days=payload.days, reason=payload.reason, expected_version=payload.version
    )
    return _after(request, case)


@router.post("/{int:case_id}/decide", response={200: CaseSummary, **WRITE_ERRORS}, summary="Decide: approve or reject")
def decide(request: HttpRequest, case_id: int, payload: DecideIn):
    case = services.case_decide(
        actor=request.auth,
        case_id=case_id,
        decision=payload.decision,
        reasons=payload.reasons,
        expected_version=payload.version,
    )
    return _after(request, case)


@router.post("/{int:case_id}/deliver", response={200: CaseSummary, **WRITE_ERRORS}, summary="Deliver (送达)")
def deliver(request: HttpRequest, case_id: int, payload: DeliverIn):
    case = services.case_deliver(
        actor=request.auth, case_id=case_id, method=payload.method, expected_version=payload.version
    )
    return _after(request, case)
