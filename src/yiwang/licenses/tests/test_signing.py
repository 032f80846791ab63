"""SM2 signatures through core.gm, identifiers, key storage."""

import pytest
from django.core.exceptions import ValidationError

from yiwang.core.codes import make_license_identifier, make_uscc, validate_license_identifier
from yiwang.licenses import keys


def test_licenses_sign_and_verify_through_core_gm():
    """The SM2 vectors, cross-verification and bad input are tested in core/tests/test_gm.py;
    here: the licenses app signs with that module and its keys round-trip."""
    from yiwang.core import gm
    from yiwang.core.tests.test_gm import VECTOR_PK, VECTOR_SIG

    assert keys.sm2_sign is gm.sm2_sign and keys.sm2_verify is gm.sm2_verify
    assert keys.sm2_verify(VECTOR_PK, b"message digest", VECTOR_SIG)
    sk, pk = keys.sm2_generate()
    assert keys.sm2_verify(pk, "营业执照".encode(), keys.sm2_sign(sk, "营业执照".encode()))
    assert not keys.sm2_verify(pk, b"x", "zz")


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
