"""The e-receipt PDF (reportlab): the receipt's facts, the department's seal image and a QR code
of the verification page. The caller (``services.receipt_pdf``) has it PAdES-signed."""

import io

from yiwang.core.pdf import pdf_font


def _qr(c, url: str, *, x: float, y: float, size: float) -> None:
    import segno

    matrix = segno.make(url, error="m", micro=False).matrix
    border = 2
    module = size / (len(matrix) + 2 * border)
    c.saveState()
    c.setFillColorRGB(0, 0, 0)
    for row_index, row in enumerate(matrix):
        top = y + size - (row_index + border + 1) * module
        for col_index, cell in enumerate(row):
            if cell & 1:
                c.rect(x + (col_index + border) * module, top, module, module, stroke=0, fill=1)
    c.restoreState()


def receipt_pdf(*, receipt, bill, department_name: str, seal_png: bytes, verify_url: str) -> bytes:
    from reportlab.lib.pagesizes import A5, landscape
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    font = pdf_font()
    width, height = landscape(A5)
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=(width, height), invariant=True)
    c.setTitle(f"电子票据 {receipt.number}")
    c.setAuthor(department_name)
    c.setStrokeColorRGB(0.6, 0.1, 0.1)
    c.rect(10 * mm, 10 * mm, width - 20 * mm, height - 20 * mm)
    c.setFont(font, 18)
    c.drawCentredString(width / 2, height - 24 * mm, "非税收入一般缴款书(电子)")
    c.setFont(font, 9)
    c.drawCentredString(width / 2, height - 31 * mm, f"票据号码:{receipt.number}    校验码:{receipt.check_code}")
    rows = [
        ("缴款人", receipt.payer_name),
        ("收费项目", bill.fee_name),
        ("项目编码", bill.revenue_code),
        ("缴款通知书", bill.number),
        ("缴款码", bill.payment_code),
        ("金额(元)", f"{receipt.amount_fen // 100}.{receipt.amount_fen % 100:02d}"),
        ("开票日期", f"{receipt.issued_at:%Y年%m月%d日}"),
        ("执收单位", department_name),
    ]
    if receipt.replaces_id:
        rows.append(("原票据", f"{receipt.replaces.number}(部分退款后换开)"))
    y = height - 44 * mm + (4 * mm if receipt.replaces_id else 0)
    c.setFont(font, 11)
    for label, value in rows:
        c.drawString(22 * mm, y, label)
        c.drawString(55 * mm, y, str(value))
        y -= 8 * mm
    seal = 36 * mm
    c.drawImage(ImageReader(io.BytesIO(seal_png)), width - 22 * mm - seal, 16 * mm, seal, seal, mask="auto")
    _qr(c, verify_url, x=width - 22 * mm - seal - 32 * mm, y=18 * mm, size=28 * mm)
    c.setFont(font, 8)
    c.drawString(width - 22 * mm - seal - 32 * mm, 14 * mm, "扫码查验")
    c.showPage()
    c.save()
    return out.getvalue()
