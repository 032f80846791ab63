"""The data-sharing exchange (共享交换): catalog, share requests and grants, consuming systems,
the evidence log and data disputes.

Registry values never live here: the gateway reads them through ``registries.selectors`` at
the moment of a read. What is stored about a record is a keyed blind index (HMAC-SM3) of its
key and subject, so the evidence log can answer "who read my data" without holding the
身份证号 in clear.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yiwang.core.fields import EncryptedTextField


class ShareType(models.TextChoices):
    UNCONDITIONAL = "unconditional", _("无条件共享")
    CONDITIONAL = "conditional", _("有条件共享")
    NOT_SHARED = "not_shared", _("不予共享")


class OpenType(models.TextChoices):
    OPEN = "open", _("无条件开放")
    CONDITIONAL = "conditional", _("有条件开放")
    CLOSED = "closed", _("不予开放")


class MaskKind(models.TextChoices):
    NONE = "none", _("不脱敏")
    NAME = "name", _("姓名")
    ID_NUMBER = "id_number", _("证件号码")
    PHONE = "phone", _("手机号码")
    ADDRESS = "address", _("地址")
    OTHER = "other", _("其他(保留首尾)")


class DataResource(models.Model):
    """One data item of a registry in the resource catalog (政务数据资源目录).

    Rows follow ``registries.selectors.registry_fields()`` (``exchange_catalog_sync``); the share
    type, open type and masking are the exchange's own and edited by a city administrator.
    """

    registry = models.CharField(_("基础库"), max_length=30)
    field = models.CharField(_("数据项"), max_length=60)
    label = models.CharField(_("名称"), max_length=100)
    personal = models.BooleanField(_("个人信息"), default=False)
    key = models.BooleanField(_("主键"), default=False)
    source_department = models.ForeignKey(
        "identity.Department",
        verbose_name=_("来源部门"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    share_type = models.CharField(_("共享类型"), max_length=20, choices=ShareType.choices)
    open_type = models.CharField(_("开放类型"), max_length=20, choices=OpenType.choices, default=OpenType.CLOSED)
    mask_kind = models.CharField(_("脱敏方式"), max_length=20, choices=MaskKind.choices, default=MaskKind.NONE)
    not_shared_reason = models.CharField(_("不予共享依据"), max_length=300, blank=True)
    sort_order = models.PositiveIntegerField(_("排序"), default=0)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("数据资源")
        verbose_name_plural = _("数据资源目录")
        ordering = ["registry", "sort_order", "field"]
        constraints = [models.UniqueConstraint(fields=["registry", "field"], name="exchange_resource_unique")]

    def __str__(self) -> str:
        return f"{self.registry}.{self.field}"


class ConsumerSystem(models.Model):
    """A consuming system (a department's business system) with its gateway credential.

    Only a keyed HMAC-SM3 digest of the secret is stored; the secret is shown once, when made.
    With ``client_cert_sha256`` set, the credential is bound to that client certificate (mutual
    TLS): the gateway answers only requests whose certificate, verified by a configured TLS
    proxy, has this SHA-256 fingerprint (docs/exchange.md, "Mutual TLS").
    """

    name = models.CharField(_("系统名称"), max_length=100)
    department = models.ForeignKey(
        "identity.Department", verbose_name=_("所属部门"), on_delete=models.PROTECT, related_name="+"
    )
    client_id = models.CharField(_("客户端标识"), max_length=40, unique=True)
    secret_digest = models.CharField(max_length=64, editable=False)
    client_cert_sha256 = models.CharField(_("客户端证书指纹(SHA-256)"), max_length=64, blank=True)
    client_cert_subject = models.CharField(_("客户端证书主体"), max_length=300, blank=True)
    client_cert_not_after = models.DateTimeField(_("客户端证书有效期至"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("停用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("接入系统")
        verbose_name_plural = _("接入系统")
        ordering = ["department_id", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"


class ShareRequest(models.Model):
    """A consumer's request for named fields of one registry (共享申请), decided by the fields'
    source department within the working-day deadline."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待审核")
        APPROVED = "approved", _("已同意")
        REFUSED = "refused", _("已拒绝")

    registry = models.CharField(_("基础库"), max_length=30)
    fields = models.JSONField(_("申请数据项"), default=list)
    consumer_department = models.ForeignKey(
        "identity.Department", verbose_name=_("申请部门"), on_delete=models.PROTECT, related_name="+"
    )
    system = models.ForeignKey(
        ConsumerSystem, verbose_name=_("接入系统"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    consumer_app = models.CharField(_("平台内应用"), max_length=30, blank=True)
    source_department = models.ForeignKey(
        "identity.Department",
        verbose_name=_("来源部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    purpose = models.CharField(_("用途"), max_length=300)
    legal_basis = models.CharField(_("依据"), max_length=300)
    valid_until = models.DateField(_("使用期限至"))
    unmasked_fields = models.JSONField(_("申请明文数据项"), default=list, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    due_date = models.DateField(_("答复期限"))
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    decision_reason = models.CharField(_("答复理由"), max_length=500, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    escalated_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("共享申请")
        verbose_name_plural = _("共享申请")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "due_date"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.registry} {','.join(self.fields)}"


class Grant(models.Model):
    """What a consumer may read (共享授权): fields of one registry, until ``expires_at``, unless revoked.

    A grant is held by a consuming system (``system``), by every system of a department
    (``system`` empty, ``consumer_app`` empty) or by an app inside the platform (``consumer_app``).
    Personal fields are masked unless listed in ``unmasked_fields``.
    """

    request = models.OneToOneField(
        ShareRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="grant", verbose_name=_("申请")
    )
    registry = models.CharField(_("基础库"), max_length=30)
    fields = models.JSONField(_("授权数据项"), default=list)
    unmasked_fields = models.JSONField(_("明文数据项"), default=list, blank=True)
    consumer_department = models.ForeignKey(
        "identity.Department", verbose_name=_("使用部门"), on_delete=models.PROTECT, related_name="+"
    )
    system = models.ForeignKey(
        ConsumerSystem, verbose_name=_("接入系统"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    consumer_app = models.CharField(_("平台内应用"), max_length=30, blank=True)
    purpose = models.CharField(_("用途"), max_length=300)
    legal_basis = models.CharField(_("依据"), max_length=300)
    created_at = models.DateTimeField(_("授权时间"), auto_now_add=True)
    expires_at = models.DateTimeField(_("有效期至"))
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoke_reason = models.CharField(_("撤销理由"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("共享授权")
        verbose_name_plural = _("共享授权")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"grant #{self.pk} {self.registry} {','.join(self.fields)}"


class ExchangeState(models.Model):
    """One row: ``generation`` moves on every change of a system, grant, resource or dispute, so
    each web process knows (one indexed read) when its cached credentials and grants are stale."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    generation = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("交换缓存版本")

    def __str__(self) -> str:
        return f"generation {self.generation}"


class ExchangeLog(models.Model):
    """One read of registry data (or one refused attempt): the evidence log (交换日志).

    Append-only through ``exchange.evidence.log_append``; each row's SM3 ``hash`` covers its
    content and the previous row's hash, and ``ExchangeLogSeal`` rows sign the chain head with
    SM2. ``key_index`` / ``subject_index`` are blind indexes, never the 身份证号 itself.
    """

    class ConsumerKind(models.TextChoices):
        SYSTEM = "system", _("接入系统")
        APP = "app", _("平台内应用")

    sequence = models.BigIntegerField(_("序号"), unique=True)
    created_at = models.DateTimeField(_("时间"))
    consumer_kind = models.CharField(_("使用方类型"), max_length=10, choices=ConsumerKind.choices)
    consumer = models.CharField(_("使用方"), max_length=100)
    department = models.ForeignKey(
        "identity.Department",
        verbose_name=_("使用部门"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    grant_id = models.BigIntegerField(_("授权"), null=True, blank=True)
    purpose = models.CharField(_("用途"), max_length=300)
    registry = models.CharField(_("基础库"), max_length=30)
    key_index = models.CharField(max_length=64, blank=True)
    subject_index = models.CharField(max_length=64, blank=True, db_index=True)
    fields = models.CharField(_("数据项"), max_length=1000, blank=True)
    outcome = models.CharField(_("结果"), max_length=40)
    prev_hash = models.CharField(max_length=64, unique=True)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("交换日志")
        verbose_name_plural = _("交换日志")
        ordering = ["sequence"]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.consumer} {self.registry} {self.outcome}"

    @property
    def field_list(self) -> list[str]:
        return [f for f in self.fields.split(",") if f]


class ExchangeLogHead(models.Model):
    """The chain head, locked by every append so concurrent gateway reads never fork the chain."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    sequence = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"head #{self.sequence}"


class ExchangeSigningKey(models.Model):
    """The exchange's SM2 key for sealing the evidence log; the private key is SM4-encrypted."""

    public_key = models.CharField(_("公钥"), max_length=130, unique=True)
    private_key = EncryptedTextField(editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    retired_at = models.DateTimeField(_("停用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("交换日志签名密钥")
        verbose_name_plural = _("交换日志签名密钥")

    def __str__(self) -> str:
        return f"SM2 {self.public_key[:16]}…"


class ExchangeLogSeal(models.Model):
    """An SM2 signature over the chain head at ``sequence`` (签名封存): rows up to it cannot be
    rewritten without the private key, even by someone who can write the database."""

    sequence = models.BigIntegerField(_("封存至序号"), unique=True)
    hash = models.CharField(_("链头哈希"), max_length=64)
    sealed_at = models.DateTimeField(_("封存时间"))
    key = models.ForeignKey(ExchangeSigningKey, on_delete=models.PROTECT, related_name="seals")
    signature = models.CharField(_("SM2 签名"), max_length=128)

    class Meta:
        verbose_name = _("交换日志封存")
        verbose_name_plural = _("交换日志封存")
        ordering = ["sequence"]

    def __str__(self) -> str:
        return f"seal #{self.sequence}"


def dispute_evidence_path(instance: "DataDispute", filename: str) -> str:
    return f"exchange/disputes/{instance.registry}/{filename}"


class DataDispute(models.Model):
    """A data dispute (数据异议): someone says a registry value is wrong. The field shows as
    disputed to every reader until the source department corrects it or rejects the dispute."""

    class Status(models.TextChoices):
        OPEN = "open", _("待核实")
        CORRECTED = "corrected", _("已更正")
        REJECTED = "rejected", _("不予更正")

    registry = models.CharField(_("基础库"), max_length=30)
    record_key = EncryptedTextField(_("记录键"))
    key_index = models.CharField(max_length=64, db_index=True, editable=False)
    subject_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    field = models.CharField(_("数据项"), max_length=60)
    claimed_value = EncryptedTextField(_("应为"), blank=True)
    reason = models.CharField(_("异议理由"), max_length=1000)
    evidence = models.FileField(_("佐证材料"), upload_to=dispute_evidence_path, blank=True)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("提出人"), on_delete=models.PROTECT, related_name="+"
    )
    raised_by_department = models.ForeignKey(
        "identity.Department",
        verbose_name=_("提出部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    source_department = models.ForeignKey(
        "identity.Department",
        verbose_name=_("来源部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("提出时间"), auto_now_add=True)
    due_date = models.DateField(_("核实期限"))
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    decision_reason = models.CharField(_("处理意见"), max_length=1000, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    escalated_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("数据异议")
        verbose_name_plural = _("数据异议")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "due_date"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.registry}.{self.field} {self.status}"
