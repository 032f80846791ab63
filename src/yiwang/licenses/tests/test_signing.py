"""SM2 signatures (GM/T 0003 vector, interop with an independent implementation), identifiers, key storage."""

import pytest
from django.core.exceptions import ValidationError

from yiwang.core.codes import make_license_identifier, make_uscc, validate_license_identifier
from yiwang.licenses import keys

# GB/T 32918.5 / GM/T 0003.5 annex A: signature with the recommended curve, user id 1234567812345678.
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


def test_sm2_reproduces_the_published_gmt0003_vector():
    import gmalg

    sm2 = gmalg.SM2(sk=bytes.fromhex(VECTOR_SK), uid=keys.SM2_USER_ID, rnd_fn=lambda _bits: int(VECTOR_K, 16))
    assert sm2.generate_pk(bytes.fromhex(VECTOR_SK)).hex().upper() == VECTOR_PK
    r, s = sm2.sign(b"message digest")
    assert (r + s).hex().upper() == VECTOR_SIG
    assert keys.sm2_verify(VECTOR_PK, b"message digest", VECTOR_SIG.lower())
    assert not keys.sm2_verify(VECTOR_PK, b"message digesT", VECTOR_SIG.lower())


def test_sm2_interoperates_with_gmssl():
    from gmssl import func, sm2

    sk, pk = keys.sm2_generate()
    other = sm2.CryptSM2(private_key=sk.hex(), public_key=pk[2:])
    message = "营业执照".encode()
    ours = keys.sm2_sign(sk, message)
    assert other.verify_with_sm3(ours, message)
    theirs = other.sign_with_sm3(message, func.random_hex(other.para_len))
    assert keys.sm2_verify(pk, message, theirs)
    assert not keys.sm2_verify(pk, message + b"!", theirs)


def test_sm2_verify_rejects_garbage_without_raising():
    _sk, pk = keys.sm2_generate()
    assert not keys.sm2_verify(pk, b"x", "zz")
    assert not keys.sm2_verify(pk, b"x", "00" * 64)
    assert not keys.sm2_verify("04" + "00" * 64, b"x", "11" * 64)


def test_private_keys_are_encrypted_and_tied_to_the_seal_key(settings):
    token = keys.encrypt_key(b"secret-key-bytes")
    assert b"secret-key-bytes" not in token.encode()
    assert keys.decrypt_key(token) == b"secret-key-bytes"
    settings.SEAL_KEY = "another-key"
    with pytest.raises(keys.KeyDecryptionError):
        keys.decrypt_key(token)


def test_license_identifier_round_trip_and_check_character():
    uscc = make_uscc("11320500MB0123456")
    identifier = make_license_identifier(type_code="GTGSHYYZZ", issuer_uscc=uscc, serial=42)
    info = validate_license_identifier(identifier.lower())
    assert info.identifier == identifier
    assert (info.type_code, info.issuer_uscc, info.serial, info.version) == ("GTGSHYYZZ", uscc, 42, 1)
    body, check = identifier.rsplit(".", 1)
    wrong = next(c for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c != check)
    with pytest.raises(ValidationError) as exc:
        validate_license_identifier(f"{body}.{wrong}")
    assert exc.value.code == "license_identifier_checksum"
    # One mistyped serial digit is caught by the check character.
    typo = identifier.replace(".00000042.", ".00000043.")
    with pytest.raises(ValidationError):
        validate_license_identifier(typo)
    with pytest.raises(ValidationError) as exc:
        validate_license_identifier("1.2.156.3005.2.X.Y")
    assert exc.value.code == "license_identifier_format"
