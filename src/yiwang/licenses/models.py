"""Electronic licenses (电子证照) and seals (电子印章).

A ``LicenseType`` is defined by a department (fields as JSON Schema, validity, layout).
A ``License`` is issued by a department holding a ``Seal``; its canonical data is signed
with the seal's current SM2 key (``SealKey``), and its PDF carries a PAdES signature with
the department's ECDSA P-256 certificate from the platform CA (``CertificateAuthority``).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yiwang.core.fields import EncryptedTextField


class HolderKind(models.TextChoices):
    PERSON = "person", _("自然人")
    ENTERPRISE = "enterprise", _("法人和其他组织")


class LicenseType(models.Model):
    class Layout(models.TextChoices):
        CERTIFICATE = "certificate", _("证书(A4 竖版)")
        LANDSCAPE = "landscape", _("执照(A4 横版)")

    code = models.SlugField(_("类型编码"), max_length=64, unique=True, help_text=_("与事项目录的出件证照类型编码一致"))
    standard_code = models.CharField(
        _("证照类型代码"), max_length=32, unique=True, help_text=_("GB/T 36904 标识中的类型代码,数字和大写字母")
    )
    name = models.CharField(_("名称"), max_length=100)
    department = models.ForeignKey(
        "identity.Department", verbose_name=_("定义部门"), on_delete=models.PROTECT, related_name="license_types"
    )
    field_schema = models.JSONField(_("字段定义(JSON Schema)"), default=dict, blank=True)
    validity_years = models.PositiveSmallIntegerField(
        _("有效期(年)"), null=True, blank=True, help_text=_("留空表示长期有效")
    )
    holder_kind = models.CharField(_("持证主体"), max_length=20, choices=HolderKind.choices)
    layout = models.CharField(_("版式"), max_length=20, choices=Layout.choices, default=Layout.CERTIFICATE)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("证照类型")
        verbose_name_plural = _("证照类型")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class CertificateAuthority(models.Model):
    """The platform's root CA (ECDSA P-256) for the departments' PDF-signing certificates."""

    name = models.CharField(_("名称"), max_length=200)
    certificate_pem = models.TextField(_("根证书"))
    private_key_encrypted = models.TextField(editable=False)
    serial_counter = models.PositiveIntegerField(default=1, editable=False)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("平台根证书")
        verbose_name_plural = _("平台根证书")
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=models.Q(is_active=True), name="licenses_one_active_root"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Seal(models.Model):
    department = models.OneToOneField(
        "identity.Department", verbose_name=_("部门"), on_delete=models.PROTECT, related_name="seal"
    )
    name = models.CharField(_("印章名称"), max_length=200)
    image_png = models.BinaryField(_("印章图像"), editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("电子印章")
        verbose_name_plural = _("电子印章")

    def __str__(self) -> str:
        return self.name


class SealKey(models.Model):
    """One key version of a seal: SM2 for license data, ECDSA P-256 + certificate for PDFs.

    Rotation adds a version and retires the previous one; retired keys still verify.
    """

    seal = models.ForeignKey(Seal, verbose_name=_("印章"), on_delete=models.PROTECT, related_name="keys")
    version = models.PositiveIntegerField(_("密钥版本"))
    sm2_public_key = models.CharField(_("SM2 公钥"), max_length=130)
    sm2_private_key_encrypted = models.TextField(editable=False)
    pdf_certificate_pem = models.TextField(_("PDF 签名证书"))
    pdf_private_key_encrypted = models.TextField(editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    retired_at = models.DateTimeField(_("停用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("印章密钥")
        verbose_name_plural = _("印章密钥")
        constraints = [models.UniqueConstraint(fields=["seal", "version"], name="licenses_sealkey_unique_version")]
        ordering = ["seal", "-version"]

    def __str__(self) -> str:
        return f"{self.seal} v{self.version}"


class LicenseSerial(models.Model):
    """Next serial number per (type, issuer); locked while an identifier is assigned."""

    license_type = models.ForeignKey(LicenseType, on_delete=models.CASCADE, related_name="+")
    issuer = models.ForeignKey("identity.Department", on_delete=models.CASCADE, related_name="+")
    next_value = models.PositiveBigIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["license_type", "issuer"], name="licenses_serial_unique_type_issuer")
        ]

    def __str__(self) -> str:
        return f"{self.license_type_id}/{self.issuer_id}: {self.next_value}"


class License(models.Model):
    class Status(models.TextChoices):
        VALID = "valid", _("有效")
        SUSPENDED = "suspended", _("暂停")
        REVOKED = "revoked", _("已注销")
        EXPIRED = "expired", _("已过期")

    identifier = models.CharField(_("证照标识"), max_length=100, unique=True)
    license_type = models.ForeignKey(
        LicenseType, verbose_name=_("证照类型"), on_delete=models.PROTECT, related_name="licenses"
    )
    issuer = models.ForeignKey(
        "identity.Department", verbose_name=_("颁发部门"), on_delete=models.PROTECT, related_name="issued_licenses"
    )
    holder_kind = models.CharField(_("持证主体类型"), max_length=20, choices=HolderKind.choices)
    holder_name = models.CharField(_("持证主体名称"), max_length=200)
    holder_id = EncryptedTextField(_("持证主体代码"), help_text=_("身份证号或统一社会信用代码"))
    holder_id_index = models.CharField(max_length=64, db_index=True, editable=False)
    data = models.JSONField(_("证照数据"), default=dict, blank=True)
    issue_date = models.DateField(_("颁发日期"))
    valid_until = models.DateField(_("有效期至"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.VALID)
    status_reason = models.CharField(_("状态原因"), max_length=500, blank=True)
    seal_key = models.ForeignKey(SealKey, verbose_name=_("签名密钥"), on_delete=models.PROTECT, related_name="+")
    signature = models.CharField(_("SM2 签名"), max_length=128, editable=False)
    source_case_id = models.PositiveBigIntegerField(_("来源办件"), null=True, blank=True, unique=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("签发人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("电子证照")
        verbose_name_plural = _("电子证照")
        ordering = ["-issue_date", "-id"]
        indexes = [models.Index(fields=["license_type", "status"])]

    def __str__(self) -> str:
        return f"{self.license_type.name} {self.identifier}"


class LicenseStatusChange(models.Model):
    """The license's history: issuance and every status change, with the reason."""

    license = models.ForeignKey(License, verbose_name=_("证照"), on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(_("原状态"), max_length=20, blank=True)
    to_status = models.CharField(_("新状态"), max_length=20)
    reason = models.CharField(_("原因"), max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("证照状态记录")
        verbose_name_plural = _("证照状态记录")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} → {self.to_status}"


class Presentation(models.Model):
    """亮证: a time-limited, revocable code that shows one license to a third party."""

    license = models.ForeignKey(License, verbose_name=_("证照"), on_delete=models.CASCADE, related_name="presentations")
    code = models.CharField(_("亮证码"), max_length=16, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("创建人"), on_delete=models.CASCADE, related_name="+"
    )
    purpose = models.CharField(_("用途"), max_length=100, blank=True)
    expires_at = models.DateTimeField(_("失效时间"))
    revoked_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("亮证")
        verbose_name_plural = _("亮证")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.code


class PresentationView(models.Model):
    presentation = models.ForeignKey(
        Presentation, verbose_name=_("亮证"), on_delete=models.CASCADE, related_name="views"
    )
    viewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("查看人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    viewer_label = models.CharField(_("查看方"), max_length=200, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    viewed_at = models.DateTimeField(_("查看时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("亮证查看记录")
        verbose_name_plural = _("亮证查看记录")
        ordering = ["-viewed_at"]

    def __str__(self) -> str:
        return f"{self.presentation_id} @ {self.viewed_at:%Y-%m-%d %H:%M}"
