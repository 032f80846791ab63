"""License types of the demo city 示范市 (loaded by ``yiwang demo`` after the catalog).

The codes match the ``output.license_type_code`` of the demo catalog's items, and each
type's field names match the item's application form, so approving a case copies the form
into the license (see ``subscribers.py``). Idempotent: existing types are left alone.
"""

from yiwang.licenses.models import HolderKind, LicenseType


def _schema(**props: str) -> dict:
    return {"type": "object", "properties": {k: {"type": "string", "title": v} for k, v in props.items()}}


TYPES = [
    {
        "code": "business_license_individual",
        "standard_code": "GTGSHYYZZ",
        "name": "营业执照(个体工商户)",
        "department": "SFS-SCJG",
        "holder_kind": HolderKind.PERSON,
        "layout": LicenseType.Layout.LANDSCAPE,
        "field_schema": _schema(
            business_name="名称", composition="组成形式", business_address="经营场所", business_scope="经营范围"
        ),
        "validity_years": None,
    },
    {
        "code": "business_license",
        "standard_code": "YYZZ",
        "name": "营业执照",
        "department": "SFS-SCJG",
        "holder_kind": HolderKind.ENTERPRISE,
        "layout": LicenseType.Layout.LANDSCAPE,
        "field_schema": _schema(
            company_type="类型",
            legal_representative="法定代表人",
            registered_capital="注册资本",
            address="住所",
            business_scope="经营范围",
        ),
        "validity_years": None,
    },
    {
        "code": "food_business_license",
        "standard_code": "SPJYXKZ",
        "name": "食品经营许可证",
        "department": "SFS-SCJG",
        "holder_kind": HolderKind.ENTERPRISE,
        "layout": LicenseType.Layout.CERTIFICATE,
        "field_schema": _schema(
            operator_name="经营者名称",
            premises_address="经营场所",
            main_body="主体业态",
            safety_manager="食品安全管理人员",
        ),
        "validity_years": 5,
    },
    {
        "code": "social_security_card",
        "standard_code": "SHBZK",
        "name": "社会保障卡",
        "department": "SFS-RSJ",
        "holder_kind": HolderKind.PERSON,
        "layout": LicenseType.Layout.CERTIFICATE,
        "field_schema": _schema(card_number="社会保障号码", bank="服务银行"),
        "validity_years": 10,
    },
    {
        "code": "birth_medical_certificate",
        "standard_code": "CSYXZM",
        "name": "出生医学证明",
        "department": "SFS-WJW",
        "holder_kind": HolderKind.PERSON,
        "layout": LicenseType.Layout.CERTIFICATE,
        "field_schema": _schema(
            child_name="新生儿姓名",
            birth_date="出生时间",
            birth_place="出生地点",
            mother_name="母亲姓名",
            father_name="父亲姓名",
        ),
        "validity_years": None,
    },
    {
        "code": "disability_certificate",
        "standard_code": "CJRZ",
        "name": "中华人民共和国残疾人证",
        "department": "SFS-MZJ",
        "holder_kind": HolderKind.PERSON,
        "layout": LicenseType.Layout.CERTIFICATE,
        "field_schema": _schema(
            disability_category="残疾类别", disability_level="残疾等级", guardian_name="监护人姓名"
        ),
        "validity_years": 10,
    },
]


class Summary(list):
    def summary(self) -> str:
        return f"电子证照类型 {len(self)} 种(已有的不变)"


def load(actor=None):
    from yiwang.identity.models import Department
    from yiwang.licenses.services import license_type_create, seal_ensure

    created = Summary()
    for spec in TYPES:
        department = Department.objects.filter(code=spec["department"]).first()
        if department is None or LicenseType.objects.filter(code=spec["code"]).exists():
            continue
        fields = {k: v for k, v in spec.items() if k != "department"}
        created.append(license_type_create(actor=actor, department=department, **fields))
        seal_ensure(department=department)
    return created
