"""National identifier codes: citizen ID numbers, unified social credit codes, region codes.

* 公民身份号码 (GB 11643-1999): 18 characters — 6-digit region code, 8-digit birth date,
  3-digit sequence (odd for men, even for women), ISO 7064 MOD 11-2 check character.
* 统一社会信用代码 (GB 32100-2015): 18 characters over ``0-9A-Z`` without I, O, Z, S, V.
* 行政区划代码 (GB/T 2260): 6 digits; statistical township (9) and village (12) codes
  extend a county code (统计用区划代码, GB/T 10114).

Every ``validate_*`` function returns the normalized value or raises Django's
``ValidationError`` with a Simplified Chinese message and a stable ``code``, so forms,
models and services can use them directly. The ``make_*`` helpers build valid numbers
for tests and demo data.

The region list is python-stdnum's ``stdnum/cn/loc.dat`` (GB/T 2260 with the years each
code was in use). Unlike ``stdnum.cn.ric.validate`` we do not reject an ID number whose
region code was created after the birth year: numbers were issued at registration, so a
person born in 1960 legitimately carries a code created in 1983. We only reject a code
that had already been abolished before the person was born.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

__all__ = [
    "IdNumberFormField",
    "IdNumberInfo",
    "LicenseIdentifier",
    "RegionCodeFormField",
    "RegionEntry",
    "UsccFormField",
    "id_number_validator",
    "license_identifier_validator",
    "make_id_number",
    "make_license_identifier",
    "make_uscc",
    "region_code_validator",
    "region_name",
    "region_prefix",
    "uscc_validator",
    "validate_id_number",
    "validate_license_identifier",
    "validate_region_code",
    "validate_uscc",
]

_SEPARATORS = re.compile(r"[\s\-]+")

# ---------------------------------------------------------------------------
# Region codes (GB/T 2260)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RegionEntry:
    """One name a 6-digit code carried, with the years it was in use (None = open)."""

    name: str
    start: int | None
    end: int | None

    @property
    def current(self) -> bool:
        return self.end is None


def _parse_county(value: str) -> list[RegionEntry]:
    entries = []
    for part in value.split(","):
        if part.startswith("["):
            span, name = part[1:].split("]", 1)
            start, end = span.split("-")
            entries.append(RegionEntry(name, int(start) if start else None, int(end) if end else None))
        else:
            entries.append(RegionEntry(part, None, None))
    return entries


@cache
def _regions() -> dict[str, tuple[str, tuple[RegionEntry, ...]]]:
    """``code -> (province name, entries)`` parsed once from stdnum's loc.dat."""
    text = resources.files("stdnum").joinpath("cn/loc.dat").read_text(encoding="utf-8")
    table: dict[str, tuple[str, tuple[RegionEntry, ...]]] = {}
    province_code = province = ""
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = re.match(r'^(\s*)(\d+) (\w+)="(.*)"$', line)
        if match is None:
            continue
        indent, code, key, value = match.groups()
        if not indent and key == "province":
            province_code, province = code, value
        elif indent and key == "county":
            table[province_code + code] = (province, tuple(_parse_county(value)))
    return table


def region_entries(code: str) -> tuple[RegionEntry, ...]:
    """Every name the 6-digit ``code`` has carried, oldest first; empty if unknown."""
    found = _regions().get(code[:6]) if len(code) >= 6 else None
    return found[1] if found else ()


def region_codes(*, current_only: bool = True) -> list[str]:
    """All known 6-digit codes (by default only those still in use), sorted."""
    return sorted(
        code for code, (_p, entries) in _regions().items() if not current_only or any(e.current for e in entries)
    )


def _latest_name(code: str) -> str | None:
    entries = region_entries(code)
    if not entries:
        return None
    current = [e for e in entries if e.current]
    return (current or list(entries))[-1].name


# Prefecture-level placeholders that are not part of a place name.
_PLACEHOLDERS = {"市辖区", "县", "省直辖县级行政单位", "自治区直辖县级行政单位", "省直辖行政单位"}


def region_name(code: str) -> str | None:
    """Full name of a region code, e.g. ``"320505"`` → ``"江苏省苏州市虎丘区"``.

    9- and 12-digit statistical codes are named by their county. Returns ``None`` for
    codes not in the data. Abolished codes get their last name.
    """
    code = (code or "").strip()
    if len(code) < 6 or not code[:6].isdigit():
        return None
    code = code[:6]
    county = _latest_name(code)
    if county is None:
        return None
    province_code, prefecture_code = code[:2] + "0000", code[:4] + "00"
    parts = []
    province = _latest_name(province_code)
    if province:
        parts.append(province)
    if code != province_code:
        prefecture = _latest_name(prefecture_code)
        if code != prefecture_code and prefecture and prefecture not in _PLACEHOLDERS and prefecture != province:
            parts.append(prefecture)
        if county not in _PLACEHOLDERS or not parts:
            parts.append(county)
    return "".join(parts) if parts else county


def region_prefix(code: str) -> str:
    """The significant digits of a region code, for "this region and everything in it":
    "610300" → "6103", "610323" → "610323", "610323100000" → "610323100"."""
    padded = ((code or "").strip() + "0" * 12)[:12]
    segments = [padded[0:2], padded[2:4], padded[4:6], padded[6:9], padded[9:12]]
    while len(segments) > 1 and set(segments[-1]) == {"0"}:
        segments.pop()
    return "".join(segments)


def validate_region_code(value: str, *, allow_abolished: bool = False) -> str:
    """Check a GB/T 2260 region code (6 digits) or a 9/12-digit statistical code.

    The first 6 digits must be a code in the data and, unless ``allow_abolished``, still
    in use. A 9-digit code adds a township (乡级, not ``000``); a 12-digit code adds a
    village (村级) after it — ``000`` village means the township itself, and an all-zero
    tail means the county itself. Province codes (``xx0000``) carry no townships.
    """
    raw = "" if value is None else str(value)
    code = _SEPARATORS.sub("", raw)
    if not code:
        raise ValidationError(_("请填写行政区划代码"), code="region_code_required")
    if not code.isdigit():
        raise ValidationError(_("行政区划代码只能包含数字"), code="region_code_format")
    if len(code) not in (6, 9, 12):
        raise ValidationError(
            _("行政区划代码应为6位(县级)、9位(乡级)或12位(村级)数字,当前为%(length)d位"),
            code="region_code_length",
            params={"length": len(code)},
        )
    county = code[:6]
    entries = region_entries(county)
    if not entries:
        raise ValidationError(_("行政区划代码 %(code)s 不存在"), code="region_code_unknown", params={"code": county})
    if not allow_abolished and not any(e.current for e in entries):
        raise ValidationError(
            _("行政区划代码 %(code)s(%(name)s)已于%(year)s年撤销"),
            code="region_code_abolished",
            params={"code": county, "name": entries[-1].name, "year": max(e.end or 0 for e in entries)},
        )
    township, village = code[6:9], code[9:12]
    if township:
        if township == "000" and village not in ("", "000"):
            raise ValidationError(
                _("行政区划代码 %(code)s 结构不正确:村级代码前缺少乡级代码"),
                code="region_code_structure",
                params={"code": code},
            )
        if township != "000" and county.endswith("0000"):
            raise ValidationError(
                _("行政区划代码 %(code)s 结构不正确:省级代码下不能直接设乡级代码"),
                code="region_code_structure",
                params={"code": code},
            )
    return code


def region_code_validator(value: str) -> None:
    """Model/form field validator for region codes."""
    validate_region_code(value)


# ---------------------------------------------------------------------------
# Citizen ID numbers (GB 11643)
# ---------------------------------------------------------------------------

_EARLIEST_BIRTH_YEAR = 1880


@dataclass(frozen=True)
class IdNumberInfo:
    number: str  # normalized: 18 characters, upper-case X
    region_code: str
    birth_date: datetime.date
    gender: str  # "male" | "female"
    region_name: str | None

    @property
    def sequence(self) -> int:
        return int(self.number[14:17])


# GB 11643-1999 MOD 11-2: weight 2^(17-i) mod 11; the check character by the sum's remainder.
# Written out rather than python-stdnum's (same answer, ``tests/test_codes.py`` compares them):
# that one cleans and re-parses its input and cost more than the rest of a key's validation.
_ID_WEIGHTS = tuple(2 ** (17 - i) % 11 for i in range(17))


def _id_check_char(first17: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def validate_id_number(value: str, *, today: datetime.date | None = None) -> IdNumberInfo:
    """Check an 18-character citizen ID number and return what it encodes.

    Checks, in order: length (15-digit first-generation numbers are refused), digits,
    the check character, the birth date (a real date, not in the future, not before
    1880), and the region code (known, and not abolished before the birth year).
    """
    raw = "" if value is None else str(value)
    number = _SEPARATORS.sub("", raw).upper()
    if not number:
        raise ValidationError(_("请填写身份证号"), code="id_number_required")
    if len(number) == 15 and number.isdigit():
        raise ValidationError(_("这是15位的第一代身份证号,请填写18位的第二代身份证号"), code="id_number_legacy")
    if len(number) != 18:
        raise ValidationError(
            _("身份证号应为18位,当前为%(length)d位"),
            code="id_number_length",
            params={"length": len(number)},
        )
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise ValidationError(_("身份证号格式不正确:前17位须为数字,最后一位为数字或X"), code="id_number_format")
    if number[17] != _id_check_char(number[:17]):
        raise ValidationError(_("身份证号校验位不正确,请核对是否输错"), code="id_number_checksum")
    try:
        birth_date = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(_("身份证号中的出生日期无效"), code="id_number_birth_date") from None
    today = today or timezone.localdate()
    if birth_date > today or birth_date.year < _EARLIEST_BIRTH_YEAR:
        raise ValidationError(_("身份证号中的出生日期无效"), code="id_number_birth_date")
    region_code = number[:6]
    entries = region_entries(region_code)
    if not entries:
        raise ValidationError(
            _("身份证号中的行政区划代码 %(code)s 不存在"),
            code="id_number_region",
            params={"code": region_code},
        )
    if all(e.end is not None and e.end < birth_date.year for e in entries):
        raise ValidationError(
            _("身份证号中的行政区划代码 %(code)s 在出生年份前已撤销"),
            code="id_number_region",
            params={"code": region_code},
        )
    return IdNumberInfo(
        number=number,
        region_code=region_code,
        birth_date=birth_date,
        gender="male" if int(number[16]) % 2 else "female",
        region_name=region_name(region_code),
    )


def id_number_validator(value: str) -> None:
    """Model/form field validator for citizen ID numbers."""
    validate_id_number(value)


def make_id_number(region_code: str, birth_date: datetime.date, sequence: int) -> str:
    """Build a valid 18-character ID number (check character computed).

    ``sequence`` is the 3-digit order code, 0–999; odd for men, even for women.
    """
    if not (len(region_code) == 6 and region_code.isdigit()):
        raise ValueError("region_code must be 6 digits")
    if not 0 <= sequence <= 999:
        raise ValueError("sequence must be between 0 and 999")
    first17 = f"{region_code}{birth_date:%Y%m%d}{sequence:03d}"
    return first17 + _id_check_char(first17)


# ---------------------------------------------------------------------------
# Unified social credit codes (GB 32100)
# ---------------------------------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# 登记管理部门代码: 1 机构编制 … 9 市场监管(原工商), A 中央军委改革和编制办公室, N 农业农村, Y 其他.
USCC_AUTHORITIES = "123456789ANY"
# GB 32100-2015: weight 3^i mod 31 over the alphabet's values; the check is 31 − (sum mod 31).
# Written out for the same reason as the 身份证号's (policies read every enterprise's USCC).
_USCC_WEIGHTS = tuple(3**i % 31 for i in range(17))
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}


def _uscc_check_char(body17: str) -> str:
    total = sum(_USCC_VALUE[c] * w for c, w in zip(body17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[-total % 31]


def validate_uscc(value: str) -> str:
    """Check an 18-character unified social credit code; return it upper-cased.

    Checks the length, the registering-authority character, the entity-type
    character, the 6-digit registration region, the alphabet and the check character.
    """
    raw = "" if value is None else str(value)
    code = _SEPARATORS.sub("", raw).upper()
    if not code:
        raise ValidationError(_("请填写统一社会信用代码"), code="uscc_required")
    if len(code) != 18:
        raise ValidationError(
            _("统一社会信用代码应为18位,当前为%(length)d位"),
            code="uscc_length",
            params={"length": len(code)},
        )
    bad = sorted({c for c in code if c not in USCC_ALPHABET})
    if bad:
        raise ValidationError(
            _("统一社会信用代码含有无效字符:%(chars)s(不使用字母I、O、Z、S、V)"),
            code="uscc_format",
            params={"chars": "".join(bad)},
        )
    if code[0] not in USCC_AUTHORITIES or code[1] not in "123456789":
        raise ValidationError(_("统一社会信用代码前两位(登记管理部门和机构类别)无效"), code="uscc_format")
    if not code[2:8].isdigit():
        raise ValidationError(_("统一社会信用代码第3至8位应为登记管理机关行政区划代码(数字)"), code="uscc_format")
    if code[17] != _uscc_check_char(code[:17]):
        raise ValidationError(_("统一社会信用代码校验位不正确,请核对是否输错"), code="uscc_checksum")
    return code


def uscc_validator(value: str) -> None:
    """Model/form field validator for unified social credit codes."""
    validate_uscc(value)


def make_uscc(body17: str) -> str:
    """Append the check character to a 17-character body (e.g. ``"91320505MA1XXXXX"`` + 1 more)."""
    body = body17.upper()
    if len(body) != 17 or any(c not in USCC_ALPHABET for c in body):
        raise ValueError("body17 must be 17 characters from the USCC alphabet")
    return body + _uscc_check_char(body)


# ---------------------------------------------------------------------------
# Form fields: validate and hand back the normalized value
# ---------------------------------------------------------------------------


class _CodeFormField(forms.CharField):
    normalize = staticmethod(lambda value: value)

    def clean(self, value):
        value = super().clean(value)
        return self.normalize(value) if value not in self.empty_values else value


class IdNumberFormField(_CodeFormField):
    """Accepts spaces, dashes and a lower-case ``x``; cleans to the 18-character number."""

    normalize = staticmethod(lambda value: validate_id_number(value).number)

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 30)
        super().__init__(**kwargs)


class UsccFormField(_CodeFormField):
    normalize = staticmethod(validate_uscc)

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 30)
        super().__init__(**kwargs)


class RegionCodeFormField(_CodeFormField):
    normalize = staticmethod(validate_region_code)

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)


# ---------------------------------------------------------------------------
# Electronic license identifiers (GB/T 36904 电子证照标识)
# ---------------------------------------------------------------------------
#
# 1.2.156.3005.2.<证照类型代码>.<颁发机构统一社会信用代码>.<流水号>.<版本号>.<校验位>
#
# The check character is ISO 7064 MOD 37,36 (python-stdnum) computed over every character
# before the last dot with the dots left out (the OID arc "1.2.156.3005.2" included).

LICENSE_OID_PREFIX = "1.2.156.3005.2"
_LICENSE_TYPE_CODE_RE = re.compile(r"^[0-9A-Z]{1,32}$")
_LICENSE_IDENTIFIER_RE = re.compile(
    r"^1\.2\.156\.3005\.2\.(?P<type_code>[0-9A-Z]{1,32})\.(?P<issuer>[0-9A-Z]{18})\."
    r"(?P<serial>\d{1,20})\.(?P<version>\d{1,4})\.(?P<check>[0-9A-Z])$"
)


@dataclass(frozen=True)
class LicenseIdentifier:
    identifier: str
    type_code: str
    issuer_uscc: str
    serial: int
    version: int


def _license_check_char(body: str) -> str:
    from stdnum.iso7064 import mod_37_36

    return mod_37_36.calc_check_digit(body.replace(".", ""))


def make_license_identifier(*, type_code: str, issuer_uscc: str, serial: int, version: int = 1) -> str:
    """Build an identifier with its check character; ``serial`` is zero-padded to 8 digits."""
    if not _LICENSE_TYPE_CODE_RE.match(type_code or ""):
        raise ValueError("type_code must be 1-32 characters of 0-9A-Z")
    body = f"{LICENSE_OID_PREFIX}.{type_code}.{validate_uscc(issuer_uscc)}.{serial:08d}.{version}"
    return f"{body}.{_license_check_char(body)}"


def validate_license_identifier(value: str) -> LicenseIdentifier:
    """Check a GB/T 36904 license identifier (layout, issuer USCC, check character)."""
    identifier = re.sub(r"\s+", "", "" if value is None else str(value)).upper()
    if not identifier:
        raise ValidationError(_("请填写证照标识"), code="license_identifier_required")
    match = _LICENSE_IDENTIFIER_RE.match(identifier)
    if not match:
        raise ValidationError(
            _("证照标识格式不正确,应为 1.2.156.3005.2.类型代码.颁发机构代码.流水号.版本号.校验位"),
            code="license_identifier_format",
        )
    try:
        validate_uscc(match["issuer"])
    except ValidationError as exc:
        raise ValidationError(_("证照标识中的颁发机构统一社会信用代码无效"), code="license_identifier_issuer") from exc
    body = identifier.rsplit(".", 1)[0]
    if match["check"] != _license_check_char(body):
        raise ValidationError(_("证照标识校验位不正确,请核对是否输错"), code="license_identifier_checksum")
    return LicenseIdentifier(
        identifier=identifier,
        type_code=match["type_code"],
        issuer_uscc=match["issuer"],
        serial=int(match["serial"]),
        version=int(match["version"]),
    )


def license_identifier_validator(value: str) -> None:
    validate_license_identifier(value)
