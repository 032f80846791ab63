"""Channel pages. Portal: the applicant chooses delivery by post and follows the tracking.
Workbench: the cross-region forwards of the clerk's hall or the handling department, the forward
form of a case (异地代收), and handing results to the courier. Thin: selectors read, services
write; a case or record the actor may not see is 404; errors stand next to their field."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yiwang.cases import selectors as case_selectors
from yiwang.cases import services as case_services
from yiwang.channels import selectors, services
from yiwang.channels.models import ReturnMethod
from yiwang.core.errors import NotFound, YiwangError
from yiwang.identity.models import User

ADDRESS_FIELDS = ("recipient_name", "recipient_phone", "address", "region_code", "postal_code")


def _case(request: HttpRequest, case_id: int):
    try:
        return case_selectors.case_get(actor=request.user, case_id=case_id)
    except NotFound as exc:
        raise Http404 from exc


def _require_staff(request: HttpRequest) -> None:
    if request.user.kind != User.Kind.STAFF:
        raise Http404


def _tracking_context(delivery) -> dict:
    if delivery is None:
        return {"delivery": None, "tracking": []}
    return {
        "delivery": selectors.postal_shown(delivery),
        "tracking": list(selectors.postal_tracking(delivery=delivery)),
    }


@login_required
def postal(request: HttpRequest, case_id: int) -> HttpResponse:
    """The applicant's (or serving clerk's) choice of delivery by post, and the tracking."""
    case = _case(request, case_id)
    values = {name: "" for name in ADDRESS_FIELDS}
    errors: dict = {}
    error = ""
    status = 200
    if request.method == "POST":
        values = {name: request.POST.get(name, "") for name in ADDRESS_FIELDS}
        try:
            services.postal_request(
                actor=request.user, case_id=case.pk, from_registry=request.POST.get("from_registry") == "1", **values
            )
        except YiwangError as exc:
            error, errors, status = str(exc.message), exc.fields, exc.status
        else:
            messages.success(request, _("已选择邮寄送达,办理结果将寄往您填写的地址。"))
            return redirect("channels:postal", case_id=case.pk)
    context = {
        "case": case,
        "values": values,
        "errors": {k: v if isinstance(v, list | tuple) else [v] for k, v in errors.items()},
        "error": error,
        **_tracking_context(selectors.postal_for_case(actor=request.user, case_id=case.pk)),
    }
    return render(request, "channels/postal.html", context, status=status)


@login_required
def workbench(request: HttpRequest) -> HttpResponse:
    """The forwards and postal deliveries the member of staff may see."""
    _require_staff(request)
    return render(
        request,
        "channels/workbench.html",
        {
            "forwards": selectors.forward_list(actor=request.user)[:100],
            "deliveries": [selectors.postal_shown(d) for d in selectors.postal_list(actor=request.user)[:100]],
            "remote_forwards": selectors.remote_forward_list(actor=request.user)[:100],
        },
    )


@login_required
def forward(request: HttpRequest, case_id: int) -> HttpResponse:
    """异地代收: the receiving window confirms its checks and forwards the case."""
    _require_staff(request)
    case = _case(request, case_id)
    existing = selectors.forward_for_case(case_id=case.pk)
    remote = selectors.remote_forward_for_case(case_id=case.pk)
    errors: dict = {}
    error = ""
    status = 200
    remote_errors: dict = {}
    remote_error = ""
    remote_values = {"peer": "", "item_code": "", "reason": "", "return_method": ReturnMethod.WINDOW}
    if request.method == "POST" and request.POST.get("action") == "remote" and existing is None and remote is None:
        remote_values = {name: request.POST.get(name, "").strip() for name in remote_values}
        try:
            services.case_forward_remote(
                actor=request.user,
                case_id=case.pk,
                peer_id=remote_values["peer"],
                item_code=remote_values["item_code"],
                reason=remote_values["reason"],
                return_method=remote_values["return_method"] or ReturnMethod.WINDOW,
            )
        except NotFound as exc:
            raise Http404 from exc
        except YiwangError as exc:
            remote_error, remote_errors, status = str(exc.message), exc.fields, exc.status
        else:
            messages.success(request, _("已转对端一网平台办理。"))
            return redirect("channels_workbench:forward", case_id=case.pk)
    elif request.method == "POST" and existing is None and remote is None:
        try:
            services.forward_create(
                actor=request.user,
                case_id=case.pk,
                identity_checked=request.POST.get("identity_checked") == "on",
                materials_checked=request.POST.get("materials_checked") == "on",
                return_method=request.POST.get("return_method", ReturnMethod.WINDOW),
                note=request.POST.get("note", ""),
            )
        except NotFound as exc:
            raise Http404 from exc
        except YiwangError as exc:
            error, errors, status = str(exc.message), exc.fields, exc.status
        else:
            messages.success(request, _("已转办理地办理。"))
            return redirect("channels_workbench:forward", case_id=case.pk)
    context = {
        "case": case,
        "forward": existing,
        "return_methods": ReturnMethod.choices,
        "errors": {k: v if isinstance(v, list | tuple) else [v] for k, v in errors.items()},
        "error": error,
        "materials": case_selectors.case_materials(case=case),
        "postal": selectors.postal_for_case(actor=request.user, case_id=case.pk),
        "is_clerk": case_services.is_window_clerk(request.user, case),
        "remote": remote,
        "peers": list(services.peers_for_forwarding()),
        "remote_values": remote_values,
        "remote_errors": {k: v if isinstance(v, list | tuple) else [v] for k, v in remote_errors.items()},
        "remote_error": remote_error,
    }
    return render(request, "channels/forward.html", context, status=status)


def _post_action(request: HttpRequest, call, back) -> HttpResponse:
    try:
        call()
    except NotFound as exc:
        raise Http404 from exc
    except YiwangError as exc:
        messages.error(request, str(exc.message))
    return redirect(back)


@login_required
@require_POST
def forward_receive(request: HttpRequest, forward_id: int) -> HttpResponse:
    _require_staff(request)
    return _post_action(
        request,
        lambda: services.forward_receive(actor=request.user, forward_id=forward_id),
        "channels_workbench:index",
    )


@login_required
@require_POST
def dispatch(request: HttpRequest, delivery_id: int) -> HttpResponse:
    _require_staff(request)
    return _post_action(
        request,
        lambda: services.postal_dispatch(actor=request.user, delivery_id=delivery_id),
        "channels_workbench:index",
    )


@login_required
@require_POST
def refresh(request: HttpRequest, delivery_id: int) -> HttpResponse:
    _require_staff(request)
    return _post_action(
        request,
        lambda: services.tracking_refresh(actor=request.user, delivery_id=delivery_id),
        "channels_workbench:index",
    )


# --- other installations (跨省通办 between installations), the system administrator's ------------

PEER_FIELDS = ("code", "name", "region_prefix", "base_url", "client_id", "inbound_client_id", "inbound_clerk")


def _require_superuser(request: HttpRequest) -> None:
    if not request.user.is_superuser:
        raise Http404


@login_required
def peers(request: HttpRequest) -> HttpResponse:
    """The registered installations, and the applications forwarded to them from here."""
    _require_superuser(request)
    return render(
        request,
        "channels/peers.html",
        {"peers": selectors.peer_list(), "remote_forwards": selectors.remote_forward_list(actor=request.user)[:100]},
    )


@login_required
def peer_edit(request: HttpRequest, peer_id: int | None = None) -> HttpResponse:
    """Register or change an installation. The secret is never shown; left empty it is kept."""
    _require_superuser(request)
    peer = selectors.peer_get(peer_id=peer_id) if peer_id is not None else None
    if peer_id is not None and peer is None:
        raise Http404
    values = {name: "" for name in PEER_FIELDS}
    values["is_active"] = True
    if peer is not None:
        values.update({name: getattr(peer, name) or "" for name in PEER_FIELDS if name != "inbound_clerk"})
        values["inbound_clerk"] = peer.inbound_clerk.username if peer.inbound_clerk_id else ""
        values["is_active"] = peer.is_active
    errors: dict = {}
    error = ""
    status = 200
    if request.method == "POST":
        values = {name: request.POST.get(name, "").strip() for name in PEER_FIELDS}
        values["is_active"] = request.POST.get("is_active") == "on"
        if peer is not None:
            values["code"] = peer.code  # the code names the peer; it is not changed here
        clerk = None
        if values["inbound_clerk"]:
            clerk = User.objects.filter(username=values["inbound_clerk"], kind=User.Kind.STAFF, is_active=True).first()
        try:
            if values["inbound_clerk"] and clerk is None:
                from yiwang.core.errors import ValidationFailed

                raise ValidationFailed(
                    _("对端平台配置有误,请检查标出的项目。"),
                    code="peer_invalid",
                    fields={"inbound_clerk": _("没有该工作人员账号")},
                )
            saved = services.peer_save(
                actor=request.user,
                code=values["code"],
                name=values["name"],
                region_prefix=values["region_prefix"],
                base_url=values["base_url"],
                client_id=values["client_id"],
                client_secret=request.POST.get("client_secret") or None,
                inbound_client_id=values["inbound_client_id"],
                inbound_clerk=clerk,
                is_active=values["is_active"],
            )
        except YiwangError as exc:
            error, errors, status = str(exc.message), exc.fields, exc.status
        else:
            messages.success(request, _("已保存对端平台 %(name)s。") % {"name": saved.name})
            return redirect("channels_workbench:peers")
    context = {
        "peer": peer,
        "values": values,
        "errors": {k: v if isinstance(v, list | tuple) else [v] for k, v in errors.items()},
        "error": error,
    }
    return render(request, "channels/peer_form.html", context, status=status)
