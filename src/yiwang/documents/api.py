"""Document circulation (公文流转) and duty rosters (政务值班), mounted at /api/v1/documents/.

Staff only: a document is visible to the people on its route and its recipients; to anyone
else it is a 404, like a missing one. Thin: reads are selectors, writes are services.
"""

import datetime

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Router, Schema
from ninja.responses import Status as Respond

from yiwang.core.api_errors import ErrorOut
from yiwang.core.errors import Conflict, NotFound, ValidationFailed
from yiwang.core.masking import mask_phone
from yiwang.documents import selectors, services
from yiwang.documents.models import Circulation, Document, DocumentType, DutyShift, DutySwap, Receipt
from yiwang.identity.auth import api_auth
from yiwang.identity.models import Department, User

router = Router(tags=["documents"], auth=api_auth)

READ_ERRORS = {401: ErrorOut, 404: ErrorOut}
WRITE_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class StepDefinition(Schema):
    kind: str = Field(description="review | countersign | sign_off | issue (the last step)")
    role: str = Field(description="identity role, e.g. reviewer, department_head")
    departments: list[str] = Field([], description="Department codes; empty: the drafting department")


class DocumentTypeIn(Schema):
    code: str
    name: str
    number_prefix: str = ""
    department: str | None = Field(None, description="Code of the defining department; null: city-wide")
    steps: list[StepDefinition]
    is_active: bool = True


class DocumentTypeOut(Schema):
    code: str
    name: str
    number_prefix: str
    department: str | None
    steps: list[StepDefinition]
    is_active: bool


class DocumentIn(Schema):
    document_type: str = Field(description="Document type code")
    department: str = Field(description="Code of the drafting department (one the caller works in)")
    title: str
    body: str
    recipient_departments: list[str] = Field([], description="Department codes (主送)")
    recipient_users: list[int] = Field([], description="Staff user ids (抄送)")


class DocumentUpdateIn(Schema):
    title: str
    body: str
    recipient_departments: list[str] = []
    recipient_users: list[int] = []


class DocumentStepOut(Schema):
    id: int
    round: int
    position: int
    kind: str
    kind_label: str
    role: str
    department: str
    department_name: str
    state: str
    state_label: str
    actor: str | None
    comment: str
    arrived_at: datetime.datetime | None
    acted_at: datetime.datetime | None


class DocumentReceiptOut(Schema):
    id: int
    department: str | None
    recipient: str
    acknowledged: bool
    acknowledged_at: datetime.datetime | None
    acknowledged_by: str | None
    reminder_count: int


class DocumentOut(Schema):
    id: int
    document_type: str
    department: str
    department_name: str
    drafter: str
    title: str
    body: str
    state: str
    state_label: str
    round: int
    position: int
    number: str
    issued_at: datetime.datetime | None
    signature: str = Field(description="SM2 signature (r||s hex) of the issued content, by the department's seal")
    seal_key_version: int | None
    pdf_url: str | None
    steps: list[DocumentStepOut]
    receipts: list[DocumentReceiptOut]


class DocumentSummaryOut(Schema):
    id: int
    title: str
    state: str
    number: str
    department_name: str
    updated_at: datetime.datetime


class TodoOut(Schema):
    step: DocumentStepOut
    document_id: int
    title: str


class CommentIn(Schema):
    comment: str = ""


class DocumentReasonIn(Schema):
    reason: str


class AcknowledgedOut(Schema):
    acknowledged: list[int]


class RemindedOut(Schema):
    reminded: int


class ShiftIn(Schema):
    department: str = Field(description="Department code")
    person: int = Field(description="Staff user id")
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    phone: str = Field(description="On-duty contact phone (stored encrypted, shown masked)")
    note: str = ""


class ShiftOut(Schema):
    id: int
    department: str
    department_name: str
    person_id: int
    person: str
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    phone: str = Field(description="Masked")
    note: str


class SwapIn(Schema):
    to_user: int
    reason: str = ""


class SwapDecisionIn(Schema):
    accept: bool
    phone: str = Field("", description="The new person's contact phone; default: his account's phone")


class SwapOut(Schema):
    id: int
    shift_id: int
    from_user: str
    to_user: str
    reason: str
    state: str


# --- helpers -----------------------------------------------------------------------------------


def _name(user: User | None) -> str | None:
    return None if user is None else (user.real_name or user.username)


def _type(t: DocumentType) -> dict:
    return {
        "code": t.code,
        "name": t.name,
        "number_prefix": t.number_prefix,
        "department": t.department.code if t.department_id else None,
        "steps": t.steps,
        "is_active": t.is_active,
    }


def _step(s: Circulation) -> dict:
    return {
        "id": s.pk,
        "round": s.round,
        "position": s.position,
        "kind": s.kind,
        "kind_label": s.get_kind_display(),
        "role": s.role,
        "department": s.department.code,
        "department_name": s.department.name,
        "state": s.state,
        "state_label": s.get_state_display(),
        "actor": _name(s.actor),
        "comment": s.comment,
        "arrived_at": s.arrived_at,
        "acted_at": s.acted_at,
    }


def _receipt(r: Receipt) -> dict:
    return {
        "id": r.pk,
        "department": r.department.code if r.department_id else None,
        "recipient": r.department.name if r.department_id else _name(r.user),
        "acknowledged": r.acknowledged_at is not None,
        "acknowledged_at": r.acknowledged_at,
        "acknowledged_by": _name(r.acknowledged_by),
        "reminder_count": r.reminder_count,
    }


def _document(d: Document) -> dict:
    return {
        "id": d.pk,
        "document_type": d.document_type.code,
        "department": d.department.code,
        "department_name": d.department.name,
        "drafter": _name(d.drafter),
        "title": d.title,
        "body": d.body,
        "state": d.state,
        "state_label": d.get_state_display(),
        "round": d.round,
        "position": d.position,
        "number": d.number,
        "issued_at": d.issued_at,
        "signature": d.signature,
        "seal_key_version": d.seal_key_version,
        "pdf_url": f"/api/v1/documents/{d.pk}/pdf" if d.state == Document.State.ISSUED else None,
        "steps": [_step(s) for s in selectors.document_route(document=d)],
        "receipts": [_receipt(r) for r in selectors.document_receipts(document=d)],
    }


def _shift(s: DutyShift) -> dict:
    return {
        "id": s.pk,
        "department": s.department.code,
        "department_name": s.department.name,
        "person_id": s.person_id,
        "person": _name(s.person),
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "phone": mask_phone(s.phone),
        "note": s.note,
    }


def _swap(s: DutySwap) -> dict:
    return {
        "id": s.pk,
        "shift_id": s.shift_id,
        "from_user": _name(s.from_user),
        "to_user": _name(s.to_user),
        "reason": s.reason,
        "state": s.state,
    }


def _department(code: str | None, field: str) -> Department | None:
    if code is None:
        return None
    department = Department.objects.filter(code=code, is_active=True).first()
    if department is None:
        message = "部门不存在"
        raise ValidationFailed(message, fields={field: [message]})
    return department


def _department_ids(codes: list[str]) -> list[int]:
    found = dict(Department.objects.filter(code__in=codes, is_active=True).values_list("code", "pk"))
    missing = [c for c in codes if c not in found]
    if missing:
        raise ValidationFailed(fields={"recipient_departments": [", ".join(missing)]})
    return [found[c] for c in codes]


def _staff_user(user_id: int, field: str) -> User:
    user = User.objects.filter(pk=user_id, is_active=True, kind=User.Kind.STAFF).first()
    if user is None:
        raise ValidationFailed(fields={field: ["工作人员不存在"]})
    return user


def _visible(request: HttpRequest, document_id: int) -> Document:
    return selectors.document_get(actor=request.auth, id=document_id)


# --- document types --------------------------------------------------------------------------


@router.get("/types", response={200: list[DocumentTypeOut], 401: ErrorOut}, summary="Document types and their routes")
def document_types(request: HttpRequest):
    return [_type(t) for t in selectors.document_types(actor=request.auth).select_related("department")]


@router.post("/types", response={200: DocumentTypeOut, **WRITE_ERRORS}, summary="Create or change a document type")
def document_type_save(request: HttpRequest, payload: DocumentTypeIn):
    doc_type = services.document_type_save(
        actor=request.auth,
        code=payload.code,
        name=payload.name,
        number_prefix=payload.number_prefix,
        department=_department(payload.department, "department"),
        steps=[s.dict() for s in payload.steps],
        is_active=payload.is_active,
    )
    return _type(doc_type)


# --- documents ---------------------------------------------------------------------------------


@router.get("/", response={200: list[DocumentSummaryOut], 401: ErrorOut}, summary="Documents I can see")
def document_list(request: HttpRequest, box: str = "all"):
    """``box``: all, drafts (mine), received (sent to me or my departments), issued. At most 200."""
    return [
        {
            "id": d.pk,
            "title": d.title,
            "state": d.state,
            "number": d.number,
            "department_name": d.department.name,
            "updated_at": d.updated_at,
        }
        for d in selectors.document_list(actor=request.auth, box=box)[:200]
    ]


@router.get("/todo", response={200: list[TodoOut], 401: ErrorOut}, summary="My pending steps (待办)")
def document_todo(request: HttpRequest):
    return [
        {"step": _step(s), "document_id": s.document_id, "title": s.document.title}
        for s in selectors.steps_todo(actor=request.auth)[:200]
    ]


@router.post("/", response={201: DocumentOut, **WRITE_ERRORS}, summary="Draft a document (拟稿)")
def document_create(request: HttpRequest, payload: DocumentIn):
    department = Department.objects.filter(code=payload.department, is_active=True).first()
    if department is None:
        raise NotFound(code="department_not_found")
    doc_type = DocumentType.objects.filter(code=payload.document_type).first()
    if doc_type is None:
        raise ValidationFailed(fields={"document_type": ["公文类型不存在"]})
    document = services.document_create(
        actor=request.auth,
        document_type=doc_type,
        department=department,
        title=payload.title,
        body=payload.body,
        recipient_department_ids=_department_ids(payload.recipient_departments),
        recipient_user_ids=payload.recipient_users,
    )
    return Respond(201, _document(document))


@router.get("/{document_id}", response={200: DocumentOut, **READ_ERRORS}, summary="A document, its route and receipts")
def document_detail(request: HttpRequest, document_id: int):
    return _document(_visible(request, document_id))


@router.put("/{document_id}", response={200: DocumentOut, **WRITE_ERRORS}, summary="Edit a draft or returned document")
def document_update(request: HttpRequest, document_id: int, payload: DocumentUpdateIn):
    document = services.document_update(
        actor=request.auth,
        document=_visible(request, document_id),
        title=payload.title,
        body=payload.body,
        recipient_department_ids=_department_ids(payload.recipient_departments),
        recipient_user_ids=payload.recipient_users,
    )
    return _document(document)


@router.post("/{document_id}/submit", response={200: DocumentOut, **WRITE_ERRORS}, summary="Send along the route")
def document_submit(request: HttpRequest, document_id: int):
    document = services.document_submit(actor=request.auth, document=_visible(request, document_id))
    return _document(document)


@router.post("/steps/{step_id}/approve", response={200: DocumentOut, **WRITE_ERRORS}, summary="Agree at a step")
def document_step_approve(request: HttpRequest, step_id: int, payload: CommentIn):
    step = services.step_approve(actor=request.auth, step_id=step_id, comment=payload.comment)
    return _document(Document.objects.select_related("document_type", "department", "drafter").get(pk=step.document_id))


@router.post("/steps/{step_id}/return", response={200: DocumentOut, **WRITE_ERRORS}, summary="Return to the drafter")
def document_step_return(request: HttpRequest, step_id: int, payload: DocumentReasonIn):
    step = services.step_return(actor=request.auth, step_id=step_id, reason=payload.reason)
    return _document(Document.objects.select_related("document_type", "department", "drafter").get(pk=step.document_id))


@router.get("/{document_id}/pdf", response={200: None, **READ_ERRORS, 409: ErrorOut}, summary="The sealed PDF")
def document_pdf(request: HttpRequest, document_id: int):
    document = _visible(request, document_id)
    if document.state != Document.State.ISSUED:
        raise Conflict("公文尚未印发", code="document_not_issued")
    response = HttpResponse(bytes(document.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="document-{document.pk}.pdf"'
    return response


@router.get(
    "/{document_id}/receipts", response={200: list[DocumentReceiptOut], **READ_ERRORS}, summary="Who has signed for it"
)
def document_receipts(request: HttpRequest, document_id: int):
    return [_receipt(r) for r in selectors.document_receipts(document=_visible(request, document_id))]


@router.post(
    "/{document_id}/acknowledge", response={200: AcknowledgedOut, **WRITE_ERRORS}, summary="Sign for it (签收)"
)
def document_acknowledge(request: HttpRequest, document_id: int):
    receipts = services.document_acknowledge(actor=request.auth, document_id=document_id)
    return {"acknowledged": [r.pk for r in receipts]}


@router.post("/{document_id}/remind", response={200: RemindedOut, **WRITE_ERRORS}, summary="Remind the unsigned (催签)")
def document_remind(request: HttpRequest, document_id: int):
    return {"reminded": services.document_remind(actor=request.auth, document_id=document_id)}


# --- duty rosters ------------------------------------------------------------------------------


@router.get("/duty/now", response={200: list[ShiftOut], 401: ErrorOut, 422: ErrorOut}, summary="Who is on duty now")
def duty_now(request: HttpRequest, department: str | None = None):
    """Staff only (others get an empty list); the phone is masked."""
    dept = _department(department, "department")
    return [_shift(s) for s in selectors.duty_on_now_for(actor=request.auth, department=dept)]


@router.get(
    "/duty/shifts", response={200: list[ShiftOut], 401: ErrorOut, 422: ErrorOut}, summary="A department's roster"
)
def duty_shifts(request: HttpRequest, department: str, start: datetime.date | None = None, days: int = 7):
    """Shifts overlapping ``days`` (1–31) days from ``start`` (today)."""
    if not 1 <= days <= 31:
        raise ValidationFailed(fields={"days": ["1–31"]})
    if start is not None and not 2000 <= start.year <= 2100:
        raise ValidationFailed(fields={"start": ["2000–2100"]})
    dept = _department(department, "department")
    first = timezone.make_aware(datetime.datetime.combine(start or timezone.localdate(), datetime.time()))
    shifts = selectors.duty_shifts(
        actor=request.auth, department=dept, start=first, end=first + datetime.timedelta(days=days)
    )
    return [_shift(s) for s in shifts]


@router.post("/duty/shifts", response={201: ShiftOut, **WRITE_ERRORS}, summary="Put someone on duty")
def duty_shift_create(request: HttpRequest, payload: ShiftIn):
    shift = services.shift_create(
        actor=request.auth,
        department=_department(payload.department, "department"),
        person=_staff_user(payload.person, "person"),
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        phone=payload.phone,
        note=payload.note,
    )
    return Respond(201, _shift(shift))


@router.get("/duty/swaps", response={200: list[SwapOut], 401: ErrorOut}, summary="My open swap requests")
def duty_swaps(request: HttpRequest):
    return [_swap(s) for s in selectors.swaps_for(actor=request.auth)]


@router.post(
    "/duty/shifts/{shift_id}/swap", response={201: SwapOut, **WRITE_ERRORS}, summary="Ask a colleague to take a shift"
)
def duty_swap_request(request: HttpRequest, shift_id: int, payload: SwapIn):
    swap = services.swap_request(
        actor=request.auth, shift_id=shift_id, to_user=_staff_user(payload.to_user, "to_user"), reason=payload.reason
    )
    return Respond(201, _swap(swap))


@router.post(
    "/duty/swaps/{swap_id}/decide", response={200: SwapOut, **WRITE_ERRORS}, summary="Accept or decline a swap"
)
def duty_swap_decide(request: HttpRequest, swap_id: int, payload: SwapDecisionIn):
    swap = services.swap_decide(actor=request.auth, swap_id=swap_id, accept=payload.accept, phone=payload.phone)
    return _swap(swap)
