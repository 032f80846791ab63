"""Data protection built on the 国密 primitives of ``yiwang.core.gm``.

* SM3 digests for the audit chain and content digests.
* SM4-GCM for personal data at rest, under settings.DATA_KEY.
* HMAC-SM3 blind indexes, so an encrypted 身份证号 can still be looked up exactly.
"""

import base64
import hashlib
from functools import cache

from django.conf import settings

from yiwang.core.gm import SM4DecryptionError, hmac_sm3, sm3_digest, sm3_hex, sm4_gcm_decrypt, sm4_gcm_encrypt

_SM4_PREFIX = "sm4gcm1:"


@cache
def _derived_key(purpose: str, secret: str) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", secret.encode(), b"yiwang:" + purpose.encode(), 10_000, dklen=32)


def _data_keys() -> tuple[bytes, bytes]:
    key = _derived_key("data-encryption", settings.DATA_KEY)
    return key[:16], _derived_key("blind-index", settings.DATA_KEY)


def encrypt_text(plaintext: str) -> str:
    """SM4-GCM encryption; the result is ASCII, self-describing and safe for a text column."""
    enc_key, _ = _data_keys()
    return _SM4_PREFIX + base64.b64encode(sm4_gcm_encrypt(enc_key, plaintext.encode())).decode()


class DecryptionError(ValueError):
    pass


def decrypt_text(token: str) -> str:
    if not token.startswith(_SM4_PREFIX):
        raise DecryptionError("not an SM4-GCM token")
    enc_key, _ = _data_keys()
    raw = base64.b64decode(token[len(_SM4_PREFIX) :])
    try:
        return sm4_gcm_decrypt(enc_key, raw).decode()
    except SM4DecryptionError as exc:
        raise DecryptionError("ciphertext was altered or the data key changed") from exc


def blind_index(value: str) -> str:
    """Deterministic keyed digest of a normalized value, for exact-match lookups."""
    _, index_key = _data_keys()
    return hmac_sm3(index_key, value.strip().upper().encode()).hex()


__all__ = [
    "DecryptionError",
    "blind_index",
    "decrypt_text",
    "encrypt_text",
    "hmac_sm3",
    "sm3_digest",
    "sm3_hex",
]


def pbkdf2_sm3(password: bytes, salt: bytes, iterations: int, length: int = 32) -> bytes:
    """PBKDF2 (RFC 8018 / GB/T 32918 usage) with HMAC-SM3 as the pseudo-random function, run by
    OpenSSL through ``cryptography``: the password hash for 商用密码应用安全性评估 (密评)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

    return PBKDF2HMAC(algorithm=hashes.SM3(), length=length, salt=salt, iterations=iterations).derive(password)
