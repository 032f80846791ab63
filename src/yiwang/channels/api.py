"""Service channels, mounted at /api/v1/channels/: postal delivery of a case's result with the
courier's tracking, the couriers' signed webhook, and cross-region forwards (异地代收).
Thin: reads are selectors, writes are services; addresses are always answered masked."""

import datetime

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import Status as Respond

from yiwang.channels import selectors, services
from yiwang.channels.models import CrossRegionForward, ReturnMethod
from yiwang.core.api_errors import ErrorOut
from yiwang.identity.auth import api_auth

router = Router(tags=["channels"], auth=api_auth)

READ_ERRORS = {401: ErrorOut, 404: ErrorOut}
WRITE_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class TrackingOut(Schema):
    status: str
    occurred_at: datetime.datetime
    location: str
    description: str
    applied: bool = Field(description="whether this event moved the delivery on (False: duplicate order, late)")


class PostalOut(Schema):
    id: int
    case_id: int
    state: str
    state_label: str
    source: str = Field(description="applicant | registry (户籍地址 read through the exchange)")
    recipient_name: str = Field(description="masked")
    recipient_phone: str = Field(description="masked")
    address: str = Field(description="masked: the first six characters, then ****")
    region_code: str
    courier: str
    waybill_no: str
    dispatched_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    tracking: list[TrackingOut]


class PostalIn(Schema):
    from_registry: bool = Field(False, description="use the applicant's 户籍地址 from the population registry")
    recipient_name: str = Field("", max_length=100, description="default: the applicant's name")
    recipient_phone: str = Field("", max_length=30, description="default: the applicant's phone")
    address: str = Field("", max_length=400)
    region_code: str = Field("", max_length=20, description="GB/T 2260 region code of the address")
    postal_code: str = Field("", max_length=10)


class CallbackOut(Schema):
    result: str = Field(description="applied | recorded (late or out of order) | duplicate")


class ForwardIn(Schema):
    identity_checked: bool
    materials_checked: bool
    return_method: str = Field(ReturnMethod.WINDOW, description="window | post")
    note: str = Field("", max_length=500)


class ForwardOut(Schema):
    id: int
    case_id: int
    case_number: str
    state: str
    state_label: str
    receiving_hall: str
    receiving_region: str
    handling_department: str
    handling_region: str
    return_method: str
    forwarded_at: datetime.datetime
    received_at: datetime.datetime | None
    returned_at: datetime.datetime | None
    completed_at: datetime.datetime | None


def _postal_out(delivery) -> dict:
    data = selectors.postal_shown(delivery)
    data["tracking"] = [
        {
            "status": e.status,
            "occurred_at": e.occurred_at,
            "location": e.location,
            "description": e.description,
            "applied": e.applied,
        }
        for e in selectors.postal_tracking(delivery=delivery)
    ]
    return data


def _forward_out(forward: CrossRegionForward) -> dict:
    return {
        "id": forward.pk,
        "case_id": forward.case_id,
        "case_number": forward.case.number,
        "state": forward.state,
        "state_label": str(forward.get_state_display()),
        "receiving_hall": forward.receiving_hall.name,
        "receiving_region": forward.receiving_region,
        "handling_department": forward.handling_department.name,
        "handling_region": forward.handling_region,
        "return_method": forward.return_method,
        "forwarded_at": forward.forwarded_at,
        "received_at": forward.received_at,
        "returned_at": forward.returned_at,
        "completed_at": forward.completed_at,
    }


@router.post(
    "/cases/{int:case_id}/postal", response={200: PostalOut, **WRITE_ERRORS}, summary="Choose delivery by post"
)
def postal_request(request: HttpRequest, case_id: int, payload: PostalIn):
    """The applicant (or a window clerk serving him) chooses delivery by post, with an address or
    ``from_registry``. Again: changes the address until the result is dispatched (then ``409
    postal_dispatched``). ``422 address_invalid`` names each bad field; ``404
    registry_address_missing`` when the registry holds no usable address."""
    delivery = services.postal_request(actor=request.auth, case_id=case_id, **payload.dict())
    return _postal_out(delivery)


@router.get("/cases/{int:case_id}/postal", response={200: PostalOut, **READ_ERRORS}, summary="A case's postal delivery")
def postal_of_case(request: HttpRequest, case_id: int):
    from yiwang.core.errors import NotFound

    delivery = selectors.postal_for_case(actor=request.auth, case_id=case_id)
    if delivery is None:
        raise NotFound(code="postal_not_found")
    return _postal_out(delivery)


@router.post(
    "/postal/{int:delivery_id}/dispatch", response={200: PostalOut, 503: ErrorOut, **WRITE_ERRORS}, summary="Dispatch"
)
def postal_dispatch(request: HttpRequest, delivery_id: int):
    """Hand the decided result to the courier (a waybill through the courier adapter). Window
    clerks serving the case and its department's reviewers and heads. Idempotent.
    ``503 courier_unavailable`` when the courier cannot be reached (nothing changes)."""
    return _postal_out(services.postal_dispatch(actor=request.auth, delivery_id=delivery_id))


@router.post(
    "/postal/{int:delivery_id}/refresh",
    response={200: PostalOut, 503: ErrorOut, **WRITE_ERRORS},
    summary="Query the courier's tracking",
)
def postal_refresh(request: HttpRequest, delivery_id: int):
    """Ask the courier for the waybill's tracking and apply the events not yet seen."""
    services.tracking_refresh(actor=request.auth, delivery_id=delivery_id)
    return _postal_out(selectors.postal_get(actor=request.auth, delivery_id=delivery_id))


@router.post(
    "/couriers/{courier}/callback",
    response={200: CallbackOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    auth=None,
    summary="Courier tracking callback (signed)",
)
def courier_callback(request: HttpRequest, courier: str):
    """The courier's webhook. Signed with the courier's shared secret (``X-Courier-Timestamp``,
    ``X-Courier-Nonce``, ``X-Courier-Signature``: docs/channels.md). ``403 callback_signature`` /
    ``callback_expired`` for a forged or stale callback, ``404 waybill_unknown``, ``404
    courier_unknown``. A repeated event answers ``duplicate`` and changes nothing."""
    event, new = services.courier_callback(courier_code=courier, headers=request.headers, body=request.body)
    return {"result": "duplicate" if not new else ("applied" if event.applied else "recorded")}


@router.post("/cases/{int:case_id}/forward", response={201: ForwardOut, **WRITE_ERRORS}, summary="Forward (异地代收)")
def forward_create(request: HttpRequest, case_id: int, payload: ForwardIn):
    """The receiving window accepts a case of another region's item and forwards it to the
    handling department. ``422 not_cross_region`` for a case of the window's own region;
    ``422 checks_missing`` names the unconfirmed check."""
    forward = services.forward_create(actor=request.auth, case_id=case_id, **payload.dict())
    return Respond(201, _forward_out(selectors.forward_get(actor=request.auth, forward_id=forward.pk)))


@router.get("/forwards", response={200: list[ForwardOut], 401: ErrorOut}, summary="Cross-region forwards")
def forward_list(request: HttpRequest):
    return [_forward_out(f) for f in selectors.forward_list(actor=request.auth)[:200]]


@router.post("/forwards/{int:forward_id}/receive", response={200: ForwardOut, **WRITE_ERRORS}, summary="Sign for")
def forward_receive(request: HttpRequest, forward_id: int):
    """The handling department signs for a forwarded case (reviewers and heads)."""
    forward = services.forward_receive(actor=request.auth, forward_id=forward_id)
    return _forward_out(selectors.forward_get(actor=request.auth, forward_id=forward.pk))


# --- between two installations ---------------------------------------------------------------------


class RemoteMaterialIn(Schema):
    requirement: str = Field(..., max_length=200, description="the material's name in the item's list")
    filename: str = Field(..., max_length=255)
    content_base64: str = Field(..., max_length=14_000_000)


class RemoteForwardIn(Schema):
    region_code: str = Field(..., max_length=12, description="the handling region (decides the installation)")
    item_code: str = Field(..., max_length=64, description="the item's implementation code there")
    applicant_name: str = Field(..., max_length=100)
    applicant_id_number: str = Field(..., max_length=18)
    applicant_phone: str = Field("", max_length=20)
    form_data: dict = Field(default_factory=dict)
    materials: list[RemoteMaterialIn] = Field(default_factory=list, max_length=20)
    return_method: str = Field(ReturnMethod.WINDOW)
    idempotency_key: str = Field(..., max_length=64)


class RemoteForwardOut(Schema):
    id: int
    peer: str
    item_code: str
    remote_case_number: str
    remote_state: str
    created_at: datetime.datetime
    refreshed_at: datetime.datetime | None
    result_received_at: datetime.datetime | None = Field(description="when the other side called back")


class InboundOut(Schema):
    case_id: int
    case_number: str
    state: str


class InboundStatusOut(Schema):
    case_number: str
    state: str
    state_label: str


def _remote_out(forward) -> dict:
    return {
        "id": forward.pk,
        "peer": forward.peer.code,
        "item_code": forward.item_code,
        "remote_case_number": forward.remote_case_number,
        "remote_state": forward.remote_state,
        "created_at": forward.created_at,
        "refreshed_at": forward.refreshed_at,
        "result_received_at": forward.result_received_at,
    }


@router.post(
    "/remote-forwards",
    response={201: RemoteForwardOut, 503: ErrorOut, **WRITE_ERRORS},
    summary="Forward to another installation",
)
def remote_forward_send(request: HttpRequest, payload: RemoteForwardIn):
    """A window clerk forwards an application to the installation handling ``region_code`` over the
    signed API (docs/channels.md). ``422 region_unknown``; the other side's refusals keep their code."""
    import base64
    import binascii

    from yiwang.core.errors import ValidationFailed

    try:
        materials = [
            {"requirement": m.requirement, "filename": m.filename, "content": base64.b64decode(m.content_base64)}
            for m in payload.materials
        ]
    except (binascii.Error, ValueError):
        raise ValidationFailed(fields={"materials": ["not base64"]}) from None
    data = payload.dict(exclude={"materials"})
    forward = services.remote_forward_send(actor=request.auth, materials=materials, **data)
    return Respond(201, _remote_out(forward))


@router.post(
    "/remote-forwards/{int:forward_id}/refresh",
    response={200: RemoteForwardOut, 503: ErrorOut, **WRITE_ERRORS},
    summary="Read a forwarded case's state back",
)
def remote_forward_refresh(request: HttpRequest, forward_id: int):
    return _remote_out(services.remote_forward_refresh(actor=request.auth, forward_id=forward_id))


@router.post(
    "/inbound/forwards",
    response={201: InboundOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    auth=None,
    summary="Inbound forward from another installation (signed)",
)
def inbound_forward(request: HttpRequest):
    """Another installation's forward, with the exchange credential we issued to it and the body
    signed (docs/channels.md). ``401`` without a valid credential, ``403 peer_signature`` /
    ``peer_expired`` / ``peer_unknown``, ``404 item_unknown``, the cases' own errors otherwise."""
    return Respond(201, services.inbound_forward_receive(headers=request.headers, body=request.body))


@router.get(
    "/inbound/forwards/{number}",
    response={200: InboundStatusOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    auth=None,
    summary="State of a case taken in for another installation (signed)",
)
def inbound_forward_status(request: HttpRequest, number: str):
    return services.inbound_forward_status(headers=request.headers, number=number)


class ResultCallbackOut(Schema):
    result: str = Field(description="applied | duplicate")


@router.post(
    "/inbound/results",
    response={200: ResultCallbackOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    auth=None,
    summary="Result of a forwarded case, called back by the handling installation (signed)",
)
def inbound_result(request: HttpRequest):
    """The installation we forwarded an application to calls back with its state (approved,
    rejected, delivered), signed with the exchange credential we issued to it: ``{"reference",
    "case_number", "state", "state_label", "decided_at"}``. ``404 forward_not_found`` for a
    forward we did not send it; the same state again answers ``duplicate``."""
    return services.remote_result_receive(headers=request.headers, body=request.body)
