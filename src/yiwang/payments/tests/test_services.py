"""Payments services without the channel: amounts, raising bills (bad input, roles, the paused
clock), confirmation idempotence, the receipt PDF (pyHanko validation) and its check."""

import io

import pytest
from django.utils import timezone

from yiwang.cases.models import Case
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.payments import selectors, services
from yiwang.payments.models import Bill, Payment
from yiwang.payments.tests.conftest import FEE, accepted_case

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("value", "fen"),
    [(2000, 2000), ("20", 2000), ("20.5", 2050), ("¥1,234.56", 123456), (" 0.01 ", 1)],
)
def test_amounts_are_integer_fen(value, fen):
    assert services.parse_amount_fen(value) == fen


@pytest.mark.parametrize("value", [20.0, 0, -5, "0", "20.001", "abc", "NaN", True, None, 10**12, "1e3x"])
def test_bad_amounts_are_refused_with_a_field_error(value):
    with pytest.raises(ValidationFailed) as exc:
        services.parse_amount_fen(value)
    assert "amount_fen" in exc.value.fields


def test_payment_code_check_digits_catch_a_typo():
    code = services.payment_code_make()
    assert services.payment_code_valid(code)
    typo = code[:5] + str((int(code[5]) + 1) % 10) + code[6:]
    assert not services.payment_code_valid(typo)


def _raise(world, **overrides):
    case = overrides.pop("case", None) or accepted_case(world)
    actor = overrides.pop("actor", world.reviewer)
    args = {"fee_name": FEE["name"], "revenue_code": "103050101", "amount": 2000, **overrides}
    return services.bill_raise(actor=actor, case_id=case.pk, **args)


def test_raise_pauses_the_clock_and_a_double_click_gives_one_bill(world):
    bill = _raise(world)
    case = Case.objects.get(pk=bill.case_id)
    assert case.paused_since == timezone.localdate() and case.sla_status == "paused"
    assert bill.payer_id == world.applicant.pk and bill.clock_paused and len(bill.payment_code) == 20
    again = services.bill_raise(
        actor=world.reviewer, case_id=case.pk, fee_name=FEE["name"], revenue_code="103050101", amount="20.00"
    )
    assert again.pk == bill.pk and Bill.objects.count() == 1
    with pytest.raises(Conflict) as exc:
        services.bill_raise(
            actor=world.reviewer, case_id=case.pk, fee_name=FEE["name"], revenue_code="103050101", amount=3000
        )
    assert exc.value.code == "bill_exists"


def test_bad_bills_are_refused_per_field(world):
    case = accepted_case(world)
    with pytest.raises(ValidationFailed) as exc:
        _raise(world, case=case, fee_name="不存在的费用")
    assert "fee_name" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        _raise(world, case=case, revenue_code="12ab", amount="-1", due_date=timezone.localdate().replace(year=2000))
    assert set(exc.value.fields) == {"revenue_code", "amount_fen", "due_date"}
    assert not Bill.objects.exists()


def test_who_may_raise_and_see(world):
    case = accepted_case(world)
    with pytest.raises(NotFound):
        _raise(world, case=case, actor=world.other_citizen)  # another citizen: the case looks missing
    with pytest.raises(NotFound):
        _raise(world, case=case, actor=world.police_reviewer)  # another department
    with pytest.raises(Forbidden):
        _raise(world, case=case, actor=world.applicant)  # the applicant sees the case but may not bill
    bill = _raise(world, case=case)
    assert selectors.bill_get(actor=world.applicant, bill_id=bill.pk) == bill
    with pytest.raises(NotFound):
        selectors.bill_get(actor=world.other_citizen, bill_id=bill.pk)
    with pytest.raises(NotFound):
        services.bill_pay_start(actor=world.reviewer, bill_id=bill.pk)  # only the payer pays online


def test_no_bill_before_acceptance(world):
    from yiwang.cases import services as case_services
    from yiwang.cases.tests.factories import FORM

    case, _ = case_services.case_submit(actor=world.applicant, item=world.market_item, form_data=FORM)
    with pytest.raises(Conflict) as exc:
        _raise(world, case=case)
    assert exc.value.code == "case_state"


def _paid(world):
    bill = _raise(world)
    payment = Payment.objects.create(number="PTEST1", bill=bill, channel="paysim", amount_fen=bill.amount_fen)
    confirmation = services._confirm_paid(
        payment_number="PTEST1", txn_id="T1", amount_fen=2000, via="callback", actor="test"
    )
    return bill, payment, confirmation


def test_confirmation_is_idempotent_and_checks_the_amount(world):
    bill, _payment, first = _paid(world)
    assert first.outcome == "paid" and first.receipt is not None
    second = services._confirm_paid(payment_number="PTEST1", txn_id="T1", amount_fen=2000, via="query", actor="test")
    assert second.outcome == "duplicate" and second.receipt.pk == first.receipt.pk
    with pytest.raises(Conflict):
        services._confirm_paid(payment_number="PTEST1", txn_id="T2", amount_fen=2000, via="callback", actor="test")
    other = _raise(world)
    Payment.objects.create(number="PTEST2", bill=other, channel="paysim", amount_fen=2000)
    with pytest.raises(ValidationFailed) as exc:
        services._confirm_paid(payment_number="PTEST2", txn_id="T3", amount_fen=200, via="callback", actor="test")
    assert exc.value.code == "amount_mismatch"
    assert Payment.objects.get(number="PTEST2").state == "pending"
    case = Case.objects.get(pk=bill.case_id)
    assert case.paused_since is None  # paid: the clock runs again


def test_receipt_pdf_is_sealed_and_validates_with_pyhanko(world):
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from yiwang.licenses.services import platform_ca

    _bill, _payment, confirmation = _paid(world)
    pdf = services.receipt_pdf(receipt=confirmation.receipt)
    assert pdf.startswith(b"%PDF")
    _, _, der = pem.unarmor(platform_ca().certificate_pem.encode())
    context = ValidationContext(trust_roots=[asn1_x509.Certificate.load(der)], allow_fetching=False)
    (signature,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    status = validate_pdf_signature(signature, signer_validation_context=context)
    assert status.intact and status.valid and status.trusted
    check = selectors.receipt_verify(number=confirmation.receipt.number, check_code=confirmation.receipt.check_code)
    assert check.result == "valid"
    type(confirmation.receipt).objects.filter(pk=confirmation.receipt.pk).update(
        amount_fen=1
    )  # tampered in the database
    check = selectors.receipt_verify(number=confirmation.receipt.number, check_code=confirmation.receipt.check_code)
    assert check.result == "invalid"
