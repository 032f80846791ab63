"""A file's type from its bytes, never its name: the one check every upload goes through."""

import io
import zipfile


def zip_names(content: bytes) -> set[str] | None:
    """The lower-cased member names of a ZIP container (OFD, Office Open XML), or None if it is not one."""
    if not content.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return {name.lower() for name in archive.namelist()}
    except (zipfile.BadZipFile, ValueError):
        return None


def detect_content_type(content: bytes) -> str | None:
    """PDF, JPEG, PNG or OFD (the formats of official documents and their scans); else None."""
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    names = zip_names(content)
    if names is not None and "ofd.xml" in names:
        return "application/ofd"
    return None
