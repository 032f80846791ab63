"""Pictures and documents: the red round seal (Pillow) and the license PDF (reportlab + pyHanko)."""

import io
import math
from functools import lru_cache

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
    _draw_qr(c, verify_url, x=24 * mm, y=22 * mm, size=qr_size)
    c.setFont(font, 8)
    c.drawString(24 * mm, 18 * mm, "扫码核验")
    c.showPage()
    c.save()
    return out.getvalue()


def _draw_qr(c, url: str, *, x: float, y: float, size: float, border: int = 4) -> None:
    """The QR code as vector modules (one filled rectangle per horizontal run of dark modules):
    sharp at any zoom or print resolution, and about a fifth of the page's render time cheaper
    than encoding a PNG and embedding it as an image (measured with pyinstrument)."""
    import segno

    matrix = segno.make(url, error="m", micro=False).matrix
    count = len(matrix) + 2 * border
    module = size / count
    c.saveState()
    c.setFillColorRGB(1, 1, 1)
    c.rect(x, y, size, size, stroke=0, fill=1)
    c.setFillColorRGB(0, 0, 0)
    path = c.beginPath()
    for row_index, row in enumerate(matrix):
        top = y + size - (row_index + border + 1) * module
        col = 0
        while col < len(row):
            if row[col] & 1:
                start = col
                while col < len(row) and row[col] & 1:
                    col += 1
                path.rect(x + (start + border) * module, top, (col - start) * module, module)
            else:
                col += 1
    c.drawPath(path, stroke=0, fill=1)
    c.restoreState()


def _wrap(text: str, *, max_chars: int) -> list[str]:
    text = text.replace("\r", "")
    lines: list[str] = []
    for part in text.split("\n") or [""]:
        while len(part) > max_chars:
            lines.append(part[:max_chars])
            part = part[max_chars:]
        lines.append(part)
    return lines or [""]


# The CMS container of one PAdES signature here (ECDSA P-256 signature, the signing certificate,
# the platform root, signed attributes) is ~2 KiB. Reserving a fixed size lets pyHanko skip its
# size estimate, which otherwise builds and signs a throw-away container first (half of the
# signing cost, measured with pyinstrument). pyHanko raises if a container ever outgrows it.
PADES_BYTES_RESERVED = 8192


@lru_cache(maxsize=64)
def _pades_signer(certificate_pem: str, private_key_pem: bytes, root_pem: str):
    """The pyHanko signer of one department key, parsed once per process (keys rotate by version,
    so a rotated key is a new cache entry; the old one ages out)."""
    from asn1crypto import keys as asn1_keys
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    def cert(text: str):
        _, _, der = pem.unarmor(text.encode())
        return asn1_x509.Certificate.load(der)

    _, _, key_der = pem.unarmor(private_key_pem)
    return signers.SimpleSigner(
        signing_cert=cert(certificate_pem),
        signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs([cert(root_pem)]),
    )


def pades_sign(pdf: bytes, *, certificate_pem: str, private_key_pem: bytes, root_pem: str, reason: str) -> bytes:
    """Add a PAdES baseline B signature (ECDSA P-256, SHA-256) with the department's certificate."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    meta = signers.PdfSignatureMetadata(
        field_name="YiwangSeal",
        reason=reason,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
    )
    out = io.BytesIO()
    signers.sign_pdf(
        writer,
        meta,
        signer=_pades_signer(certificate_pem, private_key_pem, root_pem),
        output=out,
        bytes_reserved=PADES_BYTES_RESERVED,
    )
    return out.getvalue()
