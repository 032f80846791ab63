"""Payments reads, scoped to the actor: a bill is visible to whoever may see its case (the
payer as the case's applicant, the department's staff); anything else is missing (404)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, QuerySet
from django.utils.translation import gettext as _

from yiwang.cases import selectors as case_selectors
from yiwang.core.audit import canonical_json
from yiwang.core.errors import NotFound
from yiwang.core.masking import mask_name
from yiwang.identity.models import Role
from yiwang.identity.selectors import actor_has_role
from yiwang.payments.models import Bill, Payment, Receipt, Reconciliation, Refund


def bills_visible(*, actor) -> QuerySet[Bill]:
    if not getattr(actor, "is_authenticated", False):
        return Bill.objects.none()
    return Bill.objects.filter(case_id__in=case_selectors.visible_cases(actor=actor).values("pk"))


def bill_get(*, actor, bill_id) -> Bill:
    try:
        pk = int(bill_id)
        if not 0 < pk < 2**63:  # beyond a 64-bit key: SQLite would overflow, and no bill has it
            raise ValueError
    except (TypeError, ValueError):
        raise NotFound(_("未找到该缴款通知书。"), code="bill_not_found") from None
    bill = bills_visible(actor=actor).select_related("department").filter(pk=pk).first()
    if bill is None:
        raise NotFound(_("未找到该缴款通知书。"), code="bill_not_found")
    return bill


def bills_for_case(*, actor, case_id) -> list[Bill]:
    return list(bills_visible(actor=actor).filter(case_id=case_id).order_by("created_at"))


def bills_for_payer(*, actor) -> QuerySet[Bill]:
    if not getattr(actor, "is_authenticated", False):
        return Bill.objects.none()
    return Bill.objects.filter(payer_id=actor.pk)


def bill_list_for_staff(*, actor, state: str = "") -> QuerySet[Bill]:
    """The bills of the cases the staff member may see, newest first (the payer's own bills are
    not a staff list: a citizen gets an empty one)."""
    bills = bills_visible(actor=actor).exclude(payer_id=getattr(actor, "pk", None))
    if state:
        bills = bills.filter(state=state)
    return bills.select_related("department").order_by("-created_at", "-id")


def bill_payments(*, bill: Bill) -> QuerySet[Payment]:
    return Payment.objects.filter(bill=bill).order_by("-created_at")


def payment_get_for_bill(*, bill: Bill, payment_id) -> Payment:
    payment = Payment.objects.filter(bill=bill, pk=payment_id).first()
    if payment is None:
        raise NotFound(_("未找到该支付订单。"), code="payment_not_found")
    return payment


def may_see_finance(actor) -> bool:
    """Reconciliation is the whole channel: city administrators and auditors (and superusers)."""
    return actor_has_role(actor, roles=(Role.CITY_ADMIN, Role.AUDITOR))


def reconciliation_list(*, actor) -> QuerySet[Reconciliation]:
    if not may_see_finance(actor):
        return Reconciliation.objects.none()
    return Reconciliation.objects.all()


def reconciliation_get(*, actor, report_id) -> Reconciliation:
    report = reconciliation_list(actor=actor).filter(pk=report_id).first()
    if report is None:
        raise NotFound(_("未找到该对账报告。"))
    return report


@dataclass(frozen=True)
class ReceiptCheck:
    """``result``: valid | voided (冲红 by a full refund) | replaced (冲红 by a partial refund, a
    new receipt issued for the amount kept: ``replacement``) | invalid (altered) | not_found."""

    result: str
    receipt: Receipt | None = None
    bill: Bill | None = None
    replacement: Receipt | None = None

    def as_dict(self) -> dict:
        receipt, bill, refund = self.receipt, self.bill, self.receipt.voided_by if self.receipt else None
        return {
            "result": self.result,
            "number": receipt.number,
            "amount_fen": receipt.amount_fen,
            "fee_name": bill.fee_name,
            "department": bill.department.name,
            "payer_name": mask_name(receipt.payer_name),
            "issued_at": receipt.issued_at,
            "replaces": receipt.replaces.number if receipt.replaces_id else None,
            "voided_at": receipt.voided_at,
            "voided_by_refund": refund.number if refund else None,
            "refund_fen": refund.amount_fen if refund else None,
            "replaced_by": self.replacement.number if self.replacement else None,
            "replaced_by_amount_fen": self.replacement.amount_fen if self.replacement else None,
        }


def receipt_verify(*, number: str, check_code: str) -> ReceiptCheck:
    """The public check (扫码查验): number and check code must match, and the seal's SM2
    signature over the stored content must verify. A wrong check code looks like no receipt.
    A voided receipt says so with the date and the refund; after a partial refund it names the
    receipt issued for the amount kept (number and amount, not its check code)."""
    from yiwang.licenses import services as license_services
    from yiwang.payments.services import receipt_content

    receipt = (
        Receipt.objects.select_related("bill__department", "voided_by", "replaces")
        .filter(number=(number or "").strip()[:24])
        .first()
    )
    if receipt is None or receipt.check_code != (check_code or "").strip().upper():
        return ReceiptCheck("not_found")
    message = canonical_json(receipt_content(receipt, receipt.bill)).encode()
    if not license_services.document_seal_verify(
        seal_key_id=receipt.seal_key_id, message=message, signature=receipt.signature
    ):
        return ReceiptCheck("invalid", receipt, receipt.bill)
    if receipt.voided_at is None:
        return ReceiptCheck("valid", receipt, receipt.bill)
    replacement = Receipt.objects.filter(replaces=receipt).first()
    return ReceiptCheck("replaced" if replacement else "voided", receipt, receipt.bill, replacement)


def receipt_for_bill(*, bill: Bill) -> Receipt | None:
    """The bill's current receipt: the live one, else (all refunded) the last one voided."""
    return Receipt.objects.filter(bill=bill).order_by(F("voided_at").desc(nulls_first=True), "-id").first()


def receipts_of_bill(*, bill: Bill) -> list[Receipt]:
    """Every receipt of the bill, oldest first: the original, then each one issued for the amount
    kept after a partial refund (换开), each voided one with the refund that voided it."""
    return list(Receipt.objects.filter(bill=bill).select_related("voided_by", "replaces").order_by("issued_at", "id"))


def bill_refunds(*, bill: Bill):
    """The refunds of a bill's payments (the caller has the bill, so may see them)."""
    return Refund.objects.filter(payment__bill=bill).select_related("payment").order_by("created_at", "id")


def receipts_of_payer(*, actor):
    """The receipts of the bills the actor paid (as payer), newest first."""
    if not getattr(actor, "is_authenticated", False):
        return Receipt.objects.none()
    return Receipt.objects.filter(bill__payer=actor).select_related("bill").order_by("-issued_at", "-id")
