"""Payments endpoints of the JSON API, mounted at /api/v1/payments/.

The payer: their bills, and opening an order (the answer's ``cashier_url`` is where to send the
browser). Staff: raising a bill on a case, refunding a payment. The channel's callback is not an
API operation but a page (``/payments/callback/<channel>``): it carries the channel's signature
over the raw body, not a user's credentials. Money is integer fen (``amount_fen``).
"""

import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.responses import Status as Respond

from yiwang.core.api_errors import ErrorOut
from yiwang.core.errors import NotFound, ValidationFailed
from yiwang.core.masking import mask_name
from yiwang.core.ratelimit import rate_limit
from yiwang.identity.auth import api_auth
from yiwang.payments import selectors, services
from yiwang.payments.models import Bill

router = Router(tags=["payments"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 503: ErrorOut}


class BillOut(Schema):
    id: int
    number: str
    payment_code: str = Field(description="缴款码, 20 digits (mod-97 check)")
    case_id: int
    fee_name: str
    revenue_code: str = Field(description="非税收入项目编码")
    amount_fen: int
    payer_name: str = Field(description="Masked unless the caller is the payer")
    due_date: datetime.date
    state: str = Field(description="open | paid | refunded | cancelled")
    receipt_number: str | None


class BillIn(Schema):
    fee_name: str = Field(description="One of the fee names of the case's guide")
    revenue_code: str
    amount_fen: Any = Field(description="Integer fen (20 元 = 2000); floats and strings are refused")
    due_date: datetime.date | None = None


class PayOut(Schema):
    payment_number: str
    amount_fen: int
    cashier_url: str


class RefundIn(Schema):
    reason: str
    amount_fen: int | None = Field(None, description="Integer fen to refund; left out: all that is left")


class RefundOut(Schema):
    payment_number: str
    state: str = Field(description="paid (a part refunded) | refunded (all)")
    refund_id: str
    refunded_fen: int = Field(description="refunded so far, integer fen")


class CounterPayIn(Schema):
    method: str = Field(description="cash | pos")
    amount_fen: Any = Field(description="Integer fen taken; must be the bill's amount")
    reference: str = Field("", max_length=40, description="POS voucher reference number (pos only)")


class CounterPayOut(Schema):
    payment_number: str
    amount_fen: int
    receipt_number: str | None
    receipt_url: str = Field(description="the sealed receipt PDF to print for the payer")


def _bill(bill: Bill, actor) -> dict:
    receipt = selectors.receipt_for_bill(bill=bill)
    return {
        "id": bill.pk,
        "number": bill.number,
        "payment_code": bill.payment_code,
        "case_id": bill.case_id,
        "fee_name": bill.fee_name,
        "revenue_code": bill.revenue_code,
        "amount_fen": bill.amount_fen,
        "payer_name": bill.payer_name if bill.payer_id == actor.pk else mask_name(bill.payer_name),
        "due_date": bill.due_date,
        "state": bill.state,
        "receipt_number": receipt.number if receipt else None,
    }


@router.get(
    "/bills", response=list[BillOut], auth=api_auth, summary="Bills I may see (mine as payer; my departments' as staff)"
)
def payments_bill_list(request: HttpRequest):
    return [_bill(b, request.user) for b in selectors.bills_visible(actor=request.user).order_by("-created_at")[:200]]


@router.get("/bills/{bill_id}", response={200: BillOut, **ERRORS}, auth=api_auth, summary="One bill")
def payments_bill_get(request: HttpRequest, bill_id: int):
    return _bill(selectors.bill_get(actor=request.user, bill_id=bill_id), request.user)


@router.post(
    "/cases/{case_id}/bills",
    response={201: BillOut, **ERRORS},
    auth=api_auth,
    summary="Raise a bill (缴款通知书) on a case",
)
def payments_bill_raise(request: HttpRequest, case_id: int, payload: BillIn):
    if type(payload.amount_fen) is not int:
        message = _("amount_fen 须为整数(单位:分),不接受小数或文本")
        raise ValidationFailed(message, code="bad_amount", fields={"amount_fen": message})
    bill = services.bill_raise(
        actor=request.user,
        case_id=case_id,
        fee_name=payload.fee_name,
        revenue_code=payload.revenue_code,
        amount=payload.amount_fen,
        due_date=payload.due_date,
    )
    return Respond(201, _bill(bill, request.user))


@router.post(
    "/bills/{bill_id}/pay",
    response={200: PayOut, **ERRORS},
    auth=api_auth,
    summary="Open an order at the channel (the payer)",
)
def payments_bill_pay(request: HttpRequest, bill_id: int):
    payment = services.bill_pay_start(actor=request.user, bill_id=bill_id)
    return {"payment_number": payment.number, "amount_fen": payment.amount_fen, "cashier_url": payment.cashier_url}


@router.post(
    "/bills/{bill_id}/refund",
    response={200: RefundOut, **ERRORS},
    auth=api_auth,
    summary="Refund the paid payment of a bill",
)
def payments_bill_refund(request: HttpRequest, bill_id: int, payload: RefundIn):
    bill = selectors.bill_get(actor=request.user, bill_id=bill_id)
    paid = selectors.bill_payments(bill=bill).filter(state="paid").first()
    if paid is None:
        from yiwang.core.errors import Conflict

        raise Conflict(_("该缴款通知书没有可退款的已支付订单。"), code="payment_state")
    payment = services.payment_refund(
        actor=request.user, payment_id=paid.pk, reason=payload.reason, amount_fen=payload.amount_fen
    )
    return {
        "payment_number": payment.number,
        "state": payment.state,
        "refund_id": payment.refund_id,
        "refunded_fen": payment.refunded_fen,
    }


@router.post(
    "/bills/{bill_id}/counter",
    response={201: CounterPayOut, **ERRORS},
    auth=api_auth,
    summary="Record a payment taken at the window (cash or POS)",
)
def payments_bill_counter(request: HttpRequest, bill_id: int, payload: CounterPayIn):
    """窗口收款: cash or a card on the hall's POS terminal, recorded with the clerk; the sealed
    receipt is issued at once. ``422 counter_invalid`` names the bad field (an amount other than
    the bill's, a POS payment without its voucher reference)."""
    from django.urls import reverse

    if type(payload.amount_fen) is not int:
        message = _("amount_fen 须为整数(单位:分),不接受小数或文本")
        raise ValidationFailed(message, code="bad_amount", fields={"amount_fen": message})
    done = services.bill_pay_counter(
        actor=request.user,
        bill_id=bill_id,
        method=payload.method,
        amount_fen=payload.amount_fen,
        reference=payload.reference,
    )
    receipt = done.receipt
    return Respond(
        201,
        {
            "payment_number": done.payment.number,
            "amount_fen": done.payment.amount_fen,
            "receipt_number": receipt.number if receipt else None,
            "receipt_url": reverse("payments:receipt_pdf", kwargs={"bill_id": bill_id}),
        },
    )


class ReceiptVerificationOut(Schema):
    result: str = Field(
        description="valid | voided (冲红: all refunded) | replaced (冲红 after a partial refund; "
        "``replaced_by`` is the receipt issued for the amount kept) | invalid (the seal does not verify)"
    )
    number: str
    amount_fen: int = Field(description="the amount this receipt stands for, integer fen")
    fee_name: str
    department: str = Field(description="执收单位")
    payer_name: str = Field(description="masked")
    issued_at: datetime.datetime
    replaces: str | None = Field(description="the voided receipt this one replaces (换开), if any")
    voided_at: datetime.datetime | None
    voided_by_refund: str | None = Field(description="the refund number that voided it")
    refund_fen: int | None = Field(description="that refund's amount, integer fen")
    replaced_by: str | None
    replaced_by_amount_fen: int | None


@router.get(
    "/receipts/verify/{number}",
    response={200: ReceiptVerificationOut, 404: ErrorOut, 429: ErrorOut},
    auth=None,
    summary="Verify an e-receipt (number and check code ``c``): valid, voided or replaced",
)
@rate_limit("license_verify_ip")
def payments_receipt_verify(request: HttpRequest, number: str, c: str = ""):
    """The public check behind the receipt's QR code, as JSON: the seal's SM2 signature is
    verified; a wrong check code answers ``404 receipt_not_found`` like a missing receipt."""
    check = selectors.receipt_verify(number=number, check_code=c)
    if check.result == "not_found":
        raise NotFound(_("未找到该票据,请核对票据号码和校验码。"), code="receipt_not_found")
    return check.as_dict()
