"""国密 (Chinese commercial cryptography) primitives: SM2 signatures, SM3, HMAC-SM3, SM4-GCM.

The one place in Yiwang that touches a cryptographic library for these algorithms. Everything
else (licenses, the audit chain, encrypted fields, blind indexes, the exchange's evidence log)
calls the functions below.

* SM2 (GM/T 0003 / GB/T 32918) signatures with SM3 and the default signer identity
  ``1234567812345678`` (GM/T 0009), encoded as ``r || s`` — 64 bytes, 128 hex characters.
  Public keys are uncompressed points ``04 || x || y`` as hex (130 characters).
* SM3 (GM/T 0004) digests and HMAC-SM3 (RFC 2104 over SM3).
* SM4-GCM (GM/T 0002 block cipher, GCM mode) with a 12-byte nonce and a 16-byte tag, laid out
  as ``nonce || tag || ciphertext``.

Backends (see docs/crypto.md for the evaluation and figures): SM2 and SM3 through
`gmssl_pyx` (C bindings to GmSSL 3); SM4-GCM through `cryptography` (OpenSSL), whose
ciphertexts the platform has always written. Both are C; no pure-Python code runs on the
hot path. The only Python arithmetic here derives a public key from a private key, once per
key per process (cached), because GmSSL's SM2 needs the public key to compute Z.
"""

import os
from functools import lru_cache

import gmssl_pyx
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SM2_USER_ID = b"1234567812345678"  # GM/T 0009 default signer identity

# GM/T 0003.5 recommended curve (sm2p256v1)
_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
_A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
_B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
_GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
_GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0


# ------------------------------------------------------------------ SM3


def sm3_digest(data: bytes | str) -> bytes:
    if isinstance(data, str):
        data = data.encode()
    return gmssl_pyx.sm3_hash(data)


def sm3_hex(data: bytes | str) -> str:
    return sm3_digest(data).hex()


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    """HMAC (RFC 2104) over SM3, 32 bytes."""
    return gmssl_pyx.sm3_hmac(key, data)


# ------------------------------------------------------------------ SM4-GCM


class SM4DecryptionError(ValueError):
    """The ciphertext was altered, truncated, or encrypted under another key."""


def sm4_gcm_encrypt(key: bytes, plaintext: bytes, *, aad: bytes | None = None, nonce: bytes | None = None) -> bytes:
    """SM4-GCM under a 16-byte key: ``nonce(12) || tag(16) || ciphertext``."""
    nonce = nonce if nonce is not None else os.urandom(12)
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    if aad:
        enc.authenticate_additional_data(aad)
    ciphertext = enc.update(plaintext) + enc.finalize()
    return nonce + enc.tag + ciphertext


def sm4_gcm_decrypt(key: bytes, blob: bytes, *, aad: bytes | None = None) -> bytes:
    """Inverse of :func:`sm4_gcm_encrypt`; raises :class:`SM4DecryptionError` when it does not authenticate."""
    if len(blob) < 28:
        raise SM4DecryptionError("SM4-GCM blob too short")
    dec = Cipher(algorithms.SM4(key), modes.GCM(blob[:12], blob[12:28])).decryptor()
    if aad:
        dec.authenticate_additional_data(aad)
    try:
        return dec.update(blob[28:]) + dec.finalize()
    except InvalidTag as exc:
        raise SM4DecryptionError("SM4-GCM tag mismatch") from exc


# ------------------------------------------------------------------ SM2


def _on_curve(x: int, y: int) -> bool:
    return 0 <= x < _P and 0 <= y < _P and (y * y - (x * x * x + _A * x + _B)) % _P == 0


def _scalar_base_mult(k: int) -> tuple[int, int]:
    """k·G in Jacobian coordinates (used once per private key per process: see ``_public_of``)."""

    def double(x1, y1, z1):
        if y1 == 0:
            return 0, 1, 0
        ysq = y1 * y1 % _P
        s = 4 * x1 * ysq % _P
        z2 = z1 * z1 % _P
        m = (3 * x1 * x1 + _A * z2 * z2) % _P
        x3 = (m * m - 2 * s) % _P
        return x3, (m * (s - x3) - 8 * ysq * ysq) % _P, 2 * y1 * z1 % _P

    def add(p1, p2):
        x1, y1, z1 = p1
        x2, y2, z2 = p2
        if z1 == 0:
            return p2
        if z2 == 0:
            return p1
        z1s, z2s = z1 * z1 % _P, z2 * z2 % _P
        u1, u2 = x1 * z2s % _P, x2 * z1s % _P
        s1, s2 = y1 * z2s * z2 % _P, y2 * z1s * z1 % _P
        if u1 == u2:
            return double(x1, y1, z1) if s1 == s2 else (0, 1, 0)
        h, r = (u2 - u1) % _P, (s2 - s1) % _P
        h2 = h * h % _P
        h3 = h * h2 % _P
        x3 = (r * r - h3 - 2 * u1 * h2) % _P
        return x3, (r * (u1 * h2 - x3) - s1 * h3) % _P, h * z1 * z2 % _P

    acc, base = (0, 1, 0), (_GX, _GY, 1)
    while k:
        if k & 1:
            acc = add(acc, base)
        base = double(*base)
        k >>= 1
    x, y, z = acc
    zi = pow(z, -1, _P)
    return x * zi * zi % _P, y * zi * zi * zi % _P


@lru_cache(maxsize=256)
def _public_of(private_key: bytes) -> bytes:
    d = int.from_bytes(private_key, "big")
    x, y = _scalar_base_mult(d)
    return x.to_bytes(32, "big") + y.to_bytes(32, "big")


@lru_cache(maxsize=1024)
def _z(public_xy: bytes) -> bytes:
    """Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA) for the default signer identity."""
    entl = (len(SM2_USER_ID) * 8).to_bytes(2, "big")
    curve = b"".join(v.to_bytes(32, "big") for v in (_A, _B, _GX, _GY))
    return gmssl_pyx.sm3_hash(entl + SM2_USER_ID + curve + public_xy)


@lru_cache(maxsize=1024)
def _parse_public(public_key_hex: str) -> bytes | None:
    """64-byte ``x || y`` of a valid uncompressed public key, else None."""
    if not isinstance(public_key_hex, str) or len(public_key_hex) != 130:
        return None
    try:
        raw = bytes.fromhex(public_key_hex)
    except ValueError:
        return None
    if raw[0] != 4:
        return None
    x, y = int.from_bytes(raw[1:33], "big"), int.from_bytes(raw[33:], "big")
    if not _on_curve(x, y):
        return None
    return raw[1:]


def _check_private(private_key: bytes) -> None:
    if not isinstance(private_key, bytes) or len(private_key) != 32:
        raise ValueError("an SM2 private key is 32 bytes")
    if not 1 <= int.from_bytes(private_key, "big") <= _N - 2:
        raise ValueError("SM2 private key out of range")


def sm2_keypair() -> tuple[bytes, str]:
    """A fresh key pair: (private key, 32 bytes; public key as uncompressed hex ``04…``)."""
    public_xy, private_key = gmssl_pyx.sm2_key_generate()
    return private_key, "04" + public_xy.hex()


def sm2_public_key(private_key: bytes) -> str:
    """The uncompressed public key (hex ``04…``) of a private key."""
    _check_private(private_key)
    return "04" + _public_of(private_key).hex()


def sm2_sign(private_key: bytes, message: bytes) -> str:
    """SM2 signature of ``message`` (SM3, default signer id) as ``r || s``, 128 hex characters."""
    _check_private(private_key)
    e = gmssl_pyx.sm3_hash(_z(_public_of(private_key)) + message)
    r, s = decode_dss_signature(gmssl_pyx.sm2_sign_sm3_digest(private_key, e))
    return (r.to_bytes(32, "big") + s.to_bytes(32, "big")).hex()


def sm2_verify(public_key_hex: str, message: bytes, signature_hex: str) -> bool:
    """True when ``signature_hex`` is a valid SM2 signature; False on any malformed input (never raises)."""
    try:
        public_xy = _parse_public(public_key_hex)
        if public_xy is None or not isinstance(signature_hex, str) or len(signature_hex) != 128:
            return False
        raw = bytes.fromhex(signature_hex)
        r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
        if not (1 <= r < _N and 1 <= s < _N):
            return False
        if isinstance(message, str):
            message = message.encode()
        e = gmssl_pyx.sm3_hash(_z(public_xy) + message)
        return bool(gmssl_pyx.sm2_verify_sm3_digest(public_xy, e, encode_dss_signature(r, s)))
    except Exception:  # malformed input of any kind is "not a valid signature"
        return False


__all__ = [
    "SM2_USER_ID",
    "SM4DecryptionError",
    "hmac_sm3",
    "sm2_keypair",
    "sm2_public_key",
    "sm2_sign",
    "sm2_verify",
    "sm3_digest",
    "sm3_hex",
    "sm4_gcm_decrypt",
    "sm4_gcm_encrypt",
]
