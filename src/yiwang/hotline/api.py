"""Hotline endpoints of the JSON API, mounted at /api/v1/hotline/: ticket intake (channel ``api``
for any signed-in caller, ``phone`` for hotline agents), the actor's tickets, the dispatch,
return, reply and follow-up steps, the knowledge search and IoT sensor readings. A ticket the
caller may not see answers 404, exactly like a missing one. Open311 clients use /open311/v2/."""

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import Status as Respond

from yiwang.core.api_errors import ErrorOut
from yiwang.hotline import selectors, services
from yiwang.identity.auth import api_auth

router = Router(tags=["hotline"], auth=api_auth)
READ = {401: ErrorOut, 404: ErrorOut}
WRITE = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class TicketIn(Schema):
    channel: str = Field("api", description="api (default) | phone (hotline agents) | mailbox | portal")
    kind: str = Field(
        description="consult 咨询 | help 求助 | complaint 投诉 | report 举报 | suggestion 建议 | praise 表扬"
    )
    title: str = Field("", max_length=200)
    content: str = Field(max_length=4000)
    category: str = Field("", description="Category code (the Open311 service_code)", max_length=40)
    caller_name: str = Field("", max_length=50)
    caller_phone: str = Field("", description="Mobile or landline with area code", max_length=30)
    recording_ref: str = Field("", description="The phone system's recording id (phone channel)", max_length=100)
    region_code: str = Field("", max_length=12)
    address: str = Field("", max_length=200)
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    urgency: str = Field("normal", description="normal | urgent")
    reporter_consent: bool = Field(False, description="举报: the reporter agrees to be known to the department")
    knowledge_entry_id: int | None = Field(
        None, ge=1, le=2**31, description="咨询 answered from this knowledge entry: closed at once"
    )


class TicketOut(Schema):
    id: int
    number: str
    kind: str
    channel: str
    status: str
    status_label: str
    urgency: str
    category: str
    title: str
    content: str
    caller_name: str = Field(description="Masked; hidden for a 举报 outside the hotline centre")
    caller_phone: str = Field(description="Masked; hidden for a 举报 outside the hotline centre")
    region_code: str
    address: str
    latitude: float | None
    longitude: float | None
    department: str
    suggested_department: str
    duplicate_of: str
    clock: str = Field(description="on_time | warning | overdue")
    response_due_at: datetime | None
    resolve_due_at: datetime | None
    reply: str
    satisfaction: int | None
    resolved: bool | None
    created_at: datetime
    closed_at: datetime | None


class DispatchIn(Schema):
    department: str = Field("", description="Department id or code; empty: the suggested one", max_length=40)
    note: str = Field("", max_length=1000)


class TicketReasonIn(Schema):
    reason: str = Field(max_length=1000)


class TicketDecisionIn(Schema):
    accept: bool
    note: str = Field("", max_length=1000)


class ReplyIn(Schema):
    reply: str = Field(max_length=4000)


class VisitIn(Schema):
    satisfaction: int = Field(ge=0, le=9, description="3 满意 | 2 基本满意 | 1 不满意")
    resolved: bool
    note: str = Field("", max_length=1000)


class KnowledgeOut(Schema):
    kind: str = Field(description="entry (知识库) | catalog (service guide)")
    id: str
    title: str
    answer: str
    department: str


class SensorIn(Schema):
    device_id: str = Field(max_length=64)
    metric: str = Field(max_length=40)
    value: float = Field(ge=-1e12, le=1e12)
    threshold: float = Field(ge=-1e12, le=1e12)
    place: str = Field("", max_length=200)
    region_code: str = Field("", max_length=12)


class SensorOut(Schema):
    alert_id: int | None
    count: int
    open: bool
    ticket: str = Field(description="Number of the ticket this alert opened ('' if none)")
    ticket_opened: bool


def _out(request, ticket):
    return selectors.ticket_to_data(actor=request.auth, ticket=ticket)


@router.post("/tickets", response={201: TicketOut, **WRITE}, summary="File a ticket (接诉)")
def ticket_create(request: HttpRequest, payload: TicketIn):
    if payload.channel not in ("api", "phone", "mailbox", "portal"):
        from yiwang.core.errors import ValidationFailed

        raise ValidationFailed(fields={"channel": ["api | phone | mailbox | portal"]})
    ticket = services.ticket_create(
        actor=request.auth,
        channel=payload.channel,
        kind=payload.kind,
        title=payload.title,
        content=payload.content,
        category_code=payload.category,
        caller_name=payload.caller_name,
        caller_phone=payload.caller_phone,
        recording_ref=payload.recording_ref,
        region_code=payload.region_code,
        address=payload.address,
        latitude=payload.latitude,
        longitude=payload.longitude,
        urgency=payload.urgency,
        reporter_consent=payload.reporter_consent,
        knowledge_entry_id=payload.knowledge_entry_id,
    )
    return Respond(201, _out(request, ticket))


@router.get("/tickets", response={200: list[TicketOut], **READ}, summary="Tickets I may see, newest first (100)")
def ticket_list(request: HttpRequest, status: str = ""):
    query = selectors.ticket_list(actor=request.auth)
    if status:
        query = query.filter(status=status[:20])
    return [_out(request, t) for t in query[:100]]


@router.get("/tickets/{int:ticket_id}", response={200: TicketOut, **READ}, summary="One ticket")
def ticket_get(request: HttpRequest, ticket_id: int):
    return _out(request, selectors.ticket_get(actor=request.auth, id=ticket_id))


def _ticket(request, ticket_id: int):
    return selectors.ticket_get(actor=request.auth, id=ticket_id)


@router.post("/tickets/{int:ticket_id}/dispatch", response={200: TicketOut, **WRITE}, summary="派单 (dispatchers)")
def ticket_dispatch(request: HttpRequest, ticket_id: int, payload: DispatchIn):
    ticket = services.ticket_dispatch(
        actor=request.auth, ticket=_ticket(request, ticket_id), department=payload.department or None, note=payload.note
    )
    return _out(request, ticket)


@router.post("/tickets/{int:ticket_id}/accept", response={200: TicketOut, **WRITE}, summary="签收 (department)")
def ticket_accept(request: HttpRequest, ticket_id: int):
    return _out(request, services.ticket_accept(actor=request.auth, ticket=_ticket(request, ticket_id)))


@router.post("/tickets/{int:ticket_id}/return", response={200: TicketOut, **WRITE}, summary="退单 with a reason")
def ticket_return(request: HttpRequest, ticket_id: int, payload: TicketReasonIn):
    ticket = services.ticket_return(actor=request.auth, ticket=_ticket(request, ticket_id), reason=payload.reason)
    return _out(request, ticket)


@router.post(
    "/tickets/{int:ticket_id}/return-decision", response={200: TicketOut, **WRITE}, summary="Accept or refuse a 退单"
)
def ticket_return_decide(request: HttpRequest, ticket_id: int, payload: TicketDecisionIn):
    ticket = services.ticket_return_decide(
        actor=request.auth, ticket=_ticket(request, ticket_id), accept=payload.accept, note=payload.note
    )
    return _out(request, ticket)


@router.post("/tickets/{int:ticket_id}/reply", response={200: TicketOut, **WRITE}, summary="答复 (lead department)")
def ticket_reply(request: HttpRequest, ticket_id: int, payload: ReplyIn):
    return _out(
        request, services.ticket_reply(actor=request.auth, ticket=_ticket(request, ticket_id), reply=payload.reply)
    )


@router.post("/tickets/{int:ticket_id}/visit", response={200: TicketOut, **WRITE}, summary="回访 (hotline centre)")
def ticket_visit(request: HttpRequest, ticket_id: int, payload: VisitIn):
    ticket = services.ticket_visit(
        actor=request.auth,
        ticket=_ticket(request, ticket_id),
        satisfaction=payload.satisfaction,
        resolved=payload.resolved,
        note=payload.note,
    )
    return _out(request, ticket)


@router.get("/knowledge", response={200: list[KnowledgeOut], 401: ErrorOut}, summary="Knowledge and guide search")
def knowledge_search(request: HttpRequest, q: str = ""):
    hits = selectors.knowledge_search(query=q[:200])
    return [
        {"kind": h.kind, "id": str(h.id), "title": h.title, "answer": h.answer, "department": h.department}
        for h in hits
    ]


@router.post("/sensors/readings", response={200: SensorOut, **WRITE}, summary="IoT reading (物联感知), deduplicated")
def sensor_reading(request: HttpRequest, payload: SensorIn):
    alert, opened = services.sensor_ingest(actor=request.auth, **payload.dict())
    return {
        "alert_id": alert.pk if alert else None,
        "count": alert.count if alert else 0,
        "open": bool(alert and alert.open),
        "ticket": alert.ticket.number if alert and alert.ticket_id else "",
        "ticket_opened": opened,
    }
