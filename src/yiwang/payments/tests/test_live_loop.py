"""The whole payment loop against the simulator running as its own process, with its callbacks
reaching the platform over HTTP (Django's live server): redirect to the cashier, the signed
callback, a duplicate, a replay, a forgery, a lost callback found by query and a late one, a
refund, a payment for a cancelled bill, and the reconciliation report."""

import json
import urllib.parse
import urllib.request

import pytest
from django.test import Client

from yiwang.cases import services as case_services
from yiwang.cases.models import Case
from yiwang.core import gm
from yiwang.core.models import AuditEvent
from yiwang.payments import services
from yiwang.payments.models import Bill, CallbackRecord, Payment, Receipt
from yiwang.payments.tests.conftest import FEE, accepted_case

pytestmark = pytest.mark.django_db(transaction=True)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _post(url: str, data: bytes = b"", headers: dict | None = None) -> tuple[int, str, dict]:
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, data=data, method="POST", headers=headers or {})  # noqa: S310
    try:
        with opener.open(request, timeout=20) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


def _raise(world, amount=2000) -> Bill:
    case = accepted_case(world)
    return services.bill_raise(
        actor=world.reviewer, case_id=case.pk, fee_name=FEE["name"], revenue_code="103050101", amount=amount
    )


def _to_cashier(world, bill) -> str:
    client = Client()
    client.force_login(world.applicant)
    response = client.post(f"/payments/bills/{bill.pk}/pay")
    assert response.status_code == 302
    return response["Location"]


def _pay_at_cashier(cashier_url: str, *, notify: bool = True) -> tuple[int, str]:
    status, _body, headers = _post(cashier_url + "/pay", b"" if notify else b"notify=0")
    return status, headers.get("Location", "")


def _actions(prefix: str) -> list[str]:
    return list(AuditEvent.objects.filter(action__startswith=prefix).values_list("action", flat=True))


def test_redirect_callback_duplicate_replay_forgery_and_refund(world, channel):
    bill = _raise(world)
    case = Case.objects.get(pk=bill.case_id)
    assert case.paused_since is not None and case.sla_status == "paused"  # the clock waits for the fee

    cashier = _to_cashier(world, bill)
    assert cashier.startswith(channel + "/cashier/")
    page = urllib.request.urlopen(cashier, timeout=10).read().decode()  # noqa: S310
    assert "20.00" in page and "确认支付" in page
    status, back = _pay_at_cashier(cashier)
    assert status == 303 and back.endswith(f"/payments/bills/{bill.pk}/return")

    # The simulator's signed callback reached the platform before the browser came back.
    bill.refresh_from_db()
    assert bill.state == "paid"
    payment = Payment.objects.get(bill=bill)
    assert payment.state == "paid" and payment.confirmed_by == "callback" and payment.channel_txn_id
    receipt = Receipt.objects.get(bill=bill)
    assert receipt.amount_fen == 2000
    case.refresh_from_db()
    assert case.paused_since is None and case.sla_status != "paused"  # resumed when paid

    order_id = cashier.rsplit("/", 1)[1]
    # A duplicate (freshly signed, new nonce): accepted as a no-op.
    status, body, _h = _post(f"{channel}/control/orders/{order_id}/notify")
    assert status == 200 and json.loads(body)["delivered"] == 200
    assert Payment.objects.filter(bill=bill, state="paid").count() == 1
    assert Receipt.objects.filter(bill=bill).count() == 1
    assert _actions("payments.payment_paid") == ["payments.payment_paid"]
    assert CallbackRecord.objects.filter(outcome="duplicate").count() == 1

    # A replay (the same signed bytes again): refused with 409 and audited.
    status, body, _h = _post(f"{channel}/control/orders/{order_id}/notify?replay=1")
    assert json.loads(body)["delivered"] == 409
    assert "payments.callback_replayed" in _actions("payments.callback_")

    # A forgery: a well-formed notice signed with another key.
    forged_key, _pub = gm.sm2_keypair()
    notice = json.dumps(
        {
            "type": "payment.paid",
            "merchant_order": payment.number,
            "order_id": order_id,
            "txn_id": "FAKE",
            "amount_fen": 1,
            "paid_at": "x",
            "nonce": "n1",
            "timestamp": 0,
        }
    ).encode()
    forged = Client().post(
        "/payments/callback/paysim",
        data=notice,
        content_type="application/json",
        HTTP_X_PAYSIM_SIGNATURE=gm.sm2_sign(forged_key, notice),
    )
    assert forged.status_code == 422 and forged.json()["code"] == "callback_forged"
    assert "payments.callback_forged" in _actions("payments.callback_")
    assert Client().post("/payments/callback/nobank", data=notice, content_type="application/json").status_code == 404

    # The receipt's public check page.
    check = Client().get(f"/payments/receipts/verify/{receipt.number}?c={receipt.check_code}")
    assert check.status_code == 200 and 'data-result="valid"' in check.content.decode()
    assert Client().get(f"/payments/receipts/verify/{receipt.number}?c=WRONG1").status_code == 404

    # Refund by the department head, with a reason; the receipt is voided (冲红).
    head = Client()
    head.force_login(world.head)
    assert head.post(f"/workbench/payments/{bill.pk}/payments/{payment.pk}/refund", {"reason": ""}).status_code == 302
    payment.refresh_from_db()
    assert payment.state == "paid"  # no reason, no refund
    reviewer = Client()
    reviewer.force_login(world.reviewer)
    reviewer.post(f"/workbench/payments/{bill.pk}/payments/{payment.pk}/refund", {"reason": "多收"})
    payment.refresh_from_db()
    assert payment.state == "paid"  # a reviewer may not refund
    head.post(f"/workbench/payments/{bill.pk}/payments/{payment.pk}/refund", {"reason": "申请人撤回缴费,全额退款"})
    payment.refresh_from_db()
    bill.refresh_from_db()
    assert payment.state == "refunded" and payment.refund_id and bill.state == "refunded"
    status = services.channels.channel_get().query(payment_number=payment.number)
    assert status.state == "refunded"
    check = Client().get(f"/payments/receipts/verify/{receipt.number}?c={receipt.check_code}")
    assert 'data-result="voided"' in check.content.decode()


def test_lost_callback_is_found_by_query_and_the_late_callback_changes_nothing(world, channel):
    bill = _raise(world)
    cashier = _to_cashier(world, bill)
    _pay_at_cashier(cashier, notify=False)
    bill.refresh_from_db()
    assert bill.state == "open"  # no callback came
    client = Client()
    client.force_login(world.applicant)
    client.get(f"/payments/bills/{bill.pk}/return")  # back from the cashier: the platform asks the channel
    bill.refresh_from_db()
    payment = Payment.objects.get(bill=bill)
    assert bill.state == "paid" and payment.confirmed_by == "query"
    _status, body, _h = _post(f"{channel}/control/orders/{cashier.rsplit('/', 1)[1]}/notify")  # the late callback
    assert json.loads(body)["delivered"] == 200
    assert (
        Payment.objects.filter(bill=bill, state="paid").count() == 1 and Receipt.objects.filter(bill=bill).count() == 1
    )


def test_payment_for_a_cancelled_case_is_refused_or_refunded(world, channel):
    bill = _raise(world)
    cashier = _to_cashier(world, bill)  # the payer opened the cashier …
    case_services.case_withdraw(actor=world.applicant, case_id=bill.case_id, reason="不再需要")
    bill.refresh_from_db()
    assert bill.state == "cancelled"  # … the case was withdrawn: the bill is cancelled
    client = Client()
    client.force_login(world.applicant)
    response = client.post(f"/payments/bills/{bill.pk}/pay", follow=True)
    assert "已作废" in response.content.decode()
    _pay_at_cashier(cashier)  # … and paid anyway at the open cashier: recorded, then refunded
    payment = Payment.objects.get(bill=bill)
    assert payment.state == "refunded" and not Receipt.objects.filter(bill=bill).exists()
    assert "payments.paid_for_closed_bill" in _actions("payments.paid_for_closed_bill")


def test_reconciliation_names_every_mismatch(world, own_channel):
    import datetime

    from django.utils import timezone

    paid = [_raise(world) for _ in range(3)]
    for bill in paid:
        _pay_at_cashier(_to_cashier(world, bill))
    lost = _raise(world)
    _pay_at_cashier(_to_cashier(world, lost), notify=False)  # the channel has it, the platform not yet
    p0, p1, _p2 = (Payment.objects.get(bill=b) for b in paid)
    Payment.objects.filter(pk=p1.pk).update(amount_fen=1999)  # the books differ
    Payment.objects.create(  # a payment the channel never saw
        number="PGHOST",
        bill=_raise(world),
        channel="paysim",
        amount_fen=2000,
        state="paid",
        channel_txn_id="TGHOST",
        paid_at=timezone.now(),
    )
    report = services.reconciliation_run(actor=world.auditor, day=timezone.localdate())
    kinds = {(m["kind"], m["payment"]) for m in report.mismatches}
    assert kinds == {
        ("amount_differs", p1.number),
        ("missing_on_channel", "PGHOST"),
        ("missing_on_platform", Payment.objects.get(bill=lost).number),
    }
    assert report.platform_count == 4 and report.channel_count == 4
    auditor = Client()
    auditor.force_login(world.auditor)
    page = auditor.get(f"/workbench/payments/reconciliation/{report.pk}/").content.decode()
    assert "PGHOST" in page and "金额不符" in page
    assert (
        services.reconciliation_run(
            actor=world.auditor, day=timezone.localdate() - datetime.timedelta(days=1)
        ).mismatches
        == []
    )
    assert p0.state == "paid"
