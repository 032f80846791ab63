"""Messages endpoints of the JSON API, mounted at /api/v1/messages/: the signed-in person's
own in-app messages. Another person's message answers 404, like a missing one."""

from datetime import datetime

from django.http import FileResponse, HttpRequest
from ninja import Field, File, Form, Router, Schema
from ninja.decorators import decorate_view
from ninja.files import UploadedFile
from ninja.pagination import paginate
from ninja.responses import Status as Respond

from yiwang.core.api_errors import ErrorOut
from yiwang.core.pagination import PageNumberPagination
from yiwang.identity.auth import api_auth, check_before_body
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


# --- staff chat: /api/v1/messages/groups/… --------------------------------------------------
# Staff only; a group the caller is not a member of answers 404 chat_group_not_found.

WRITE_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class PersonOut(Schema):
    id: int
    username: str
    name: str


def _person(user) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.username, "name": user.real_name or user.username}


class ChatGroupOut(Schema):
    id: int
    name: str
    kind: str = Field(description="department (members follow the department's role grants), task or incident")
    department_id: int | None
    ref_type: str = Field(description='What a task/incident group is about, e.g. "hotline_ticket" (may be empty)')
    ref_id: str = Field(description="Its key, e.g. the hotline ticket number")
    unread: int = Field(description="Messages by others after the caller's last read one")
    last_message_at: datetime | None
    created_at: datetime


class ChatGroupDetailOut(ChatGroupOut):
    members: list[PersonOut]
    read_upto: int = Field(description="Id of the last message the caller has read")


class ChatGroupIn(Schema):
    name: str = Field(max_length=200)
    kind: str = Field(description="task or incident (department groups exist by themselves)")
    ref_type: str = ""
    ref_id: str = ""
    member_ids: list[int] = Field(default_factory=list, description="User ids of the staff to invite")


class ChatMessageOut(Schema):
    id: int
    group_id: int
    author: PersonOut | None
    body: str
    attachment_name: str
    attachment_type: str
    attachment_size: int
    attachment_url: str = Field(description="API path to download the file (empty without one)")
    created_at: datetime
    edited_at: datetime | None = Field(None, description="When its author last changed the text (已编辑)")
    recalled: bool = Field(False, description="Recalled by its author (已撤回): no text, no file")
    recalled_at: datetime | None = None


class ChatMessageEditIn(Schema):
    body: str


class MemberIn(Schema):
    user_id: int


class ReadOut(Schema):
    read_upto: int


def _group_out(group, unread: int | None = None) -> dict:
    return {
        "id": group.pk,
        "name": group.name,
        "kind": group.kind,
        "department_id": group.department_id,
        "ref_type": group.ref_type,
        "ref_id": group.ref_id,
        "unread": getattr(group, "unread", 0) if unread is None else unread,
        "last_message_at": group.last_message_at,
        "created_at": group.created_at,
    }


def _group_detail(request, group_id) -> dict:
    group = next((g for g in selectors.chat_group_list(actor=request.auth) if g.pk == group_id), None)
    if group is None:
        group = selectors.chat_group_get(actor=request.auth, group_id=group_id)  # raises NotFound
    members = [_person(u) for u in selectors.chat_group_members(group=group)]
    return {**_group_out(group), "members": members, "read_upto": getattr(group, "read_upto", 0)}


def _chat_message_out(message) -> dict:
    if message.recalled_at is not None:  # what was recalled is shown to no one
        return {
            "id": message.pk,
            "group_id": message.group_id,
            "author": _person(message.author),
            "body": "",
            "attachment_name": "",
            "attachment_type": "",
            "attachment_size": 0,
            "attachment_url": "",
            "created_at": message.created_at,
            "edited_at": None,
            "recalled": True,
            "recalled_at": message.recalled_at,
        }
    return {
        "edited_at": message.edited_at,
        "recalled": False,
        "recalled_at": None,
        "id": message.pk,
        "group_id": message.group_id,
        "author": _person(message.author),
        "body": message.body,
        "attachment_name": message.attachment_name,
        "attachment_type": message.attachment_type,
        "attachment_size": message.attachment_size,
        "attachment_url": f"/api/v1/messages/attachments/{message.pk}" if message.attachment else "",
        "created_at": message.created_at,
    }


@router.get("/groups", response={200: list[ChatGroupOut], **READ_ERRORS}, summary="My chat groups, with unread counts")
def chat_group_list(request: HttpRequest):
    """Staff: the groups of the departments where the caller holds a role (created on first
    use) and the task / incident groups they are in, latest activity first."""
    services.chat_department_groups_ensure(actor=request.auth)
    return [_group_out(g) for g in selectors.chat_group_list(actor=request.auth)]


@router.post("/groups", response={201: ChatGroupDetailOut, **WRITE_ERRORS}, summary="Create a task or incident group")
def chat_group_create(request: HttpRequest, payload: ChatGroupIn):
    group = services.chat_group_create(
        actor=request.auth,
        name=payload.name,
        kind=payload.kind,
        ref_type=payload.ref_type,
        ref_id=payload.ref_id,
        member_ids=payload.member_ids,
    )
    return Respond(201, _group_detail(request, group.pk))


@router.get("/groups/{int:group_id}", response={200: ChatGroupDetailOut, **READ_ERRORS}, summary="A chat group")
def chat_group_detail(request: HttpRequest, group_id: int):
    return _group_detail(request, group_id)


@router.get(
    "/groups/{int:group_id}/messages",
    # 414: a query string past YIWANG_MAX_QUERY_STRING (core.middleware), before the operation.
    response={200: list[ChatMessageOut], 414: ErrorOut, **READ_ERRORS},
    summary="Messages of a group, oldest first",
)
def chat_message_list(
    request: HttpRequest,
    group_id: int,
    after: int | None = None,
    before: int | None = None,
    limit: int = 50,
    changed_since: datetime | None = None,
):
    """The last ``limit`` (≤ 200) messages; ``?after=<id>`` those newer than a message (poll
    with the last id seen); ``?before=<id>`` older ones; ``?changed_since=<ISO time>&after=<id>``
    those up to ``after`` edited or recalled since then. Reading does not mark them read."""
    if changed_since is not None:
        messages = selectors.chat_messages_changed(
            actor=request.auth, group_id=group_id, upto=after if after is not None else 2**62, since=changed_since
        )
        return [_chat_message_out(m) for m in messages]
    messages = selectors.chat_messages(actor=request.auth, group_id=group_id, after=after, before=before, limit=limit)
    return [_chat_message_out(m) for m in messages]


def _group_known(request: HttpRequest, user, group_id: int, **_path) -> None:
    """Before a file is read: the caller is a member of the group."""
    selectors.chat_group_get(actor=user, group_id=group_id)


@router.post(
    "/groups/{int:group_id}/messages",
    response={201: ChatMessageOut, **WRITE_ERRORS},
    summary="Post a message (multipart: body and/or a file)",
)
@decorate_view(check_before_body(_group_known))
def chat_message_post(request: HttpRequest, group_id: int, body: Form[str] = "", attachment: File[UploadedFile] = None):
    """``body`` text (≤ 4000 characters) and/or ``attachment``: PDF, images, OFD, Word, Excel,
    PowerPoint or plain text, detected from the content, at most ``YIWANG_CHAT_ATTACHMENT_MAX_BYTES``
    (10 MB). Neither: 422 ``message_empty``."""
    message = services.chat_message_post(actor=request.auth, group_id=group_id, body=body, attachment=attachment)
    return Respond(201, _chat_message_out(message))


@router.patch(
    "/chat-messages/{int:chat_message_id}",
    response={200: ChatMessageOut, 409: ErrorOut, **WRITE_ERRORS},
    summary="Edit one's own chat message (within the change window)",
)
def chat_message_edit(request: HttpRequest, chat_message_id: int, payload: ChatMessageEditIn):
    """The author only (403 ``chat_message_not_yours``), within ``YIWANG_CHAT_CHANGE_MINUTES``
    (default 2) of posting (409 ``chat_message_too_old``), not after a recall (409
    ``chat_message_recalled``). Audited ``chat_message.edit`` (SM3 digests, not the text)."""
    message = services.chat_message_edit(actor=request.auth, message_id=chat_message_id, body=payload.body)
    return _chat_message_out(message)


@router.post(
    "/chat-messages/{int:chat_message_id}/recall",
    response={200: ChatMessageOut, 409: ErrorOut, **WRITE_ERRORS},
    summary="Recall (撤回) one's own chat message (within the change window)",
)
def chat_message_recall(request: HttpRequest, chat_message_id: int):
    """As for editing; the others then see it as recalled (no text, no file). Audited
    ``chat_message.recall``."""
    message = services.chat_message_recall(actor=request.auth, message_id=chat_message_id)
    return _chat_message_out(message)


@router.post(
    "/groups/{int:group_id}/read", response={200: ReadOut, **READ_ERRORS}, summary="Mark a group read (for me)"
)
def chat_group_read(request: HttpRequest, group_id: int, up_to: int | None = None):
    """``?up_to=<message id>``: read up to that message (default: the newest)."""
    upto = services.chat_group_mark_read(actor=request.auth, group_id=group_id, up_to=up_to)
    return {"read_upto": upto}


@router.post(
    "/groups/{int:group_id}/members",
    response={200: ChatGroupDetailOut, **WRITE_ERRORS},
    summary="Invite a member of staff (task and incident groups)",
)
def chat_member_add(request: HttpRequest, group_id: int, payload: MemberIn):
    services.chat_member_add(actor=request.auth, group_id=group_id, user_id=payload.user_id)
    return _group_detail(request, group_id)


@router.delete(
    "/groups/{int:group_id}/members/{int:user_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Leave a group, or (its creator) remove a member",
)
def chat_member_remove(request: HttpRequest, group_id: int, user_id: int):
    services.chat_member_remove(actor=request.auth, group_id=group_id, user_id=user_id)
    return Respond(204, None)


@router.get("/attachments/{int:chat_message_id}", response={200: None, **READ_ERRORS}, summary="A chat file")
def chat_attachment(request: HttpRequest, chat_message_id: int):
    return _attachment_response(selectors.chat_attachment_get(actor=request.auth, message_id=chat_message_id))


def _attachment_response(message) -> FileResponse:
    response = FileResponse(
        message.attachment.open("rb"),
        content_type=message.attachment_type,
        filename=message.attachment_name,
        as_attachment=not message.attachment_type.startswith("image/"),
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    return response


# --- work instructions (一键触达): /api/v1/messages/instructions/… ----------------------------


class InstructionIn(Schema):
    title: str = Field(max_length=400)
    body: str
    deadline: datetime = Field(description="By when each recipient must acknowledge (must be in the future)")
    department_ids: list[int] = Field(default_factory=list, description="Every member of staff of these departments")
    user_ids: list[int] = Field(default_factory=list, description="And these members of staff")
    request_key: str = Field("", max_length=64, description="Optional: the same key again returns the first one")


class InstructionReceiptOut(Schema):
    recipient: PersonOut
    department_id: int | None
    department_name: str
    status: str = Field(description="unread, read or acknowledged")
    read_at: datetime | None
    acknowledged_at: datetime | None
    note: str
    escalated_at: datetime | None


class InstructionOut(Schema):
    id: int
    title: str
    body: str
    sender: PersonOut
    deadline: datetime
    created_at: datetime
    department_ids: list[int]
    my_receipt: InstructionReceiptOut | None = Field(description="The caller's own receipt, if a recipient")
    counts: dict[str, int] | None = Field(description="For the sender: recipients, read, acknowledged, unread, overdue")


class AckIn(Schema):
    note: str = Field("", max_length=1000)


def _receipt_out(receipt) -> dict:
    department = receipt.department
    return {
        "recipient": _person(receipt.recipient),
        "department_id": receipt.department_id,
        "department_name": department.name if department else "",
        "status": receipt.status,
        "read_at": receipt.read_at,
        "acknowledged_at": receipt.acknowledged_at,
        "note": receipt.note,
        "escalated_at": receipt.escalated_at,
    }


def _instruction_out(request, instruction_id) -> dict:
    instruction = selectors.instruction_get(actor=request.auth, instruction_id=instruction_id)
    counts = None
    if instruction.sender_id == request.auth.pk:
        counts = selectors.instruction_receipts(actor=request.auth, instruction_id=instruction.pk)[2]
    receipt = instruction.receipt
    return {
        "id": instruction.pk,
        "title": instruction.title,
        "body": instruction.body,
        "sender": _person(instruction.sender),
        "deadline": instruction.deadline,
        "created_at": instruction.created_at,
        "department_ids": list(instruction.departments.values_list("pk", flat=True)),
        "my_receipt": _receipt_out(receipt) if receipt is not None else None,
        "counts": counts,
    }


@router.get(
    "/instructions",
    response={200: list[InstructionOut], **READ_ERRORS},
    summary="Work instructions I received (or, with ?sent=true, sent)",
)
def work_instruction_list(request: HttpRequest, sent: bool = False):
    if sent:
        ids = list(selectors.instruction_sent_list(actor=request.auth).values_list("pk", flat=True)[:200])
    else:
        ids = [r.instruction_id for r in selectors.instruction_inbox(actor=request.auth)[:200]]
    return [_instruction_out(request, pk) for pk in ids]


@router.post(
    "/instructions", response={201: InstructionOut, **WRITE_ERRORS}, summary="Send a work instruction (一键触达)"
)
def work_instruction_send(request: HttpRequest, payload: InstructionIn):
    """Department heads and department admins to their departments' staff; city admins to anyone.
    No recipients, or a deadline in the past: 422 with the field."""
    instruction = services.instruction_send(
        actor=request.auth,
        title=payload.title,
        body=payload.body,
        deadline=payload.deadline,
        department_ids=payload.department_ids,
        user_ids=payload.user_ids,
        request_key=payload.request_key,
    )
    return Respond(201, _instruction_out(request, instruction.pk))


@router.get(
    "/instructions/{int:instruction_id}", response={200: InstructionOut, **READ_ERRORS}, summary="A work instruction"
)
def work_instruction_detail(request: HttpRequest, instruction_id: int):
    """For its sender and its recipients (reading it does not record the read receipt: POST …/read)."""
    return _instruction_out(request, instruction_id)


@router.post(
    "/instructions/{int:instruction_id}/read",
    response={200: InstructionReceiptOut, **READ_ERRORS},
    summary="Record my read receipt",
)
def work_instruction_read(request: HttpRequest, instruction_id: int):
    receipt = services.instruction_mark_read(actor=request.auth, instruction_id=instruction_id)
    return _receipt_out(receipt)


@router.post(
    "/instructions/{int:instruction_id}/ack",
    response={200: InstructionReceiptOut, **WRITE_ERRORS},
    summary="Acknowledge an instruction (签收)",
)
def work_instruction_ack(request: HttpRequest, instruction_id: int, payload: AckIn):
    """Body ``{"note": "…"}`` (``{}`` for none). A second acknowledgement changes nothing."""
    receipt = services.instruction_acknowledge(actor=request.auth, instruction_id=instruction_id, note=payload.note)
    return _receipt_out(receipt)


@router.get(
    "/instructions/{int:instruction_id}/receipts",
    response={200: list[InstructionReceiptOut], **READ_ERRORS},
    summary="Who has read / acknowledged (the sender only)",
)
def work_instruction_receipts(request: HttpRequest, instruction_id: int):
    _instruction, receipts, _counts = selectors.instruction_receipts(actor=request.auth, instruction_id=instruction_id)
    return [_receipt_out(r) for r in receipts]
