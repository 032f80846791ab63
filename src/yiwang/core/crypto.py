"""Chinese commercial cryptography (国密) helpers built on `cryptography`.

* SM3 digests for the audit chain and content digests.
* SM4-GCM for personal data at rest, under settings.DATA_KEY.
* HMAC-SM3 blind indexes, so an encrypted 身份证号 can still be looked up exactly.
"""

import base64
import hashlib
import hmac
import os
from functools import cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings

_SM4_PREFIX = "sm4gcm1:"


def sm3_digest(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def sm3_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode()
    return sm3_digest(data).hex()


class _SM3ForHmac:
    """Adapter so the standard library's hmac can run over SM3 (block size 64)."""

    digest_size = 32
    block_size = 64
    name = "sm3"

    def __init__(self, data: bytes = b""):
        self._h = hashes.Hash(hashes.SM3())
        if data:
            self._h.update(data)

    def update(self, data: bytes) -> None:
        self._h.update(data)

    def digest(self) -> bytes:
        return self._h.copy().finalize()

    def hexdigest(self) -> str:
        return self.digest().hex()

    def copy(self) -> "_SM3ForHmac":
        clone = _SM3ForHmac.__new__(_SM3ForHmac)
        clone._h = self._h.copy()
        return clone


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, _SM3ForHmac).digest()


@cache
def _derived_key(purpose: str, secret: str) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", secret.encode(), b"yiwang:" + purpose.encode(), 10_000, dklen=32)


def _data_keys() -> tuple[bytes, bytes]:
    key = _derived_key("data-encryption", settings.DATA_KEY)
    return key[:16], _derived_key("blind-index", settings.DATA_KEY)


def encrypt_text(plaintext: str) -> str:
    """SM4-GCM encryption; the result is ASCII, self-describing and safe for a text column."""
    enc_key, _ = _data_keys()
    nonce = os.urandom(12)
    encryptor = Cipher(algorithms.SM4(enc_key), modes.GCM(nonce)).encryptor()
    ciphertext = encryptor.update(plaintext.encode()) + encryptor.finalize()
    return _SM4_PREFIX + base64.b64encode(nonce + encryptor.tag + ciphertext).decode()


class DecryptionError(ValueError):
    pass


def decrypt_text(token: str) -> str:
    if not token.startswith(_SM4_PREFIX):
        raise DecryptionError("not an SM4-GCM token")
    enc_key, _ = _data_keys()
    raw = base64.b64decode(token[len(_SM4_PREFIX) :])
    nonce, tag, ciphertext = raw[:12], raw[12:28], raw[28:]
    decryptor = Cipher(algorithms.SM4(enc_key), modes.GCM(nonce, tag)).decryptor()
    try:
        return (decryptor.update(ciphertext) + decryptor.finalize()).decode()
    except InvalidTag as exc:
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
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

    return PBKDF2HMAC(algorithm=hashes.SM3(), length=length, salt=salt, iterations=iterations).derive(password)
