"""Pages: the payer's bill (去缴费, the return from the cashier, the receipt), the channel's
callback, the public receipt check; the workbench's bill list, raise / cancel / refund and the
reconciliation reports. Thin: every decision is in ``services`` / ``selectors``."""

from __future__ import annotations

import datetime
import json

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from yiwang.cases import selectors as case_selectors
from yiwang.core.errors import NotFound, YiwangError
from yiwang.core.masking import mask_name
from yiwang.core.ratelimit import rate_limit
from yiwang.identity.models import User
from yiwang.payments import selectors, services
from yiwang.payments.models import BillState, PaymentState


def _bill_or_404(request, bill_id):
    try:
        return selectors.bill_get(actor=request.user, bill_id=bill_id)
    except NotFound as exc:
        raise Http404 from exc


def _qr_svg(text: str) -> str:
    return segno.make(text, error="m").svg_inline(scale=4)


# --------------------------------------------------------------------------------- the payer


@require_GET
@login_required
def bill(request: HttpRequest, bill_id: int) -> HttpResponse:
    found = _bill_or_404(request, bill_id)
    context = {
        "bill": found,
        "is_payer": found.payer_id == request.user.pk,
        "payer_shown": found.payer_name if found.payer_id == request.user.pk else mask_name(found.payer_name),
        "qr": _qr_svg(found.payment_code),
        "receipt": selectors.receipt_for_bill(bill=found),
        "payments": selectors.bill_payments(bill=found) if request.user.kind == User.Kind.STAFF else [],
    }
    return render(request, "payments/bill.html", context)


@login_required
@require_POST
def bill_pay(request: HttpRequest, bill_id: int) -> HttpResponse:
    try:
        payment = services.bill_pay_start(actor=request.user, bill_id=bill_id)
    except NotFound as exc:
        raise Http404 from exc
    except YiwangError as exc:
        messages.error(request, exc.message)
        return redirect("payments:bill", bill_id=bill_id)
    return redirect(payment.cashier_url)


@require_GET
@login_required
def bill_return(request: HttpRequest, bill_id: int) -> HttpResponse:
    """Back from the cashier. The callback usually came first; if not, ask the channel now."""
    found = _bill_or_404(request, bill_id)
    if found.state == BillState.OPEN:
        pending = selectors.bill_payments(bill=found).filter(state=PaymentState.PENDING).first()
        if pending is not None:
            try:
                services.payment_query(actor=request.user, payment_id=pending.pk)
            except YiwangError as exc:
                messages.warning(request, exc.message)
        found = _bill_or_404(request, bill_id)
    if found.state == BillState.PAID:
        messages.success(request, _("缴费成功,电子票据已开具。"))
    elif found.state == BillState.OPEN:
        messages.info(request, _("尚未收到支付结果。如已付款,请稍后刷新本页。"))
    return redirect("payments:bill", bill_id=bill_id)


@require_GET
@login_required
def receipt_pdf(request: HttpRequest, bill_id: int) -> HttpResponse:
    found = _bill_or_404(request, bill_id)
    receipt = selectors.receipt_for_bill(bill=found)
    if receipt is None:
        raise Http404
    response = HttpResponse(services.receipt_pdf(receipt=receipt), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{receipt.number}.pdf"'
    return response


@require_GET
@login_required
def receipts_mine(request: HttpRequest) -> HttpResponse:
    """我的电子票据: the receipts of the bills I paid (at the kiosk: each with 打印)."""
    return render(request, "payments/receipts_mine.html", {"receipts": selectors.receipts_of_payer(actor=request.user)})


@require_GET
@login_required
def receipt_print(request: HttpRequest, bill_id: int) -> HttpResponse:
    """The receipt as a page to print through the browser (the kiosk's printer): the same facts
    as the sealed PDF, the QR of its check page, the seal's verdict; the print stylesheet keeps
    only the receipt. The sealed PDF remains the legal copy (linked)."""
    found = _bill_or_404(request, bill_id)
    receipt = selectors.receipt_for_bill(bill=found)
    if receipt is None:
        raise Http404
    verify_url = services.receipt_verify_url(receipt)
    context = {
        "bill": found,
        "receipt": receipt,
        "payer_shown": found.payer_name if found.payer_id == request.user.pk else mask_name(found.payer_name),
        "qr": _qr_svg(verify_url),
        "verify_url": verify_url,
        "check": selectors.receipt_verify(number=receipt.number, check_code=receipt.check_code),
    }
    return render(request, "payments/receipt_print.html", context)


# --------------------------------------------------------------------------------- public


@csrf_exempt
@require_POST
def callback(request: HttpRequest, channel: str) -> HttpResponse:
    """The channel's asynchronous notice: signed, not a browser request (no session, no CSRF)."""
    try:
        confirmation = services.payment_callback_handle(
            channel_name=channel, body=request.body, headers=request.headers
        )
    except YiwangError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status)
    return JsonResponse({"code": "ok", "outcome": confirmation.outcome, "payment": confirmation.payment.number})


@require_GET
@rate_limit("license_verify_ip")
def receipt_verify(request: HttpRequest, number: str) -> HttpResponse:
    check = selectors.receipt_verify(number=number, check_code=request.GET.get("c", ""))
    status = 404 if check.result == "not_found" else 200
    context = {"check": check, "payer": mask_name(check.receipt.payer_name) if check.receipt else ""}
    return render(request, "payments/receipt_verify.html", context, status=status)


# --------------------------------------------------------------------------------- workbench


def _staff(request: HttpRequest) -> None:
    if request.user.kind != User.Kind.STAFF and not request.user.is_superuser:
        raise Http404


@require_GET
@login_required
def workbench_list(request: HttpRequest) -> HttpResponse:
    _staff(request)
    state = request.GET.get("state", "")
    if state not in BillState.values:
        state = ""
    bills = list(selectors.bill_list_for_staff(actor=request.user, state=state)[:200])
    for item in bills:
        item.payer_shown = mask_name(item.payer_name)
    return render(
        request,
        "payments/workbench_list.html",
        {
            "bills": bills,
            "state": state,
            "states": BillState.choices,
            "finance": selectors.may_see_finance(request.user),
        },
    )


@login_required
def workbench_raise(request: HttpRequest, case_id: int) -> HttpResponse:
    _staff(request)
    try:
        case = case_selectors.case_get(actor=request.user, case_id=case_id)
    except NotFound as exc:
        raise Http404 from exc
    if not services.may_bill(request.user, case):
        raise PermissionDenied
    fees = case.item_version.fees or []
    data = {"fee_name": fees[0]["name"] if fees else "", "revenue_code": "", "amount": "", "due_date": ""}
    errors: dict = {}
    status = 200
    if request.method == "POST":
        data = {k: request.POST.get(k, "").strip() for k in data}
        due = None
        if data["due_date"]:
            try:
                due = datetime.date.fromisoformat(data["due_date"])
            except ValueError:
                errors["due_date"] = [_("日期格式应为 YYYY-MM-DD")]
        if not errors:
            try:
                created = services.bill_raise(
                    actor=request.user,
                    case_id=case.pk,
                    fee_name=data["fee_name"],
                    revenue_code=data["revenue_code"],
                    amount=data["amount"],
                    due_date=due,
                )
            except NotFound as exc:
                raise Http404 from exc
            except YiwangError as exc:
                errors = {k: [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in exc.fields.items()} or {
                    "": [exc.message]
                }
                if exc.status == 403:
                    status = 403
            else:
                messages.success(request, _("已开具缴款通知书 %(number)s。") % {"number": created.number})
                return redirect("payments_workbench:detail", bill_id=created.pk)
        status = status if status != 200 else 422
    return render(
        request,
        "payments/workbench_raise.html",
        {"case": case, "fees": fees, "data": data, "errors": errors},
        status=status,
    )


@require_GET
@login_required
def workbench_detail(request: HttpRequest, bill_id: int) -> HttpResponse:
    _staff(request)
    found = _bill_or_404(request, bill_id)
    context = {
        "bill": found,
        "payer_shown": mask_name(found.payer_name),
        "payments": list(selectors.bill_payments(bill=found)),
        "receipt": selectors.receipt_for_bill(bill=found),
        "may_refund": services.may_refund(request.user, found),
        "may_collect": found.state == "open" and services.may_collect(request.user, found, found.case),
        "counter_methods": list(services.COUNTER_METHODS.items()),
        "refunds": list(selectors.bill_refunds(bill=found)),
        "receipts": selectors.receipts_of_bill(bill=found),
    }
    return render(request, "payments/workbench_detail.html", context)


@login_required
@require_POST
def workbench_counter(request: HttpRequest, bill_id: int) -> HttpResponse:
    """窗口收款: cash or POS at the window, then the receipt to print."""
    _staff(request)
    found = _bill_or_404(request, bill_id)
    try:
        services.bill_pay_counter(
            actor=request.user,
            bill_id=found.pk,
            method=request.POST.get("method", ""),
            amount_fen=request.POST.get("amount", ""),
            reference=request.POST.get("reference", ""),
        )
    except NotFound as exc:
        raise Http404 from exc
    except YiwangError as exc:
        problems = "; ".join(str(v) for v in exc.fields.values()) if exc.fields else ""
        messages.error(request, f"{exc.message} {problems}".strip())
        return redirect("payments_workbench:detail", bill_id=found.pk)
    messages.success(request, _("已窗口收款,请打印电子票据交缴款人。"))
    return redirect("payments_workbench:detail", bill_id=found.pk)


@login_required
@require_POST
def workbench_refund(request: HttpRequest, bill_id: int, payment_id: int) -> HttpResponse:
    _staff(request)
    found = _bill_or_404(request, bill_id)
    try:
        payment = selectors.payment_get_for_bill(bill=found, payment_id=payment_id)
        services.payment_refund(
            actor=request.user,
            payment_id=payment.pk,
            reason=request.POST.get("reason", ""),
            amount_fen=request.POST.get("amount", "").strip() or None,
        )
    except NotFound as exc:
        raise Http404 from exc
    except YiwangError as exc:
        problems = "; ".join(str(v) for v in exc.fields.values()) if exc.fields else ""
        messages.error(request, f"{exc.message} {problems}".strip())
        return redirect("payments_workbench:detail", bill_id=found.pk)
    messages.success(request, _("已退款。"))
    return redirect("payments_workbench:detail", bill_id=found.pk)


@login_required
@require_POST
def workbench_cancel(request: HttpRequest, bill_id: int) -> HttpResponse:
    _staff(request)
    found = _bill_or_404(request, bill_id)
    try:
        services.bill_cancel(actor=request.user, bill_id=found.pk, reason=request.POST.get("reason", ""))
    except NotFound as exc:
        raise Http404 from exc
    except YiwangError as exc:
        messages.error(request, exc.message)
        return redirect("payments_workbench:detail", bill_id=found.pk)
    messages.success(request, _("缴款通知书已作废。"))
    return redirect("payments_workbench:detail", bill_id=found.pk)


@login_required
def reconciliation(request: HttpRequest) -> HttpResponse:
    _staff(request)
    if not selectors.may_see_finance(request.user):
        raise Http404
    if request.method == "POST":
        try:
            day = datetime.date.fromisoformat(request.POST.get("day", ""))
            report = services.reconciliation_run(actor=request.user, day=day)
        except ValueError:
            messages.error(request, _("日期格式应为 YYYY-MM-DD"))
        except YiwangError as exc:
            messages.error(request, exc.message)
        else:
            return redirect("payments_workbench:reconciliation_detail", report_id=report.pk)
    reports = selectors.reconciliation_list(actor=request.user)[:60]
    return render(request, "payments/reconciliation.html", {"reports": reports, "today": timezone.localdate()})


@require_GET
@login_required
def reconciliation_detail(request: HttpRequest, report_id: int) -> HttpResponse:
    _staff(request)
    try:
        report = selectors.reconciliation_get(actor=request.user, report_id=report_id)
    except NotFound as exc:
        raise Http404 from exc
    if request.GET.get("format") == "json":
        return HttpResponse(json.dumps(report.mismatches, ensure_ascii=False), content_type="application/json")
    return render(request, "payments/reconciliation_detail.html", {"report": report})
