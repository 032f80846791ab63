"""The Chinese font for generated PDFs (case notices, licenses) and the seal picture.

WenQuanYi / Noto CJK from the Debian font packages when installed (or the file named by the
``YIWANG_CJK_FONT`` setting), else reportlab's built-in CID font ``STSong-Light`` (no file
needed; viewers supply the glyphs).
"""

import logging
from functools import cache
from pathlib import Path

from django.conf import settings

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
FONT_NAME = "YiwangCJK"
FALLBACK_FONT = "STSong-Light"
logger = logging.getLogger(__name__)


def cjk_font_path() -> str | None:
    """The first installed Chinese TrueType font: ``YIWANG_CJK_FONT``, then FONT_CANDIDATES."""
    configured = getattr(settings, "YIWANG_CJK_FONT", "")
    for candidate in (configured, *FONT_CANDIDATES):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@cache
def pdf_font() -> str:
    """Register the Chinese font with reportlab once per process and return its name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    path = cjk_font_path()
    if path:
        try:
            pdfmetrics.registerFont(TTFont(FONT_NAME, path, subfontIndex=0))
            return FONT_NAME
        except Exception:  # a broken font file must not stop a notice or a license
            logger.warning("cannot load %s; using %s", path, FALLBACK_FONT, exc_info=True)
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
    return FALLBACK_FONT
