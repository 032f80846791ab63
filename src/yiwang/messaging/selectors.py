"""Messaging reads, scoped to the actor: a person sees only their own in-app messages.

Another person's message looks exactly like a missing one (``NotFound``).
"""

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from yiwang.core.errors import NotFound
from yiwang.messaging.models import Channel, Message, MessageState, NotificationPreference


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
