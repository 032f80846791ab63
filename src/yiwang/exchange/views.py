"""Pages of the exchange (thin: every read a selector, every write a service).

Portal: the resource catalog (public, /exchange/catalog/) and 数据使用记录 with data disputes
(/my/data-usage/). Workbench (/workbench/exchange/): share requests both ways, grants, consuming
systems, disputes to verify.
"""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yiwang.core.errors import YiwangError
from yiwang.core.masking import mask_id_number
from yiwang.exchange import selectors, services
from yiwang.exchange.models import DataDispute, ShareRequest, ShareType
from yiwang.identity.models import User
from yiwang.identity.selectors import departments_for_actor


def _int(value) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _error_text(exc: YiwangError) -> str:
    return " ".join([str(exc.message), *[str(m) for ms in exc.fields.values() for m in ms]])


# --- portal ---------------------------------------------------------------------------------------


def catalog_page(request: HttpRequest) -> HttpResponse:
    rows = list(selectors.catalog_list())
    registries: dict[str, list] = {}
    for row in rows:
        registries.setdefault(row.registry, []).append(row)
    return render(request, "exchange/catalog.html", {"registries": registries})


@login_required
def usage_page(request: HttpRequest) -> HttpResponse:
    """数据使用记录: who read my records (or my enterprise's), and my data disputes."""
    if request.user.kind == User.Kind.STAFF:
        raise Http404
    labels = selectors.catalog_labels()
    reads = list(selectors.usage_for_subject(actor=request.user)[:200])
    for row in reads:
        row.labels = [labels.get((row.registry, f), f) for f in row.field_list]
    disputes = selectors.disputes_for_actor(actor=request.user)[:50]
    resources = selectors.catalog_list().exclude(share_type=ShareType.NOT_SHARED)
    if request.method == "POST":
        try:
            registry, _sep, field = request.POST.get("item", "").partition(":")
            services.dispute_raise(
                actor=request.user,
                registry=registry,
                key=request.POST.get("key", ""),
                field=field,
                reason=request.POST.get("reason", ""),
                claimed_value=request.POST.get("claimed_value", ""),
                evidence=request.FILES.get("evidence"),
            )
        except YiwangError as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, _("已提交数据异议,来源部门将在 5 个工作日内核实。"))
            return redirect("exchange_portal:usage")
    own_key = request.user.id_number if request.user.kind == User.Kind.CITIZEN else request.user.enterprise_uscc
    return render(
        request,
        "exchange/usage.html",
        {"reads": reads, "disputes": disputes, "resources": resources, "own_key": own_key},
    )


# --- workbench ------------------------------------------------------------------------------------


def _staff(request: HttpRequest) -> None:
    if request.user.kind != User.Kind.STAFF and not request.user.is_superuser:
        raise Http404


@login_required
def workbench_home(request: HttpRequest) -> HttpResponse:
    _staff(request)
    actor = request.user
    mine = set(departments_for_actor(actor=actor).values_list("pk", flat=True))
    requests = list(selectors.share_requests_for_actor(actor=actor)[:200])
    return render(
        request,
        "exchange/workbench.html",
        {
            "incoming": [r for r in requests if r.source_department_id in mine],
            "outgoing": [r for r in requests if r.consumer_department_id in mine],
            "grants": selectors.grants_for_actor(actor=actor)[:200],
            "systems": selectors.systems_for_actor(actor=actor),
            "disputes": selectors.disputes_for_actor(actor=actor).filter(source_department__in=mine)[:200],
            "departments": departments_for_actor(actor=actor).order_by("path")[:200],
            "new_secret": request.session.pop("exchange_new_secret", None),
        },
    )


@login_required
def request_new(request: HttpRequest) -> HttpResponse:
    _staff(request)
    departments = departments_for_actor(actor=request.user).order_by("path")
    resources = selectors.catalog_list().exclude(share_type=ShareType.NOT_SHARED)
    registry = request.GET.get("registry") or request.POST.get("registry") or ""
    context = {
        "departments": departments[:200],
        "systems": selectors.systems_for_actor(actor=request.user).filter(revoked_at__isnull=True),
        "registries": sorted({r.registry for r in resources}),
        "registry": registry,
        "resources": resources.filter(registry=registry) if registry else [],
        "default_until": datetime.date.today() + datetime.timedelta(days=365),
    }
    if request.method == "POST" and request.POST.get("submit"):
        department = departments.filter(pk=_int(request.POST.get("department"))).first()
        if department is None:
            messages.error(request, _("请选择申请部门"))
            return render(request, "exchange/request_new.html", context, status=422)
        system = None
        if request.POST.get("system"):
            system = context["systems"].filter(pk=request.POST["system"]).first()
        try:
            until = datetime.date.fromisoformat(request.POST.get("valid_until", ""))
        except ValueError:
            until = None
        try:
            made = services.share_request_create(
                actor=request.user,
                consumer_department=department,
                registry=registry,
                fields=request.POST.getlist("fields"),
                purpose=request.POST.get("purpose", ""),
                legal_basis=request.POST.get("legal_basis", ""),
                valid_until=until,
                system=system,
                unmasked_fields=request.POST.getlist("unmasked_fields"),
            )
        except YiwangError as exc:
            messages.error(request, _error_text(exc))
            return render(request, "exchange/request_new.html", context, status=422)
        messages.success(request, _("已提交 %(n)s 份共享申请。") % {"n": len(made)})
        return redirect("exchange_workbench:home")
    return render(request, "exchange/request_new.html", context)


@login_required
def request_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    _staff(request)
    try:
        share_request = selectors.share_request_get(actor=request.user, id=request_id)
    except YiwangError as exc:
        raise Http404 from exc
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "approve":
                services.share_request_approve(
                    actor=request.user, request=share_request, reason=request.POST.get("reason", "")
                )
            elif action == "refuse":
                services.share_request_refuse(
                    actor=request.user, request=share_request, reason=request.POST.get("reason", "")
                )
            else:
                raise Http404
        except YiwangError as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, _("已答复共享申请。"))
        return redirect("exchange_workbench:request", request_id=share_request.pk)
    labels = selectors.catalog_labels()
    share_request.labels = [labels.get((share_request.registry, f), f) for f in share_request.fields]
    return render(
        request,
        "exchange/request_detail.html",
        {"r": share_request, "pending": share_request.status == ShareRequest.Status.PENDING},
    )


@login_required
@require_POST
def grant_revoke(request: HttpRequest, grant_id: int) -> HttpResponse:
    _staff(request)
    try:
        grant = selectors.grant_get(actor=request.user, id=grant_id)
        services.grant_revoke(actor=request.user, grant=grant, reason=request.POST.get("reason", ""))
    except YiwangError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("已撤销授权。"))
    return redirect("exchange_workbench:home")


@login_required
@require_POST
def system_create(request: HttpRequest) -> HttpResponse:
    _staff(request)
    department = departments_for_actor(actor=request.user).filter(pk=_int(request.POST.get("department"))).first()
    if department is None:
        messages.error(request, _("请选择部门"))
        return redirect("exchange_workbench:home")
    try:
        system, secret = services.consumer_system_create(
            actor=request.user, department=department, name=request.POST.get("name", "")
        )
    except YiwangError as exc:
        messages.error(request, _error_text(exc))
    else:
        # Shown once on the next page, never stored in clear.
        request.session["exchange_new_secret"] = {"client_id": system.client_id, "secret": secret}
    return redirect("exchange_workbench:home")


@login_required
@require_POST
def system_revoke(request: HttpRequest, system_id: int) -> HttpResponse:
    _staff(request)
    try:
        services.consumer_system_revoke(
            actor=request.user, system=selectors.system_get(actor=request.user, id=system_id)
        )
    except YiwangError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("已停用接入系统。"))
    return redirect("exchange_workbench:home")


@login_required
@require_POST
def system_certificate(request: HttpRequest, system_id: int) -> HttpResponse:
    """Bind (or, empty, unbind) a system's credential to a client certificate: mutual TLS."""
    _staff(request)
    try:
        system = services.consumer_system_bind_certificate(
            actor=request.user,
            system=selectors.system_get(actor=request.user, id=system_id),
            certificate=request.POST.get("certificate", ""),
        )
    except YiwangError as exc:
        messages.error(request, _error_text(exc))
    else:
        if system.client_cert_sha256:
            messages.success(request, _("已绑定客户端证书,该系统此后须经双向 TLS 访问网关。"))
        else:
            messages.success(request, _("已解除客户端证书绑定。"))
    return redirect("exchange_workbench:home")


@login_required
def dispute_detail(request: HttpRequest, dispute_id: int) -> HttpResponse:
    _staff(request)
    try:
        dispute = selectors.dispute_get(actor=request.user, id=dispute_id)
    except YiwangError as exc:
        raise Http404 from exc
    if request.method == "POST":
        try:
            if request.POST.get("action") == "correct":
                services.dispute_correct(
                    actor=request.user,
                    dispute=dispute,
                    value=request.POST.get("value", ""),
                    reason=request.POST.get("reason", ""),
                )
            else:
                services.dispute_reject(actor=request.user, dispute=dispute, reason=request.POST.get("reason", ""))
        except YiwangError as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, _("已处理数据异议。"))
        return redirect("exchange_workbench:dispute", dispute_id=dispute.pk)
    dispute.masked_key = mask_id_number(dispute.record_key)
    return render(
        request, "exchange/dispute_detail.html", {"d": dispute, "open": dispute.status == DataDispute.Status.OPEN}
    )
