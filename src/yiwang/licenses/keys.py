"""Keys of the licenses app: SM2 (国密) license signatures, the platform CA, key encryption.

* License data is signed with SM2 (GM/T 0003, SM3 digest, the standard user id
  ``1234567812345678``) through ``yiwang.core.gm``; the signature is ``r || s`` as 128 hex characters.
* PDF signatures use ECDSA P-256 certificates issued by the platform's root CA
  (`cryptography`), because PDF validators (pyHanko among them) do not handle SM2.
* Private keys are stored SM4-GCM encrypted under a key derived from ``settings.SEAL_KEY``.
"""

import base64
import datetime
import hashlib
import secrets
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings

from yiwang.core import gm
from yiwang.core.gm import SM2_USER_ID, sm2_sign, sm2_verify  # noqa: F401  (licenses' callers import them from here)

_PREFIX = "sealkey1:"
_AAD = b"yiwang-seal-key"


# ------------------------------------------------------------------ key encryption at rest


@cache
def _seal_key(secret: str) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", secret.encode(), b"yiwang:seal-keys", 10_000, dklen=16)


class KeyDecryptionError(ValueError):
    pass


def encrypt_key(plaintext: bytes) -> str:
    blob = gm.sm4_gcm_encrypt(_seal_key(settings.SEAL_KEY), plaintext, aad=_AAD)
    return _PREFIX + base64.b64encode(blob).decode()


def decrypt_key(token: str) -> bytes:
    if not token.startswith(_PREFIX):
        raise KeyDecryptionError("not an encrypted seal key")
    raw = base64.b64decode(token[len(_PREFIX) :])
    try:
        return gm.sm4_gcm_decrypt(_seal_key(settings.SEAL_KEY), raw, aad=_AAD)
    except gm.SM4DecryptionError as exc:
        raise KeyDecryptionError("seal key ciphertext altered or YIWANG_SEAL_KEY changed") from exc


# ------------------------------------------------------------------ SM2


def sm2_generate() -> tuple[bytes, str]:
    """(private key bytes, uncompressed public key hex ``04…``)."""
    return gm.sm2_keypair()


# ------------------------------------------------------------------ the platform CA (ECDSA P-256)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_private_key(encrypted: str) -> ec.EllipticCurvePrivateKey:
    return serialization.load_pem_private_key(decrypt_key(encrypted), password=None)


def make_root_ca(name: str, *, years: int = 20) -> tuple[str, str]:
    """A self-signed root: (certificate PEM, encrypted private key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"), x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), encrypt_key(_pem_key(key))


def issue_signing_certificate(
    *, ca_certificate_pem: str, ca_private_key_encrypted: str, common_name: str, organization_id: str, years: int = 5
) -> tuple[str, str]:
    """A department's PDF-signing certificate: (certificate PEM, encrypted private key)."""
    ca_cert = x509.load_pem_x509_certificate(ca_certificate_pem.encode())
    ca_key = load_private_key(ca_private_key_encrypted)
    key = ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"), x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization_id:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, organization_id))
    now = datetime.datetime.now(datetime.UTC)
    not_after = min(now + datetime.timedelta(days=365 * years), ca_cert.not_valid_after_utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attrs))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), encrypt_key(_pem_key(key))


def short_token(signature_hex: str) -> str:
    """The QR code's ``s`` parameter: 10 characters that tie a scan to one signature."""
    digest = hashlib.sha256(bytes.fromhex(signature_hex)).digest()
    return base64.b32encode(digest).decode()[:10]


def random_code(length: int = 8) -> str:
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return "".join(secrets.choice(alphabet) for _ in range(length))
