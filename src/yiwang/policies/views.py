"""Policy pages (thin): /policies/ (the library; for an enterprise, 政策计算器 and its benefits) and
/workbench/policies/ (the 免申即享 lists to review, confirmation, the payment batch and its answer)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from yiwang.core.errors import NotFound, YiwangError
from yiwang.policies import selectors, services


def _error_text(exc: YiwangError) -> str:
    return " ".join([str(exc.message), *[str(m) for ms in exc.fields.values() for m in ms]])


@require_GET
def library_page(request: HttpRequest) -> HttpResponse:
    lines, total, error = None, None, ""
    if request.user.is_authenticated and request.user.enterprise_uscc:
        try:
            lines, total = selectors.calculator(actor=request.user)
        except YiwangError as exc:
            error = _error_text(exc)
    return render(
        request,
        "policies/library.html",
        {
            "policies": selectors.policies_published().prefetch_related("benefits")[:100],
            "lines": lines,
            "total": total,
            "error": error,
            "awards": selectors.awards_of_enterprise(actor=request.user)[:100],
        },
    )


@login_required
@require_GET
def workbench_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "policies/workbench.html",
        {
            "awards": selectors.awards_to_review(actor=request.user).order_by("status", "benefit_id", "uscc")[:500],
            "batches": selectors.batches_for_department(actor=request.user)[:50],
        },
    )


def _act(request, get, act) -> HttpResponse:
    try:
        obj = get()
    except NotFound:
        return render(request, "404.html", status=404)
    try:
        act(obj)
        messages.success(request, _("已处理。"))
    except YiwangError as exc:
        messages.error(request, _error_text(exc))
    return redirect("policies:workbench")


@login_required
@require_POST
def award_review(request: HttpRequest, id: int) -> HttpResponse:
    return _act(
        request,
        lambda: selectors.award_get_for_review(actor=request.user, id=id),
        lambda award: services.award_review(
            actor=request.user, award=award, include=request.POST.get("decision") == "include"
        ),
    )


@login_required
@require_POST
def benefit_confirm(request: HttpRequest, id: int) -> HttpResponse:
    return _act(
        request,
        lambda: selectors.benefit_get_for_department(actor=request.user, id=id),
        lambda benefit: services.awards_confirm(actor=request.user, benefit=benefit),
    )


@login_required
@require_GET
def batch_file(request: HttpRequest, id: int) -> HttpResponse:
    try:
        batch = selectors.batch_get_for_department(actor=request.user, id=id)
    except NotFound:
        return render(request, "404.html", status=404)
    response = HttpResponse(
        bytes(batch.file), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="payment-batch-{batch.pk}.xlsx"'
    return response


@login_required
@require_POST
def batch_import(request: HttpRequest, id: int) -> HttpResponse:
    upload = request.FILES.get("file")
    return _act(
        request,
        lambda: selectors.batch_get_for_department(actor=request.user, id=id),
        lambda batch: services.payment_batch_import(
            actor=request.user, batch=batch, content=upload.read() if upload else b""
        ),
    )
