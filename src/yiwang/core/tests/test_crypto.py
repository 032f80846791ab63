import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from yiwang.core.crypto import DecryptionError, blind_index, decrypt_text, encrypt_text, hmac_sm3, sm3_hex
from yiwang.core.masking import mask_id_number, mask_name, mask_phone


def test_sm3_matches_the_standard_test_vector():
    # GB/T 32905-2016, example 1: "abc"
    assert sm3_hex("abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_hmac_sm3_is_keyed():
    assert hmac_sm3(b"k1", b"data") != hmac_sm3(b"k2", b"data")
    assert len(hmac_sm3(b"k1", b"data")) == 32


@given(st.text(max_size=200))
def test_sm4_round_trip(text):
    token = encrypt_text(text)
    assert decrypt_text(token) == text


def test_same_plaintext_encrypts_differently_each_time():
    assert encrypt_text("110105199001010023") != encrypt_text("110105199001010023")


def test_tampered_ciphertext_is_rejected():
    token = encrypt_text("张三")
    body = token[len("sm4gcm1:") :]
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(DecryptionError):
        decrypt_text("sm4gcm1:" + flipped)


def test_blind_index_is_stable_and_normalized():
    assert blind_index("11010519900101002x") == blind_index(" 11010519900101002X ")
    assert blind_index("a") != blind_index("b")


@pytest.mark.django_db
def test_encrypted_field_stores_ciphertext_only(django_user_model):
    user = django_user_model.objects.create(username="u1", id_number="110105199001010023", phone="13812345678")
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, phone FROM identity_user WHERE id = %s", [user.pk])
        stored_id, stored_phone = cursor.fetchone()
    assert stored_id.startswith("sm4gcm1:") and "110105" not in stored_id
    assert stored_phone.startswith("sm4gcm1:") and "1381234" not in stored_phone
    assert django_user_model.objects.get(pk=user.pk).id_number == "110105199001010023"


def test_masking():
    assert mask_name("张三") == "张*"
    assert mask_name("张小三") == "张*三"
    assert mask_name("欧阳小明") == "欧**明"
    assert mask_id_number("11010519900101002X") == "110105********002X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_name("") == mask_id_number("") == mask_phone("") == ""
