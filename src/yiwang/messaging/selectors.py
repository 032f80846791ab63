"""Messaging reads, scoped to the actor: a person sees only their own in-app messages.

Another person's message looks exactly like a missing one (``NotFound``).
"""

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from yiwang.core.errors import NotFound
from yiwang.messaging.models import (
    Channel,
    ChatGroup,
    ChatGroupKind,
    ChatMembership,
    ChatMessage,
    InstructionReceipt,
    Message,
    MessageState,
    NotificationPreference,
    WorkInstruction,
)


def _signed_in(actor) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and getattr(actor, "is_active", False)


def message_list(*, actor, unread: bool | None = None) -> QuerySet[Message]:
    """The actor's inbox (in-app messages), newest first; ``unread=True`` only the unread,
    ``False`` only the read. E-mail and SMS copies are delivery records, not inbox entries."""
    if not _signed_in(actor):
        return Message.objects.none()
    messages = Message.objects.filter(
        recipient=actor, channel=Channel.IN_APP, state__in=(MessageState.SENT, MessageState.READ)
    )
    if unread is True:
        messages = messages.filter(state=MessageState.SENT)
    elif unread is False:
        messages = messages.filter(state=MessageState.READ)
    return messages.order_by("-created_at", "-pk")


def message_get(*, actor, message_id) -> Message:
    try:
        pk = int(message_id)
    except (TypeError, ValueError):
        raise NotFound(_("未找到该消息。"), code="message_not_found") from None
    message = message_list(actor=actor).filter(pk=pk).first()
    if message is None:
        raise NotFound(_("未找到该消息。"), code="message_not_found")
    return message


def unread_count(*, actor) -> int:
    """How many in-app messages the actor has not read: one indexed COUNT."""
    if not _signed_in(actor):
        return 0
    return Message.objects.filter(recipient=actor, channel=Channel.IN_APP, state=MessageState.SENT).count()


def notification_preferences(*, actor) -> NotificationPreference:
    """The actor's channel choices (not saved: everything on, if they never chose)."""
    if not _signed_in(actor):
        raise NotFound(_("未找到该用户。"), code="user_not_found")
    return NotificationPreference.objects.filter(user=actor).first() or NotificationPreference(user=actor)


# --- staff chat --------------------------------------------------------------------------------
# Only a member sees a group: a department group's members hold a role in its department, a
# task or incident group's have an active membership. Anyone else: ``NotFound``.


def _is_staff(actor) -> bool:
    return _signed_in(actor) and getattr(actor, "kind", "") == "staff"


def db_id(value) -> int:
    """``value`` as a row id, or ``ValueError`` (not a number, or beyond a 64-bit column)."""
    number = int(value)
    if not 0 < number < 2**63:
        raise ValueError(value)
    return number


def _member_filter(actor) -> Q:
    from yiwang.identity.models import RoleGrant

    own_departments = RoleGrant.objects.filter(user=actor, department__is_active=True).values("department_id")
    member_of = ChatMembership.objects.filter(group=OuterRef("pk"), user=actor, active=True)
    return Q(kind=ChatGroupKind.DEPARTMENT, department_id__in=own_departments) | (
        ~Q(kind=ChatGroupKind.DEPARTMENT) & Q(Exists(member_of))
    )


def chat_group_list(*, actor) -> QuerySet[ChatGroup]:
    """The groups the actor is a member of, latest activity first, each with ``unread`` (messages
    by others after the actor's last read one). One query."""
    if not _is_staff(actor):
        return ChatGroup.objects.none()
    read_upto = ChatMembership.objects.filter(group=OuterRef("pk"), user=actor).values("last_read_id")[:1]
    unread = (
        ChatMessage.objects.filter(group=OuterRef("pk"), pk__gt=OuterRef("read_upto"))
        .exclude(author=actor)
        .order_by()
        .values("group")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        ChatGroup.objects.filter(_member_filter(actor))
        .annotate(read_upto=Coalesce(Subquery(read_upto), 0))
        .annotate(unread=Coalesce(Subquery(unread), 0))
        .order_by(F("last_message_at").desc(nulls_last=True), "-pk")
    )


def chat_unread_total(*, actor) -> int:
    return sum(g.unread for g in chat_group_list(actor=actor))


def chat_group_get(*, actor, group_id) -> ChatGroup:
    try:
        pk = db_id(group_id)
    except (TypeError, ValueError):
        raise NotFound(_("未找到该工作群。"), code="chat_group_not_found") from None
    group = None
    if _is_staff(actor):
        group = ChatGroup.objects.filter(_member_filter(actor), pk=pk).select_related("department").first()
    if group is None:
        raise NotFound(_("未找到该工作群。"), code="chat_group_not_found")
    return group


def chat_group_members(*, group) -> list:
    """The members of a group (users, by name), for a group the caller already holds."""
    from yiwang.identity.models import RoleGrant, User

    if group.kind == ChatGroupKind.DEPARTMENT:
        ids = RoleGrant.objects.filter(department_id=group.department_id).values("user_id")
    else:
        ids = ChatMembership.objects.filter(group=group, active=True).values("user_id")
    return list(User.objects.filter(pk__in=ids, is_active=True, kind=User.Kind.STAFF).order_by("real_name", "pk"))


def chat_messages(*, actor, group_id, after: int | None = None, before: int | None = None, limit: int = 50):
    """Messages of a group the actor is a member of, oldest first: the last ``limit`` ones, or
    those after message ``after`` (what a polling page has not shown yet), or the ``limit``
    before message ``before`` (scrolling back)."""
    group = chat_group_get(actor=actor, group_id=group_id)
    limit = max(1, min(int(limit or 50), 200))
    messages = ChatMessage.objects.filter(group=group).select_related("author")
    if after is not None:
        return list(messages.filter(pk__gt=max(0, min(int(after), 2**62))).order_by("pk")[:limit])
    if before is not None:
        messages = messages.filter(pk__lt=max(0, min(int(before), 2**62)))
    return list(reversed(messages.order_by("-pk")[:limit]))


def chat_message_get(*, actor, message_id) -> ChatMessage:
    """One message of a group the actor is a member of; else ``NotFound``."""
    try:
        pk = db_id(message_id)
    except (TypeError, ValueError):
        raise NotFound(_("未找到该消息。"), code="chat_message_not_found") from None
    message = ChatMessage.objects.select_related("author").filter(pk=pk).first()
    if message is None or not _is_staff(actor):
        raise NotFound(_("未找到该消息。"), code="chat_message_not_found")
    try:
        chat_group_get(actor=actor, group_id=message.group_id)
    except NotFound:
        raise NotFound(_("未找到该消息。"), code="chat_message_not_found") from None
    return message


def chat_messages_changed(*, actor, group_id, upto: int, since) -> list:
    """Messages up to ``upto`` (those a polling page already shows) edited or recalled after
    ``since``: the poll sends them again so every member sees the change (one indexed query)."""
    group = chat_group_get(actor=actor, group_id=group_id)
    if since is None:
        return []
    return list(
        ChatMessage.objects.filter(group=group, changed_at__gt=since, pk__lte=max(0, min(int(upto), 2**62)))
        .select_related("author")
        .order_by("pk")[:200]
    )


def chat_read_upto(*, actor, group) -> int:
    return ChatMembership.objects.filter(group=group, user=actor).values_list("last_read_id", flat=True).first() or 0


def chat_attachment_get(*, actor, message_id) -> ChatMessage:
    """A chat message with a file, in a group the actor is a member of; else ``NotFound``."""
    try:
        pk = db_id(message_id)
    except (TypeError, ValueError):
        raise NotFound(_("未找到该文件。"), code="attachment_not_found") from None
    message = ChatMessage.objects.filter(pk=pk, recalled_at=None).exclude(attachment="").first()
    if message is None or not _is_staff(actor):
        raise NotFound(_("未找到该文件。"), code="attachment_not_found")
    try:
        chat_group_get(actor=actor, group_id=message.group_id)
    except NotFound:
        raise NotFound(_("未找到该文件。"), code="attachment_not_found") from None
    return message


def staff_search(*, actor, query: str, limit: int = 20) -> list:
    """Staff by username or name (for inviting to a group, or naming recipients)."""
    from yiwang.identity.models import User

    query = (query or "").strip()
    if not _is_staff(actor) or not query:
        return []
    people = User.objects.filter(is_active=True, kind=User.Kind.STAFF).filter(
        Q(username__istartswith=query) | Q(real_name__icontains=query)
    )
    return list(people.order_by("username")[:limit])


# --- work instructions -------------------------------------------------------------------------
# An instruction is seen by its sender and its recipients; the receipt board by the sender only.


def _instruction_not_found() -> NotFound:
    return NotFound(_("未找到该工作指令。"), code="work_instruction_not_found")


def instruction_inbox(*, actor) -> QuerySet[InstructionReceipt]:
    """The actor's received instructions: not yet acknowledged first, then newest first."""
    if not _signed_in(actor):
        return InstructionReceipt.objects.none()
    return (
        InstructionReceipt.objects.filter(recipient=actor)
        .select_related("instruction", "instruction__sender")
        .order_by(F("acknowledged_at").desc(nulls_first=True), "-instruction__created_at", "-pk")
    )


def instruction_pending_count(*, actor) -> int:
    if not _signed_in(actor):
        return 0
    return InstructionReceipt.objects.filter(recipient=actor, acknowledged_at__isnull=True).count()


def instruction_sent_list(*, actor) -> QuerySet[WorkInstruction]:
    """Instructions the actor sent, newest first, with how many recipients read and acknowledged."""
    if not _signed_in(actor):
        return WorkInstruction.objects.none()
    return (
        WorkInstruction.objects.filter(sender=actor)
        .annotate(
            recipients=Count("receipts"),
            read=Count("receipts", filter=Q(receipts__read_at__isnull=False)),
            acknowledged=Count("receipts", filter=Q(receipts__acknowledged_at__isnull=False)),
        )
        .order_by("-created_at", "-pk")
    )


def instruction_get(*, actor, instruction_id) -> WorkInstruction:
    """An instruction the actor sent or received (with ``receipt``: the actor's own, or None)."""
    try:
        pk = db_id(instruction_id)
    except (TypeError, ValueError):
        raise _instruction_not_found() from None
    if not _signed_in(actor):
        raise _instruction_not_found()
    instruction = WorkInstruction.objects.select_related("sender").filter(pk=pk).first()
    if instruction is None:
        raise _instruction_not_found()
    instruction.receipt = InstructionReceipt.objects.filter(instruction=instruction, recipient=actor).first()
    if instruction.sender_id != actor.pk and instruction.receipt is None:
        raise _instruction_not_found()
    return instruction


def instruction_receipts(*, actor, instruction_id) -> tuple[WorkInstruction, list[InstructionReceipt], dict]:
    """The sender's receipt board: the instruction, every receipt (by department, then name) and
    the counts (``recipients``, ``read``, ``acknowledged``, ``unread``, ``overdue``). Only the
    sender: anyone else ``NotFound``."""
    instruction = instruction_get(actor=actor, instruction_id=instruction_id)
    if instruction.sender_id != actor.pk:
        raise _instruction_not_found()
    receipts = list(
        InstructionReceipt.objects.filter(instruction=instruction)
        .select_related("recipient", "department")
        .order_by("department__path", "recipient__real_name", "pk")
    )
    from django.utils import timezone

    past = instruction.deadline < timezone.now()
    counts = {
        "recipients": len(receipts),
        "read": sum(1 for r in receipts if r.read_at),
        "acknowledged": sum(1 for r in receipts if r.acknowledged_at),
        "unread": sum(1 for r in receipts if not r.read_at),
        "overdue": sum(1 for r in receipts if past and not r.acknowledged_at),
    }
    return instruction, receipts, counts


def instruction_department_choices(*, actor):
    """Departments the actor may send instructions to that have staff, in tree order."""
    from yiwang.identity.models import Department, RoleGrant
    from yiwang.messaging.services import instruction_sender_scope

    scope = instruction_sender_scope(actor)
    departments = Department.objects.filter(is_active=True, pk__in=RoleGrant.objects.values("department_id"))
    if scope is not None:
        departments = departments.filter(pk__in=scope.values("pk"))
    return departments.order_by("path")
