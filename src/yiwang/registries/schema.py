"""What each registry holds: its fields, their kinds, which are keys and which personal.

This is code, not configuration: a field's kind decides how its value is parsed and
validated (GB 11643, GB 32100, GB/T 2260, GB/T 4754 …). Which department is a field's
source (一数一源) is configuration, kept in the database (``RegistryField``), because it
differs from one city to the next.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Field kinds: how a value is parsed, validated and stored.
TEXT, DATE, DECIMAL, INT, CHOICE = "text", "date", "decimal", "int", "choice"
ID_NUMBER, USCC, REGION, PHONE = "id_number", "uscc", "region", "phone"
INDUSTRY, ADDRESS_CODE, GRID_CODE, SUBJECT_KEY, JSON = "industry", "address_code", "grid_code", "subject_key", "json"

SEX = (("male", _("男")), ("female", _("女")))
MARITAL = (("unmarried", _("未婚")), ("married", _("已婚")), ("divorced", _("离婚")), ("widowed", _("丧偶")))
ENTITY_KINDS = (
    ("enterprise", _("企业")),
    ("individual_business", _("个体工商户")),
    ("social_organization", _("社会组织")),
    ("public_body", _("机关事业单位")),
)
ENTITY_STATUS = (("active", _("存续")), ("revoked", _("吊销")), ("cancelled", _("注销")), ("moved_out", _("迁出")))
SUBJECT_KINDS = (("person", _("自然人")), ("legal_entity", _("法人")))
CREDIT_KINDS = (
    ("license", _("行政许可")),
    ("penalty", _("行政处罚")),
    ("blacklist", _("黑名单")),
    ("redlist", _("红名单")),
    ("inspection", _("抽查检查结果")),
    ("tax_grade", _("纳税信用等级")),
    ("commitment", _("信用承诺")),
)
# A credit record's outcome (结论): the 纳税信用等级 of a ``tax_grade`` record, whether a
# ``commitment`` (信用承诺) was kept; other kinds leave it empty.
TAX_GRADES = ("A", "B", "M", "C", "D")
COMMITMENT_OUTCOMES = ("kept", "broken", "pending")
CREDIT_OUTCOMES = (
    ("A", _("A级")),
    ("B", _("B级")),
    ("M", _("M级")),
    ("C", _("C级")),
    ("D", _("D级")),
    ("kept", _("已履约")),
    ("broken", _("未履约(失诺)")),
    ("pending", _("履约期内")),
)
HOLDER_KINDS = (("person", _("自然人")), ("enterprise", _("法人和其他组织")))
LICENSE_STATUS = (("valid", _("有效")), ("suspended", _("暂停")), ("revoked", _("已注销")), ("expired", _("已过期")))


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: Promise
    kind: str = TEXT
    personal: bool = False
    key: bool = False
    required: bool = False  # completeness rule: a record without it fails the quality check
    max_length: int = 200
    choices: tuple[tuple[str, Promise], ...] = ()
    max_digits: int = 16  # DECIMAL
    decimal_places: int = 2  # DECIMAL
    help: Promise | str = ""


@dataclass(frozen=True)
class RegistrySpec:
    name: str
    label: Promise
    model: str  # "registries.Person"; "" for the license view
    fields: tuple[FieldSpec, ...]
    subject_kind: str | None  # whom a record concerns: "person", "legal_entity", None, or "field" (per record)
    writable: bool = True

    @property
    def key_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.key)

    def field(self, name: str) -> FieldSpec | None:
        return _FIELD_INDEX[self.name].get(name)


POPULATION = RegistrySpec(
    "population",
    _("人口库"),
    "registries.Person",
    (
        FieldSpec("id_number", _("公民身份号码"), ID_NUMBER, personal=True, key=True, required=True),
        FieldSpec("name", _("姓名"), TEXT, personal=True, required=True, max_length=50),
        FieldSpec("sex", _("性别"), CHOICE, choices=SEX, required=True),
        FieldSpec("birth_date", _("出生日期"), DATE, personal=True, required=True),
        FieldSpec("region_code", _("户籍地行政区划"), REGION, required=True, help=_("GB/T 2260,6/9/12位")),
        FieldSpec("address", _("户籍地址"), TEXT, personal=True, required=True),
        FieldSpec("address_code", _("标准地址编码"), ADDRESS_CODE, help=_("空间地理库中的地址编码")),
        FieldSpec("phone", _("联系电话"), PHONE, personal=True),
        FieldSpec("marital_status", _("婚姻状况"), CHOICE, personal=True, choices=MARITAL),
        FieldSpec("household_id", _("户号"), TEXT, personal=True, max_length=32),
    ),
    "person",
)

LEGAL_ENTITY = RegistrySpec(
    "legal_entity",
    _("法人库"),
    "registries.LegalEntity",
    (
        FieldSpec("uscc", _("统一社会信用代码"), USCC, key=True, required=True),
        FieldSpec("name", _("名称"), TEXT, required=True),
        FieldSpec("kind", _("主体类型"), CHOICE, choices=ENTITY_KINDS, required=True),
        FieldSpec("legal_representative", _("法定代表人(负责人)"), TEXT, personal=True, required=True, max_length=50),
        FieldSpec("legal_representative_id_number", _("法定代表人身份证号"), ID_NUMBER, personal=True),
        FieldSpec("registered_capital", _("注册资本(万元)"), DECIMAL, max_digits=16, decimal_places=4),
        FieldSpec("industry_code", _("行业代码"), INDUSTRY, help=_("GB/T 4754,如 I6510 或 H62")),
        FieldSpec("address", _("住所"), TEXT, required=True),
        FieldSpec("address_code", _("标准地址编码"), ADDRESS_CODE),
        FieldSpec("region_code", _("登记地行政区划"), REGION, required=True),
        FieldSpec("established_on", _("成立日期"), DATE, required=True),
        FieldSpec("status", _("登记状态"), CHOICE, choices=ENTITY_STATUS, required=True),
    ),
    "legal_entity",
)

LICENSE = RegistrySpec(
    "license",
    _("电子证照库"),
    "",
    (
        FieldSpec("identifier", _("证照标识"), TEXT, key=True, required=True),
        FieldSpec("license_type", _("证照类型编码"), TEXT),
        FieldSpec("license_type_name", _("证照类型"), TEXT),
        FieldSpec("issuer", _("颁发部门"), TEXT),
        FieldSpec("issuer_uscc", _("颁发部门统一社会信用代码"), TEXT),
        FieldSpec("holder_kind", _("持证主体类型"), CHOICE, choices=HOLDER_KINDS),
        FieldSpec("holder_name", _("持证主体名称"), TEXT, personal=True),
        FieldSpec("holder_id", _("持证主体代码"), SUBJECT_KEY, personal=True),
        FieldSpec("data", _("证照数据"), JSON, personal=True),
        FieldSpec("issue_date", _("颁发日期"), DATE),
        FieldSpec("valid_until", _("有效期至"), DATE),
        FieldSpec("status", _("状态"), CHOICE, choices=LICENSE_STATUS),
    ),
    "field",
    writable=False,
)

CREDIT = RegistrySpec(
    "credit",
    _("信用库"),
    "registries.CreditRecord",
    (
        FieldSpec("record_number", _("信用记录编号"), TEXT, key=True, required=True, max_length=64),
        FieldSpec("subject_kind", _("主体类型"), CHOICE, choices=SUBJECT_KINDS, required=True),
        FieldSpec(
            "subject_key",
            _("主体代码"),
            SUBJECT_KEY,
            personal=True,
            required=True,
            help=_("身份证号或统一社会信用代码"),
        ),
        FieldSpec("subject_name", _("主体名称"), TEXT, personal=True, required=True),
        FieldSpec("kind", _("信用信息类别"), CHOICE, choices=CREDIT_KINDS, required=True),
        FieldSpec("content", _("内容"), TEXT, required=True, max_length=2000),
        FieldSpec(
            "outcome",
            _("结论"),
            CHOICE,
            choices=CREDIT_OUTCOMES,
            help=_("纳税信用等级 A/B/M/C/D;信用承诺 kept/broken/pending;其他类别留空"),
        ),
        FieldSpec("authority", _("认定部门"), TEXT, required=True),
        FieldSpec("decided_on", _("决定日期"), DATE, required=True),
        FieldSpec("valid_from", _("有效期自"), DATE, required=True),
        FieldSpec("valid_to", _("有效期至"), DATE),
    ),
    "field",
)

SPATIAL = RegistrySpec(
    "spatial",
    _("空间地理库"),
    "registries.Address",
    (
        FieldSpec("code", _("标准地址编码"), ADDRESS_CODE, key=True, required=True),
        FieldSpec("text", _("标准地址"), TEXT, required=True),
        FieldSpec("region_code", _("所在行政区划"), REGION, required=True),
        FieldSpec("grid_code", _("网格编码"), GRID_CODE, required=True),
        FieldSpec("longitude", _("经度"), DECIMAL, required=True, max_digits=9, decimal_places=6),
        FieldSpec("latitude", _("纬度"), DECIMAL, required=True, max_digits=9, decimal_places=6),
    ),
    None,
)

ECONOMY = RegistrySpec(
    "economy",
    _("宏观经济库"),
    "registries.Indicator",
    (
        FieldSpec("uscc", _("统一社会信用代码"), USCC, key=True, required=True),
        FieldSpec("year", _("年度"), INT, key=True, required=True),
        FieldSpec("tax_paid", _("实缴税金(万元)"), DECIMAL, required=True),
        FieldSpec("output_value", _("工业总产值(万元)"), DECIMAL),
        FieldSpec("energy_use", _("综合能耗(吨标准煤)"), DECIMAL),
        FieldSpec("land_area_mu", _("用地面积(亩)"), DECIMAL, required=True),
        FieldSpec("employees", _("年平均职工人数"), INT),
        FieldSpec("rd_spend", _("研发经费支出(万元)"), DECIMAL),
    ),
    "legal_entity",
)

REGISTRIES: dict[str, RegistrySpec] = {
    spec.name: spec for spec in (POPULATION, LEGAL_ENTITY, LICENSE, CREDIT, SPATIAL, ECONOMY)
}
_FIELD_INDEX = {spec.name: {f.name: f for f in spec.fields} for spec in REGISTRIES.values()}

# The economy registry's key is "<USCC>-<year>", e.g. "91610302MA0000000X-2025".
ECONOMY_KEY_SEPARATOR = "-"
