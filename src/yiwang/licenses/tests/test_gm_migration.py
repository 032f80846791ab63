"""Data written before core.gm (gmalg SM2, OpenSSL SM3/HMAC/SM4 through `cryptography`) stays valid after it.

The "before" phase runs the platform's own services with the previous implementations patched
in — copied here verbatim from licenses/keys.py and core/crypto.py as they were — so the
database holds seal keys, license signatures, encrypted personal data, blind indexes and an
audit chain exactly as an existing installation has them. The "after" phase uses only the
shipped code: license verification (selector, QR page, API), `yiwang audit verify`, person
lookup by blind index and decryption of seal keys and personal data must all pass.
"""

import base64
import hashlib
import hmac
import io
import os

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from yiwang.core import crypto
from yiwang.licenses import keys
from yiwang.licenses.models import License
from yiwang.licenses.selectors import license_verify
from yiwang.licenses.tests.factories import HOLDER_ID, build_world, issue

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------ the code as it was before core.gm


def old_sm2_generate():
    import gmalg

    sk, pk = gmalg.SM2().generate_keypair()
    return sk, pk.hex()


def old_sm2_sign(private_key: bytes, message: bytes) -> str:
    import gmalg

    r, s = gmalg.SM2(sk=private_key, uid=b"1234567812345678").sign(message)
    return (r.rjust(32, b"\0") + s.rjust(32, b"\0")).hex()


def old_encrypt_key(plaintext: bytes) -> str:
    seal_key = hashlib.pbkdf2_hmac("sha256", settings.SEAL_KEY.encode(), b"yiwang:seal-keys", 10_000, dklen=16)
    nonce = os.urandom(12)
    enc = Cipher(algorithms.SM4(seal_key), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(b"yiwang-seal-key")
    ciphertext = enc.update(plaintext) + enc.finalize()
    return "sealkey1:" + base64.b64encode(nonce + enc.tag + ciphertext).decode()


def old_sm3_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode()
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize().hex()


class _OldSM3ForHmac:
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

    def copy(self):
        clone = _OldSM3ForHmac.__new__(_OldSM3ForHmac)
        clone._h = self._h.copy()
        return clone


def old_hmac_sm3(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, _OldSM3ForHmac).digest()


def old_encrypt_text(plaintext: str) -> str:
    enc_key, _ = crypto._data_keys()
    nonce = os.urandom(12)
    encryptor = Cipher(algorithms.SM4(enc_key), modes.GCM(nonce)).encryptor()
    ciphertext = encryptor.update(plaintext.encode()) + encryptor.finalize()
    return "sm4gcm1:" + base64.b64encode(nonce + encryptor.tag + ciphertext).decode()


def old_decrypt_text(token: str) -> str:
    enc_key, _ = crypto._data_keys()
    raw = base64.b64decode(token[len("sm4gcm1:") :])
    decryptor = Cipher(algorithms.SM4(enc_key), modes.GCM(raw[:12], raw[12:28])).decryptor()
    try:
        return (decryptor.update(raw[28:]) + decryptor.finalize()).decode()
    except InvalidTag as exc:  # pragma: no cover - would mean the test data is broken
        raise AssertionError("old ciphertext does not decrypt under the old code") from exc


@pytest.fixture
def database_before_core_gm(monkeypatch):
    """Everything the platform writes with 国密, written by the previous implementation."""
    from yiwang.core import audit, fields

    with monkeypatch.context() as m:
        m.setattr(keys, "sm2_generate", old_sm2_generate)
        m.setattr(keys, "sm2_sign", old_sm2_sign)
        m.setattr(keys, "encrypt_key", old_encrypt_key)
        m.setattr(audit, "sm3_hex", old_sm3_hex)
        m.setattr(crypto, "hmac_sm3", old_hmac_sm3)
        m.setattr(fields, "encrypt_text", old_encrypt_text)
        m.setattr(fields, "decrypt_text", old_decrypt_text)
        world = build_world()
        licenses = [
            issue(world, data={"business_name": f"小三面馆{i}", "business_scope": "餐饮", "address": "枫桥路"})
            for i in range(3)
        ]
        # Prove the "before" phase really ran the old code: gmalg verifies what was stored.
        import gmalg

        lic = licenses[0]
        raw = bytes.fromhex(lic.signature)
        pk = bytes.fromhex(lic.seal_key.sm2_public_key)
        from yiwang.licenses.services import signing_message

        assert gmalg.SM2(pk=pk, uid=b"1234567812345678").verify(signing_message(lic), raw[:32], raw[32:])
    return world, licenses


def test_licenses_signed_before_core_gm_still_verify(database_before_core_gm, client):
    _world, licenses = database_before_core_gm
    for lic in licenses:
        fresh = License.objects.get(pk=lic.pk)
        result = license_verify(identifier=fresh.identifier, token=keys.short_token(fresh.signature))
        assert result.result == "valid" and result.signature_valid, result.reasons
    # the QR page and the API answer "valid" too
    lic = licenses[1]
    page = client.get(f"/verify/{lic.identifier}?s={keys.short_token(lic.signature)}")
    assert page.status_code == 200 and "有效" in page.content.decode()
    api = client.get(f"/api/v1/licenses/verify/{lic.identifier}")
    assert api.status_code == 200 and api.json()["result"] == "valid"
    # a row altered after the migration still fails: verification is not vacuous
    License.objects.filter(pk=lic.pk).update(holder_name="李四")
    assert license_verify(identifier=lic.identifier).result == "invalid_signature"


def test_the_audit_chain_written_before_core_gm_verifies(database_before_core_gm):
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    assert "审计链完好" in out.getvalue(), out.getvalue()
    # new events chain onto the old head, and the whole chain still verifies
    world, _licenses = database_before_core_gm
    issue(world)
    call_command("audit", "verify", stdout=io.StringIO())


def test_keys_blind_indexes_and_personal_data_written_before_core_gm_still_open(database_before_core_gm):
    world, licenses = database_before_core_gm
    key = licenses[0].seal_key
    sk = keys.decrypt_key(key.sm2_private_key_encrypted)
    assert keys.sm2_verify(key.sm2_public_key, b"after", keys.sm2_sign(sk, b"after"))
    keys.load_private_key(key.pdf_private_key_encrypted)  # the PAdES key (P-256 PEM) decrypts
    # the citizen was stored with the old SM4-GCM and the old HMAC-SM3 blind index
    from yiwang.identity.models import User

    citizen = User.objects.get(pk=world.citizen.pk)
    assert citizen.id_number == HOLDER_ID
    assert User.objects.filter(id_number_index=crypto.blind_index(HOLDER_ID)).get().pk == citizen.pk
    with connection.cursor() as cur:
        cur.execute("SELECT holder_id FROM licenses_license WHERE id = %s", [licenses[0].pk])
        assert crypto.decrypt_text(cur.fetchone()[0]) == HOLDER_ID
    from yiwang.licenses.selectors import licenses_for_holder

    assert {lic.pk for lic in licenses_for_holder(actor=citizen)} >= {lic.pk for lic in licenses}
