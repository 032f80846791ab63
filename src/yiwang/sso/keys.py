"""The OpenID provider's RS256 signing keys on disk (read by settings at start-up).

``current.pem`` signs; ``retired-<UTC time>.pem`` only verify: they stay in the JWKS so an ID
token signed before a rotation keeps verifying at the relying parties until it expires. This
module is imported by settings, so it uses nothing of Django.
"""

import os
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def new_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def write_new_key(path: Path) -> None:
    """Write a fresh 2048-bit RSA key readable by the owner only (never replacing one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(new_key_pem())


def rotate(directory: Path, *, now: datetime | None = None) -> Path:
    """Retire ``current.pem`` (kept for verifying) and write a new one; returns the retired path."""
    now = now or datetime.now(UTC)
    current = directory / "current.pem"
    retired = directory / f"retired-{now:%Y%m%dT%H%M%S%fZ}.pem"
    if current.exists():
        current.rename(retired)
    write_new_key(current)
    return retired


def prune(directory: Path, *, older_than_seconds: int, now: datetime | None = None) -> list[Path]:
    """Delete retired keys retired more than ``older_than_seconds`` ago (every token they signed
    has expired by then); returns the deleted paths."""
    now = now or datetime.now(UTC)
    removed = []
    for path in directory.glob("retired-*.pem"):
        stamp = path.stem.removeprefix("retired-")
        try:
            retired_at = datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
        except ValueError:
            continue
        if (now - retired_at).total_seconds() > older_than_seconds:
            path.unlink()
            removed.append(path)
    return removed
