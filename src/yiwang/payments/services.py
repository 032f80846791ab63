"""Payments writes: bills, payments through a channel, callbacks, refunds, receipts, reconciliation.

Guarantees (docs/payments.md):

* Money is integer fen. A bill's amount is a positive integer no larger than ``MAX_AMOUNT_FEN``;
  a channel that reports another amount than the order's is refused (``amount_mismatch``).
* Money is never recorded twice: at most one paid payment per bill and one per channel
  transaction (unique constraints), and a confirmation of a payment already paid is a no-op
  (``duplicate``), whether it comes by callback or by query.
* A callback is believed only with the channel's valid SM2 signature, a fresh timestamp and a
  nonce never seen before; a forged or replayed one is refused and recorded (``CallbackRecord``
  and the audit chain).
* A case waiting for payment has its time limit paused (``cases.services``) from the bill until
  it is paid or cancelled.
* Every state change is audited, in the same transaction as the change.
"""

from __future__ import annotations

import contextlib
import datetime
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.cases import selectors as case_selectors
from yiwang.cases import services as case_services
from yiwang.core import events
from yiwang.core.audit import audit_record, canonical_json
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed, YiwangError
from yiwang.identity.models import Role
from yiwang.identity.selectors import actor_has_role
from yiwang.payments import channels
from yiwang.payments.models import (
    Bill,
    BillState,
    CallbackRecord,
    Payment,
    PaymentState,
    Receipt,
    Reconciliation,
    Refund,
    RefundState,
)

MAX_AMOUNT_FEN = 100_000_000  # 100 万元: above this a fee is surely a typing error
DEFAULT_DUE_DAYS = 15
PENDING_REUSE = datetime.timedelta(minutes=30)
QUERY_AFTER = datetime.timedelta(minutes=2)
CLOSE_AFTER = datetime.timedelta(hours=2)
REVENUE_CODE_RE = re.compile(r"^\d{6,20}$")
CALLBACK_ACTOR = "payments.callback"
SYSTEM_ACTOR = "payments"
BILLING_STATES = ("accepted", "under_review")
CLOSED_CASE_STATES = ("withdrawn", "refused", "rejected")


class ChannelUnavailable(YiwangError):
    code = "channel_unavailable"
    status = 503


def _channel_error(exc: channels.ChannelError) -> ChannelUnavailable:
    return ChannelUnavailable(_("支付渠道暂时无法使用:%(reason)s。请稍后再试。") % {"reason": exc})


# ---------------------------------------------------------------------------------------------
# Amounts and numbers
# ---------------------------------------------------------------------------------------------


def parse_amount_fen(value, *, field: str = "amount_fen") -> int:
    """An amount as integer fen: an int (fen) or a yuan text with at most two decimals ("20",
    "20.50"). Floats, negatives, zero, more than two decimals, absurd sums: a field error."""
    message = None
    fen = None
    if isinstance(value, (bool, float)):
        message = _("金额须为整数(分)或最多两位小数的元,不接受浮点数")
    elif isinstance(value, int):
        fen = value
    elif isinstance(value, str):
        text = value.strip().replace("¥", "").replace(",", "")
        try:
            yuan = Decimal(text)
        except InvalidOperation:
            yuan = None
        if yuan is None or not yuan.is_finite() or yuan.as_tuple().exponent < -2:
            message = _("请填写正确的金额(元,最多两位小数)")
        else:
            fen = int(yuan * 100)
    else:
        message = _("请填写金额")
    if message is None and (fen is None or fen <= 0):
        message = _("金额必须大于零")
    if message is None and fen > MAX_AMOUNT_FEN:
        message = _("金额超过上限(%(max)s 元),请核对") % {"max": MAX_AMOUNT_FEN // 100}
    if message is not None:
        raise ValidationFailed(message, code="bad_amount", fields={field: message})
    return fen


def _digits(n: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(n))


def payment_code_make() -> str:
    """A 20-digit 缴款码: 18 random digits and a 2-digit check (mod 97, as in IBAN) that catches
    any single mistyped digit and any swap of two neighbours."""
    body = _digits(18)
    return body + f"{98 - (int(body) * 100) % 97:02d}"


def payment_code_valid(code: str) -> bool:
    return bool(re.fullmatch(r"\d{20}", code or "")) and int(code) % 97 == 1


def _bill_number() -> str:
    return "JK" + timezone.localdate().strftime("%Y%m%d") + _digits(10)


def _payment_number() -> str:
    return "P" + timezone.localtime().strftime("%Y%m%d%H%M%S") + secrets.token_hex(4).upper()


def _receipt_number() -> str:
    return "PJ" + timezone.localdate().strftime("%Y") + _digits(12)


# ---------------------------------------------------------------------------------------------
# Who may do what
# ---------------------------------------------------------------------------------------------

STAFF_ROLES = (Role.REVIEWER, Role.DEPARTMENT_HEAD)


def may_bill(actor, case) -> bool:
    """The case's reviewers and head, or a window clerk who may take the case in."""
    return actor_has_role(actor, roles=STAFF_ROLES, department=case.department) or case_services.is_window_clerk(
        actor, case
    )


def may_refund(actor, bill: Bill) -> bool:
    return actor_has_role(actor, roles=(Role.DEPARTMENT_HEAD,), department=bill.department)


def _bill_locked(bill_id) -> Bill:
    try:
        pk = int(bill_id)
        if not 0 < pk < 2**63:  # beyond a 64-bit key: SQLite would overflow, and no bill has it
            raise ValueError
    except (TypeError, ValueError):
        raise NotFound(_("未找到该缴款通知书。"), code="bill_not_found") from None
    bill = Bill.objects.select_for_update().filter(pk=pk).first()
    if bill is None:
        raise NotFound(_("未找到该缴款通知书。"), code="bill_not_found")
    return bill


# ---------------------------------------------------------------------------------------------
# Bills
# ---------------------------------------------------------------------------------------------


def _fee_of(case, fee_name: str) -> dict:
    fees = getattr(case.item_version, "fees", None) or []
    for fee in fees:
        if fee.get("name") == fee_name:
            return fee
    names = "、".join(f.get("name", "") for f in fees) or _("(本事项不收费)")
    message = _("收费项目须为办事指南所列之一:%(names)s") % {"names": names}
    raise ValidationFailed(message, code="unknown_fee", fields={"fee_name": message})


def bill_raise(
    *,
    actor,
    case_id,
    fee_name: str,
    revenue_code: str,
    amount,
    due_date: datetime.date | None = None,
) -> Bill:
    """开具缴款通知书 for one fee of the case's guide. The case must be accepted and running; the
    clock pauses until the bill is paid or cancelled. Raising the same fee again with the same
    amount returns the live bill (a double click); another amount is a conflict."""
    case = case_selectors.case_get(actor=actor, case_id=case_id)
    if not may_bill(actor, case):
        raise Forbidden(_("只有本部门审核人员或窗口受理人员可以开具缴款通知书。"))
    if case.state not in BILLING_STATES:
        raise Conflict(
            _("办件 %(number)s 当前状态为「%(state)s」,不能开具缴款通知书(须已受理、尚未决定)。")
            % {"number": case.number, "state": case.get_state_display()},
            code="case_state",
        )
    fee_name = (fee_name or "").strip()
    _fee_of(case, fee_name)
    errors = {}
    revenue_code = (revenue_code or "").strip()
    if not REVENUE_CODE_RE.match(revenue_code):
        errors["revenue_code"] = _("非税收入项目编码为 6–20 位数字")
    try:
        amount_fen = parse_amount_fen(amount)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    today = timezone.localdate()
    due = due_date or today + datetime.timedelta(days=DEFAULT_DUE_DAYS)
    if due < today:
        errors["due_date"] = _("缴款期限不能早于今天")
    if errors:
        raise ValidationFailed(code="invalid", fields=errors)
    with transaction.atomic():
        existing = (
            Bill.objects.select_for_update()
            .filter(case_id=case.pk, fee_name=fee_name)
            .exclude(state=BillState.CANCELLED)
        )
        found = existing.first()
        if found is not None:
            if found.amount_fen == amount_fen and found.state == BillState.OPEN:
                return found
            raise Conflict(
                _("该收费项目已开具缴款通知书 %(number)s(%(state)s)。")
                % {"number": found.number, "state": found.get_state_display()},
                code="bill_exists",
            )
        try:
            with transaction.atomic():
                bill = Bill.objects.create(
                    number=_bill_number(),
                    payment_code=payment_code_make(),
                    case_id=case.pk,
                    department_id=case.department_id,
                    payer_id=case.applicant_id,
                    payer_name=case.applicant_name,
                    fee_name=fee_name,
                    revenue_code=revenue_code,
                    amount_fen=amount_fen,
                    due_date=due,
                    raised_by=actor,
                )
        except IntegrityError:
            raise Conflict(_("该收费项目刚刚已开具缴款通知书,请刷新。"), code="bill_exists") from None
        audit_record(
            actor=actor,
            action="payments.bill_raise",
            obj=bill,
            changes={"case": case.number, "amount_fen": amount_fen, "revenue_code": revenue_code, "fee": fee_name},
        )
        bill.clock_paused = case_services.case_clock_pause_for_payment(
            actor=actor,
            case_id=case.pk,
            note=_("已开具缴款通知书 %(number)s,金额 %(amount)s 元;")
            % {"number": bill.number, "amount": bill.amount_yuan}
            + case_services.payment_pause_note(),
        )
        bill.save(update_fields=["clock_paused"])
        events.publish("payments.bill_raised", bill_id=bill.pk, case_id=case.pk)
    return bill


def _resume_clock(bill: Bill, *, actor, note: str) -> None:
    """Resume the case's clock when no other open bill of the case still holds it."""
    if not bill.clock_paused:
        return
    if Bill.objects.filter(case_id=bill.case_id, state=BillState.OPEN).exclude(pk=bill.pk).exists():
        return
    case_services.case_clock_resume_after_payment(actor=actor, case_id=bill.case_id, note=note)


@transaction.atomic
def bill_cancel(*, actor, bill_id, reason: str) -> Bill:
    """作废 an open bill (staff, with a reason; or the platform when the case ends). The clock resumes."""
    reason = (reason or "").strip()
    bill = _bill_locked(bill_id)
    if not isinstance(actor, str):
        case = _visible_case(actor, bill)
        if not may_bill(actor, case):
            raise Forbidden(_("只有本部门审核人员或窗口受理人员可以作废缴款通知书。"))
        if not reason:
            raise ValidationFailed(_("请填写作废原因"), code="required", fields={"reason": _("请填写作废原因")})
    if bill.state != BillState.OPEN:
        raise Conflict(
            _("缴款通知书 %(number)s 当前状态为「%(state)s」,不能作废。")
            % {"number": bill.number, "state": bill.get_state_display()},
            code="bill_state",
        )
    bill.state = BillState.CANCELLED
    bill.cancel_reason = reason[:200]
    bill.version += 1
    bill.save(update_fields=["state", "cancel_reason", "version"])
    Payment.objects.filter(bill=bill, state=PaymentState.PENDING).update(state=PaymentState.CLOSED)
    audit_record(actor=actor, action="payments.bill_cancel", obj=bill, changes={"reason": bill.cancel_reason})
    _resume_clock(
        bill, actor=actor, note=_("缴款通知书 %(number)s 已作废,办理时限恢复计算。") % {"number": bill.number}
    )
    return bill


def _visible_case(actor, bill: Bill):
    """The bill's case if the actor may see it; else the bill is missing for them (404)."""
    try:
        return case_selectors.case_get(actor=actor, case_id=bill.case_id)
    except NotFound:
        raise NotFound(_("未找到该缴款通知书。"), code="bill_not_found") from None


# ---------------------------------------------------------------------------------------------
# Paying
# ---------------------------------------------------------------------------------------------


def _require_payable(bill: Bill, case_state: str) -> None:
    if bill.state == BillState.PAID:
        raise Conflict(_("缴款通知书 %(number)s 已缴费,无需重复缴费。") % {"number": bill.number}, code="bill_paid")
    if bill.state != BillState.OPEN:
        raise Conflict(
            _("缴款通知书 %(number)s 已%(state)s,不能缴费。")
            % {"number": bill.number, "state": bill.get_state_display()},
            code="bill_cancelled",
        )
    if case_state in CLOSED_CASE_STATES:
        raise Conflict(_("办件已终止(撤回、不予受理或不予许可),不能缴费。"), code="case_closed")
    if bill.due_date < timezone.localdate():
        raise Conflict(
            _("已超过缴款期限(%(day)s),请联系窗口重新开具缴款通知书。") % {"day": bill.due_date}, code="bill_overdue"
        )


def bill_pay_start(*, actor, bill_id, channel: channels.PaymentChannel | None = None) -> Payment:
    """Open (or reuse) an order at the channel for the payer; the answer's ``cashier_url`` is
    where the payer's browser goes. Only the payer may pay online (others: 404). A second click
    within 30 minutes reuses the open order, so the payer can never be charged twice for one bill."""
    with transaction.atomic():
        bill = _bill_locked(bill_id)
        if bill.payer_id != getattr(actor, "pk", None):
            raise NotFound(_("未找到该缴款通知书。"), code="bill_not_found")
        facts = case_selectors.case_issuance_facts(case_id=bill.case_id)
        _require_payable(bill, facts["state"])
        open_payment = (
            Payment.objects.filter(
                bill=bill, state=PaymentState.PENDING, created_at__gte=timezone.now() - PENDING_REUSE
            )
            .exclude(cashier_url="")
            .first()
        )
        if open_payment is not None:
            return open_payment
        channel = channel or channels.channel_get()
        payment = Payment.objects.create(
            number=_payment_number(), bill=bill, channel=channel.name, amount_fen=bill.amount_fen
        )
        audit_record(
            actor=actor,
            action="payments.payment_start",
            obj=payment,
            changes={"bill": bill.number, "amount_fen": bill.amount_fen},
        )
    base = settings.SITE_URL.rstrip("/")
    try:
        order = channel.pay(
            payment_number=payment.number,
            amount_fen=payment.amount_fen,
            subject=f"{bill.fee_name}({bill.number})",
            notify_url=base + reverse("payments:callback", kwargs={"channel": channel.name}),
            return_url=base + reverse("payments:bill_return", kwargs={"bill_id": bill.pk}),
        )
    except channels.ChannelError as exc:
        Payment.objects.filter(pk=payment.pk).update(state=PaymentState.CLOSED)
        raise _channel_error(exc) from exc
    Payment.objects.filter(pk=payment.pk).update(channel_order_id=order.channel_order_id, cashier_url=order.cashier_url)
    payment.channel_order_id, payment.cashier_url = order.channel_order_id, order.cashier_url
    return payment


@dataclass(frozen=True)
class Confirmation:
    outcome: str  # paid | duplicate
    payment: Payment
    receipt: Receipt | None
    refund_needed: bool = False


def _confirm_paid(*, payment_number: str, txn_id: str, amount_fen: int, via: str, actor) -> Confirmation:
    """Record that the channel took the money for ``payment_number`` (one transaction, the
    payment row locked): the payment paid, the bill paid, the receipt issued, the clock resumed.
    Idempotent: a payment already paid with this transaction is a ``duplicate`` and changes nothing."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("bill").filter(number=payment_number).first()
        if payment is None:
            raise NotFound(_("未找到该支付订单。"), code="payment_not_found")
        if amount_fen != payment.amount_fen:
            audit_record(
                actor=actor,
                action="payments.amount_mismatch",
                obj=payment,
                changes={"expected_fen": payment.amount_fen, "reported_fen": amount_fen, "via": via},
            )
            raise ValidationFailed(
                _("支付金额不符:订单 %(expected)s 分,渠道报告 %(reported)s 分。已记录,未入账。")
                % {"expected": payment.amount_fen, "reported": amount_fen},
                code="amount_mismatch",
            )
        if payment.state in (PaymentState.PAID, PaymentState.REFUNDED):
            if payment.channel_txn_id != txn_id:
                audit_record(actor=actor, action="payments.txn_mismatch", obj=payment, changes={"via": via})
                raise Conflict(_("该订单已由另一笔渠道交易入账,本次通知未入账。"), code="txn_mismatch")
            current = Receipt.objects.filter(payment=payment).order_by(F("voided_at").desc(nulls_first=True), "-id")
            return Confirmation("duplicate", payment, current.first())
        bill = Bill.objects.select_for_update().get(pk=payment.bill_id)
        now = timezone.now()
        payment.state = PaymentState.PAID
        payment.channel_txn_id = txn_id
        payment.paid_at = now
        payment.confirmed_by = via
        payment.save(update_fields=["state", "channel_txn_id", "paid_at", "confirmed_by"])
        audit_record(
            actor=actor,
            action="payments.payment_paid",
            obj=payment,
            changes={"bill": bill.number, "amount_fen": amount_fen, "txn": txn_id, "via": via},
        )
        facts = case_selectors.case_issuance_facts(case_id=bill.case_id)
        if bill.state != BillState.OPEN or facts["state"] in CLOSED_CASE_STATES:
            # The money came for a bill that no longer stands (cancelled, or the case ended): it is
            # recorded, and given back by a refund after commit.
            audit_record(
                actor=actor, action="payments.paid_for_closed_bill", obj=payment, changes={"bill_state": bill.state}
            )
            return Confirmation("paid", payment, None, refund_needed=True)
        bill.state = BillState.PAID
        bill.paid_at = now
        bill.version += 1
        bill.save(update_fields=["state", "paid_at", "version"])
        receipt = _receipt_try(bill=bill, payment=payment, facts=facts)
        _resume_clock(bill, actor=actor, note=case_services.payment_resume_note())
        events.publish("payments.bill_paid", bill_id=bill.pk, case_id=bill.case_id)
    return Confirmation("paid", payment, receipt)


def _refund_after(confirmation: Confirmation, reason: str) -> None:
    if confirmation.refund_needed:
        # If the channel is down the money stays paid on a cancelled bill: the staff list and
        # the reconciliation show it, and the department head refunds by hand.
        with contextlib.suppress(YiwangError):
            payment_refund(actor=SYSTEM_ACTOR, payment_id=confirmation.payment.pk, reason=reason)


def _record_callback(*, channel: str, nonce: str | None, number: str, outcome: str, detail: str) -> bool:
    """Log the callback; False when its nonce was seen before (a replay)."""
    try:
        with transaction.atomic():
            CallbackRecord.objects.create(
                channel=channel, nonce=nonce, payment_number=number[:32], outcome=outcome, detail=detail[:300]
            )
    except IntegrityError:
        return False
    return True


def payment_callback_handle(*, channel_name: str, body: bytes, headers) -> Confirmation:
    """An asynchronous notice from a channel: signature, freshness and nonce first; then the
    payment is confirmed (idempotently). Refused notices raise, and are recorded and audited."""
    try:
        channel = channels.channel_get(channel_name)
    except channels.ChannelError:
        raise NotFound(_("未知的支付渠道。"), code="channel_not_found") from None
    actor = f"{CALLBACK_ACTOR}:{channel.name}"
    try:
        notice = channel.verify_callback(body=body, headers=headers)
    except channels.CallbackRefused as refused:
        with transaction.atomic():
            _record_callback(channel=channel.name, nonce=None, number="", outcome=refused.kind, detail=refused.message)
            audit_record(
                actor=actor,
                action=f"payments.callback_{refused.kind}",
                object_type="payments.callback",
                changes={"reason": refused.message},
            )
        status = Conflict if refused.kind == "replayed" else ValidationFailed
        raise status(refused.message, code=f"callback_{refused.kind}") from None
    if not _record_callback(
        channel=channel.name, nonce=notice.nonce, number=notice.payment_number, outcome="received", detail=""
    ):
        with transaction.atomic():
            audit_record(
                actor=actor,
                action="payments.callback_replayed",
                object_type="payments.callback",
                object_id=notice.payment_number,
                changes={"nonce": notice.nonce},
            )
        raise Conflict(_("该回调已处理过(重放),已拒绝。"), code="callback_replayed")
    try:
        confirmation = _confirm_paid(
            payment_number=notice.payment_number,
            txn_id=notice.txn_id,
            amount_fen=notice.amount_fen,
            via="callback",
            actor=actor,
        )
    except YiwangError as exc:
        CallbackRecord.objects.filter(channel=channel.name, nonce=notice.nonce).update(
            outcome="rejected", detail=exc.code
        )
        raise
    CallbackRecord.objects.filter(channel=channel.name, nonce=notice.nonce).update(outcome=confirmation.outcome)
    _refund_after(confirmation, _("缴款通知书已作废或办件已终止,自动退款"))
    return confirmation


def payment_query(*, actor, payment_id, channel: channels.PaymentChannel | None = None) -> Payment:
    """Ask the channel what became of a pending order (the callback is late or lost): a paid
    order is confirmed as by a callback; one still unpaid long after is closed."""
    payment = Payment.objects.select_related("bill").filter(pk=payment_id).first()
    if payment is None:
        raise NotFound(_("未找到该支付订单。"), code="payment_not_found")
    if payment.state != PaymentState.PENDING:
        return payment
    try:
        status = (channel or channels.channel_get(payment.channel)).query(payment_number=payment.number)
    except channels.ChannelError as exc:
        raise _channel_error(exc) from exc
    if status.state in ("paid", "refunded"):
        confirmation = _confirm_paid(
            payment_number=payment.number, txn_id=status.txn_id, amount_fen=status.amount_fen, via="query", actor=actor
        )
        _refund_after(confirmation, _("缴款通知书已作废或办件已终止,自动退款"))
        return confirmation.payment
    if timezone.now() - payment.created_at > CLOSE_AFTER:
        with transaction.atomic():
            closed = Payment.objects.filter(pk=payment.pk, state=PaymentState.PENDING).update(state=PaymentState.CLOSED)
            if closed:
                audit_record(
                    actor=actor, action="payments.payment_close", obj=payment, changes={"channel_state": status.state}
                )
        payment.refresh_from_db()
    return payment


def payments_query_pending(*, now: datetime.datetime | None = None) -> dict:
    """The timeout sweep: every order pending for more than two minutes is queried at its channel."""
    now = now or timezone.now()
    counts = {"queried": 0, "paid": 0, "closed": 0, "errors": 0}
    for pk in Payment.objects.filter(state=PaymentState.PENDING, created_at__lte=now - QUERY_AFTER).values_list(
        "pk", flat=True
    )[:500]:
        counts["queried"] += 1
        try:
            payment = payment_query(actor="task:payments.query_pending", payment_id=pk)
        except YiwangError:
            counts["errors"] += 1
            continue
        if payment.state == PaymentState.PAID:
            counts["paid"] += 1
        elif payment.state == PaymentState.CLOSED:
            counts["closed"] += 1
    counts["receipts"] = receipts_issue_missing()
    counts["refunds"] = refunds_finish_pending()
    return counts


# ---------------------------------------------------------------------------------------------
# Refunds
# ---------------------------------------------------------------------------------------------


COUNTER_CHANNEL = "counter"
COUNTER_METHODS = {"cash": _("现金"), "pos": _("POS 刷卡")}


def _refund_number(payment: Payment) -> str:
    done = Refund.objects.filter(payment=payment).count()
    # The first version's single refund was number + "R": keep it for the first.
    return payment.number + ("R" if done == 0 else f"R{done + 1}")


def payment_refund(*, actor, payment_id, reason: str, amount_fen=None) -> Payment:
    """退款 of a paid payment, whole or in part (``amount_fen``: fen or a yuan text; default
    what is left), with a reason: the department head of the bill (or the platform for money paid
    on a cancelled bill). Three steps, so that money never moves unrecorded:

    1. a ``Refund`` is written ``pending`` (audited ``payments.refund_request``) and committed;
    2. the channel is called, outside any transaction, with the refund number (idempotent there);
    3. the refund is settled (``refund_settle``): the payment's ``refunded_fen`` grows, the
       bill's receipt is voided (冲红); a full refund marks payment and bill refunded, a partial
       one has a new receipt issued for the amount kept (换开).

    A crash or a channel that cannot be reached between 1 and 3 leaves the refund pending; the
    5-minute job and the reconciliation call the channel again and settle it
    (``refunds_finish_pending``). A second refund while one is pending is refused
    (``409 refund_pending``); more than is left is a field error. A window payment (cash, POS)
    is given back at the window: no channel call."""
    payment = Payment.objects.select_related("bill").filter(pk=payment_id).first()
    if payment is None:
        raise NotFound(_("未找到该支付订单。"), code="payment_not_found")
    if not isinstance(actor, str):
        _visible_case(actor, payment.bill)
        if not may_refund(actor, payment.bill):
            raise Forbidden(_("只有本部门负责人可以办理退款。"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("请填写退款原因"), code="required", fields={"reason": _("请填写退款原因")})
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.state != PaymentState.PAID:
            raise Conflict(
                _("支付订单 %(number)s 当前状态为「%(state)s」,不能退款。")
                % {"number": locked.number, "state": locked.get_state_display()},
                code="payment_state",
            )
        if Refund.objects.filter(payment=locked, state=RefundState.PENDING).exists():
            raise Conflict(_("该订单有一笔退款正在处理,请稍后再试。"), code="refund_pending")
        left = locked.amount_fen - locked.refunded_fen
        amount = left if amount_fen in (None, "") else parse_amount_fen(amount_fen)
        if amount > left:
            raise ValidationFailed(
                _("退款金额超过可退金额"),
                code="amount_invalid",
                fields={"amount_fen": _("最多可退 %(yuan)s 元") % {"yuan": f"{left // 100}.{left % 100:02d}"}},
            )
        refund = Refund.objects.create(
            number=_refund_number(locked),
            payment=locked,
            amount_fen=amount,
            reason=reason[:200],
            requested_by=actor if not isinstance(actor, str) else None,
        )
        audit_record(
            actor=actor,
            action="payments.refund_request",
            obj=refund,
            changes={"payment": locked.number, "amount_fen": amount, "reason": refund.reason},
        )
    refund_execute(actor=actor, refund_id=refund.pk)
    payment.refresh_from_db()
    return payment


def refund_execute(*, actor, refund_id) -> Refund:
    """Steps 2 and 3 of a refund: call the channel (idempotent per refund number), then settle.
    A channel that cannot be reached leaves the refund pending, the error kept, and raises
    ``503 channel_unavailable``; a channel that refuses marks it failed."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.state != RefundState.PENDING:
        return refund
    payment = refund.payment
    if payment.channel == COUNTER_CHANNEL:
        return refund_settle(actor=actor, refund_id=refund.pk, channel_refund_id="COUNTER-" + refund.number)
    try:
        channel_refund_id = channels.channel_get(payment.channel).refund(
            payment_number=payment.number,
            amount_fen=refund.amount_fen,
            refund_number=refund.number,
            reason=refund.reason,
        )
    except channels.RefundRefused as exc:
        with transaction.atomic():
            Refund.objects.filter(pk=refund.pk, state=RefundState.PENDING).update(
                state=RefundState.FAILED, attempts=F("attempts") + 1, last_error=str(exc)[:200]
            )
            audit_record(actor=actor, action="payments.refund_failed", obj=refund, changes={"error": str(exc)[:200]})
        raise Conflict(_("支付渠道拒绝退款:%(error)s") % {"error": exc}, code="refund_refused") from exc
    except channels.ChannelError as exc:
        Refund.objects.filter(pk=refund.pk).update(attempts=F("attempts") + 1, last_error=str(exc)[:200])
        raise _channel_error(exc) from exc
    return refund_settle(actor=actor, refund_id=refund.pk, channel_refund_id=channel_refund_id)


@transaction.atomic
def refund_settle(*, actor, refund_id, channel_refund_id: str) -> Refund:
    """Step 3: the channel refunded. Idempotent: a refund already done changes nothing.

    In the same transaction the bill's live receipt is voided (冲红, naming this refund) and,
    when money is kept (a partial refund of a paid bill), a new sealed receipt is issued for
    what is kept, linked to the voided one (换开) — as a 财政电子票据 system does. If the
    department cannot seal just now the refund stands and ``receipts_issue_missing`` (the
    5-minute job) issues the replacement later."""
    refund = Refund.objects.select_for_update().get(pk=refund_id)
    if refund.state != RefundState.PENDING:
        return refund
    payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
    now = timezone.now()
    refund.state, refund.channel_refund_id, refund.settled_at = RefundState.DONE, channel_refund_id, now
    refund.attempts += 1
    refund.last_error = ""
    refund.save()
    payment.refunded_fen += refund.amount_fen
    payment.refund_reason, payment.refund_id, payment.refunded_at = refund.reason, channel_refund_id, now
    full = payment.refunded_fen == payment.amount_fen
    if full:
        payment.state = PaymentState.REFUNDED
    payment.save(update_fields=["refunded_fen", "refund_reason", "refund_id", "refunded_at", "state"])
    bill = Bill.objects.select_for_update().get(pk=payment.bill_id)
    if full and bill.state == BillState.PAID:
        bill.state = BillState.REFUNDED
        bill.version += 1
        bill.save(update_fields=["state", "version"])
    voided = Receipt.objects.select_for_update().filter(bill=bill, voided_at=None).first()
    replacement = None
    if voided is not None:
        voided.voided_at, voided.voided_by = now, refund
        voided.save(update_fields=["voided_at", "voided_by"])
        audit_record(
            actor=actor,
            action="payments.receipt_void",
            obj=voided,
            changes={"bill": bill.number, "refund": refund.number, "refund_fen": refund.amount_fen, "full": full},
        )
    if not full and bill.state == BillState.PAID:
        facts = case_selectors.case_issuance_facts(case_id=bill.case_id)
        replacement = _receipt_try(bill=bill, payment=payment, facts=facts)
    audit_record(
        actor=actor,
        action="payments.payment_refund",
        obj=payment,
        changes={
            "bill": bill.number,
            "refund": refund.number,
            "amount_fen": refund.amount_fen,
            "refunded_fen": payment.refunded_fen,
            "full": full,
            "reason": refund.reason,
            "receipt_voided": voided.number if voided else None,
            "receipt_issued": replacement.number if replacement else None,
        },
    )
    return refund


def refunds_finish_pending(*, older_than: datetime.timedelta = datetime.timedelta(minutes=1)) -> dict:
    """Refunds written but never settled (a crash, or the channel was down): call the channel
    again with the same refund number and settle. From the 5-minute job and the reconciliation."""
    counts = {"settled": 0, "still_pending": 0, "failed": 0}
    cutoff = timezone.now() - older_than
    for pk in Refund.objects.filter(state=RefundState.PENDING, created_at__lte=cutoff).values_list("pk", flat=True)[
        :200
    ]:
        try:
            refund = refund_execute(actor="task:payments.refunds", refund_id=pk)
        except Conflict:
            counts["failed"] += 1
            continue
        except YiwangError:
            counts["still_pending"] += 1
            continue
        counts["settled" if refund.state == RefundState.DONE else "still_pending"] += 1
    return counts


# ---------------------------------------------------------------------------------------------
# At the window: cash and POS (窗口现金、POS 收款)
# ---------------------------------------------------------------------------------------------


def may_collect(actor, bill: Bill, case) -> bool:
    return may_bill(actor, case)


def bill_pay_counter(*, actor, bill_id, method: str, amount_fen, reference: str = "") -> Confirmation:
    """A payment taken at the window: cash, or a card on the hall's POS terminal (its voucher
    number in ``reference``). By staff who may raise the case's bills. The amount taken must be
    the bill's (a field error otherwise: no change given, nothing booked); the payment is
    recorded with the clerk, paid at once (channel ``counter``), and the sealed receipt issued
    as for any payment — printed for the payer at the window."""
    with transaction.atomic():
        bill = _bill_locked(bill_id)
        case = _visible_case(actor, bill)
        if not may_collect(actor, bill, case):
            raise Forbidden(_("只有窗口或本部门经办人员可以窗口收款。"))
        problems = {}
        method = (method or "").strip()
        if method not in COUNTER_METHODS:
            problems["method"] = _("请选择现金或 POS 刷卡")
        reference = (reference or "").strip()
        if method == "pos" and not re.fullmatch(r"[0-9A-Za-z-]{4,40}", reference):
            problems["reference"] = _("请填写 POS 凭条上的参考号(4 至 40 位字母或数字)")
        try:
            amount = parse_amount_fen(amount_fen)
        except ValidationFailed as exc:
            problems.update(exc.fields)
        else:
            if amount != bill.amount_fen:
                problems["amount_fen"] = _("收款金额须与缴款通知书一致(%(yuan)s 元)") % {"yuan": bill.amount_yuan}
        if problems:
            raise ValidationFailed(_("窗口收款信息有误,请检查标出的项目。"), code="counter_invalid", fields=problems)
        facts = case_selectors.case_issuance_facts(case_id=bill.case_id)
        _require_payable(bill, facts["state"])
        payment = Payment.objects.create(
            number=_payment_number(),
            bill=bill,
            channel=COUNTER_CHANNEL,
            amount_fen=bill.amount_fen,
            counter_method=method,
            collected_by=actor,
        )
        audit_record(
            actor=actor,
            action="payments.payment_start",
            obj=payment,
            changes={"bill": bill.number, "amount_fen": bill.amount_fen, "counter": method},
        )
    txn = ("POS-" + reference) if method == "pos" else ("CASH-" + payment.number)
    return _confirm_paid(
        payment_number=payment.number, txn_id=txn, amount_fen=bill.amount_fen, via="counter", actor=actor
    )


# ---------------------------------------------------------------------------------------------
# Receipts
# ---------------------------------------------------------------------------------------------


def receipt_content(receipt: Receipt, bill: Bill) -> dict:
    """What the seal signs: everything printed on the receipt that matters (a replacement also
    the number of the receipt it replaces; the void is a later fact, not signed)."""
    content = {
        "number": receipt.number,
        "check_code": receipt.check_code,
        "bill": bill.number,
        "payment_code": bill.payment_code,
        "fee": bill.fee_name,
        "revenue_code": bill.revenue_code,
        "amount_fen": receipt.amount_fen,
        "payer": receipt.payer_name,
        "department_id": bill.department_id,
        "issued_at": receipt.issued_at.isoformat(),
    }
    if receipt.replaces_id:
        content["replaces"] = receipt.replaces.number
    return content


def _receipt_issue(*, bill: Bill, payment: Payment, facts: dict) -> Receipt:
    """The bill's receipt for what the payer has paid and kept (the payment less its refunds);
    after a refund voided the last one, the new receipt names it (``replaces``)."""
    from yiwang.licenses import services as license_services

    replaces = (
        Receipt.objects.filter(bill=bill, voided_at__isnull=False, replaced_by__isnull=True)
        .order_by("-voided_at", "-id")
        .first()
        if payment.refunded_fen
        else None
    )
    receipt = Receipt(
        number=_receipt_number(),
        check_code="".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6)),
        bill=bill,
        payment=payment,
        amount_fen=payment.amount_fen - payment.refunded_fen,
        payer_name=bill.payer_name,
        issued_at=timezone.now().replace(microsecond=0),
        replaces=replaces,
    )
    sealed = license_services.document_seal_sign(
        department=bill.department, message=canonical_json(receipt_content(receipt, bill)).encode()
    )
    receipt.seal_key_id = sealed["seal_key_id"]
    receipt.signature = sealed["signature"]
    receipt.save()
    audit_record(
        actor=SYSTEM_ACTOR,
        action="payments.receipt_issue",
        obj=receipt,
        changes={
            "bill": bill.number,
            "case": facts["case_number"],
            "amount_fen": receipt.amount_fen,
            "replaces": replaces.number if replaces else None,
        },
    )
    return receipt


def _receipt_try(*, bill: Bill, payment: Payment, facts: dict) -> Receipt | None:
    """The receipt, or None (audited) if the department cannot seal yet (no seal, no USCC): the
    money is recorded all the same, and ``receipts_issue_missing`` issues it later."""
    try:
        with transaction.atomic():
            return _receipt_issue(bill=bill, payment=payment, facts=facts)
    except YiwangError as exc:
        audit_record(
            actor=SYSTEM_ACTOR, action="payments.receipt_failed", obj=bill, changes={"reason": str(exc.message)[:200]}
        )
        return None


def receipts_issue_missing() -> int:
    """Issue the receipts of paid bills that could not be sealed when they were paid, or whose
    receipt a partial refund voided while the department could not seal (the replacement)."""
    issued = 0
    live = Receipt.objects.filter(bill=OuterRef("pk"), voided_at=None)
    for bill in Bill.objects.filter(state=BillState.PAID).exclude(Exists(live))[:200]:
        payment = Payment.objects.filter(bill=bill, state=PaymentState.PAID).first()
        if payment is None:
            continue
        facts = case_selectors.case_issuance_facts(case_id=bill.case_id)
        with transaction.atomic():
            if _receipt_try(bill=bill, payment=payment, facts=facts) is not None:
                issued += 1
    return issued


def receipt_verify_url(receipt: Receipt) -> str:
    return (
        settings.SITE_URL.rstrip("/")
        + reverse("payments:receipt_verify", kwargs={"number": receipt.number})
        + f"?c={receipt.check_code}"
    )


def receipt_pdf(*, receipt: Receipt) -> bytes:
    """The receipt as a PDF sealed by the collecting department (PAdES), made once and kept."""
    if receipt.pdf:
        return bytes(receipt.pdf)
    from yiwang.licenses import services as license_services
    from yiwang.payments import render

    bill = receipt.bill

    def build(seal_png: bytes) -> bytes:
        return render.receipt_pdf(
            receipt=receipt,
            bill=bill,
            department_name=bill.department.name,
            seal_png=seal_png,
            verify_url=receipt_verify_url(receipt),
        )

    pdf = license_services.document_seal_pdf(
        department=bill.department, build=build, reason=f"电子票据 {receipt.number}"
    )
    Receipt.objects.filter(pk=receipt.pk, pdf__isnull=True).update(pdf=pdf)
    return pdf


# ---------------------------------------------------------------------------------------------
# Reconciliation
# ---------------------------------------------------------------------------------------------


def reconciliation_run(*, actor, day: datetime.date, channel_name: str | None = None) -> Reconciliation:
    """对账: the platform's paid and refunded payments of ``day`` (local time of payment) against the
    channel's statement. Every difference is named: ``missing_on_channel``, ``missing_on_platform``,
    ``amount_differs``, ``state_differs``, ``refund_differs`` (refunded amounts). Refunds left
    pending (a crash between the platform's record and the channel's answer) are finished first.
    Re-running a day replaces its report."""
    channel = channels.channel_get(channel_name)
    refunds_finish_pending(older_than=datetime.timedelta(0))
    try:
        lines = channel.reconcile(day=day)
    except channels.ChannelError as exc:
        raise _channel_error(exc) from exc
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    end = start + datetime.timedelta(days=1)
    ours = {
        p.number: p
        for p in Payment.objects.filter(channel=channel.name, paid_at__gte=start, paid_at__lt=end).filter(
            Q(state=PaymentState.PAID) | Q(state=PaymentState.REFUNDED)
        )
    }
    theirs = {line.payment_number: line for line in lines}
    # An order the channel took but the platform still holds as pending is missing on the platform.
    mismatches = []
    for number in sorted(set(ours) | set(theirs)):
        mine, other = ours.get(number), theirs.get(number)
        if other is None:
            mismatches.append(
                {"kind": "missing_on_channel", "payment": number, "platform_fen": mine.amount_fen, "channel_fen": None}
            )
        elif mine is None:
            mismatches.append(
                {
                    "kind": "missing_on_platform",
                    "payment": number,
                    "platform_fen": None,
                    "channel_fen": other.amount_fen,
                }
            )
        elif mine.amount_fen != other.amount_fen:
            mismatches.append(
                {
                    "kind": "amount_differs",
                    "payment": number,
                    "platform_fen": mine.amount_fen,
                    "channel_fen": other.amount_fen,
                }
            )
        elif mine.state != other.state:
            mismatches.append(
                {
                    "kind": "state_differs",
                    "payment": number,
                    "platform_fen": mine.amount_fen,
                    "channel_fen": other.amount_fen,
                    "platform_state": mine.state,
                    "channel_state": other.state,
                }
            )
        elif mine.refunded_fen != other.refunded_fen and (other.refunded_fen or other.state != "refunded"):
            mismatches.append(
                {
                    "kind": "refund_differs",
                    "payment": number,
                    "platform_fen": mine.refunded_fen,
                    "channel_fen": other.refunded_fen,
                }
            )
    with transaction.atomic():
        report, _created = Reconciliation.objects.update_or_create(
            channel=channel.name,
            day=day,
            defaults={
                "platform_count": len(ours),
                "channel_count": len(theirs),
                "platform_total_fen": sum(p.amount_fen for p in ours.values()),
                "channel_total_fen": sum(line.amount_fen for line in theirs.values()),
                "mismatches": mismatches,
            },
        )
        audit_record(
            actor=actor,
            action="payments.reconcile",
            obj=report,
            changes={"day": day.isoformat(), "mismatches": len(mismatches)},
        )
    return report
