"""Refunds written before the channel is called (a crash in between is finished by the job or
the reconciliation), partial refunds, payments at the window (cash, POS) and the simulator's
books surviving its restart — against the simulator as its own process."""

import datetime
import json
import urllib.request

import pytest
from django.test import Client
from django.utils import timezone

from yiwang.core.errors import ValidationFailed
from yiwang.core.models import AuditEvent
from yiwang.payments import channels, services
from yiwang.payments.models import Payment, Receipt, Refund
from yiwang.payments.tests.conftest import FEE, accepted_case, start_paysim
from yiwang.payments.tests.test_live_loop import _pay_at_cashier, _raise, _to_cashier


def _paid(world):
    bill = _raise(world)
    _pay_at_cashier(_to_cashier(world, bill))
    bill.refresh_from_db()
    assert bill.state == "paid"
    return bill, Payment.objects.get(bill=bill)


@pytest.mark.django_db(transaction=True)
def test_partial_refunds_then_the_rest(world, own_channel):
    bill, payment = _paid(world)
    receipt = Receipt.objects.get(bill=bill)
    services.payment_refund(actor=world.head, payment_id=payment.pk, reason="部分材料未制证", amount_fen="5.00")
    payment.refresh_from_db()
    bill.refresh_from_db()
    assert payment.state == "paid" and payment.refunded_fen == 500 and bill.state == "paid"
    # 冲红 and 换开: the receipt is voided and a new one stands for the 15.00 kept.
    assert Receipt.objects.get(pk=receipt.pk).voided_at is not None
    kept = Receipt.objects.get(bill=bill, voided_at=None)
    assert kept.amount_fen == 1500 and kept.replaces_id == receipt.pk
    with pytest.raises(ValidationFailed) as too_much:
        services.payment_refund(actor=world.head, payment_id=payment.pk, reason="再退", amount_fen=1501)
    assert "15.00" in str(too_much.value.fields["amount_fen"])
    head = Client()
    head.force_login(world.head)
    head.post(f"/workbench/payments/{bill.pk}/payments/{payment.pk}/refund", {"reason": "余款退回", "amount": ""})
    payment.refresh_from_db()
    bill.refresh_from_db()
    assert payment.state == "refunded" and payment.refunded_fen == 2000 and bill.state == "refunded"
    assert Receipt.objects.get(pk=kept.pk).voided_at is not None
    assert not Receipt.objects.filter(bill=bill, voided_at=None).exists()
    assert [(r.number, r.amount_fen, r.state) for r in Refund.objects.order_by("pk")] == [
        (payment.number + "R", 500, "done"),
        (payment.number + "R2", 1500, "done"),
    ]
    status = channels.channel_get().query(payment_number=payment.number)
    assert status.state == "refunded"
    report = services.reconciliation_run(actor=world.auditor, day=timezone.localdate())
    assert report.mismatches == []
    actions = list(AuditEvent.objects.filter(action__startswith="payments.refund").values_list("action", flat=True))
    assert actions == ["payments.refund_request", "payments.refund_request"]


@pytest.mark.django_db(transaction=True)
def test_a_refund_interrupted_before_or_after_the_channel_is_finished_once(world, own_channel, settings):
    _bill, payment = _paid(world)
    working = dict(settings.YIWANG_PAYMENTS)
    # The channel cannot be reached: the refund is written, pending, and nothing else moves.
    settings.YIWANG_PAYMENTS = {**working, "paysim_url": "http://127.0.0.1:9"}
    with pytest.raises(services.ChannelUnavailable):
        services.payment_refund(actor=world.head, payment_id=payment.pk, reason="误缴", amount_fen=800)
    refund = Refund.objects.get()
    payment.refresh_from_db()
    assert refund.state == "pending" and refund.attempts == 1 and refund.last_error
    assert payment.state == "paid" and payment.refunded_fen == 0
    # Two clicks cannot refund twice while one is in flight.
    with pytest.raises(services.Conflict):
        services.payment_refund(actor=world.head, payment_id=payment.pk, reason="误缴", amount_fen=800)
    # The channel did refund, but the platform died before recording it (the same refund number).
    settings.YIWANG_PAYMENTS = working
    channels.channel_get().refund(
        payment_number=payment.number, amount_fen=800, refund_number=refund.number, reason="误缴"
    )
    # The reconciliation finds the pending refund, asks again (idempotent there) and settles it once.
    report = services.reconciliation_run(actor=world.auditor, day=timezone.localdate())
    refund.refresh_from_db()
    payment.refresh_from_db()
    assert refund.state == "done" and payment.refunded_fen == 800 and payment.state == "paid"
    assert report.mismatches == []
    assert services.refunds_finish_pending(older_than=datetime.timedelta(0)) == {
        "settled": 0,
        "still_pending": 0,
        "failed": 0,
    }
    # Refunded by the channel behind the platform's back: the reconciliation names it.
    channels.channel_get().refund(payment_number=payment.number, amount_fen=100, refund_number="OUTSIDE", reason="x")
    report = services.reconciliation_run(actor=world.auditor, day=timezone.localdate())
    assert [(m["kind"], m["platform_fen"], m["channel_fen"]) for m in report.mismatches] == [
        ("refund_differs", 800, 900)
    ]


def test_cash_and_pos_at_the_window_with_the_clerk_and_a_receipt(world):
    case = accepted_case(world)
    bill = services.bill_raise(
        actor=world.reviewer, case_id=case.pk, fee_name=FEE["name"], revenue_code="103050101", amount=2000
    )
    with pytest.raises(ValidationFailed) as bad:
        services.bill_pay_counter(actor=world.clerk, bill_id=bill.pk, method="pos", amount_fen="19.00")
    assert set(bad.value.fields) == {"amount_fen", "reference"}
    with pytest.raises(ValidationFailed) as bad:
        services.bill_pay_counter(actor=world.clerk, bill_id=bill.pk, method="cheque", amount_fen=2000)
    assert set(bad.value.fields) == {"method"}
    assert not Payment.objects.exists()
    with pytest.raises(services.NotFound):  # somebody who does not see the case
        services.bill_pay_counter(actor=world.other_citizen, bill_id=bill.pk, method="cash", amount_fen=2000)
    clerk = Client()
    clerk.force_login(world.clerk)
    done = clerk.post(f"/workbench/payments/{bill.pk}/counter", {"method": "cash", "amount": "20.00"})
    assert done.status_code == 302
    payment = Payment.objects.get(bill=bill)
    assert payment.channel == "counter" and payment.counter_method == "cash" and payment.collected_by == world.clerk
    assert payment.state == "paid" and payment.confirmed_by == "counter"
    receipt = Receipt.objects.get(bill=bill)
    assert receipt.amount_fen == 2000
    page = clerk.get(f"/workbench/payments/{bill.pk}/").content.decode()
    assert "窗口" in page and "现金" in page and receipt.number in page
    pdf = clerk.get(f"/payments/bills/{bill.pk}/receipt.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    again = clerk.post(f"/workbench/payments/{bill.pk}/counter", {"method": "cash", "amount": "20.00"})
    assert again.status_code == 302 and Payment.objects.filter(bill=bill).count() == 1  # already paid
    audit = AuditEvent.objects.filter(action="payments.payment_paid").get()
    assert audit.changes["via"] == "counter" and audit.actor_id == world.clerk.pk
    # Given back at the window: no channel is called.
    services.payment_refund(actor=world.head, payment_id=payment.pk, reason="窗口退回现金")
    payment.refresh_from_db()
    assert payment.state == "refunded" and Refund.objects.get().channel_refund_id.startswith("COUNTER-")


def test_pos_through_the_api(world):
    from yiwang.identity.services import api_token_create

    case = accepted_case(world)
    bill = services.bill_raise(
        actor=world.reviewer, case_id=case.pk, fee_name=FEE["name"], revenue_code="103050101", amount=2000
    )
    _t, token = api_token_create(actor=world.clerk, user=world.clerk, name="t")
    url = f"/api/v1/payments/bills/{bill.pk}/counter"
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    bad = Client().post(url, {"method": "pos", "amount_fen": "20.00"}, content_type="application/json", **headers)
    assert bad.status_code == 422 and bad.json()["fields"]["amount_fen"]
    good = Client().post(
        url, {"method": "pos", "amount_fen": 2000, "reference": "POS889911"}, content_type="application/json", **headers
    )
    assert good.status_code == 201, good.content
    assert good.json()["receipt_number"] and good.json()["receipt_url"].endswith("/receipt.pdf")
    assert Payment.objects.get(bill=bill).channel_txn_id == "POS-POS889911"


def test_the_simulator_keeps_its_books_across_a_restart(tmp_path):
    key = tmp_path / "paysim.key"
    process, url, _public = start_paysim(key)
    try:
        body = json.dumps({"merchant_order": "P1", "amount_fen": 1200, "notify_url": "http://127.0.0.1:9/"}).encode()
        request = urllib.request.Request(url + "/api/orders", data=body, method="POST")  # noqa: S310
        order = json.loads(urllib.request.urlopen(request, timeout=10).read())  # noqa: S310
        pay = urllib.request.Request(url + f"/cashier/{order['order_id']}/pay", data=b"notify=0", method="POST")  # noqa: S310
        urllib.request.urlopen(pay, timeout=10).read()  # noqa: S310 (303 to the cashier page again)
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert (tmp_path / "paysim.sqlite3").exists()
    process, url, _public = start_paysim(key)
    try:
        answer = json.loads(urllib.request.urlopen(url + "/api/orders/P1", timeout=10).read())  # noqa: S310
        assert answer["state"] == "paid" and answer["amount_fen"] == 1200 and answer["txn_id"]
    finally:
        process.terminate()
        process.wait(timeout=10)
