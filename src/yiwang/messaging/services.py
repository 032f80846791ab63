"""Messaging writes: send, deliver, mark read; and the templates' one write path.

``message_send`` renders a notification's templates for one recipient and stores one
``Message`` per channel in the caller's transaction (audited as ``message.send``). In-app
messages are delivered by being stored. E-mail and SMS messages are delivered by the
``deliver_message`` task, enqueued once the transaction commits; each attempt is logged as a
``Delivery``. A failed attempt is retried up to ``YIWANG_MESSAGE_MAX_ATTEMPTS`` times, waiting
``YIWANG_MESSAGE_RETRY_SECONDS`` doubled each time (on a queue that can defer; at once on one
that cannot), then the message is ``failed``. A message that cannot be sent at all (no
gateway configured, no address) is ``skipped`` with the reason, never pretended sent.

Dedupe: with a ``dedupe_key`` (e.g. ``case:17:sla:warning:2025-10-20``) the same notification
goes to the same recipient in the same channel once, however often it is asked for (retried
events, hourly sweeps).

Reading is not audited: it changes only the reader's own copy of a notification, its
``read_at`` is the record, and an audit event per click would queue every inbox click behind
the chain's head lock with the platform's real state changes.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template import Context, Engine, TemplateSyntaxError
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.core.audit import audit_record
from yiwang.core.errors import Forbidden, NotFound, ValidationFailed
from yiwang.core.filetypes import detect_content_type, zip_names
from yiwang.messaging.channels import SENDERS, DeliveryError, Skip
from yiwang.messaging.models import (
    Channel,
    ChatGroup,
    ChatGroupKind,
    ChatMembership,
    ChatMessage,
    Delivery,
    DeliveryOutcome,
    InstructionReceipt,
    Message,
    MessageState,
    NotificationPreference,
    Template,
    TemplateKind,
    WorkInstruction,
)

logger = logging.getLogger(__name__)

DELIVERY_ACTOR = "task:deliver_message"
# Plain text: no HTML escaping of "&" or quotes in a subject, an SMS or an e-mail body.
_ENGINE = Engine(autoescape=False)
_CHANNEL_ORDER = {Channel.IN_APP: 0, Channel.EMAIL: 1, Channel.SMS: 2}


@dataclass(frozen=True)
class Ref:
    """What a message is about: ``Ref("case", 17, "/cases/17/")``. ``url`` is a path on this site."""

    type: str
    id: str | int
    url: str = ""


# --- templates ---------------------------------------------------------------------------------


def _render(compiled, context: dict) -> str:
    return compiled.render(Context(context, autoescape=False)).strip()


# What a template may use besides the caller's variables (docs/messaging.md, "Templates"); the
# save check renders each template once with these, so an error shows when saving, not when sending.
SAMPLE_CONTEXT = {
    "number": "320500202510200001",
    "item_name": "个体工商户设立登记",
    "state": "accepted",
    "state_label": "已受理",
    "sla_status": "warning",
    "sla_label": "临近超期",
    "due_date": "2025-10-21",
    "department_name": "市场监督管理局",
    "case_id": 1,
    "recipient_name": "张三",
    "site_url": "https://www.example.gov.cn",
    "url": "/cases/1/",
}


def template_errors(*, subject: str, body: str) -> dict[str, list[str]]:
    """Errors of a template's subject and body, by field (empty when both are usable): a syntax
    error, a tag that needs other templates (``{% include %}``, ``{% extends %}`` — messages are
    rendered from text alone, so it would fail every send), or an error when rendering it with
    sample values of the documented variables."""
    from django.template.loader_tags import ExtendsNode, IncludeNode

    errors: dict[str, list[str]] = {}
    for field, text in (("subject", subject), ("body", body)):
        if not (text or "").strip():
            errors[field] = [_("此字段为必填项")]
            continue
        try:
            compiled = _ENGINE.from_string(text)
        except TemplateSyntaxError as exc:
            errors[field] = [_("模板语法错误:%(error)s") % {"error": exc}]
            continue
        if compiled.nodelist.get_nodes_by_type(IncludeNode) or compiled.nodelist.get_nodes_by_type(ExtendsNode):
            errors[field] = [_("消息模板不能引用其他模板({% include %} 或 {% extends %}),请直接写出全文")]
            continue
        try:
            _render(compiled, SAMPLE_CONTEXT)
        except Exception as exc:  # any error a send would hit
            errors[field] = [_("模板无法渲染:%(error)s") % {"error": f"{type(exc).__name__}: {exc}"}]
    return errors


@transaction.atomic
def template_save(
    *,
    actor,
    template: Template | None,
    code: str,
    channel: str,
    name: str,
    subject: str,
    body: str,
    active: bool,
    kind: str | None = None,
) -> Template:
    """Create or change a template (admin); the text must compile. Audited with what changed.
    ``kind`` (legal / service) defaults to the template's current one, service for a new one."""
    code = (code or "").strip()
    errors = template_errors(subject=subject, body=body)
    if not code:
        errors["code"] = [_("此字段为必填项")]
    if channel not in Channel.values:
        errors["channel"] = [_("渠道无效")]
    kind = kind or (template.kind if template is not None else TemplateKind.SERVICE)
    if kind not in TemplateKind.values:
        errors["kind"] = [_("类别无效")]
    if errors:
        raise ValidationFailed(fields=errors)
    clash = Template.objects.filter(code=code, channel=channel).exclude(pk=getattr(template, "pk", None))
    if clash.exists():
        message = _("该代码在此渠道已有模板")
        raise ValidationFailed(message, code="template_exists", fields={"code": [message]})
    values = {"code": code, "channel": channel, "name": (name or code).strip(), "subject": subject.strip()}
    values |= {"body": body.strip(), "active": bool(active), "kind": kind}
    if template is None:
        template = Template.objects.create(**values)
        changes = {"created": sorted(values)}
    else:
        template = Template.objects.select_for_update(no_key=True).get(pk=template.pk)
        changed = sorted(k for k, v in values.items() if getattr(template, k) != v)
        for key, value in values.items():
            setattr(template, key, value)
        template.save()
        changes = {"changed": changed}
    audit_record(actor=actor, action="message_template.save", obj=template, changes=changes)
    return template


# --- sending -----------------------------------------------------------------------------------


def _clean_ref(ref: Ref | None) -> Ref | None:
    if ref is None:
        return None
    url = (ref.url or "").strip()
    # A path on this site only: the inbox links to it.
    if url and (not url.startswith("/") or url.startswith("//") or "\\" in url):
        raise ValidationFailed(_("关联链接须为本站路径"), code="ref_url", fields={"ref": [_("关联链接须为本站路径")]})
    return Ref(type=str(ref.type)[:40], id=str(ref.id)[:64], url=url[:300])


@transaction.atomic
def message_send(
    *,
    actor,
    recipient,
    template_code: str,
    context: dict,
    channels: list[str] | tuple[str, ...] | None = None,
    ref: Ref | None = None,
    dedupe_key: str = "",
) -> list[Message]:
    """Send notification ``template_code`` to ``recipient`` in every channel that has an
    active template (or in those of ``channels`` that do). Returns the messages created;
    a channel whose copy was already sent under the same ``dedupe_key`` is left out, and a
    deactivated account gets nothing. A channel the recipient turned off is left out too,
    unless the template is a legal notice (``TemplateKind.LEGAL``). ``ValidationFailed`` if
    the code has no template at all.

    The context may use ``recipient_name``, ``site_url`` and ``url`` (the reference's link)
    besides what the caller passes.
    """
    return message_send_many(
        actor=actor,
        recipients=[recipient],
        template_code=template_code,
        context=context,
        channels=channels,
        ref=ref,
        dedupe_key=dedupe_key,
    )


@transaction.atomic
def message_send_many(
    *,
    actor,
    recipients,
    template_code: str,
    context: dict,
    channels: list[str] | tuple[str, ...] | None = None,
    ref: Ref | None = None,
    dedupe_key: str = "",
) -> list[Message]:
    """``message_send`` to several people: the templates are read once and compiled once, the
    preferences in one query, whatever the number of recipients."""
    if channels is not None:
        unknown = [c for c in channels if c not in Channel.values]
        if unknown:
            raise ValidationFailed(_("渠道无效"), code="channel", fields={"channels": [", ".join(unknown)]})
    templates = list(Template.objects.filter(code=template_code))
    if not templates:
        message = _("没有代码为 %(code)s 的消息模板") % {"code": template_code}
        raise ValidationFailed(message, code="template_missing", fields={"template_code": [message]})
    people = [r for r in recipients if r is not None and r.is_active]
    if not people:
        return []
    ref = _clean_ref(ref)
    preferences = {p.user_id: p for p in NotificationPreference.objects.filter(user__in=people)}
    compiled = {t.pk: (_ENGINE.from_string(t.subject), _ENGINE.from_string(t.body)) for t in templates if t.active}
    created = []
    for recipient in people:
        created += _send_one(
            actor=actor,
            recipient=recipient,
            templates=templates,
            compiled=compiled,
            preference=preferences.get(recipient.pk),
            template_code=template_code,
            context=context,
            channels=channels,
            ref=ref,
            dedupe_key=dedupe_key,
        )
    return created


def _send_one(
    *, actor, recipient, templates, compiled, preference, template_code, context, channels, ref, dedupe_key
) -> list[Message]:
    wanted = [
        t
        for t in templates
        if t.active
        and (channels is None or t.channel in channels)
        and (t.kind == TemplateKind.LEGAL or preference is None or preference.allows(t.channel))
    ]
    wanted.sort(key=lambda t: _CHANNEL_ORDER[t.channel])
    full_context = {
        "recipient_name": recipient.real_name or recipient.username,
        "site_url": settings.SITE_URL.rstrip("/"),
        "url": ref.url if ref else "",
        **(context or {}),
    }
    dedupe_key = (dedupe_key or "").strip()[:200]
    now = timezone.now()
    created = []
    for template in wanted:
        if (
            dedupe_key
            and Message.objects.filter(recipient=recipient, channel=template.channel, dedupe_key=dedupe_key).exists()
        ):
            continue
        in_app = template.channel == Channel.IN_APP
        message = Message(
            recipient=recipient,
            channel=template.channel,
            template_code=template_code,
            subject=_render(compiled[template.pk][0], full_context)[:300],
            body=_render(compiled[template.pk][1], full_context),
            ref_type=ref.type if ref else "",
            ref_id=ref.id if ref else "",
            ref_url=ref.url if ref else "",
            state=MessageState.SENT if in_app else MessageState.QUEUED,
            sent_at=now if in_app else None,
            next_attempt_at=None if in_app else now,
            dedupe_key=dedupe_key,
        )
        try:
            with transaction.atomic():  # a concurrent sender won the dedupe race: not an error
                message.save()
        except IntegrityError:
            if not dedupe_key:
                raise
            continue
        audit_record(
            actor=actor,
            action="message.send",
            obj=message,
            changes={
                "recipient": recipient.pk,
                "channel": message.channel,
                "template": template_code,
                "ref": f"{message.ref_type}:{message.ref_id}" if ref else "",
                "state": message.state,
            },
        )
        if not in_app:
            transaction.on_commit(lambda pk=message.pk: _enqueue_delivery(pk), robust=True)
        created.append(message)
    return created


def _can_defer() -> bool:
    from yiwang.messaging.tasks import deliver_message

    return deliver_message.get_backend().supports_defer


def _enqueue_delivery(message_id: int, *, run_after=None) -> None:
    from yiwang.messaging.tasks import deliver_message

    task = deliver_message
    if run_after is not None and run_after > timezone.now() and task.get_backend().supports_defer:
        task = task.using(run_after=run_after)
    task.enqueue(message_id)


def _can_defer() -> bool:
    from yiwang.messaging.tasks import deliver_message

    return deliver_message.get_backend().supports_defer


def max_attempts() -> int:
    return max(int(getattr(settings, "YIWANG_MESSAGE_MAX_ATTEMPTS", 3) or 1), 1)


def claim_seconds() -> int:
    """How long a worker holds the attempt it claimed: longer than any send can take (the SMS
    gateway's and the mail server's timeouts), so a live attempt is never taken over; a dead
    worker's claim lapses and the redelivery sweep enqueues the message again."""
    timeouts = (getattr(settings, "YIWANG_SMS_GATEWAY_TIMEOUT", 10), getattr(settings, "EMAIL_TIMEOUT", None) or 10)
    return max(int(getattr(settings, "YIWANG_MESSAGE_CLAIM_SECONDS", 0) or 0), 6 * int(max(timeouts)), 60)


def _claim(message: Message, now) -> bool:
    """Take the next attempt of ``message``: one conditional UPDATE, so of any number of workers
    (a retry, a redelivery, a duplicate queue row) exactly one gets it. The attempt must be due
    (``next_attempt_at``) and not held by another worker (``claimed_until``)."""
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    return bool(
        Message.objects.filter(due, free, pk=message.pk, state=MessageState.QUEUED, attempts=message.attempts).update(
            attempts=message.attempts + 1, claimed_until=now + timedelta(seconds=claim_seconds())
        )
    )


def message_deliver(*, message_id: int) -> Message | None:
    """One delivery attempt of a queued e-mail or SMS message (the ``deliver_message`` task).

    The attempt is claimed first (``_claim``): it is made only when due, and by one worker
    only, however many queue rows point at the message; the gateway or mail server is called
    outside any transaction (no lock is held while the network is slow); the outcome is then
    logged and the message updated (claim released, next attempt scheduled) in one short
    transaction. Returns the message (None if it does not exist).
    """
    message = Message.objects.select_related("recipient").filter(pk=message_id).first()
    if message is None or message.state != MessageState.QUEUED or message.channel not in SENDERS:
        return message
    if message.attempts >= max_attempts():  # e.g. re-enqueued after its last attempt: no more tries
        return _fail_exhausted(message)
    attempt = message.attempts + 1
    now = timezone.now()
    if not _claim(message, now):
        # Held by another worker's claim — which may be a worker that died mid-attempt: look
        # again when the claim lapses (the claim makes a second look harmless if it did not die).
        if message.claimed_until and message.claimed_until >= now and _can_defer():
            again = message.claimed_until + timedelta(seconds=1)
            transaction.on_commit(lambda pk=message.pk: _enqueue_delivery(pk, run_after=again), robust=True)
        return message
    address, receipt, error = "", "", ""
    try:
        if not message.recipient.is_active:
            raise Skip(_("接收人账户已停用"))
        if not _channel_allowed(message):
            raise Skip(_("接收人已关闭该渠道的通知"))
        sent = SENDERS[message.channel](message=message, recipient=message.recipient)
    except Skip as exc:
        outcome, error = DeliveryOutcome.SKIPPED, str(exc)
    except DeliveryError as exc:
        outcome, error = DeliveryOutcome.FAILED, str(exc) or type(exc).__name__
    except Exception as exc:  # a bug or an unforeseen error in a sender: a failed attempt, not a lost one
        logger.exception("message %s (%s) attempt %s raised", message.pk, message.channel, attempt)
        outcome, error = DeliveryOutcome.FAILED, f"{type(exc).__name__}: {exc}"[:1000]
    else:
        outcome, address, receipt = DeliveryOutcome.SENT, sent.address, sent.provider_ref
    retry = outcome == DeliveryOutcome.FAILED and attempt < max_attempts()
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(of=("self",), no_key=True).select_related("recipient").get(pk=message.pk)
        )
        Delivery.objects.create(
            message=message, attempt=attempt, outcome=outcome, address=address, provider_ref=receipt, error=error
        )
        old = message.state
        message.claimed_until = None
        if outcome == DeliveryOutcome.SENT:
            message.state, message.sent_at, message.last_error = MessageState.SENT, timezone.now(), ""
        elif outcome == DeliveryOutcome.SKIPPED:
            message.state, message.last_error = MessageState.SKIPPED, error
        else:
            message.last_error = error
            if not retry:
                message.state = MessageState.FAILED
        if retry:
            # On a queue that cannot defer, the retry is due at once (as before next_attempt_at).
            delay = int(getattr(settings, "YIWANG_MESSAGE_RETRY_SECONDS", 60)) * 2 ** (attempt - 1)
            message.next_attempt_at = timezone.now() + timedelta(seconds=delay if _can_defer() else 0)
        else:
            message.next_attempt_at = None
        message.save(update_fields=["state", "sent_at", "last_error", "claimed_until", "next_attempt_at"])
        if message.state != old:
            audit_record(
                actor=DELIVERY_ACTOR,
                action=f"message.{message.state}",
                obj=message,
                changes={"state": [old, message.state], "attempts": attempt, "channel": message.channel},
            )
        if retry:
            transaction.on_commit(
                lambda pk=message.pk, at=message.next_attempt_at: _enqueue_delivery(pk, run_after=at), robust=True
            )
    if outcome == DeliveryOutcome.FAILED:
        logger.warning("message %s (%s) attempt %s failed: %s", message.pk, message.channel, attempt, error)
    return message


def _channel_allowed(message: Message) -> bool:
    """The recipient's preference for the channel, read at delivery (it may have changed since
    the message was queued); legal notices are always allowed."""
    if Template.objects.filter(code=message.template_code, channel=message.channel, kind=TemplateKind.LEGAL).exists():
        return True
    preference = NotificationPreference.objects.filter(user_id=message.recipient_id).first()
    return preference is None or preference.allows(message.channel)


def _fail_exhausted(message: Message) -> Message:
    """Mark failed a queued message whose attempts are used up (no further attempt is made)."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(of=("self",), no_key=True).select_related("recipient").get(pk=message.pk)
        )
        if message.state != MessageState.QUEUED or (message.claimed_until and message.claimed_until >= timezone.now()):
            return message  # settled, or its last attempt is being made by another worker right now
        old = message.state
        message.state = MessageState.FAILED
        message.save(update_fields=["state"])
        audit_record(
            actor=DELIVERY_ACTOR,
            action=f"message.{message.state}",
            obj=message,
            changes={"state": [old, message.state], "attempts": message.attempts, "channel": message.channel},
        )
    logger.warning("message %s (%s) has used its %s attempts: failed", message.pk, message.channel, message.attempts)
    return message


def message_redeliver_stale(*, older_than_minutes: int = 30) -> int:
    """Enqueue again the e-mail and SMS messages whose attempt has been due for more than
    ``older_than_minutes`` and that no worker holds (a worker that died mid-attempt, a lost
    queue row). A message waiting for a deferred retry is not due yet and is left alone; one
    enqueued twice is still attempted once (the claim). Returns how many were enqueued."""
    now = timezone.now()
    cutoff = now - timedelta(minutes=older_than_minutes)
    stale = (
        Message.objects.filter(state=MessageState.QUEUED, channel__in=list(SENDERS))
        .filter(Q(next_attempt_at__lt=cutoff) | Q(next_attempt_at__isnull=True, created_at__lt=cutoff))
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .values_list("pk", flat=True)
    )
    count = 0
    for pk in stale.iterator():
        _enqueue_delivery(pk)
        count += 1
    return count


# --- preferences -------------------------------------------------------------------------------


@transaction.atomic
def notification_preferences_update(*, actor, email: bool, sms: bool) -> NotificationPreference:
    """Turn e-mail and SMS notifications on or off for the actor themself. In-app messages
    stay on, and legal notices (``TemplateKind.LEGAL``) are sent whatever is chosen here.
    Audited with what changed (nothing changed: nothing written)."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotFound(_("未找到该用户。"), code="user_not_found")
    errors = {
        name: [_("须为 true 或 false")]
        for name, value in (("email", email), ("sms", sms))
        if not isinstance(value, bool)
    }
    if errors:
        raise ValidationFailed(fields=errors)
    preference, _created = NotificationPreference.objects.select_for_update(no_key=True).get_or_create(user=actor)
    changed = {name: [getattr(preference, name), value] for name, value in (("email", email), ("sms", sms))}
    changed = {name: pair for name, pair in changed.items() if pair[0] != pair[1]}
    if changed:
        preference.email, preference.sms = email, sms
        preference.save(update_fields=["email", "sms", "updated_at"])
        audit_record(actor=actor, action="notification_preference.update", obj=preference, changes=changed)
    return preference


# --- reading -----------------------------------------------------------------------------------


@transaction.atomic
def message_mark_read(*, actor, message_id) -> Message:
    """Mark one of the actor's own in-app messages read (again: no change). Another person's
    message, or one that does not exist, is ``NotFound``."""
    from yiwang.messaging.selectors import message_get

    message = message_get(actor=actor, message_id=message_id)
    message = Message.objects.select_for_update(no_key=True).get(pk=message.pk)
    if message.state == MessageState.SENT:
        message.state, message.read_at = MessageState.READ, timezone.now()
        message.save(update_fields=["state", "read_at"])
    return message


@transaction.atomic
def message_mark_all_read(*, actor) -> int:
    """Mark every unread in-app message of the actor read; returns how many."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotFound(_("未找到该消息。"), code="message_not_found")
    return Message.objects.filter(recipient=actor, channel=Channel.IN_APP, state=MessageState.SENT).update(
        state=MessageState.READ, read_at=timezone.now()
    )


# --- staff chat (即时通讯) ---------------------------------------------------------------------
# Groups are for staff. A department group's members are the holders of a role in that
# department (identity's role grants: granting or revoking a role is the membership change, and
# is audited there); a task or incident group's members are invited by its members. Only a
# member sees a group: anyone else gets ``NotFound``, exactly like a missing group.

DEFAULT_CHAT_ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
CHAT_BODY_MAX = 4000

# What a chat file may be, detected from its bytes (never its name): content type → (label, extension).
CHAT_ATTACHMENT_TYPES = {
    "application/pdf": ("PDF", "pdf"),
    "image/jpeg": ("JPEG", "jpg"),
    "image/png": ("PNG", "png"),
    "image/gif": ("GIF", "gif"),
    "image/webp": ("WebP", "webp"),
    "application/ofd": ("OFD", "ofd"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("Word", "docx"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("Excel", "xlsx"),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ("PowerPoint", "pptx"),
    "text/plain": (_("文本"), "txt"),
}


def chat_attachment_max_bytes() -> int:
    return int(getattr(settings, "YIWANG_CHAT_ATTACHMENT_MAX_BYTES", DEFAULT_CHAT_ATTACHMENT_MAX_BYTES))


def detect_chat_attachment_type(content: bytes) -> str | None:
    """The file's type from its content: one of ``CHAT_ATTACHMENT_TYPES``, or None. The official
    formats (``core.filetypes``), then what staff also share: GIF, WebP, Office files, plain text."""
    found = detect_content_type(content)
    if found:
        return found
    if content[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    names = zip_names(content)
    if names is not None:
        if "[content_types].xml" in names:
            for prefix, kind in (("word/", "wordprocessingml.document"), ("xl/", "spreadsheetml.sheet")):
                if any(n.startswith(prefix) for n in names):
                    return f"application/vnd.openxmlformats-officedocument.{kind}"
            if any(n.startswith("ppt/") for n in names):
                return "application/vnd.openxmlformats-officedocument.presentationml.presentation"
        return None
    if content.startswith(b"PK\x03\x04"):  # a broken ZIP is no text
        return None
    if content and b"\x00" not in content:
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return "text/plain"
    return None


def _is_staff(actor) -> bool:
    return (
        actor is not None
        and getattr(actor, "is_authenticated", False)
        and actor.is_active
        and getattr(actor, "kind", "") == "staff"
    )


def _require_staff(actor) -> None:
    if not _is_staff(actor):
        raise NotFound(_("未找到该工作群。"), code="chat_group_not_found")


def _chat_group_for_update(*, actor, group_id):
    from yiwang.messaging import selectors

    group = selectors.chat_group_get(actor=actor, group_id=group_id)
    return group


@transaction.atomic
def chat_department_groups_ensure(*, actor) -> list:
    """Create the group of each department where the actor holds a role, if it has none yet
    (a department's group exists from the first time one of its staff opens the chat)."""
    from yiwang.identity.models import RoleGrant

    if not _is_staff(actor):
        return []
    department_ids = set(
        RoleGrant.objects.filter(user=actor, department__is_active=True).values_list("department_id", flat=True)
    )
    existing = set(
        ChatGroup.objects.filter(kind=ChatGroupKind.DEPARTMENT, department_id__in=department_ids).values_list(
            "department_id", flat=True
        )
    )
    created = []
    for department_id in sorted(department_ids - existing):
        group = chat_department_group_create(actor=actor, department_id=department_id)
        if group is not None:
            created.append(group)
    return created


@transaction.atomic
def chat_department_group_create(*, actor, department_id: int):
    """The department's group (created if missing; the existing one otherwise). Audited when created."""
    from yiwang.identity.models import Department

    department = Department.objects.filter(pk=department_id, is_active=True).first()
    if department is None:
        raise NotFound(_("未找到该部门。"), code="department_not_found")
    group = ChatGroup.objects.filter(kind=ChatGroupKind.DEPARTMENT, department=department).first()
    if group is not None:
        return group
    try:
        with transaction.atomic():
            group = ChatGroup.objects.create(
                name=department.name, kind=ChatGroupKind.DEPARTMENT, department=department, created_by=None
            )
    except IntegrityError:  # created meanwhile by a colleague opening the chat at the same moment
        return ChatGroup.objects.get(kind=ChatGroupKind.DEPARTMENT, department=department)
    audit_record(
        actor=actor,
        action="chat_group.create",
        obj=group,
        changes={"kind": group.kind, "department": department.pk, "name": group.name},
    )
    return group


def _staff_by_ids(user_ids, *, field: str = "member_ids") -> list:
    from yiwang.identity.models import User
    from yiwang.messaging.selectors import db_id

    ids = []
    for value in user_ids or []:
        try:
            ids.append(db_id(value))
        except (TypeError, ValueError):
            raise ValidationFailed(fields={field: [_("人员编号无效:%(value)s") % {"value": value}]}) from None
    people = {u.pk: u for u in User.objects.filter(pk__in=ids, is_active=True, kind=User.Kind.STAFF)}
    missing = [str(i) for i in ids if i not in people]
    if missing:
        message = _("未找到工作人员:%(ids)s") % {"ids": ", ".join(missing)}
        raise ValidationFailed(message, code="staff_not_found", fields={field: [message]})
    return [people[i] for i in dict.fromkeys(ids)]


@transaction.atomic
def chat_group_create(*, actor, name: str, kind: str, ref_type: str = "", ref_id: str = "", member_ids=()) -> ChatGroup:
    """A task or incident group, with the actor and the invited staff as members. ``ref_type``
    and ``ref_id`` name what it is about (a hotline ticket number, a case number, any key)."""

    if not _is_staff(actor):
        raise Forbidden(_("只有工作人员可以创建工作群。"), code="staff_only")
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("请填写群名称")]
    elif len(name) > 100:
        errors["name"] = [_("群名称不能超过 100 个字")]
    if kind not in (ChatGroupKind.TASK, ChatGroupKind.INCIDENT):
        errors["kind"] = [_("群类型须为任务群或事件群(部门群随部门自动建立)")]
    ref_type, ref_id = (ref_type or "").strip(), (ref_id or "").strip()
    if len(ref_type) > 40:
        errors["ref_type"] = [_("不能超过 40 个字符")]
    if len(ref_id) > 64:
        errors["ref_id"] = [_("不能超过 64 个字符")]
    if ref_id and not ref_type:
        errors["ref_type"] = [_("填写关联对象时请说明其类型,如 hotline_ticket")]
    if errors:
        raise ValidationFailed(fields=errors)
    members = _staff_by_ids(member_ids)
    group = ChatGroup.objects.create(name=name, kind=kind, ref_type=ref_type, ref_id=ref_id, created_by=actor)
    everyone = [actor, *[m for m in members if m.pk != actor.pk]]
    ChatMembership.objects.bulk_create([ChatMembership(group=group, user=u, added_by=actor) for u in everyone])
    audit_record(
        actor=actor,
        action="chat_group.create",
        obj=group,
        changes={
            "kind": kind,
            "name": name,
            "ref": f"{ref_type}:{ref_id}" if ref_type else "",
            "members": [u.pk for u in everyone],
        },
    )
    return group


@transaction.atomic
def chat_member_add(*, actor, group_id, user_id) -> ChatMembership:
    """Invite a member of staff into a task or incident group (any member may). Audited."""

    group = _chat_group_for_update(actor=actor, group_id=group_id)
    if group.kind == ChatGroupKind.DEPARTMENT:
        message = _("部门群的成员随部门岗位自动调整,不能手动增减。")
        raise ValidationFailed(message, code="department_group_members", fields={"user_id": [message]})
    (user,) = _staff_by_ids([user_id], field="user_id")
    membership, created = ChatMembership.objects.select_for_update().get_or_create(
        group=group, user=user, defaults={"added_by": actor}
    )
    if not created and membership.active:
        return membership
    if not created:
        membership.active, membership.left_at, membership.added_by = True, None, actor
        membership.save(update_fields=["active", "left_at", "added_by"])
    audit_record(actor=actor, action="chat_member.add", obj=group, changes={"user": user.pk})
    return membership


@transaction.atomic
def chat_member_remove(*, actor, group_id, user_id) -> ChatMembership:
    """Leave a task or incident group (anyone, for themselves), or remove someone from it (its
    creator only). Audited. The messages stay; the person no longer sees the group."""

    group = _chat_group_for_update(actor=actor, group_id=group_id)
    if group.kind == ChatGroupKind.DEPARTMENT:
        message = _("部门群的成员随部门岗位自动调整,不能手动增减。")
        raise ValidationFailed(message, code="department_group_members", fields={"user_id": [message]})
    from yiwang.messaging.selectors import db_id

    try:
        user_pk = db_id(user_id)
    except (TypeError, ValueError):
        raise ValidationFailed(fields={"user_id": [_("人员编号无效:%(value)s") % {"value": user_id}]}) from None
    if user_pk != actor.pk and group.created_by_id != actor.pk:
        raise Forbidden(_("只有建群人可以移出其他成员。"), code="not_group_owner")
    membership = ChatMembership.objects.select_for_update().filter(group=group, user_id=user_pk, active=True).first()
    if membership is None:
        message = _("该人员不在群中。")
        raise ValidationFailed(message, code="not_a_member", fields={"user_id": [message]})
    membership.active, membership.left_at = False, timezone.now()
    membership.save(update_fields=["active", "left_at"])
    audit_record(
        actor=actor,
        action="chat_member.remove",
        obj=group,
        changes={"user": user_pk, "left": user_pk == actor.pk},
    )
    return membership


def _clean_attachment(attachment) -> tuple[bytes, str, str] | None:
    """(content, content type, display name) of an uploaded file, checked; None without one."""
    import os

    if attachment is None:
        return None
    limit = chat_attachment_max_bytes()
    size = getattr(attachment, "size", None)
    if size is not None and size > limit:
        content = b""
    else:
        attachment.seek(0) if hasattr(attachment, "seek") else None
        content = attachment.read(limit + 1)
        size = len(content)
    if size > limit:
        message = _("文件不能超过 %(limit)s(当前 %(size)s)") % {
            "limit": _human_bytes(limit),
            "size": _human_bytes(size),
        }
        raise ValidationFailed(message, code="attachment_too_large", fields={"attachment": [message]})
    if not content:
        message = _("文件是空的")
        raise ValidationFailed(message, code="attachment_empty", fields={"attachment": [message]})
    content_type = detect_chat_attachment_type(content)
    if content_type is None:
        labels = "、".join(str(label) for label, _ext in CHAT_ATTACHMENT_TYPES.values())
        message = _("不支持该文件类型,可发送:%(types)s") % {"types": labels}
        raise ValidationFailed(message, code="attachment_type", fields={"attachment": [message]})
    name = os.path.basename(str(getattr(attachment, "name", "") or "").replace("\\", "/")).strip()
    name = "".join(ch for ch in name if ch.isprintable())[:200] or f"file.{CHAT_ATTACHMENT_TYPES[content_type][1]}"
    return content, content_type, name


def _human_bytes(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1048576:.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} B"


@transaction.atomic
def chat_message_post(*, actor, group_id, body: str = "", attachment=None) -> ChatMessage:
    """Post a message (text, a file, or both) to a group the actor is a member of. Audited
    (the group, the file's name, type, size and SM3 digest; not the text)."""
    from django.core.files.base import ContentFile

    from yiwang.core.crypto import sm3_hex

    group = _chat_group_for_update(actor=actor, group_id=group_id)
    body = (body or "").strip()
    if len(body) > CHAT_BODY_MAX:
        message = _("消息不能超过 %(max)d 个字") % {"max": CHAT_BODY_MAX}
        raise ValidationFailed(message, code="message_too_long", fields={"body": [message]})
    checked = _clean_attachment(attachment)
    if not body and checked is None:
        message = _("请输入消息内容或选择文件")
        raise ValidationFailed(message, code="message_empty", fields={"body": [message]})
    chat = ChatMessage(group=group, author=actor, body=body)
    changes: dict = {"group": group.pk}
    if checked is not None:
        content, content_type, name = checked
        chat.attachment.save(f"file.{CHAT_ATTACHMENT_TYPES[content_type][1]}", ContentFile(content), save=False)
        chat.attachment_name, chat.attachment_type, chat.attachment_size = name, content_type, len(content)
        changes["attachment"] = {"name": name, "type": content_type, "size": len(content), "sm3": sm3_hex(content)}
    chat.save()
    ChatGroup.objects.filter(pk=group.pk).update(last_message_at=chat.created_at)
    audit_record(actor=actor, action="chat_message.post", obj=chat, changes=changes)
    return chat


def chat_change_minutes() -> int:
    """How long after posting its author may edit or recall a message (minutes)."""
    return int(getattr(settings, "YIWANG_CHAT_CHANGE_MINUTES", 2))


def _own_message_for_change(*, actor, message_id) -> ChatMessage:
    """The actor's own message, locked, in a group he is still a member of, not recalled and
    still within the change window; else the error that says why."""
    from yiwang.core.errors import Conflict
    from yiwang.messaging.selectors import db_id

    try:
        pk = db_id(message_id)
    except (TypeError, ValueError):
        raise NotFound(_("未找到该消息。"), code="chat_message_not_found") from None
    message = ChatMessage.objects.select_for_update().filter(pk=pk).first()
    if message is None or not _is_staff(actor):
        raise NotFound(_("未找到该消息。"), code="chat_message_not_found")
    try:
        _chat_group_for_update(actor=actor, group_id=message.group_id)
    except NotFound:
        raise NotFound(_("未找到该消息。"), code="chat_message_not_found") from None
    if message.author_id != actor.pk:
        raise Forbidden(_("只能编辑或撤回自己发送的消息。"), code="chat_message_not_yours")
    if message.recalled_at is not None:
        raise Conflict(_("该消息已撤回。"), code="chat_message_recalled")
    minutes = chat_change_minutes()
    if timezone.now() - message.created_at > timedelta(minutes=minutes):
        raise Conflict(
            _("发送超过 %(minutes)d 分钟的消息不能再编辑或撤回。") % {"minutes": minutes}, code="chat_message_too_old"
        )
    return message


@transaction.atomic
def chat_message_edit(*, actor, message_id, body: str) -> ChatMessage:
    """Change the text of one's own message within the change window. Audited with the SM3
    digests of the text before and after (not the text, as for a post); the others see
    "已编辑" and, on their next poll, the new text."""
    from yiwang.core.crypto import sm3_hex

    message = _own_message_for_change(actor=actor, message_id=message_id)
    body = (body or "").strip()
    if len(body) > CHAT_BODY_MAX:
        text = _("消息不能超过 %(max)d 个字") % {"max": CHAT_BODY_MAX}
        raise ValidationFailed(text, code="message_too_long", fields={"body": [text]})
    if not body and not message.attachment:
        text = _("请输入消息内容;不再需要这条消息请撤回")
        raise ValidationFailed(text, code="message_empty", fields={"body": [text]})
    if body == message.body:
        return message
    before = sm3_hex(message.body.encode())
    now = timezone.now()
    message.body, message.edited_at, message.changed_at = body, now, now
    message.save(update_fields=["body", "edited_at", "changed_at"])
    audit_record(
        actor=actor,
        action="chat_message.edit",
        obj=message,
        changes={"group": message.group_id, "body_sm3": [before, sm3_hex(body.encode())]},
    )
    return message


@transaction.atomic
def chat_message_recall(*, actor, message_id) -> ChatMessage:
    """Recall (撤回) one's own message within the change window: every member then sees
    "已撤回" in its place, and neither its text nor its file is shown or served again (both
    stay stored, as the record of what was sent). Audited."""
    message = _own_message_for_change(actor=actor, message_id=message_id)
    now = timezone.now()
    message.recalled_at, message.changed_at = now, now
    message.save(update_fields=["recalled_at", "changed_at"])
    audit_record(
        actor=actor,
        action="chat_message.recall",
        obj=message,
        changes={"group": message.group_id, "had_attachment": bool(message.attachment)},
    )
    return message


@transaction.atomic
def chat_group_mark_read(*, actor, group_id, up_to: int | None = None) -> int:
    """Mark the group read for the actor up to message ``up_to`` (default: the newest);
    returns the id read up to. Not audited: like the inbox's "read", it changes only the
    reader's own place in the conversation."""

    group = _chat_group_for_update(actor=actor, group_id=group_id)
    newest = ChatMessage.objects.filter(group=group).order_by("-pk").values_list("pk", flat=True).first() or 0
    target = newest if up_to is None else max(0, min(int(up_to), newest))  # bounded by a real id
    membership, _created = ChatMembership.objects.get_or_create(group=group, user=actor)
    if target > membership.last_read_id:
        ChatMembership.objects.filter(pk=membership.pk, last_read_id__lt=target).update(last_read_id=target)
        return target
    return membership.last_read_id


# --- work instructions (一键触达) ---------------------------------------------------------------
# A department head or department admin sends to the departments they act in (and to staff who
# hold a role there); a city admin (or a superuser) to any department and any member of staff.

INSTRUCTION_SENDER_ROLES = ("department_head", "department_admin")
INSTRUCTION_MAX_RECIPIENTS = 2000


def instruction_sender_scope(actor):
    """The departments the actor may send work instructions to (a queryset), or None when the
    actor may send to every department (a city admin, a superuser). Empty: may not send."""
    from yiwang.identity.models import Department, Role
    from yiwang.identity.selectors import actor_has_role, departments_for_actor

    if not _is_staff(actor) and not getattr(actor, "is_superuser", False):
        return Department.objects.none()
    if actor.is_superuser or actor_has_role(actor, roles=Role.CITY_ADMIN):
        return None
    head = departments_for_actor(actor=actor, role=Role.DEPARTMENT_HEAD).values("pk")
    admin = departments_for_actor(actor=actor, role=Role.DEPARTMENT_ADMIN).values("pk")
    return Department.objects.filter(is_active=True).filter(Q(pk__in=head) | Q(pk__in=admin))


def instruction_may_send(actor) -> bool:
    scope = instruction_sender_scope(actor)
    return scope is None or scope.exists()


def _department_staff(department_ids) -> list[tuple[int, int]]:
    """(department id, user id) of every active member of staff holding a role directly in
    one of the departments, in department then user order."""
    from yiwang.identity.models import RoleGrant, User

    rows = (
        RoleGrant.objects.filter(
            department_id__in=department_ids,
            department__is_active=True,
            user__is_active=True,
            user__kind=User.Kind.STAFF,
        )
        .order_by("department__path", "user_id")
        .values_list("department_id", "user_id")
    )
    return list(dict.fromkeys(rows))


def _parse_deadline(value):
    from datetime import datetime

    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        from django.utils.dateparse import parse_datetime

        try:
            moment = parse_datetime(str(value).strip())
        except ValueError:
            moment = None
        if moment is None:
            return "invalid"
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


@transaction.atomic
def instruction_send(
    *,
    actor,
    title: str,
    body: str,
    deadline,
    department_ids=(),
    user_ids=(),
    request_key: str = "",
) -> WorkInstruction:
    """Send a work instruction to every member of staff of ``department_ids`` and to ``user_ids``
    (the sender excluded), each to acknowledge by ``deadline``. Each recipient gets it in the
    inbox (and by e-mail and SMS: the ``staff.instruction`` templates). Audited. With the
    form's ``request_key`` a second submission returns the first instruction."""
    from yiwang.identity.models import Department, RoleGrant

    scope = instruction_sender_scope(actor)
    if scope is not None and not scope.exists():
        raise Forbidden(_("只有部门负责人、部门管理员或市级管理员可以发送工作指令。"), code="instruction_sender")
    request_key = (request_key or "").strip()[:64]
    if request_key:
        existing = WorkInstruction.objects.filter(sender=actor, request_key=request_key).first()
        if existing is not None:
            return existing
    errors: dict[str, list[str]] = {}
    title, body = (title or "").strip(), (body or "").strip()
    if not title:
        errors["title"] = [_("请填写标题")]
    elif len(title) > 200:
        errors["title"] = [_("标题不能超过 200 个字")]
    if not body:
        errors["body"] = [_("请填写指令内容")]
    moment = _parse_deadline(deadline)
    if moment is None:
        errors["deadline"] = [_("请填写确认期限")]
    elif moment == "invalid":
        errors["deadline"] = [_("确认期限格式无效,应为 2026-12-03T18:00")]
    elif moment <= timezone.now():
        errors["deadline"] = [_("确认期限须晚于当前时间")]
    from yiwang.messaging.selectors import db_id

    department_pks = []
    for value in department_ids or []:
        try:
            department_pks.append(db_id(value))
        except (TypeError, ValueError):
            errors["department_ids"] = [_("部门编号无效:%(value)s") % {"value": value}]
    department_pks = list(dict.fromkeys(department_pks))
    departments = Department.objects.filter(pk__in=department_pks, is_active=True)
    if scope is not None:
        departments = departments.filter(pk__in=scope.values("pk"))
    departments = list(departments.order_by("path"))
    unknown = sorted(set(department_pks) - {d.pk for d in departments})
    if unknown and "department_ids" not in errors:
        errors["department_ids"] = [
            _("未找到或无权向这些部门发送:%(ids)s") % {"ids": ", ".join(str(i) for i in unknown)}
        ]
    people = []
    try:
        people = _staff_by_ids(user_ids, field="user_ids")
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if people and scope is not None:
        in_scope = set(
            RoleGrant.objects.filter(
                user__in=people, department__in=scope.values("pk"), department__is_active=True
            ).values_list("user_id", flat=True)
        )
        outside = [p for p in people if p.pk not in in_scope]
        if outside:
            errors["user_ids"] = [
                _("无权向本部门以外的人员发送:%(names)s") % {"names": "、".join(str(p) for p in outside)}
            ]
    if not department_pks and not list(user_ids or []):
        errors["recipients"] = [_("请至少选择一个接收部门或接收人")]
    if errors:
        raise ValidationFailed(fields=errors)

    # Who: every member of staff of the departments (reached through that department), then
    # the people named (reached through their own department: the first where they hold a role).
    reached: dict[int, int | None] = {}
    for department_id, user_id in _department_staff([d.pk for d in departments]):
        reached.setdefault(user_id, department_id)
    if people:
        own = {}
        grants = RoleGrant.objects.filter(user__in=people, department__is_active=True).order_by("department__path")
        if scope is not None:
            grants = grants.filter(department__in=scope.values("pk"))
        for user_id, department_id in grants.values_list("user_id", "department_id"):
            own.setdefault(user_id, department_id)
        for person in people:
            reached.setdefault(person.pk, own.get(person.pk))
    reached.pop(actor.pk, None)
    if not reached:
        message = _("所选部门没有可接收指令的工作人员")
        raise ValidationFailed(message, code="no_recipients", fields={"recipients": [message]})
    if len(reached) > INSTRUCTION_MAX_RECIPIENTS:
        message = _("一次最多发送给 %(max)d 人,请分批发送") % {"max": INSTRUCTION_MAX_RECIPIENTS}
        raise ValidationFailed(message, code="too_many_recipients", fields={"recipients": [message]})

    instruction = WorkInstruction.objects.create(
        sender=actor, title=title, body=body, deadline=moment, request_key=request_key
    )
    instruction.departments.set(departments)
    InstructionReceipt.objects.bulk_create(
        [
            InstructionReceipt(instruction=instruction, recipient_id=user_id, department_id=department_id)
            for user_id, department_id in reached.items()
        ]
    )
    from yiwang.identity.models import User

    recipients = list(User.objects.filter(pk__in=list(reached)).order_by("pk"))
    message_send_many(
        actor=actor,
        recipients=recipients,
        template_code="staff.instruction",
        context=_instruction_context(instruction),
        ref=Ref("work_instruction", instruction.pk, _instruction_url(instruction.pk)),
        dedupe_key=f"instruction:{instruction.pk}",
    )
    audit_record(
        actor=actor,
        action="work_instruction.send",
        obj=instruction,
        changes={
            "departments": [d.pk for d in departments],
            "users": [p.pk for p in people],
            "recipients": len(reached),
            "deadline": moment.isoformat(),
        },
    )
    from yiwang.core import events

    events.publish("work_instruction.sent", instruction_id=instruction.pk, recipients=len(reached))
    return instruction


def _instruction_url(instruction_id: int) -> str:
    from django.urls import reverse

    return reverse("messaging_workbench:instruction", args=[instruction_id])


def _instruction_context(instruction) -> dict:
    sender = instruction.sender
    return {
        "title": instruction.title,
        "body": instruction.body,
        "sender_name": sender.real_name or sender.username,
        "deadline": timezone.localtime(instruction.deadline).strftime("%Y-%m-%d %H:%M"),
    }


def _own_receipt(*, actor, instruction_id):

    from yiwang.messaging.selectors import db_id

    try:
        pk = db_id(instruction_id)
    except (TypeError, ValueError):
        pk = None
    receipt = None
    if pk is not None and getattr(actor, "is_authenticated", False):
        receipt = (
            InstructionReceipt.objects.select_for_update()
            .select_related("instruction")
            .filter(instruction_id=pk, recipient=actor)
            .first()
        )
    if receipt is None:
        raise NotFound(_("未找到该工作指令。"), code="work_instruction_not_found")
    return receipt


def _read_inbox_copy(*, actor, instruction_id: int, now) -> None:
    Message.objects.filter(
        recipient=actor,
        channel=Channel.IN_APP,
        state=MessageState.SENT,
        ref_type="work_instruction",
        ref_id=str(instruction_id),
    ).update(state=MessageState.READ, read_at=now)


@transaction.atomic
def instruction_mark_read(*, actor, instruction_id) -> InstructionReceipt:
    """The read receipt: the first time the recipient opens the instruction. Recorded on the
    receipt (``read_at``), not audited (a read changes nothing but the reader's own copy)."""
    receipt = _own_receipt(actor=actor, instruction_id=instruction_id)
    if receipt.read_at is None:
        receipt.read_at = timezone.now()
        receipt.save(update_fields=["read_at"])
        _read_inbox_copy(actor=actor, instruction_id=receipt.instruction_id, now=receipt.read_at)
    return receipt


@transaction.atomic
def instruction_acknowledge(*, actor, instruction_id, note: str = "") -> InstructionReceipt:
    """The recipient confirms receipt (签收), with an optional note; also after the deadline (the
    receipt shows it late). A second acknowledgement changes nothing. Audited."""
    receipt = _own_receipt(actor=actor, instruction_id=instruction_id)
    note = (note or "").strip()
    if len(note) > 500:
        message = _("说明不能超过 500 个字")
        raise ValidationFailed(message, code="note_too_long", fields={"note": [message]})
    if receipt.acknowledged_at is not None:
        return receipt
    now = timezone.now()
    receipt.read_at = receipt.read_at or now
    receipt.acknowledged_at, receipt.note = now, note
    receipt.save(update_fields=["read_at", "acknowledged_at", "note"])
    _read_inbox_copy(actor=actor, instruction_id=receipt.instruction_id, now=now)
    audit_record(
        actor=actor,
        action="work_instruction.acknowledge",
        obj=receipt.instruction,
        changes={"recipient": actor.pk, "late": now > receipt.instruction.deadline, "note": bool(note)},
    )
    return receipt


def _escalation_targets(department, overdue_ids: set[int], sender) -> list:
    """The department heads of ``department`` (to urge their staff); when every one of them is
    overdue himself (or there is none), also those of the nearest department above that has
    some, or failing that the sender."""
    from yiwang.identity.models import Role
    from yiwang.identity.selectors import department_ancestors, users_with_role

    targets: list = []
    if department is not None:
        for level in [department, *reversed(department_ancestors(department=department))]:
            heads = list(users_with_role(role=Role.DEPARTMENT_HEAD, department=level))
            targets += [h for h in heads if h not in targets]
            if any(h.pk not in overdue_ids for h in heads):
                return targets
    if sender.is_active and sender not in targets:
        targets.append(sender)
    return targets


def instruction_escalate_overdue(*, now=None) -> int:
    """Escalate every receipt not acknowledged by its instruction's deadline, once: the heads of
    the recipient's department (``_escalation_targets``) get the ``staff.instruction_overdue``
    notice listing who has not acknowledged, and the escalation is audited. Returns how many
    receipts were escalated. Idempotent: a receipt is claimed by one conditional UPDATE."""
    from yiwang.identity.models import Department, User

    now = now or timezone.now()
    due = (
        InstructionReceipt.objects.filter(
            acknowledged_at__isnull=True, escalated_at__isnull=True, instruction__deadline__lt=now
        )
        .order_by("instruction_id", "department_id", "pk")
        .values_list("instruction_id", "department_id", "pk", "recipient_id")
    )
    batches: dict[tuple[int, int | None], list[tuple[int, int]]] = {}
    for instruction_id, department_id, pk, recipient_id in due[:5000]:
        batches.setdefault((instruction_id, department_id), []).append((pk, recipient_id))
    escalated = 0
    for (instruction_id, department_id), rows in batches.items():
        with transaction.atomic():
            claimed = InstructionReceipt.objects.filter(
                pk__in=[pk for pk, _r in rows], escalated_at__isnull=True, acknowledged_at__isnull=True
            ).update(escalated_at=now)
            if not claimed:
                continue
            receipts = InstructionReceipt.objects.filter(pk__in=[pk for pk, _r in rows], escalated_at=now)
            overdue_ids = set(receipts.values_list("recipient_id", flat=True))
            instruction = WorkInstruction.objects.select_related("sender").get(pk=instruction_id)
            department = Department.objects.filter(pk=department_id).first() if department_id else None
            targets = _escalation_targets(department, overdue_ids, instruction.sender)
            names = [u.real_name or u.username for u in User.objects.filter(pk__in=overdue_ids).order_by("pk")]
            message_send_many(
                actor="task:escalate_instructions",
                recipients=targets,
                template_code="staff.instruction_overdue",
                context={
                    **_instruction_context(instruction),
                    "department_name": department.name if department else "",
                    "recipient_list": "、".join(names),
                },
                channels=[Channel.IN_APP, Channel.EMAIL],
                ref=Ref("work_instruction", instruction.pk, _instruction_url(instruction.pk)),
                dedupe_key=f"instruction:{instruction.pk}:overdue:{department_id or 0}:{now.isoformat()}",
            )
            audit_record(
                actor="task:escalate_instructions",
                action="work_instruction.escalate",
                obj=instruction,
                changes={
                    "department": department_id,
                    "recipients": sorted(overdue_ids),
                    "escalated_to": [u.pk for u in targets],
                },
            )
            escalated += len(overdue_ids)
    return escalated


def sms_send_unlogged(*, recipient, template_code: str, context: dict, ref: str = ""):
    """Send one SMS now through the gateway with the active SMS template ``template_code``,
    and keep **no** copy of its text: for one-time codes (the kiosk's sign-in code), whose
    text must not sit in the message log. Returns the gateway's ``Sent`` (masked address,
    receipt); raises ``Skip`` (nothing to send: no gateway, no phone, no template) or
    ``DeliveryError``. The caller logs and audits the sending itself."""
    from types import SimpleNamespace

    from yiwang.messaging.channels import Skip, send_sms

    template = Template.objects.filter(code=template_code, channel=Channel.SMS, active=True).first()
    if template is None:
        raise Skip(_("没有代码为 %(code)s 的消息模板") % {"code": template_code})
    body = _render(_ENGINE.from_string(template.body), context)
    return send_sms(message=SimpleNamespace(pk=ref, body=body, template_code=template_code), recipient=recipient)
