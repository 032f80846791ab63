"""The license PDF: PAdES signature accepted by pyHanko's validator with the platform root as the
only trust anchor (offline), Chinese text, the QR code decodes to the verify URL."""

import io

import pytest

from yiwang.licenses import keys
from yiwang.licenses.services import license_pdf, platform_ca
from yiwang.licenses.tests.factories import build_world, issue

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


def _page_images(pdf: bytes):
    """The page's image XObjects as Pillow images (reportlab writes them Flate-compressed RGB/gray)."""
    from PIL import Image
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf))
    page = reader.root["/Pages"]["/Kids"][0]
    xobjects = page["/Resources"]["/XObject"]
    images = []
    for name in xobjects:
        stream = xobjects[name]
        if stream.get("/Subtype") != "/Image":
            continue
        size = (int(stream["/Width"]), int(stream["/Height"]))
        mode = "RGB" if stream["/ColorSpace"] == "/DeviceRGB" else "L"
        images.append(Image.frombytes(mode, size, stream.data))
    return images


def qr_texts(pdf: bytes) -> list[str]:
    """What a QR reader finds on the rendered first page (the QR code is drawn as vector modules)."""
    import pypdfium2
    import zxingcpp

    image = pypdfium2.PdfDocument(pdf)[0].render(scale=3).to_pil().convert("L")
    return [r.text for r in zxingcpp.read_barcodes(image)]


@pytest.fixture(scope="module")
def signed_pdf(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        from django.db import transaction

        with transaction.atomic():
            world = build_world()
            lic = issue(world)
            pdf = license_pdf(license=lic)
            root = platform_ca().certificate_pem
            url_token = keys.short_token(lic.signature)
            identifier = lic.identifier
            transaction.set_rollback(True)
    return pdf, root, identifier, url_token


def test_pades_signature_is_accepted_with_the_platform_root(signed_pdf):
    pdf, root, _identifier, _token = signed_pdf
    status = _validate(pdf, root)
    assert status.intact and status.valid and status.trusted
    assert status.bottom_line
    assert "苏州市市场监督管理局" in status.signing_cert.subject.human_friendly


def test_pades_signature_is_not_trusted_under_another_root(signed_pdf):
    pdf, _root, _identifier, _token = signed_pdf
    other_root, _key = keys.make_root_ca("Some Other Root")
    status = _validate(pdf, other_root)
    assert status.intact and not status.trusted and not status.bottom_line


def test_changed_pdf_bytes_break_the_signature(signed_pdf):
    pdf, root, _identifier, _token = signed_pdf
    # Change one byte of the page content (drawn text is in the first revision).
    pos = pdf.index(b"stream\n") + 20
    tampered = pdf[:pos] + bytes([pdf[pos] ^ 0x01]) + pdf[pos + 1 :]
    status = _validate(tampered, root)
    assert not status.intact and not status.bottom_line


def test_qr_code_in_the_pdf_decodes_to_the_verify_url(signed_pdf, settings):
    pdf, _root, identifier, token = signed_pdf
    assert f"{settings.SITE_URL}/verify/{identifier}?s={token}" in qr_texts(pdf)


def test_pdf_has_embedded_chinese_font_and_the_seal_image(signed_pdf):
    pdf, _root, _identifier, _token = signed_pdf
    assert b"/FontFile2" in pdf or b"STSong-Light" in pdf
    images = _page_images(pdf)

    # The seal (RGB with red pixels) is on the page (the QR code is vector: see the test above).
    def has_seal_red(im) -> bool:
        raw = im.tobytes()
        return any(raw[i] > 180 and raw[i + 1] < 80 and raw[i + 2] < 80 for i in range(0, len(raw), 3))

    assert any(im.mode == "RGB" and has_seal_red(im) for im in images), "the red seal is drawn on the page"
