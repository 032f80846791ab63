"""Inbox pages: the portal's ``/messages/`` and the workbench's ``/workbench/messages/``.

Both list the signed-in person's own in-app messages (newest first, unread highlighted), link
to what each is about, and mark one or all read (plain POST, or htmx swapping the one entry
and the header's badge). The workbench inbox exists only for staff; for anyone else it is a
404, like the rest of the workbench.
"""

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.messaging import selectors, services

PAGE_SIZE = 20
FRONTS = {
    "portal": {"namespace": "messaging", "title": gettext_lazy("我的消息")},
    "workbench": {"namespace": "messaging_workbench", "title": gettext_lazy("消息中心")},
}


def _check_front(request: HttpRequest, front: str) -> dict:
    if front == "workbench" and request.user.kind != "staff":
        raise Http404
    return FRONTS[front]


def _filter(request: HttpRequest) -> bool | None:
    return True if request.GET.get("filter") == "unread" else None


@login_required
def inbox(request: HttpRequest, front: str = "portal") -> HttpResponse:
    conf = _check_front(request, front)
    unread_only = _filter(request)
    page = Paginator(selectors.message_list(actor=request.user, unread=unread_only), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "messaging/inbox.html",
        {
            "page": page,
            "ns": conf["namespace"],
            "title": conf["title"],
            "unread_only": bool(unread_only),
            "front": front,
        },
    )


@login_required
@require_POST
def mark_read(request: HttpRequest, message_id: int, front: str = "portal") -> HttpResponse:
    conf = _check_front(request, front)
    try:
        message = services.message_mark_read(actor=request.user, message_id=message_id)
    except NotFound as exc:
        raise Http404 from exc
    if request.htmx:
        return render(
            request,
            "messaging/_read_response.html",
            {"message": message, "ns": conf["namespace"], "unread_count": selectors.unread_count(actor=request.user)},
        )
    return redirect(_inbox_url(conf))


@login_required
@require_POST
def mark_all_read(request: HttpRequest, front: str = "portal") -> HttpResponse:
    conf = _check_front(request, front)
    count = services.message_mark_all_read(actor=request.user)
    flash.success(request, _("已将 %(count)d 条消息标为已读。") % {"count": count} if count else _("没有未读消息。"))
    return redirect(_inbox_url(conf))


@login_required
def preferences(request: HttpRequest, front: str = "portal") -> HttpResponse:
    """E-mail and SMS on or off (two checkboxes); in-app and legal notices are always on."""
    conf = _check_front(request, front)
    if request.method == "POST":
        services.notification_preferences_update(
            actor=request.user, email=request.POST.get("email") == "on", sms=request.POST.get("sms") == "on"
        )
        flash.success(request, _("通知设置已保存。"))
        return redirect(reverse(f"{conf['namespace']}:preferences"))
    return render(
        request,
        "messaging/preferences.html",
        {
            "preference": selectors.notification_preferences(actor=request.user),
            "ns": conf["namespace"],
            "title": _("通知设置"),
            "front": front,
            "has_email": bool(request.user.email),
            "has_phone": bool(request.user.phone),
        },
    )


def _inbox_url(conf: dict) -> str:
    return reverse(f"{conf['namespace']}:inbox")


# --- staff chat and work instructions (workbench only) ---------------------------------------
# Pages that update themselves by htmx polling (``hx-trigger="every …"``): the group list's
# unread counts, a conversation's new messages, the receipt board. No JavaScript: every form
# still works as a plain POST and a reload shows what is new.

CHAT_POLL_SECONDS = 3
CHAT_POLL_OVERLAP_SECONDS = 10  # a poll asks for the changes of a little more than since its last look
# What a task or incident group may be about (``ChatGroup.ref_type``; the API takes any key).
REF_TYPES = (
    ("hotline_ticket", gettext_lazy("12345 热线工单")),
    ("case", gettext_lazy("办件")),
    ("oversight_task", gettext_lazy("督办任务")),
    ("other", gettext_lazy("其他")),
)
BOARD_POLL_SECONDS = 10


def _staff_only(request: HttpRequest) -> None:
    if getattr(request.user, "kind", "") != "staff":
        raise Http404


def _errors(exc: ValidationFailed) -> dict:
    fields = exc.fields or {}
    errors = {key: value if isinstance(value, list | tuple) else [value] for key, value in fields.items()}
    if not errors:
        errors["form"] = [str(exc.message)]
    return errors


@login_required
@require_safe
def chat_list(request: HttpRequest) -> HttpResponse:
    """My groups with unread counts; the list refreshes itself (htmx) every few seconds."""
    _staff_only(request)
    if not request.htmx:
        services.chat_department_groups_ensure(actor=request.user)
    groups = list(selectors.chat_group_list(actor=request.user))
    template = "messaging/chat/_group_list.html" if request.htmx else "messaging/chat/list.html"
    return render(
        request,
        template,
        {
            "groups": groups,
            "poll_seconds": CHAT_POLL_SECONDS * 2,
            "pending_instructions": selectors.instruction_pending_count(actor=request.user),
            "may_send": services.instruction_may_send(request.user),
        },
    )


@login_required
def chat_new(request: HttpRequest) -> HttpResponse:
    """Create a task or incident group and invite colleagues (by username)."""
    _staff_only(request)
    errors: dict = {}
    values = {"name": "", "kind": "task", "ref_type": "", "ref_id": "", "members": ""}
    if request.method == "POST":
        values = {key: request.POST.get(key, "").strip() for key in values}
        try:
            member_ids = _usernames_to_ids(values["members"], field="members")
            group = services.chat_group_create(
                actor=request.user,
                name=values["name"],
                kind=values["kind"],
                ref_type=values["ref_type"],
                ref_id=values["ref_id"],
                member_ids=member_ids,
            )
        except ValidationFailed as exc:
            errors = _errors(exc)
        else:
            flash.success(request, _("工作群已建立。"))
            return redirect(reverse("messaging_workbench:chat_room", args=[group.pk]))
    return render(
        request,
        "messaging/chat/new.html",
        {"values": values, "errors": errors, "ref_types": REF_TYPES},
        status=422 if errors else 200,
    )


def _usernames_to_ids(text: str, *, field: str) -> list[int]:
    """Staff ids of the usernames in ``text`` (separated by spaces, commas or 、)."""
    import re

    from yiwang.identity.models import User

    names = [n for n in re.split(r"[\s,，、;；]+", text or "") if n]
    if not names:
        return []
    found = dict(
        User.objects.filter(username__in=names, is_active=True, kind=User.Kind.STAFF).values_list("username", "pk")
    )
    missing = [n for n in names if n not in found]
    if missing:
        message = _("未找到工作人员:%(names)s") % {"names": "、".join(missing)}
        raise ValidationFailed(message, code="staff_not_found", fields={field: [message]})
    return [found[n] for n in dict.fromkeys(names)]


def _poll_since() -> int:
    """The moment a page's next poll asks for changes from (µs since the epoch): a little
    before now, so a change committed while this request ran is not missed (sent twice at
    worst; swapping a message in again changes nothing)."""
    import time

    return int((time.time() - CHAT_POLL_OVERLAP_SECONDS) * 1_000_000)


def _since(value):
    import datetime

    try:
        micros = int(value)
    except (TypeError, ValueError):
        return None
    if micros <= 0:
        return None
    try:
        return datetime.datetime.fromtimestamp(micros / 1_000_000, tz=datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _change_after():
    """Messages created after this moment may still be edited or recalled by their author."""
    import datetime

    from django.utils import timezone

    return timezone.now() - datetime.timedelta(minutes=services.chat_change_minutes())


def _room_context(request: HttpRequest, group, *, errors=None, body: str = "") -> dict:
    messages = selectors.chat_messages(actor=request.user, group_id=group.pk)
    last_id = messages[-1].pk if messages else 0
    return {
        "since": _poll_since(),
        "change_after": _change_after(),
        "group": group,
        "chat_messages": messages,
        "last_id": last_id,
        "members": selectors.chat_group_members(group=group),
        "errors": errors or {},
        "body": body,
        "poll_seconds": CHAT_POLL_SECONDS,
        "max_mb": services.chat_attachment_max_bytes() // (1024 * 1024),
        "is_owner": group.created_by_id == request.user.pk,
    }


def _group_or_404(request: HttpRequest, group_id: int):
    _staff_only(request)
    try:
        return selectors.chat_group_get(actor=request.user, group_id=group_id)
    except NotFound as exc:
        raise Http404 from exc


@login_required
@require_safe
def chat_room(request: HttpRequest, group_id: int) -> HttpResponse:
    """A conversation: the last messages, a send box, and new messages as they come (polling)."""
    group = _group_or_404(request, group_id)
    context = _room_context(request, group)
    services.chat_group_mark_read(actor=request.user, group_id=group.pk, up_to=context["last_id"])
    return render(request, "messaging/chat/room.html", context)


@login_required
@require_safe
def chat_poll(request: HttpRequest, group_id: int) -> HttpResponse:
    """The messages after ``?after=<id>`` and a new poller (htmx swaps the old one out); read."""
    group = _group_or_404(request, group_id)
    return _new_messages(request, group, request.GET.get("after"))


def _new_messages(request: HttpRequest, group, after, *, errors=None, status=200) -> HttpResponse:
    try:
        after = max(0, int(after or 0))
    except (TypeError, ValueError):
        after = 0
    since = _poll_since()
    changed = selectors.chat_messages_changed(
        actor=request.user,
        group_id=group.pk,
        upto=after,
        since=_since(request.GET.get("since") or request.POST.get("since")),
    )
    # One's own changes came back with the edit itself; re-sending them would close an open
    # 编辑 / 撤回 box under the author's hands at every poll of the overlap.
    changed = [m for m in changed if m.author_id != request.user.pk]
    new = selectors.chat_messages(actor=request.user, group_id=group.pk, after=after, limit=200)
    last_id = new[-1].pk if new else after
    if new:
        services.chat_group_mark_read(actor=request.user, group_id=group.pk, up_to=last_id)
    return render(
        request,
        "messaging/chat/_poll.html",
        {
            "group": group,
            "chat_messages": new,
            "changed_messages": changed,
            "last_id": last_id,
            "since": since,
            "change_after": _change_after(),
            "poll_seconds": CHAT_POLL_SECONDS,
        },
        status=status,
    )


@login_required
@require_POST
def chat_send(request: HttpRequest, group_id: int) -> HttpResponse:
    """Send text and/or a file. htmx: the new messages (own included) and the cleared form;
    errors next to the field (422). Without JavaScript: back to the conversation."""
    group = _group_or_404(request, group_id)
    body = request.POST.get("body", "")
    try:
        services.chat_message_post(
            actor=request.user, group_id=group.pk, body=body, attachment=request.FILES.get("attachment")
        )
    except ValidationFailed as exc:
        errors = _errors(exc)
        if request.htmx:
            response = render(
                request,
                "messaging/chat/_send_form.html",
                {"group": group, "errors": errors, "body": body, "max_mb": services.chat_attachment_max_bytes() >> 20},
            )  # 200: htmx swaps only successful answers; the form comes back with the errors
            response["HX-Retarget"] = "#chat-send"
            response["HX-Reswap"] = "outerHTML"
            return response
        context = _room_context(request, group, errors=errors, body=body)
        return render(request, "messaging/chat/room.html", context, status=422)
    if request.htmx:
        return _new_messages(request, group, request.POST.get("after"))
    return redirect(reverse("messaging_workbench:chat_room", args=[group.pk]))


def _chat_message_changed(request: HttpRequest, message_id: int, change) -> HttpResponse:
    """Edit or recall one's own message: htmx gets the message again (changed, or with the
    error under it); without JavaScript, back to the conversation with a notice."""
    _staff_only(request)
    try:
        message = change()
    except NotFound as exc:
        raise Http404 from exc
    except (Forbidden, ValidationFailed, Conflict) as exc:
        message = selectors.chat_message_get(actor=request.user, message_id=message_id)
        if request.htmx:
            return render(
                request,
                "messaging/chat/_message.html",
                {"m": message, "change_after": _change_after(), "change_error": str(exc.message), "editing": True},
                status=200,  # htmx swaps only successful answers: the message comes back with the error
            )
        flash.error(request, str(exc.message))
        return redirect(reverse("messaging_workbench:chat_room", args=[message.group_id]))
    if request.htmx:
        return render(request, "messaging/chat/_message.html", {"m": message, "change_after": _change_after()})
    flash.success(request, _("消息已撤回。") if message.recalled_at else _("消息已修改。"))
    return redirect(reverse("messaging_workbench:chat_room", args=[message.group_id]))


@login_required
@require_POST
def chat_message_edit(request: HttpRequest, chat_message_id: int) -> HttpResponse:
    """Change the text of one's own message (within ``YIWANG_CHAT_CHANGE_MINUTES``)."""
    return _chat_message_changed(
        request,
        chat_message_id,
        lambda: services.chat_message_edit(
            actor=request.user, message_id=chat_message_id, body=request.POST.get("body", "")
        ),
    )


@login_required
@require_POST
def chat_message_recall(request: HttpRequest, chat_message_id: int) -> HttpResponse:
    """Recall (撤回) one's own message (within ``YIWANG_CHAT_CHANGE_MINUTES``)."""
    return _chat_message_changed(
        request, chat_message_id, lambda: services.chat_message_recall(actor=request.user, message_id=chat_message_id)
    )


@login_required
@require_POST
def chat_members(request: HttpRequest, group_id: int) -> HttpResponse:
    """Invite (``username``) or remove (``remove`` = user id; one's own id: leave)."""
    group = _group_or_404(request, group_id)
    try:
        if request.POST.get("remove"):
            services.chat_member_remove(actor=request.user, group_id=group.pk, user_id=request.POST["remove"])
            if str(request.user.pk) == request.POST["remove"]:
                flash.success(request, _("您已退出该群。"))
                return redirect(reverse("messaging_workbench:chat"))
            flash.success(request, _("已移出该成员。"))
        else:
            user_ids = _usernames_to_ids(request.POST.get("username", ""), field="username")
            if not user_ids:
                raise ValidationFailed(fields={"username": [_("请输入要邀请的工作人员用户名")]})
            for user_id in user_ids:
                services.chat_member_add(actor=request.user, group_id=group.pk, user_id=user_id)
            flash.success(request, _("已邀请入群。"))
    except ValidationFailed as exc:
        errors = _errors(exc)
        return render(request, "messaging/chat/room.html", _room_context(request, group, errors=errors), status=422)
    except Forbidden as exc:
        flash.error(request, str(exc.message))
    return redirect(reverse("messaging_workbench:chat_room", args=[group.pk]))


@login_required
@require_safe
def chat_attachment(request: HttpRequest, chat_message_id: int):
    _staff_only(request)
    from yiwang.messaging.api import _attachment_response

    try:
        message = selectors.chat_attachment_get(actor=request.user, message_id=chat_message_id)
    except NotFound as exc:
        raise Http404 from exc
    return _attachment_response(message)


# --- work instructions ---


@login_required
@require_safe
def instructions(request: HttpRequest) -> HttpResponse:
    """Received instructions (not yet acknowledged first) and, for a sender, those sent."""
    _staff_only(request)
    return render(
        request,
        "messaging/instructions/list.html",
        {
            "receipts": selectors.instruction_inbox(actor=request.user)[:100],
            "sent": selectors.instruction_sent_list(actor=request.user)[:100],
            "may_send": services.instruction_may_send(request.user),
        },
    )


@login_required
def instruction_new(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    if not services.instruction_may_send(request.user):
        raise Http404
    import uuid

    errors: dict = {}
    values = {"title": "", "body": "", "deadline": "", "users": "", "request_key": uuid.uuid4().hex}
    chosen: list[str] = []
    if request.method == "POST":
        values = {key: request.POST.get(key, "").strip() for key in values}
        chosen = request.POST.getlist("department_ids")
        try:
            user_ids = _usernames_to_ids(values["users"], field="users")
            instruction = services.instruction_send(
                actor=request.user,
                title=values["title"],
                body=values["body"],
                deadline=values["deadline"],
                department_ids=chosen,
                user_ids=user_ids,
                request_key=values["request_key"],
            )
        except ValidationFailed as exc:
            errors = _errors(exc)
            if "user_ids" in errors:
                errors["users"] = errors.pop("user_ids")
        else:
            flash.success(request, _("工作指令已发送。"))
            return redirect(reverse("messaging_workbench:instruction", args=[instruction.pk]))
    return render(
        request,
        "messaging/instructions/new.html",
        {
            "values": values,
            "errors": errors,
            "chosen": chosen,
            "departments": selectors.instruction_department_choices(actor=request.user),
        },
        status=422 if errors else 200,
    )


def _instruction_or_404(request: HttpRequest, instruction_id: int):
    _staff_only(request)
    try:
        return selectors.instruction_get(actor=request.user, instruction_id=instruction_id)
    except NotFound as exc:
        raise Http404 from exc


@login_required
@require_safe
def instruction(request: HttpRequest, instruction_id: int) -> HttpResponse:
    """A recipient reads it (the read receipt) and acknowledges it; the sender sees the board."""
    found = _instruction_or_404(request, instruction_id)
    if found.receipt is not None and found.receipt.read_at is None:
        found.receipt = services.instruction_mark_read(actor=request.user, instruction_id=found.pk)
    context = {"instruction": found, "receipt": found.receipt, "errors": {}, "poll_seconds": BOARD_POLL_SECONDS}
    if found.sender_id == request.user.pk:
        _found, receipts, counts = selectors.instruction_receipts(actor=request.user, instruction_id=found.pk)
        context |= {"receipts": receipts, "counts": counts}
    return render(request, "messaging/instructions/detail.html", context)


@login_required
@require_safe
def instruction_board(request: HttpRequest, instruction_id: int) -> HttpResponse:
    """The receipt board alone (the sender's page polls it)."""
    _staff_only(request)
    try:
        found, receipts, counts = selectors.instruction_receipts(actor=request.user, instruction_id=instruction_id)
    except NotFound as exc:
        raise Http404 from exc
    return render(
        request,
        "messaging/instructions/_board.html",
        {"instruction": found, "receipts": receipts, "counts": counts, "poll_seconds": BOARD_POLL_SECONDS},
    )


@login_required
@require_POST
def instruction_ack(request: HttpRequest, instruction_id: int) -> HttpResponse:
    found = _instruction_or_404(request, instruction_id)
    try:
        services.instruction_acknowledge(actor=request.user, instruction_id=found.pk, note=request.POST.get("note", ""))
    except NotFound as exc:  # the sender, who is not a recipient
        raise Http404 from exc
    except ValidationFailed as exc:
        context = {"instruction": found, "receipt": found.receipt, "errors": _errors(exc)}
        return render(request, "messaging/instructions/detail.html", context, status=422)
    flash.success(request, _("已确认收到。"))
    return redirect(reverse("messaging_workbench:instruction", args=[found.pk]))
