"""Citizen ID numbers, unified social credit codes and region codes."""

import datetime

import pytest
from django import forms
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from yiwang.core.codes import (
    USCC_ALPHABET,
    IdNumberFormField,
    RegionCodeFormField,
    UsccFormField,
    id_number_validator,
    make_id_number,
    make_uscc,
    region_codes,
    region_name,
    validate_id_number,
    validate_region_code,
    validate_uscc,
)

TODAY = datetime.date(2026, 11, 22)
CURRENT_CODES = region_codes()

region_code = st.sampled_from(CURRENT_CODES)
birth_date = st.dates(min_value=datetime.date(1900, 1, 1), max_value=TODAY)
sequence = st.integers(min_value=0, max_value=999)


def error_of(func, value, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        func(value, **kwargs)
    return info.value


# --- citizen ID numbers -------------------------------------------------------


def test_published_example_number_is_read_correctly():
    info = validate_id_number("360426199101010071")
    assert info.number == "360426199101010071"
    assert info.region_code == "360426"
    assert info.birth_date == datetime.date(1991, 1, 1)
    assert info.gender == "male"
    assert info.region_name == "江西省九江市德安县"


def test_lower_case_x_spaces_and_dashes_are_normalized():
    number = make_id_number("110101", datetime.date(1985, 6, 15), 12)
    # Find a sequence whose check character is X so the upper-casing is exercised.
    for seq in range(1000):
        candidate = make_id_number("110101", datetime.date(1985, 6, 15), seq)
        if candidate.endswith("X"):
            number = candidate
            break
    assert number.endswith("X")
    messy = f" {number[:6]} {number[6:14]}-{number[14:].lower()} "
    assert validate_id_number(messy).number == number


def test_even_sequence_is_female():
    number = make_id_number("320505", datetime.date(2000, 2, 29), 124)
    assert validate_id_number(number).gender == "female"


@pytest.mark.parametrize(
    ("value", "code", "fragment"),
    [
        ("", "id_number_required", "请填写身份证号"),
        ("36042619910101007", "id_number_length", "18位"),
        ("360426910101007", "id_number_legacy", "18位"),
        ("36042619910101007A", "id_number_format", "格式不正确"),
        ("360426199101010072", "id_number_checksum", "校验位不正确"),
    ],
)
def test_bad_numbers_say_what_is_wrong(value, code, fragment):
    error = error_of(validate_id_number, value)
    assert error.code == code
    assert fragment in error.messages[0]


def test_impossible_birth_date_is_rejected_even_with_a_correct_check_digit():
    first17 = "36042619910230007"  # 30 February
    from stdnum.cn import ric

    number = first17 + ric.calc_check_digit(first17 + "0")
    error = error_of(validate_id_number, number)
    assert error.code == "id_number_birth_date"
    assert "出生日期无效" in error.messages[0]


def test_future_birth_date_is_rejected():
    number = make_id_number("110101", datetime.date(2030, 1, 1), 1)
    assert error_of(validate_id_number, number, today=TODAY).code == "id_number_birth_date"


def test_unknown_region_is_rejected_with_the_code_in_the_message():
    number = make_id_number("123456", datetime.date(1990, 1, 1), 1)
    error = error_of(validate_id_number, number)
    assert error.code == "id_number_region"
    assert "123456" in error.messages[0]


def test_region_created_after_birth_is_accepted_because_numbers_are_issued_later():
    # 南京市玄武区 got code 320102 in 1983; someone born in 1960 carries it legitimately.
    # (python-stdnum alone rejects this number.)
    number = make_id_number("320102", datetime.date(1960, 1, 1), 1)
    assert validate_id_number(number).region_name == "江苏省南京市玄武区"


def test_region_abolished_before_birth_is_rejected():
    # 南京市白下区 (320103) was abolished in 2013.
    assert validate_id_number(make_id_number("320103", datetime.date(1990, 5, 1), 3))
    error = error_of(validate_id_number, make_id_number("320103", datetime.date(2015, 5, 1), 3))
    assert error.code == "id_number_region"
    assert "撤销" in error.messages[0]


@settings(max_examples=200)
@given(region_code, birth_date, sequence)
def test_generated_numbers_validate_and_round_trip(region, born, seq):
    number = make_id_number(region, born, seq)
    info = validate_id_number(number, today=TODAY)
    assert (info.number, info.region_code, info.birth_date, info.sequence) == (number, region, born, seq)
    assert info.gender == ("male" if seq % 2 else "female")
    assert validate_id_number(info.number.lower(), today=TODAY) == info


@settings(max_examples=300)
@given(region_code, birth_date, sequence, st.integers(min_value=0, max_value=17), st.integers(1, 10))
def test_any_single_character_change_is_rejected(region, born, seq, position, delta):
    number = make_id_number(region, born, seq)
    alphabet = "0123456789X" if position == 17 else "0123456789"
    index = alphabet.index(number[position])
    changed = number[:position] + alphabet[(index + delta) % len(alphabet)] + number[position + 1 :]
    if changed == number:
        return
    with pytest.raises(ValidationError):
        validate_id_number(changed, today=TODAY)


def test_validator_works_in_a_django_form():
    class PersonForm(forms.Form):
        id_number = forms.CharField(validators=[id_number_validator])

    form = PersonForm(data={"id_number": "360426199101010072"})
    assert not form.is_valid()
    assert "身份证号校验位不正确" in form.errors["id_number"][0]
    assert PersonForm(data={"id_number": "360426199101010071"}).is_valid()


def test_form_fields_show_the_chinese_message_and_clean_to_the_normalized_value():
    class EnterpriseForm(forms.Form):
        agent_id_number = IdNumberFormField(label="经办人身份证号")
        uscc = UsccFormField(label="统一社会信用代码")
        region_code = RegionCodeFormField(label="所在地区", required=False)

    form = EnterpriseForm(data={"agent_id_number": "360426 19910101 0071", "uscc": "91110000600037341l"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {
        "agent_id_number": "360426199101010071",
        "uscc": "91110000600037341L",
        "region_code": "",
    }
    form = EnterpriseForm(data={"agent_id_number": "360426910101007", "uscc": "", "region_code": "123456"})
    assert not form.is_valid()
    assert "18位" in form.errors["agent_id_number"][0]
    assert form.errors["uscc"] == ["这个字段是必填项。"]
    assert form.errors["region_code"] == ["行政区划代码 123456 不存在"]


# --- unified social credit codes ----------------------------------------------


def test_published_uscc_validates_and_is_upper_cased():
    assert validate_uscc("91110000600037341l") == "91110000600037341L"
    assert validate_uscc("9111 0000 6000 3734 1L") == "91110000600037341L"


@pytest.mark.parametrize(
    ("value", "code", "fragment"),
    [
        ("", "uscc_required", "请填写"),
        ("9111000060003734", "uscc_length", "18位"),
        ("91110000600037341I", "uscc_format", "I"),
        ("B1110000600037341L", "uscc_format", "前两位"),
        ("911A0000600037341L", "uscc_format", "第3至8位"),
        ("91110000600037341M", "uscc_checksum", "校验位不正确"),
    ],
)
def test_bad_uscc_say_what_is_wrong(value, code, fragment):
    error = error_of(validate_uscc, value)
    assert error.code == code
    assert fragment in error.messages[0]


uscc_body = st.builds(
    lambda head, region, org: head + region + org,
    st.sampled_from(["91", "92", "93", "11", "12", "51", "52", "53", "Y1", "N2"]),
    region_code,
    st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9),
)


@settings(max_examples=200)
@given(uscc_body)
def test_generated_uscc_validate_and_round_trip(body):
    code = make_uscc(body)
    assert code[:17] == body
    assert validate_uscc(code) == code
    assert validate_uscc(code.lower()) == code


@settings(max_examples=300)
@given(uscc_body, st.integers(min_value=0, max_value=17), st.integers(1, 30))
def test_any_single_uscc_character_change_is_rejected(body, position, delta):
    code = make_uscc(body)
    index = USCC_ALPHABET.index(code[position])
    changed = code[:position] + USCC_ALPHABET[(index + delta) % len(USCC_ALPHABET)] + code[position + 1 :]
    with pytest.raises(ValidationError):
        validate_uscc(changed)


# --- region codes -------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("110101", "北京市东城区"),
        ("320505", "江苏省苏州市虎丘区"),
        ("320500", "江苏省苏州市"),
        ("320000", "江苏省"),
        ("441900", "广东省东莞市"),
        ("469001", "海南省五指山市"),
        ("320505001001", "江苏省苏州市虎丘区"),
        ("999999", None),
        ("abc", None),
    ],
)
def test_region_names(code, name):
    assert region_name(code) == name


@pytest.mark.parametrize("code", ["110101", "320505", "320505001", "320505001201", "320505001000", "320505000000"])
def test_valid_region_codes(code):
    assert validate_region_code(code) == code


@pytest.mark.parametrize(
    ("code", "error_code", "fragment"),
    [
        ("", "region_code_required", "请填写"),
        ("32050A", "region_code_format", "数字"),
        ("32050", "region_code_length", "当前为5位"),
        ("123456", "region_code_unknown", "行政区划代码 123456 不存在"),
        ("320103", "region_code_abolished", "撤销"),
        ("320505000001", "region_code_structure", "缺少乡级"),
        ("320000001", "region_code_structure", "省级"),
    ],
)
def test_bad_region_codes_say_what_is_wrong(code, error_code, fragment):
    error = error_of(validate_region_code, code)
    assert error.code == error_code
    assert fragment in error.messages[0]


def test_abolished_codes_can_be_allowed_for_historical_records():
    assert validate_region_code("320103", allow_abolished=True) == "320103"


@given(region_code, st.integers(1, 999), st.integers(0, 999))
def test_statistical_codes_extend_valid_county_codes(county, township, village):
    if county.endswith("0000"):
        return
    code = f"{county}{township:03d}{village:03d}"
    assert validate_region_code(code) == code
    assert region_name(code) == region_name(county)


def test_check_characters_agree_with_python_stdnum():
    """The 身份证号 and USCC check characters are computed by hand (faster); python-stdnum's
    reference implementation must give the same character for every body tried."""
    import random

    from stdnum.cn import ric, uscc

    from yiwang.core.codes import USCC_ALPHABET, _id_check_char, _uscc_check_char

    rng = random.Random(32100)
    for _ in range(3000):
        first17 = "".join(rng.choice("0123456789") for _ in range(17))
        assert _id_check_char(first17) == ric.calc_check_digit(first17 + "0")
        body = "".join(rng.choice(USCC_ALPHABET) for _ in range(17))
        assert _uscc_check_char(body) == uscc.calc_check_digit(body)
    assert _uscc_check_char("91350100M000100Y4"[:17]) == "3"  # 91350100M000100Y43, GB 32100's example
