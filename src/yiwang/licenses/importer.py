"""Excel import of existing (paper) licenses, all-or-nothing.

One sheet, first row headers: 持证主体名称, 证件号码, 颁发日期, 有效期至 (optional), then one
column per field of the license type, headed by the field's title (or its name). Every row is
issued and signed like a direct issuance; if any row is wrong nothing is kept and every error
is reported with its row and column.
"""

import datetime
import io
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from yiwang.core.errors import ValidationFailed
from yiwang.identity.models import Department
from yiwang.licenses.models import License, LicenseType

FIXED = ["持证主体名称", "证件号码", "颁发日期", "有效期至"]


@dataclass
class ImportResult:
    licenses: list[License]

    def summary(self) -> str:
        return _("已导入 %(n)d 张证照") % {"n": len(self.licenses)}


def _field_columns(license_type: LicenseType) -> list[tuple[str, str]]:
    props = (license_type.field_schema or {}).get("properties", {})
    return [(key, spec.get("title", key)) for key, spec in props.items()]


def template_workbook(license_type: LicenseType) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = license_type.name[:31]
    ws.append(FIXED + [title for _key, title in _field_columns(license_type)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _date(value, label: str, errors: list[str], *, required: bool) -> datetime.date | None:
    if value in (None, ""):
        if required:
            errors.append(_("「%(col)s」必填") % {"col": label})
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip().replace("/", "-"))
    except ValueError:
        errors.append(_("「%(col)s」应为日期,如 2024-05-01") % {"col": label})
        return None


def license_import(*, actor, license_type: LicenseType, issuer_department: Department, content: bytes) -> ImportResult:
    from openpyxl import load_workbook

    from yiwang.licenses.services import license_issue

    try:
        ws = load_workbook(io.BytesIO(content), read_only=True, data_only=True).worksheets[0]
    except Exception as exc:  # not an xlsx file: say so, never a 500
        raise ValidationFailed(
            _("无法读取文件,请上传 Excel(.xlsx)文件"), fields={"file": [_("文件格式不正确")]}
        ) from exc
    rows = list(ws.iter_rows(values_only=True))
    if not rows:
        raise ValidationFailed(fields={"file": [_("文件是空的")]})
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    columns = _field_columns(license_type)
    errors: dict[str, list[str]] = {}
    missing = [c for c in FIXED[:3] if c not in header]
    if missing:
        raise ValidationFailed(fields={"header": [_("缺少列:%(cols)s") % {"cols": "、".join(missing)}]})
    index = {name: i for i, name in enumerate(header)}
    issued: list[License] = []
    with transaction.atomic():
        for number, row in enumerate(rows[1:], start=2):
            if all(v in (None, "") for v in row):
                continue

            def cell(name, row=row):
                i = index.get(name)
                return row[i] if i is not None and i < len(row) else None

            row_errors: list[str] = []
            issue_date = _date(cell("颁发日期"), "颁发日期", row_errors, required=True)
            valid_until = _date(cell("有效期至"), "有效期至", row_errors, required=False)
            data = {}
            for key, title in columns:
                value = cell(title) if title in index else cell(key)
                if value not in (None, ""):
                    data[key] = value if isinstance(value, int | float) else str(value).strip()
            if not row_errors:
                try:
                    with transaction.atomic():
                        issued.append(
                            license_issue(
                                actor=actor,
                                license_type=license_type,
                                holder_kind=license_type.holder_kind,
                                holder_name=str(cell("持证主体名称") or ""),
                                holder_id=str(cell("证件号码") or ""),
                                data=data,
                                issuer_department=issuer_department,
                                issue_date=issue_date,
                                valid_until=valid_until,
                                reason=_("存量证照导入"),
                            )
                        )
                except ValidationFailed as exc:
                    titles = dict(columns)
                    labels = {"holder_name": "持证主体名称", "holder_id": "证件号码", "valid_until": "有效期至"}
                    for field, messages in exc.fields.items():
                        key = field.removeprefix("data.")
                        label = labels.get(field) or titles.get(key, key)
                        row_errors += [f"{label}:{m}" for m in messages]
            if row_errors:
                errors[_("第%(n)d行") % {"n": number}] = row_errors
        if errors:
            transaction.set_rollback(True)
    if errors:
        raise ValidationFailed(_("导入失败,没有导入任何证照,请按提示修改后重新上传。"), fields=errors)
    return ImportResult(issued)
