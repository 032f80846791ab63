"""TOTP multi-factor authentication (RFC 6238, 30-second steps, 6 digits) with replay protection.

A code is accepted for the current step or one step either side (clock drift), and only for
a step later than the last one used (``User.totp_last_step``), so a code seen over a
shoulder or in a log cannot be used twice.
"""

import time

import pyotp
import segno
from django.http import HttpRequest

from yiwang.identity.models import User

ISSUER = "一网 Yiwang"
STEP_SECONDS = 30
DRIFT_STEPS = 1

# Session keys. PENDING: password accepted, TOTP not yet (the user is NOT logged in).
# VERIFIED: this session has passed TOTP (or the user needs none).
SESSION_PENDING = "yiwang_mfa_pending"
SESSION_VERIFIED = "yiwang_mfa_verified"
PENDING_MAX_AGE_SECONDS = 300
MAX_CODE_FAILURES = 5


def new_secret() -> str:
    return pyotp.random_base32()


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def provisioning_uri(*, secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """An inline SVG QR code (no external service); ``segno`` writes it locally."""
    return segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff", title="TOTP")


def format_secret(secret: str) -> str:
    """Groups of four for typing into an authenticator by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _clean(code: str) -> str:
    return "".join(ch for ch in (code or "") if ch.isdigit())


def matching_step(*, secret: str, code: str, after_step: int = 0, now: float | None = None) -> int | None:
    """The time step ``code`` belongs to (within drift, later than ``after_step``), else None."""
    code = _clean(code)
    if len(code) != 6 or not secret:
        return None
    totp = pyotp.TOTP(secret)
    step = current_step(now)
    for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        if candidate <= after_step:
            continue
        if pyotp.utils.strings_equal(totp.generate_otp(candidate), code):
            return candidate
    return None


def verify_user_code(*, user: User, code: str, now: float | None = None) -> bool:
    """Check a code for an enrolled user and burn its step atomically (replay-safe across processes)."""
    if not user.mfa_enabled:
        return False
    step = matching_step(secret=user.totp_secret, code=code, after_step=user.totp_last_step, now=now)
    if step is None:
        return False
    updated = User.objects.filter(pk=user.pk, totp_last_step__lt=step).update(totp_last_step=step)
    if updated:
        user.totp_last_step = step
    return bool(updated)


def session_mfa_satisfied(request: HttpRequest) -> bool:
    """False while a signed-in user who needs MFA has not passed it in this session."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return True
    session = getattr(request, "session", None)
    if session is not None and session.get(SESSION_VERIFIED):
        return True
    from yiwang.identity.selectors import user_requires_mfa

    return not (user.mfa_enabled or user_requires_mfa(user=user))
