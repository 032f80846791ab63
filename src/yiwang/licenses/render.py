"""Pictures and documents: the red round seal (Pillow) and the license PDF (reportlab + pyHanko)."""

import io
import math

from yiwang.core.pdf import cjk_font_path, pdf_font

SEAL_RED = (214, 28, 28)


# ------------------------------------------------------------------ the seal image


def seal_png(name: str, *, size: int = 480) -> bytes:
    """A red round official seal: outer ring, the name along the upper arc, a five-point star."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    c = size / 2
    ring = size * 0.035
    draw.ellipse((ring / 2, ring / 2, size - ring / 2, size - ring / 2), outline=SEAL_RED, width=int(ring))
    # Five-point star in the centre.
    r_out, r_in = size * 0.17, size * 0.17 * 0.382
    points = []
    for i in range(10):
        r = r_out if i % 2 == 0 else r_in
        a = -math.pi / 2 + i * math.pi / 5
        points.append((c + r * math.cos(a), c + r * math.sin(a)))
    draw.polygon(points, fill=SEAL_RED)
    path = cjk_font_path()
    font_size = int(size * 0.11)
    font = ImageFont.truetype(path, font_size, index=0) if path else ImageFont.load_default()
    chars = list(name)
    if chars:
        span = min(math.radians(250), math.radians(24) * len(chars))
        radius = c - ring - font_size * 0.85
        for i, ch in enumerate(chars):
            angle = -math.pi / 2 - span / 2 + (span * (i + 0.5) / len(chars))
            glyph = Image.new("RGBA", (font_size * 2, font_size * 2), (0, 0, 0, 0))
            ImageDraw.Draw(glyph).text((font_size, font_size), ch, font=font, fill=SEAL_RED, anchor="mm")
            glyph = glyph.rotate(-math.degrees(angle + math.pi / 2), resample=Image.BICUBIC)
            x = c + radius * math.cos(angle) - font_size
            y = c + radius * math.sin(angle) - font_size
            img.alpha_composite(glyph, (int(x), int(y)))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


# ------------------------------------------------------------------ the PDF


def qr_png(url: str) -> bytes:
    import segno

    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind="png", scale=8, border=4)
    return out.getvalue()


def license_pdf(
    *,
    title: str,
    rows: list[tuple[str, str]],
    identifier: str,
    issuer_name: str,
    issue_date: str,
    seal_image: bytes,
    verify_url: str,
    landscape: bool = False,
) -> bytes:
    """The unsigned license PDF: title, field rows, issuer and date, red seal, identifier, QR code."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.pagesizes import landscape as to_landscape
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    font = pdf_font()
    page = to_landscape(A4) if landscape else A4
    width, height = page
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=page, invariant=True)
    c.setTitle(title)
    c.setAuthor(issuer_name)
    c.setSubject(identifier)
    # Frame
    c.setStrokeColorRGB(0.72, 0.55, 0.2)
    c.setLineWidth(2)
    c.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    c.setFillColorRGB(0.1, 0.1, 0.1)
    c.setFont(font, 28)
    c.drawCentredString(width / 2, height - 40 * mm, title)
    c.setFont(font, 9)
    c.drawCentredString(width / 2, height - 48 * mm, f"证照标识:{identifier}")
    y = height - 66 * mm
    label_x, value_x = 30 * mm, 70 * mm
    for label, value in rows:
        c.setFont(font, 12)
        c.drawString(label_x, y, label)
        lines = _wrap(str(value), max_chars=28 if not landscape else 48)
        for line in lines:
            c.drawString(value_x, y, line)
            y -= 8 * mm
        if y < 80 * mm:
            break
    # Issuer, date and the seal over them
    c.setFont(font, 13)
    c.drawRightString(width - 30 * mm, 50 * mm, issuer_name)
    c.drawRightString(width - 30 * mm, 42 * mm, issue_date)
    seal_size = 42 * mm
    c.drawImage(
        ImageReader(io.BytesIO(seal_image)),
        width - 30 * mm - seal_size * 0.9,
        30 * mm,
        seal_size,
        seal_size,
        mask="auto",
    )
    # QR code for verification
    qr_size = 34 * mm
    c.drawImage(ImageReader(io.BytesIO(qr_png(verify_url))), 24 * mm, 22 * mm, qr_size, qr_size)
    c.setFont(font, 8)
    c.drawString(24 * mm, 18 * mm, "扫码核验")
    c.showPage()
    c.save()
    return out.getvalue()


def _wrap(text: str, *, max_chars: int) -> list[str]:
    text = text.replace("\r", "")
    lines: list[str] = []
    for part in text.split("\n") or [""]:
        while len(part) > max_chars:
            lines.append(part[:max_chars])
            part = part[max_chars:]
        lines.append(part)
    return lines or [""]


def pades_sign(pdf: bytes, *, certificate_pem: str, private_key_pem: bytes, root_pem: str, reason: str) -> bytes:
    """Add a PAdES baseline B signature (ECDSA P-256, SHA-256) with the department's certificate."""
    from asn1crypto import keys as asn1_keys
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    def cert(text: str):
        _, _, der = pem.unarmor(text.encode())
        return asn1_x509.Certificate.load(der)

    _, _, key_der = pem.unarmor(private_key_pem)
    signer = signers.SimpleSigner(
        signing_cert=cert(certificate_pem),
        signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs([cert(root_pem)]),
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    meta = signers.PdfSignatureMetadata(
        field_name="YiwangSeal",
        reason=reason,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
    )
    out = io.BytesIO()
    signers.sign_pdf(writer, meta, signer=signer, output=out)
    return out.getvalue()
