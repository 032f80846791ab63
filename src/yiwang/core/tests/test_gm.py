"""core.gm: GM/T test vectors, cross-verification with independent pure-Python SM2s, bad input.

gmalg and gmssl are dev-only dependencies: they are the independent implementations the C
backend is checked against, never imported at run time.
"""

import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from yiwang.core import gm

# GB/T 32918.5 / GM/T 0003.5 annex A: the recommended curve, user id 1234567812345678, fixed k.
VECTOR_SK = "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8"
VECTOR_PK = (
    "0409F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
)
VECTOR_K = "59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21"
VECTOR_SIG = (
    "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
    "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
)


# ------------------------------------------------------------------ SM2: the standard's example


def test_sm2_verifies_the_gmt0003_signature():
    # GmSSL does not let a caller fix k, so the standard's signature is verified, not reproduced.
    assert gm.sm2_verify(VECTOR_PK, b"message digest", VECTOR_SIG)
    assert gm.sm2_verify(VECTOR_PK.lower(), b"message digest", VECTOR_SIG.lower())
    assert not gm.sm2_verify(VECTOR_PK, b"message digesT", VECTOR_SIG)


def test_sm2_derives_the_gmt0003_public_key():
    assert gm.sm2_public_key(bytes.fromhex(VECTOR_SK)).upper() == VECTOR_PK


def test_sm2_signs_verifiably_with_the_gmt0003_key():
    sk = bytes.fromhex(VECTOR_SK)
    sig = gm.sm2_sign(sk, b"message digest")
    assert len(sig) == 128 and sig != VECTOR_SIG.lower()  # random k
    assert gm.sm2_verify(VECTOR_PK, b"message digest", sig)


def test_the_reference_implementation_reproduces_the_vector_with_fixed_k():
    """Pins the reference itself: gmalg (used below to cross-verify) computes the standard's r, s."""
    import gmalg

    ref = gmalg.SM2(sk=bytes.fromhex(VECTOR_SK), uid=gm.SM2_USER_ID, rnd_fn=lambda _bits: int(VECTOR_K, 16))
    r, s = ref.sign(b"message digest")
    assert (r + s).hex().upper() == VECTOR_SIG


# ------------------------------------------------------------------ SM2: cross-verification both ways


def _gmalg_sign(sk: bytes, message: bytes) -> str:
    import gmalg

    r, s = gmalg.SM2(sk=sk, uid=gm.SM2_USER_ID).sign(message)
    return (r.rjust(32, b"\0") + s.rjust(32, b"\0")).hex()


def _gmalg_verify(pk_hex: str, message: bytes, sig_hex: str) -> bool:
    import gmalg

    raw = bytes.fromhex(sig_hex)
    return bool(gmalg.SM2(pk=bytes.fromhex(pk_hex), uid=gm.SM2_USER_ID).verify(message, raw[:32], raw[32:]))


def test_sm2_cross_verifies_with_gmalg_both_ways():
    sk, pk = gm.sm2_keypair()
    message = "营业执照 91110000MA01ABCD2X".encode()
    assert _gmalg_verify(pk, message, gm.sm2_sign(sk, message))
    theirs = _gmalg_sign(sk, message)
    assert gm.sm2_verify(pk, message, theirs)
    assert not gm.sm2_verify(pk, message + b"!", theirs)
    assert not _gmalg_verify(pk, message + b"!", gm.sm2_sign(sk, message))


def test_sm2_cross_verifies_with_gmssl_both_ways():
    from gmssl import func, sm2

    sk, pk = gm.sm2_keypair()
    other = sm2.CryptSM2(private_key=sk.hex(), public_key=pk[2:])
    message = "食品经营许可证".encode()
    assert other.verify_with_sm3(gm.sm2_sign(sk, message), message)  # gmssl's default uid is 1234567812345678
    theirs = other.sign_with_sm3(message, func.random_hex(other.para_len))
    assert gm.sm2_verify(pk, message, theirs)
    assert not gm.sm2_verify(pk, b"other", theirs)


def test_keypair_public_key_matches_the_derived_one():
    sk, pk = gm.sm2_keypair()
    assert pk.startswith("04") and len(pk) == 130 and len(sk) == 32
    assert gm.sm2_public_key(sk) == pk
    import gmalg

    assert gmalg.SM2().generate_pk(sk).hex() == pk


@settings(max_examples=25, deadline=None)
@given(message=st.binary(max_size=512))
def test_sm2_round_trip(message):
    sk, pk = gm.sm2_keypair()
    sig = gm.sm2_sign(sk, message)
    assert gm.sm2_verify(pk, message, sig)
    assert not gm.sm2_verify(pk, message + b"\0", sig)


@settings(max_examples=5, deadline=None)
@given(message=st.binary(max_size=64))
def test_sm2_round_trip_against_gmalg(message):
    sk, pk = gm.sm2_keypair()
    assert _gmalg_verify(pk, message, gm.sm2_sign(sk, message))


# ------------------------------------------------------------------ SM2: bad input is False, never an exception


@pytest.mark.parametrize(
    "public_key",
    [
        "",
        "zz",
        "04" + "00" * 64,  # not on the curve
        VECTOR_PK[:-2],  # short
        VECTOR_PK + "00",  # long
        "02" + VECTOR_PK[2:],  # wrong prefix for 64 bytes
        "03" + VECTOR_PK[2:66],  # compressed: not accepted
        "04" + "g" * 128,
        None,
        12,
    ],
)
def test_sm2_verify_rejects_malformed_public_keys(public_key):
    assert gm.sm2_verify(public_key, b"message digest", VECTOR_SIG) is False


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "zz",
        "00" * 64,  # r = s = 0
        VECTOR_SIG[:-2],
        VECTOR_SIG + "00",
        "FF" * 64,  # r, s >= n
        VECTOR_SIG[:64] + "00" * 32,
        "x" * 128,
        None,
        b"\x00" * 64,
    ],
)
def test_sm2_verify_rejects_malformed_signatures(signature):
    assert gm.sm2_verify(VECTOR_PK, b"message digest", signature) is False


def test_sm2_verify_with_a_non_bytes_message_is_false_or_consistent():
    assert gm.sm2_verify(VECTOR_PK, None, VECTOR_SIG) is False
    assert gm.sm2_verify(VECTOR_PK, "message digest", VECTOR_SIG) is True  # str is taken as UTF-8


@pytest.mark.parametrize("private_key", [b"", b"\0" * 32, b"\xff" * 32, b"\1" * 31, "ab" * 32])
def test_sm2_sign_refuses_invalid_private_keys(private_key):
    with pytest.raises(ValueError):
        gm.sm2_sign(private_key, b"x")


# ------------------------------------------------------------------ SM3, HMAC-SM3


def test_sm3_gmt0004_vectors():
    # GM/T 0004-2012 / GB/T 32905-2016 appendix A, examples 1 and 2
    assert gm.sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert gm.sm3_hex("abc") == gm.sm3_hex(b"abc")
    assert gm.sm3_hex(b"abcd" * 16) == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    assert gm.sm3_digest(b"abc") == bytes.fromhex(gm.sm3_hex(b"abc"))


def _sm3_openssl(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


class _OpenSSLSM3:
    """The HMAC adapter the platform used before core.gm (stdlib hmac over OpenSSL's SM3)."""

    digest_size, block_size, name = 32, 64, "sm3"

    def __init__(self, data: bytes = b""):
        self._h = hashes.Hash(hashes.SM3())
        self._h.update(data)

    def update(self, data):
        self._h.update(data)

    def digest(self):
        return self._h.copy().finalize()

    def copy(self):
        clone = _OpenSSLSM3.__new__(_OpenSSLSM3)
        clone._h = self._h.copy()
        return clone


@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=300), key=st.binary(min_size=1, max_size=130))
def test_sm3_and_hmac_match_openssl(data, key):
    """Digests and blind indexes written before core.gm are the same bytes after it."""
    assert gm.sm3_digest(data) == _sm3_openssl(data)
    assert gm.hmac_sm3(key, data) == hmac.new(key, data, _OpenSSLSM3).digest()


# ------------------------------------------------------------------ SM4


def test_sm4_gmt0002_block_vector():
    # GM/T 0002-2012 / GB/T 32907-2016 example 1: the block cipher the GCM helpers run on.
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    enc = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()  # noqa: S305  (one block: the standard's vector)
    assert (enc.update(key) + enc.finalize()).hex() == "681edf34d206965e86b3e94f536e4246"


def test_sm4_gcm_rfc8998_vector():
    # RFC 8998 appendix A.1 (SM4-GCM)
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    nonce = bytes.fromhex("00001234567800000000ABCD")
    aad = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
    plaintext = bytes.fromhex(
        "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
        "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
    )
    blob = gm.sm4_gcm_encrypt(key, plaintext, aad=aad, nonce=nonce)
    assert blob[:12] == nonce
    assert blob[12:28].hex().upper() == "83DE3541E4C2B58177E065A9BF7B62EC"
    assert blob[28:].hex().upper() == (
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
        "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
    )
    assert gm.sm4_gcm_decrypt(key, blob, aad=aad) == plaintext


@given(plaintext=st.binary(max_size=300), aad=st.binary(max_size=40))
def test_sm4_gcm_round_trip_and_tamper(plaintext, aad):
    key = hashlib.sha256(b"k").digest()[:16]
    blob = gm.sm4_gcm_encrypt(key, plaintext, aad=aad)
    assert gm.sm4_gcm_decrypt(key, blob, aad=aad) == plaintext
    tampered = blob[:-1] + bytes([blob[-1] ^ 1]) if plaintext else blob[:12] + bytes(16)
    with pytest.raises(gm.SM4DecryptionError):
        gm.sm4_gcm_decrypt(key, tampered, aad=aad)
    with pytest.raises(gm.SM4DecryptionError):
        gm.sm4_gcm_decrypt(key, blob[:20], aad=aad)
