"""The finance adapter: how a 免申即享 list becomes payments. The default is file-based: an Excel
payment batch (统一社会信用代码, 企业名称, 金额, 支付凭证号 to fill) with its total on the last line;
the finance system answers with the same file, references filled in, imported by
``services.payment_batch_import``. Another adapter (a finance system's API) implements the same
two functions and is named in ``YIWANG_POLICIES_PAYMENT_ADAPTER``."""

from __future__ import annotations

import io
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from yiwang.core.errors import ValidationFailed

HEADER = ["统一社会信用代码", "企业名称", "金额(元)", "支付凭证号"]
TOTAL = "合计"


def batch_file(rows: list[tuple[str, str, Decimal]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "支付批次"
    sheet.append(HEADER)
    for uscc, name, amount in rows:
        sheet.append([uscc, name, float(amount), ""])
    sheet.append([TOTAL, "", float(sum((a for _u, _n, a in rows), Decimal("0"))), ""])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read_answer(content: bytes) -> tuple[dict[str, tuple[Decimal, str]], Decimal]:
    """{uscc: (amount, reference)} and the stated total of the finance system's answer."""
    import zipfile

    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise ValidationFailed(_("支付回执不是有效的 XLSX 文件"), fields={"file": [_("无法读取")]}) from None
    lines = list(book.worksheets[0].iter_rows(values_only=True))
    if not lines or [str(c or "") for c in lines[0][:4]] != HEADER:
        raise ValidationFailed(
            _("支付回执的表头应为:%(h)s") % {"h": "、".join(HEADER)}, fields={"file": [_("表头不符")]}
        )
    paid: dict[str, tuple[Decimal, str]] = {}
    total = None
    for number, line in enumerate(lines[1:], start=2):
        uscc, _name, amount, reference = (list(line) + [None] * 4)[:4]
        try:
            value = Decimal(str(amount)).quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError):
            raise ValidationFailed(
                _("支付回执第%(n)d行:金额“%(a)s”不是数字") % {"n": number, "a": amount}, fields={"file": [str(number)]}
            ) from None
        if uscc == TOTAL:
            total = value
            continue
        paid[str(uscc)] = (value, str(reference or "").strip())
    if total is None:
        raise ValidationFailed(_("支付回执缺少“合计”行"), fields={"file": [_("缺少合计")]})
    return paid, total
