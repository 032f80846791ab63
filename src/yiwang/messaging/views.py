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
from django.views.decorators.http import require_POST

from yiwang.core.errors import NotFound
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
