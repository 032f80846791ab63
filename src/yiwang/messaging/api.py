"""Messages endpoints of the JSON API, mounted at /api/v1/messages/: the signed-in person's
own in-app messages. Another person's message answers 404, like a missing one."""

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from yiwang.core.api_errors import ErrorOut
from yiwang.core.pagination import PageNumberPagination
from yiwang.identity.auth import api_auth
from yiwang.messaging import selectors, services

router = Router(tags=["messages"], auth=api_auth)

READ_ERRORS = {401: ErrorOut, 404: ErrorOut}


class MessagePagination(PageNumberPagination):
    """``?page=1&page_size=50`` (at most 200); answers ``{"items": [...], "count": N}``."""

    def __init__(self, **kwargs):
        super().__init__(page_size=50, max_page_size=200, **kwargs)


class MessageOut(Schema):
    id: int
    template_code: str = Field(description="Which notification, e.g. case.sla_warning, case.accepted")
    subject: str
    body: str
    ref_type: str = Field(description='What it is about, e.g. "case" (empty if nothing)')
    ref_id: str
    ref_url: str = Field(description="Path of the page about it on this site, e.g. /cases/17/")
    unread: bool
    created_at: datetime
    read_at: datetime | None


class ReadAllOut(Schema):
    marked: int = Field(description="How many messages were unread and are now read")
    unread: int = Field(description="Unread messages left (0)")


@router.get("/", response={200: list[MessageOut], **READ_ERRORS}, summary="My messages, newest first")
@paginate(MessagePagination)
def message_list(request: HttpRequest, unread: bool | None = None):
    """``?unread=true`` only the unread ones, ``?unread=false`` only the read ones."""
    # The queryset itself: the paginator counts and slices it in SQL (LIMIT/OFFSET), and
    # MessageOut reads the fields (and the ``unread`` property) off each model.
    return selectors.message_list(actor=request.auth, unread=unread)


class PreferencesOut(Schema):
    in_app: bool = Field(description="Always true: in-app messages cannot be turned off")
    email: bool = Field(description="E-mail notifications on")
    sms: bool = Field(description="SMS notifications on")
    legal_notices_always_sent: bool = Field(
        description="Always true: legal notices (受理, 不予受理, 补正, the decision) go out in every channel they have"
    )


class PreferencesIn(Schema):
    email: bool
    sms: bool


def _preferences_out(preference) -> dict:
    return {"in_app": True, "email": preference.email, "sms": preference.sms, "legal_notices_always_sent": True}


@router.get("/preferences", response={200: PreferencesOut, **READ_ERRORS}, summary="My notification channels")
def preferences_get(request: HttpRequest):
    return _preferences_out(selectors.notification_preferences(actor=request.auth))


@router.put(
    "/preferences",
    response={200: PreferencesOut, 422: ErrorOut, **READ_ERRORS},
    summary="Turn my e-mail / SMS notifications on or off (legal notices are always sent)",
)
def preferences_put(request: HttpRequest, payload: PreferencesIn):
    preference = services.notification_preferences_update(actor=request.auth, email=payload.email, sms=payload.sms)
    return _preferences_out(preference)


@router.post("/read-all", response={200: ReadAllOut, **READ_ERRORS}, summary="Mark all my messages read")
def message_read_all(request: HttpRequest):
    marked = services.message_mark_all_read(actor=request.auth)
    return {"marked": marked, "unread": selectors.unread_count(actor=request.auth)}


@router.post("/{int:message_id}/read", response={200: MessageOut, **READ_ERRORS}, summary="Mark a message read")
def message_read(request: HttpRequest, message_id: int):
    return services.message_mark_read(actor=request.auth, message_id=message_id)
