"""The issued document's PDF: PAdES signature by the department's seal key, accepted by pyHanko's
validator with the platform root as the only trust anchor (offline); a changed byte breaks it."""

import io

import pytest

from yiwang.documents.tests.factories import route_to_issue
from yiwang.licenses.services import platform_ca

pytestmark = pytest.mark.django_db


def _validate(pdf: bytes, root_pem: str):
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    _, _, der = pem.unarmor(root_pem.encode())
    context = ValidationContext(trust_roots=[asn1_x509.Certificate.load(der)], allow_fetching=False)
    reader = PdfFileReader(io.BytesIO(pdf))
    (signature,) = reader.embedded_signatures
    return validate_pdf_signature(signature, signer_validation_context=context)


def test_issued_pdf_validates_with_the_platform_root_and_names_the_department(office):
    document = route_to_issue(office)
    pdf = bytes(document.pdf)
    status = _validate(pdf, platform_ca().certificate_pem)
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert "测试市市场监督管理局" in status.signing_cert.subject.human_friendly
    from pyhanko.pdf_utils.reader import PdfFileReader

    info = PdfFileReader(io.BytesIO(pdf)).trailer["/Info"]
    assert str(info["/Subject"]) == document.number
    tampered = pdf.replace(b"/Title", b"/TitlE", 1)  # a byte inside the signed range
    assert not _validate(tampered, platform_ca().certificate_pem).intact
