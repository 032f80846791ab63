"""冲红 and 换开: a settled refund voids the bill's receipt, naming the refund; a partial refund
has a new sealed receipt issued for the amount kept, linked to the voided one; the public check
(page behind the QR, and the API) tells valid, voided and replaced apart. Paid at the window
(cash), so no channel process is needed: the refund is settled through the same service."""

from django.test import Client
from django.utils import timezone

from yiwang.core.models import AuditEvent
from yiwang.payments import services
from yiwang.payments.models import Payment, Receipt, Refund
from yiwang.payments.tests.conftest import FEE, accepted_case


def _paid_at_window(world):
    case = accepted_case(world)
    bill = services.bill_raise(
        actor=world.reviewer, case_id=case.pk, fee_name=FEE["name"], revenue_code="103050101", amount=2000
    )
    services.bill_pay_counter(actor=world.clerk, bill_id=bill.pk, method="cash", amount_fen=2000)
    return bill, Payment.objects.get(bill=bill)


def _page(receipt) -> tuple[str, str]:
    response = Client().get(f"/payments/receipts/verify/{receipt.number}?c={receipt.check_code}")
    assert response.status_code == 200
    html = response.content.decode()
    return html.split('data-result="', 1)[1].split('"', 1)[0], html


def _api(receipt) -> dict:
    response = Client().get(f"/api/v1/payments/receipts/verify/{receipt.number}?c={receipt.check_code}")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_partial_refund_voids_the_receipt_and_issues_one_for_the_amount_kept(world):
    bill, payment = _paid_at_window(world)
    original = Receipt.objects.get(bill=bill)
    assert _page(original)[0] == "valid" and _api(original)["result"] == "valid"

    services.payment_refund(actor=world.head, payment_id=payment.pk, reason="部分材料未制证", amount_fen="5.00")
    refund = Refund.objects.get()
    original.refresh_from_db()
    assert original.voided_at is not None and original.voided_by == refund
    new = Receipt.objects.get(bill=bill, voided_at=None)
    assert new.amount_fen == 1500 and new.replaces == original and new.pk != original.pk
    bill.refresh_from_db()
    assert bill.state == "paid"

    # The QR of the original now says 已冲红, when and by which refund, and names the new receipt.
    result, html = _page(original)
    assert result == "replaced"
    assert "已冲红" in html and refund.number in html and new.number in html and "15.00" in html
    assert timezone.localtime(original.voided_at).strftime("%Y-%m-%d") in html
    assert new.check_code not in html  # the new receipt's check code stays with its holder
    data = _api(original)
    assert data["result"] == "replaced" and data["voided_by_refund"] == refund.number and data["refund_fen"] == 500
    assert data["replaced_by"] == new.number and data["replaced_by_amount_fen"] == 1500
    # The new receipt is sealed and valid, for the amount kept, naming the original.
    result, html = _page(new)
    assert result == "valid" and original.number in html and "15.00" in html
    data = _api(new)
    assert data["result"] == "valid" and data["amount_fen"] == 1500 and data["replaces"] == original.number

    # The refund settled again (a repeated answer or job run): nothing changes, nothing is issued twice.
    services.refund_settle(actor="task:payments.refunds", refund_id=refund.pk, channel_refund_id="again")
    services.refund_execute(actor="task:payments.refunds", refund_id=refund.pk)
    assert Receipt.objects.filter(bill=bill).count() == 2
    payment.refresh_from_db()
    assert payment.refunded_fen == 500
    assert services.receipts_issue_missing() == 0

    # The payer's printable page and the staff page show the current receipt and the history.
    clerk = Client()
    clerk.force_login(world.head)
    page = clerk.get(f"/workbench/payments/{bill.pk}/").content.decode()
    assert original.number in page and new.number in page and "已冲红" in page
    payer = Client()
    payer.force_login(world.applicant)
    printable = payer.get(f"/payments/bills/{bill.pk}/receipt/print/").content.decode()
    assert new.number in printable and "15.00" in printable and original.number in printable
    pdf = payer.get(f"/payments/bills/{bill.pk}/receipt.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    # The rest refunded: the second receipt is voided too, and no third one is issued.
    services.payment_refund(actor=world.head, payment_id=payment.pk, reason="余款退回")
    rest = Refund.objects.exclude(pk=refund.pk).get()
    new.refresh_from_db()
    bill.refresh_from_db()
    assert bill.state == "refunded" and new.voided_by == rest
    assert Receipt.objects.filter(bill=bill).count() == 2
    assert not Receipt.objects.filter(bill=bill, voided_at=None).exists()
    result, html = _page(new)
    assert result == "voided" and rest.number in html and "全额退款" in html
    assert _api(new)["result"] == "voided" and _api(new)["replaced_by"] is None
    assert _page(original)[0] == "replaced"  # the first one keeps its story

    voids = AuditEvent.objects.filter(action="payments.receipt_void").order_by("pk")
    assert [(e.changes["refund"], e.changes["full"]) for e in voids] == [(refund.number, False), (rest.number, True)]
    issued = AuditEvent.objects.filter(action="payments.receipt_issue").order_by("pk")
    assert [e.changes["replaces"] for e in issued] == [None, original.number]
    settled = AuditEvent.objects.filter(action="payments.payment_refund").order_by("pk").first()
    assert settled.changes["receipt_voided"] == original.number and settled.changes["receipt_issued"] == new.number


def test_a_full_refund_voids_without_a_new_receipt(world):
    bill, payment = _paid_at_window(world)
    original = Receipt.objects.get(bill=bill)
    services.payment_refund(actor=world.head, payment_id=payment.pk, reason="误缴")
    assert Receipt.objects.filter(bill=bill).count() == 1
    result, html = _page(original)
    assert result == "voided" and Refund.objects.get().number in html
    assert _api(original)["result"] == "voided"


def test_a_replacement_altered_in_the_database_fails_and_a_wrong_code_is_not_found(world):
    bill, payment = _paid_at_window(world)
    services.payment_refund(actor=world.head, payment_id=payment.pk, reason="部分退款", amount_fen=500)
    new = Receipt.objects.get(bill=bill, voided_at=None)
    Receipt.objects.filter(pk=new.pk).update(amount_fen=2000)  # someone "restores" the old amount
    new.refresh_from_db()
    assert _page(new)[0] == "invalid" and _api(new)["result"] == "invalid"
    wrong = Client().get(f"/api/v1/payments/receipts/verify/{new.number}?c=XXXXXX")
    assert wrong.status_code == 404 and wrong.json()["code"] == "receipt_not_found"
    assert Client().get(f"/payments/receipts/verify/{new.number}?c=XXXXXX").status_code == 404
