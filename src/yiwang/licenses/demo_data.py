"""License types of the demo city 示范市 (loaded by ``yiwang demo`` after the catalog).

The codes match the ``output.license_type_code`` of the demo catalog's items, and each
type's field names match the item's application form, so approving a case copies the form
into the license (see ``subscribers.py``). Idempotent: existing types are left alone.
"""

from yiwang.licenses.models import HolderKind, License, LicenseType


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
        "code": "resident_id_card",
        "standard_code": "JMSFZ",
        "name": "居民身份证(电子证照)",
        "department": "SFS-GAJ",
        "holder_kind": HolderKind.PERSON,
        "layout": LicenseType.Layout.CERTIFICATE,
        "field_schema": _schema(sex="性别", birth_date="出生日期", address="住址"),
        "validity_years": 20,
    },
    {
        "code": "employment_certificate",
        "standard_code": "JYCYZ",
        "name": "就业创业证",
        "department": "SFS-RSJ",
        "holder_kind": HolderKind.PERSON,
        "layout": LicenseType.Layout.CERTIFICATE,
        "field_schema": _schema(status="就业失业状态", education="文化程度"),
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
    _issue_for_approved_cases()
    _citizens_hold_ids_and_cards()
    return created


def _issue_for_approved_cases() -> None:
    """The demo cases approved before the license types existed (the cases demo loads first),
    or whose ``case.approved`` event waits for a worker, get their license now (idempotent)."""
    from yiwang.cases import selectors as case_selectors
    from yiwang.licenses.subscribers import issue_for_case

    for case_id in case_ids_without_license(case_selectors.case_ids_approved_with_output()):
        issue_for_case(case_id)


def case_ids_without_license(case_ids: list[int]) -> list[int]:
    issued = set(License.objects.filter(source_case_id__in=case_ids).values_list("source_case_id", flat=True))
    return [pk for pk in case_ids if pk not in issued]


# The electronic 居民身份证 and 社会保障卡 the demo citizens hold: what 免证可办 reads instead of a
# scan (items whose materials are these, e.g. 就业创业证申领 and 高龄津贴申领, need no upload).
HELD = (("resident_id_card", "SFS-GAJ"), ("social_security_card", "SFS-RSJ"))


def _citizens_hold_ids_and_cards() -> None:
    from yiwang.core.crypto import blind_index
    from yiwang.identity.models import Department, User
    from yiwang.licenses.services import license_issue

    citizens = list(User.objects.filter(username__regex=r"^citizen\d+$").exclude(id_number="").order_by("username"))
    for code, department_code in HELD:
        license_type = LicenseType.objects.filter(code=code).first()
        department = Department.objects.filter(code=department_code).first()
        if license_type is None or department is None:
            continue
        held = set(License.objects.filter(license_type=license_type).values_list("holder_id_index", flat=True))
        for citizen in citizens:
            if blind_index(citizen.id_number) in held:
                continue
            birth = citizen.id_number[6:14]
            data = (
                {
                    "sex": "男" if int(citizen.id_number[16]) % 2 else "女",
                    "birth_date": f"{birth[:4]}-{birth[4:6]}-{birth[6:]}",
                }
                if code == "resident_id_card"
                else {"card_number": citizen.id_number, "bank": "中国工商银行"}
            )
            license_issue(
                actor="licenses.demo",
                license_type=license_type,
                holder_kind=HolderKind.PERSON,
                holder_name=citizen.real_name,
                holder_id=citizen.id_number,
                data=data,
                issuer_department=department,
                reason="示范数据",
            )
