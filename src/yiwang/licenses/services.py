"""License services: seals and keys, license types, issuance, status changes, presentations.

Every service is keyword-only, runs in one transaction and writes an audit event; holder
ID numbers never enter the audit ``changes`` in clear (only masked).
"""

import datetime
import re
from typing import Any

import jsonschema
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yiwang.core import events, gm
from yiwang.core.audit import audit_record, canonical_json
from yiwang.core.codes import make_license_identifier, validate_id_number, validate_uscc
from yiwang.core.crypto import blind_index
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.masking import mask_id_number, mask_name
from yiwang.identity.models import Department, Role
from yiwang.identity.selectors import actor_has_role
from yiwang.licenses import keys, render
from yiwang.licenses.models import (
    CertificateAuthority,
    HolderKind,
    License,
    LicenseSerial,
    LicenseStatusChange,
    LicenseType,
    Presentation,
    Seal,
    SealKey,
)

ISSUER_ROLES = (Role.REVIEWER, Role.DEPARTMENT_HEAD, Role.DEPARTMENT_ADMIN)
SEAL_ADMIN_ROLES = (Role.DEPARTMENT_ADMIN, Role.CITY_ADMIN)


def _is_system(actor) -> bool:
    return actor is None or isinstance(actor, str)


def _may_manage_seals(actor, department: Department) -> bool:
    return _is_system(actor) or actor_has_role(actor, roles=SEAL_ADMIN_ROLES, department=department)


# =============================================================================================
# Platform CA, seals and key versions
# =============================================================================================


def platform_ca(*, create: bool = True) -> CertificateAuthority:
    """The active root CA; created on first use (audited as the platform)."""
    ca = CertificateAuthority.objects.filter(is_active=True).first()
    if ca is None and create:
        name = getattr(settings, "YIWANG_CA_NAME", "") or "Yiwang Platform Root CA"
        cert_pem, key_enc = keys.make_root_ca(name)
        try:
            with transaction.atomic():
                ca = CertificateAuthority.objects.create(
                    name=name, certificate_pem=cert_pem, private_key_encrypted=key_enc
                )
                audit_record(actor="licenses", action="licenses.ca_created", obj=ca, changes={"name": name})
        except IntegrityError:  # created at the same moment by another process: one active root only
            ca = CertificateAuthority.objects.get(is_active=True)
    if ca is None:
        raise NotFound(_("平台根证书尚未创建。"))
    return ca


def _new_key(seal: Seal, version: int) -> SealKey:
    ca = platform_ca()
    sk, pk = keys.sm2_generate()
    cert_pem, cert_key_enc = keys.issue_signing_certificate(
        ca_certificate_pem=ca.certificate_pem,
        ca_private_key_encrypted=ca.private_key_encrypted,
        common_name=seal.department.name,
        organization_id=seal.department.uscc,
    )
    return SealKey.objects.create(
        seal=seal,
        version=version,
        sm2_public_key=pk,
        sm2_private_key_encrypted=keys.encrypt_key(sk),
        pdf_certificate_pem=cert_pem,
        pdf_private_key_encrypted=cert_key_enc,
    )


@transaction.atomic
def seal_create(*, actor, department: Department, name: str = "") -> Seal:
    """Give a department its seal: the red seal image and key version 1 (SM2 + PDF certificate)."""
    if not _may_manage_seals(actor, department):
        raise Forbidden()
    if not department.uscc:
        raise ValidationFailed(
            _("部门缺少统一社会信用代码,无法刻制电子印章"), fields={"department": [_("请先填写部门的统一社会信用代码")]}
        )
    if Seal.objects.filter(department=department).exists():
        raise Conflict(_("该部门已有电子印章"), code="seal_exists")
    name = (name or department.name).strip()
    seal = Seal.objects.create(department=department, name=name, image_png=render.seal_png(name))
    key = _new_key(seal, 1)
    audit_record(actor=actor, action="licenses.seal_created", obj=seal, changes={"name": name, "key_version": 1})
    events.publish("seal.created", seal_id=seal.pk, key_version=key.version)
    return seal


@transaction.atomic
def seal_rotate_key(*, actor, seal: Seal) -> SealKey:
    """New key version for future licenses; earlier versions stay for verification."""
    seal = Seal.objects.select_for_update(of=("self",), no_key=True).select_related("department").get(pk=seal.pk)
    if not _may_manage_seals(actor, seal.department):
        raise Forbidden()
    current = seal.keys.order_by("-version").first()
    now = timezone.now()
    if current:
        SealKey.objects.filter(seal=seal, retired_at__isnull=True).update(retired_at=now)
    key = _new_key(seal, (current.version if current else 0) + 1)
    audit_record(actor=actor, action="licenses.seal_key_rotated", obj=seal, changes={"key_version": key.version})
    return key


def seal_current_key(*, seal: Seal) -> SealKey:
    key = seal.keys.filter(retired_at__isnull=True).order_by("-version").first()
    if key is None:
        raise NotFound(_("电子印章没有可用的签名密钥"))
    return key


def seal_ensure(*, department: Department) -> Seal:
    """The department's seal, created by the platform if missing (auto-issuance, demo)."""
    seal = Seal.objects.filter(department=department).first()
    if seal is not None:
        return seal
    try:
        with transaction.atomic():
            return seal_create(actor="licenses", department=department)
    except (Conflict, IntegrityError):  # another issuance created it at the same moment
        return Seal.objects.get(department=department)


# =============================================================================================
# License types
# =============================================================================================


@transaction.atomic
def license_type_create(
    *,
    actor,
    code: str,
    standard_code: str,
    name: str,
    department: Department,
    holder_kind: str,
    field_schema: dict | None = None,
    validity_years: int | None = None,
    layout: str = LicenseType.Layout.CERTIFICATE,
) -> LicenseType:
    if not _may_manage_seals(actor, department):
        raise Forbidden()
    fields: dict[str, list] = {}
    if not code:
        fields["code"] = [_("请填写类型编码")]
    elif LicenseType.objects.filter(code=code).exists():
        fields["code"] = [_("类型编码已存在")]
    if not re.fullmatch(r"[0-9A-Z]{1,32}", standard_code or ""):
        fields["standard_code"] = [_("证照类型代码应为1至32位数字或大写字母")]
    if LicenseType.objects.filter(standard_code=standard_code).exists():
        fields["standard_code"] = [_("证照类型代码已存在")]
    if not (name or "").strip():
        fields["name"] = [_("请填写证照名称")]
    if holder_kind not in HolderKind.values:
        fields["holder_kind"] = [_("持证主体类型无效")]
    try:
        jsonschema.Draft202012Validator.check_schema(field_schema or {})
    except jsonschema.SchemaError:
        fields["field_schema"] = [_("字段定义不是有效的 JSON Schema")]
    if fields:
        raise ValidationFailed(fields=fields)
    license_type = LicenseType.objects.create(
        code=code,
        standard_code=standard_code,
        name=name.strip(),
        department=department,
        holder_kind=holder_kind,
        field_schema=field_schema or {},
        validity_years=validity_years,
        layout=layout,
    )
    audit_record(
        actor=actor,
        action="licenses.type_created",
        obj=license_type,
        changes={"code": code, "standard_code": standard_code, "name": name, "department": department.pk},
    )
    return license_type


# =============================================================================================
# Issuance and signing
# =============================================================================================

_SCHEMA_MESSAGES = {
    "required": _("请填写「%(field)s」"),
    "type": _("「%(field)s」格式不正确"),
    "enum": _("「%(field)s」不在可选范围内"),
    "maxLength": _("「%(field)s」过长"),
    "minLength": _("「%(field)s」过短"),
    "pattern": _("「%(field)s」格式不正确"),
    "format": _("「%(field)s」格式不正确"),
    "minimum": _("「%(field)s」数值过小"),
    "maximum": _("「%(field)s」数值过大"),
}


def _data_errors(schema: dict, data: Any) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not isinstance(data, dict):
        return {"data": [str(_("证照数据应为对象"))]}
    props = (schema or {}).get("properties", {})
    validator = jsonschema.Draft202012Validator(schema or {}, format_checker=jsonschema.FormatChecker())
    for error in validator.iter_errors(data):
        path = list(error.absolute_path)
        if error.validator == "required":
            key = error.message.split("'")[1] if "'" in error.message else ""
            path = [*path, key]
        key = str(path[0]) if path else ""
        title = props.get(key, {}).get("title", key) if key else str(_("证照数据"))
        message = _SCHEMA_MESSAGES.get(error.validator, _("「%(field)s」不符合要求")) % {"field": title}
        errors.setdefault(f"data.{key}" if key else "data", []).append(str(message))
    return errors


def _normalize_holder_id(kind: str, value: str) -> str:
    if kind == HolderKind.PERSON:
        return validate_id_number(value).number
    return validate_uscc(value)


def signed_content(license: License) -> dict:
    """What the seal signs: everything a verifier sees about the license except its status."""
    return {
        "identifier": license.identifier,
        "type": license.license_type.code,
        "type_name": license.license_type.name,
        "issuer_uscc": license.issuer.uscc,
        "issuer_name": license.issuer.name,
        "holder_kind": license.holder_kind,
        "holder_name": license.holder_name,
        "holder_id": license.holder_id,
        "data": license.data,
        "issue_date": license.issue_date.isoformat(),
        "valid_until": license.valid_until.isoformat() if license.valid_until else None,
        "key_version": license.seal_key.version,
    }


def signing_message(license: License) -> bytes:
    return canonical_json(signed_content(license)).encode()


def _add_years(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years) - datetime.timedelta(days=1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _may_issue(actor, department: Department) -> bool:
    return _is_system(actor) or actor_has_role(actor, roles=ISSUER_ROLES, department=department)


@transaction.atomic
def license_issue(
    *,
    actor,
    license_type: LicenseType,
    holder_kind: str,
    holder_name: str,
    holder_id: str,
    data: dict,
    issuer_department: Department,
    issue_date: datetime.date | None = None,
    valid_until: datetime.date | None = None,
    source_case_id: int | None = None,
    reason: str = "",
) -> License:
    """Issue and sign a license (staff direct issuance, migration of paper licenses, auto-issuance)."""
    if not _may_issue(actor, issuer_department):
        raise Forbidden(_("您没有以该部门名义签发证照的权限。"))
    fields: dict[str, list[str]] = {}
    if not license_type.is_active:
        fields["license_type"] = [str(_("该证照类型已停用"))]
    if holder_kind != license_type.holder_kind:
        fields["holder_kind"] = [
            str(_("该证照的持证主体应为「%(kind)s」") % {"kind": license_type.get_holder_kind_display()})
        ]
    holder_name = (holder_name or "").strip()
    if not holder_name:
        fields["holder_name"] = [str(_("请填写持证主体名称"))]
    try:
        holder_id = _normalize_holder_id(holder_kind, holder_id)
    except ValidationError as exc:
        fields["holder_id"] = [str(m) for m in exc.messages]
    if not issuer_department.uscc:
        fields["issuer_department"] = [str(_("颁发部门缺少统一社会信用代码"))]
    fields.update(_data_errors(license_type.field_schema, data))
    today = timezone.localdate()
    issue_date = issue_date or today
    if valid_until is None and license_type.validity_years:
        valid_until = _add_years(issue_date, license_type.validity_years)
    if valid_until and valid_until < issue_date:
        fields["valid_until"] = [str(_("有效期不能早于颁发日期"))]
    if source_case_id is not None and License.objects.filter(source_case_id=source_case_id).exists():
        raise Conflict(_("该办件已颁发证照"), code="license_exists_for_case")
    if fields:
        raise ValidationFailed(fields=fields)
    seal = seal_ensure(department=issuer_department)
    key = seal_current_key(seal=seal)
    try:
        with transaction.atomic():
            LicenseSerial.objects.get_or_create(license_type=license_type, issuer=issuer_department)
    except IntegrityError:  # created by a concurrent first issuance: it exists now
        pass
    counter = LicenseSerial.objects.select_for_update(no_key=True).get(
        license_type=license_type, issuer=issuer_department
    )
    serial = counter.next_value
    LicenseSerial.objects.filter(pk=counter.pk).update(next_value=serial + 1)
    license = License(
        identifier=make_license_identifier(
            type_code=license_type.standard_code, issuer_uscc=issuer_department.uscc, serial=serial
        ),
        license_type=license_type,
        issuer=issuer_department,
        holder_kind=holder_kind,
        holder_name=holder_name,
        holder_id=holder_id,
        holder_id_index=blind_index(holder_id),
        data=data,
        issue_date=issue_date,
        valid_until=valid_until,
        seal_key=key,
        source_case_id=source_case_id,
        issued_by=None if _is_system(actor) else actor,
    )
    if valid_until and valid_until < today:
        license.status = License.Status.EXPIRED
    license.signature = keys.sm2_sign(keys.decrypt_key(key.sm2_private_key_encrypted), signing_message(license))
    license.save()
    LicenseStatusChange.objects.create(
        license=license,
        to_status=license.status,
        reason=reason or str(_("颁发")),
        actor=None if _is_system(actor) else actor,
    )
    audit_record(
        actor=actor,
        action="licenses.issued",
        obj=license,
        changes={
            "identifier": license.identifier,
            "type": license_type.code,
            "holder_name": mask_name(holder_name) if holder_kind == HolderKind.PERSON else holder_name,
            "holder_id": mask_id_number(holder_id),
            "key_version": key.version,
            "source_case_id": source_case_id,
        },
    )
    events.publish("license.issued", license_id=license.pk, license_type=license_type.code)
    return license


REASON_MAX_LENGTH = 500  # License.status_reason, LicenseStatusChange.reason


def _set_status(*, actor, license: License, to_status: str, reason: str, action: str, allowed_from) -> License:
    if not _may_issue(actor, license.issuer):
        raise Forbidden(_("只有颁发部门的审核人员、负责人或管理员可以变更证照状态。"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": [str(_("请填写原因"))]})
    if len(reason) > REASON_MAX_LENGTH:  # PostgreSQL would refuse the row (found by the API fuzzer)
        message = _("原因不能超过 %(max)d 个字") % {"max": REASON_MAX_LENGTH}
        raise ValidationFailed(message, fields={"reason": [str(message)]})
    locked = License.objects.select_for_update(no_key=True).get(pk=license.pk)
    if locked.status not in allowed_from:
        raise Conflict(
            _("证照当前状态为「%(status)s」,不能执行此操作") % {"status": locked.get_status_display()},
            code="license_status",
        )
    from_status = locked.status
    License.objects.filter(pk=locked.pk).update(status=to_status, status_reason=reason, updated_at=timezone.now())
    LicenseStatusChange.objects.create(
        license=locked,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        actor=None if _is_system(actor) else actor,
    )
    audit_record(
        actor=actor, action=action, obj=locked, changes={"from": from_status, "to": to_status, "reason": reason}
    )
    events.publish(action.replace("licenses.", "license.", 1), license_id=locked.pk)
    license.refresh_from_db()
    return license


@transaction.atomic
def license_revoke(*, actor, license: License, reason: str) -> License:
    return _set_status(
        actor=actor,
        license=license,
        to_status=License.Status.REVOKED,
        reason=reason,
        action="licenses.revoked",
        allowed_from=(License.Status.VALID, License.Status.SUSPENDED, License.Status.EXPIRED),
    )


@transaction.atomic
def license_suspend(*, actor, license: License, reason: str) -> License:
    return _set_status(
        actor=actor,
        license=license,
        to_status=License.Status.SUSPENDED,
        reason=reason,
        action="licenses.suspended",
        allowed_from=(License.Status.VALID,),
    )


@transaction.atomic
def license_reinstate(*, actor, license: License, reason: str) -> License:
    return _set_status(
        actor=actor,
        license=license,
        to_status=License.Status.VALID,
        reason=reason,
        action="licenses.reinstated",
        allowed_from=(License.Status.SUSPENDED,),
    )


@transaction.atomic
def licenses_expire_due(*, today: datetime.date | None = None) -> int:
    """Mark valid licenses past their validity as expired (run daily; verification also checks dates)."""
    today = today or timezone.localdate()
    due = list(
        License.objects.select_for_update(no_key=True).filter(
            status__in=(License.Status.VALID, License.Status.SUSPENDED), valid_until__lt=today
        )
    )
    for license in due:
        from_status = license.status
        License.objects.filter(pk=license.pk).update(
            status=License.Status.EXPIRED, status_reason=str(_("超过有效期")), updated_at=timezone.now()
        )
        LicenseStatusChange.objects.create(
            license=license, from_status=from_status, to_status=License.Status.EXPIRED, reason=str(_("超过有效期"))
        )
        audit_record(
            actor="licenses",
            action="licenses.expired",
            obj=license,
            changes={"from": from_status, "valid_until": license.valid_until.isoformat()},
        )
        events.publish("license.expired", license_id=license.pk)
    return len(due)


# =============================================================================================
# PDF
# =============================================================================================


def verify_url(license: License) -> str:
    return f"{settings.SITE_URL.rstrip('/')}/verify/{license.identifier}?s={keys.short_token(license.signature)}"


def license_pdf(*, license: License) -> bytes:
    """The license as a PDF with the seal, identifier and QR code, PAdES-signed by the issuer."""
    license_type = license.license_type
    props = (license_type.field_schema or {}).get("properties", {})
    holder_label = _("姓名") if license.holder_kind == HolderKind.PERSON else _("名称")
    id_label = _("公民身份号码") if license.holder_kind == HolderKind.PERSON else _("统一社会信用代码")
    rows = [(str(holder_label), license.holder_name), (str(id_label), license.holder_id)]
    for key, value in license.data.items():
        rows.append((str(props.get(key, {}).get("title", key)), "" if value is None else str(value)))
    validity = (
        f"{license.issue_date:%Y年%m月%d日} 至 {license.valid_until:%Y年%m月%d日}"
        if license.valid_until
        else str(_("长期"))
    )
    rows.append((str(_("有效期限")), validity))
    seal = license.seal_key.seal
    pdf = render.license_pdf(
        title=license_type.name,
        rows=rows,
        identifier=license.identifier,
        issuer_name=license.issuer.name,
        issue_date=f"{license.issue_date:%Y年%m月%d日}",
        seal_image=bytes(seal.image_png),
        verify_url=verify_url(license),
        landscape=license_type.layout == LicenseType.Layout.LANDSCAPE,
    )
    key = license.seal_key
    return render.pades_sign(
        pdf,
        certificate_pem=key.pdf_certificate_pem,
        private_key_pem=keys.decrypt_key(key.pdf_private_key_encrypted),
        root_pem=platform_ca().certificate_pem,
        reason=f"{license_type.name} {license.identifier}",
    )


# =============================================================================================
# Presentations (亮证)
# =============================================================================================

PRESENTATION_MAX_MINUTES = 24 * 60


@transaction.atomic
def presentation_create(*, actor, license: License, minutes: int = 10, purpose: str = "") -> Presentation:
    from yiwang.licenses.selectors import license_get_for_holder

    license = license_get_for_holder(actor=actor, id=license.pk)
    if license.status != License.Status.VALID:
        raise Conflict(_("只有有效的证照可以亮证"), code="license_status")
    if not 1 <= int(minutes) <= PRESENTATION_MAX_MINUTES:
        raise ValidationFailed(fields={"minutes": [str(_("有效时长应在1分钟至24小时之间"))]})
    for _attempt in range(5):
        code = keys.random_code(8)
        if not Presentation.objects.filter(code=code).exists():
            break
    presentation = Presentation.objects.create(
        license=license,
        code=code,
        created_by=actor,
        purpose=(purpose or "").strip()[:100],
        expires_at=timezone.now() + datetime.timedelta(minutes=int(minutes)),
    )
    audit_record(
        actor=actor,
        action="licenses.presentation_created",
        obj=presentation,
        changes={"license": license.identifier, "minutes": int(minutes), "purpose": presentation.purpose},
    )
    return presentation


@transaction.atomic
def presentation_revoke(*, actor, presentation: Presentation) -> Presentation:
    if getattr(actor, "pk", None) != presentation.created_by_id:
        raise NotFound()
    if presentation.revoked_at is None:
        presentation.revoked_at = timezone.now()
        presentation.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="licenses.presentation_revoked", obj=presentation, changes={})
    return presentation


# =============================================================================================
# Sealing other apps' documents (公文, e-receipts …): the department's seal, SM2 and PAdES
# =============================================================================================


def document_seal_sign(*, department: Department, message: bytes) -> dict:
    """SM2-sign ``message`` with the department's current seal key (the seal is created if
    missing). Returns ``{"seal_key_id", "version", "public_key", "signature"}`` for the caller to store."""
    key = seal_current_key(seal=seal_ensure(department=department))
    signature = gm.sm2_sign(keys.decrypt_key(key.sm2_private_key_encrypted), message)
    return {"seal_key_id": key.pk, "version": key.version, "public_key": key.sm2_public_key, "signature": signature}


def document_seal_verify(*, seal_key_id: int, message: bytes, signature: str) -> bool:
    """Whether ``signature`` is the SM2 signature of ``message`` by that seal key (retired keys
    still verify what they signed)."""
    key = SealKey.objects.filter(pk=seal_key_id).first()
    return key is not None and gm.sm2_verify(key.sm2_public_key, message, signature)


def document_seal_pdf(*, department: Department, build, reason: str) -> bytes:
    """A PDF sealed by the department: ``build(seal_png)`` draws it with the seal's image, and it
    is PAdES-signed with the current seal key's certificate (validated against the platform root)."""
    key = seal_current_key(seal=seal_ensure(department=department))
    pdf = build(bytes(key.seal.image_png))
    return render.pades_sign(
        pdf,
        certificate_pem=key.pdf_certificate_pem,
        private_key_pem=keys.decrypt_key(key.pdf_private_key_encrypted),
        root_pem=platform_ca().certificate_pem,
        reason=reason,
    )
