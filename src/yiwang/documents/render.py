"""The issued document as a PDF (reportlab, the platform's Chinese font), laid out after the
党政机关公文格式 (GB/T 9704) in its plain form: the red 发文机关标志, the 发文字号 and red rule,
the title, 主送, the body, the issuing body, the date and the red seal over them, the 抄送 line.
Unsigned here; the licenses app's seal key PAdES-signs it."""

import io

from yiwang.core.pdf import pdf_font

RED = (0.84, 0.11, 0.11)


def _wrap(text: str, *, font: str, size: float, width: float, indent: float = 0) -> list[str]:
    """Break a paragraph into lines that fit ``width`` (character by character: Chinese has no spaces)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines, line = [], ""
    limit = width - indent
    for ch in text:
        if stringWidth(line + ch, font, size) > limit:
            lines.append(line)
            line, limit = ch, width
        else:
            line += ch
    lines.append(line)
    return lines


def document_pdf(
    *,
    issuer_name: str,
    number: str,
    title: str,
    body: str,
    recipients: list[str],
    cc: list[str],
    issue_date: str,
    seal_image: bytes,
) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    font = pdf_font()
    width, height = A4
    left, right, bottom = 28 * mm, width - 26 * mm, 30 * mm
    text_width = right - left
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4, invariant=True)
    c.setTitle(title)
    c.setAuthor(issuer_name)
    c.setSubject(number)

    # 版头: the issuing body in red, the number, the red rule
    c.setFillColorRGB(*RED)
    heading = f"{issuer_name}文件"
    size = 30 if len(heading) <= 14 else max(18, 420 / len(heading))
    c.setFont(font, size)
    c.drawCentredString(width / 2, height - 45 * mm, heading)
    c.setFillColorRGB(0, 0, 0)
    c.setFont(font, 14)
    c.drawCentredString(width / 2, height - 62 * mm, number)
    c.setStrokeColorRGB(*RED)
    c.setLineWidth(1.6)
    c.line(left, height - 67 * mm, right, height - 67 * mm)

    y = height - 82 * mm
    c.setFont(font, 20)
    for line in _wrap(title, font=font, size=20, width=text_width):
        c.drawCentredString(width / 2, y, line)
        y -= 11 * mm
    y -= 4 * mm

    body_size, leading = 14, 8.5 * mm

    def new_page() -> float:
        c.showPage()
        c.setFont(font, body_size)
        return height - 30 * mm

    c.setFont(font, body_size)
    if recipients:
        for line in _wrap("、".join(recipients) + ":", font=font, size=body_size, width=text_width):
            c.drawString(left, y, line)
            y -= leading
    indent = 2 * body_size
    for paragraph in body.split("\n"):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        for i, line in enumerate(_wrap(paragraph, font=font, size=body_size, width=text_width, indent=indent)):
            if y < bottom + leading:
                y = new_page()
            c.drawString(left + (indent if i == 0 else 0), y, line)
            y -= leading

    # 落款 and the seal over the date
    if y < bottom + 55 * mm:
        y = new_page()
    y -= 12 * mm
    c.setFont(font, body_size)
    c.drawRightString(right - 8 * mm, y, issuer_name)
    c.drawRightString(right - 8 * mm, y - leading, issue_date)
    seal = 40 * mm
    c.drawImage(
        ImageReader(io.BytesIO(seal_image)),
        right - 8 * mm - seal * 0.85,
        y - leading - seal * 0.45,
        seal,
        seal,
        mask="auto",
    )

    # 版记: 抄送 and 印发
    c.setStrokeColorRGB(0, 0, 0)
    c.setLineWidth(0.8)
    c.line(left, bottom + 22 * mm, right, bottom + 22 * mm)
    c.setFont(font, 11)
    if cc:
        c.drawString(left, bottom + 15 * mm, "抄送:" + "、".join(cc)[:40])
    c.setLineWidth(0.4)
    c.line(left, bottom + 12 * mm, right, bottom + 12 * mm)
    c.setLineWidth(0.8)
    c.drawString(left, bottom + 6 * mm, issuer_name)
    c.drawRightString(right, bottom + 6 * mm, f"{issue_date}印发")
    c.line(left, bottom + 3 * mm, right, bottom + 3 * mm)
    c.showPage()
    c.save()
    return out.getvalue()
