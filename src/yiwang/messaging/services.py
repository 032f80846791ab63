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
from yiwang.core.errors import NotFound, ValidationFailed
from yiwang.messaging.channels import SENDERS, DeliveryError, Skip
from yiwang.messaging.models import (
    Channel,
    Delivery,
    DeliveryOutcome,
    Message,
    MessageState,
    NotificationPreference,
    Template,
    TemplateKind,
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
