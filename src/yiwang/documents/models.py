"""Official documents (公文) and duty rosters (政务值班).

A ``DocumentType`` holds its route as data (``steps``: review, countersign, sign-off, issue,
each by a role in a department), edited by an operator. A ``Document`` is drafted in a
department and routed: every step of one routing round is a ``Circulation`` row (a countersign
step names several departments: one row each, at the same position). The issued document keeps
its PDF (PAdES-signed with the department's seal) and the SM2 signature of its content;
``Receipt`` rows record who it was sent to and who has signed for it (签收).

``DutyShift`` is one person on duty for a department between two moments; ``DutySwap`` a
request to hand a shift to a colleague.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yiwang.core.fields import EncryptedTextField


class StepKind(models.TextChoices):
    REVIEW = "review", _("审核")
    COUNTERSIGN = "countersign", _("会签")
    SIGN_OFF = "sign_off", _("签发")
    ISSUE = "issue", _("印发")


class DocumentType(models.Model):
    """A kind of document (通知, 请示, 函 …) and its route. ``steps`` is a list of
    ``{"kind": "review", "role": "reviewer", "departments": ["SFS-GAJ"]}``; an empty
    ``departments`` means the drafting department. The last step is always ``issue``."""

    code = models.SlugField(_("类型编码"), max_length=64, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    number_prefix = models.CharField(_("发文字号前缀"), max_length=20, blank=True, help_text=_("如“示市监发”"))
    department = models.ForeignKey(
        "identity.Department",
        verbose_name=_("定义部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="document_types",
        help_text=_("留空表示全市通用"),
    )
    steps = models.JSONField(_("流转步骤"), default=list)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    class Meta:
        verbose_name = _("公文类型")
        verbose_name_plural = _("公文类型")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Document(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("拟稿")
        ROUTING = "routing", _("流转中")
        RETURNED = "returned", _("已退回")
        ISSUED = "issued", _("已印发")

    document_type = models.ForeignKey(
        DocumentType, verbose_name=_("公文类型"), on_delete=models.PROTECT, related_name="documents"
    )
    department = models.ForeignKey(
        "identity.Department", verbose_name=_("发文部门"), on_delete=models.PROTECT, related_name="documents"
    )
    drafter = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("拟稿人"), on_delete=models.PROTECT, related_name="drafted_documents"
    )
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("正文"))
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.DRAFT, db_index=True)
    round = models.PositiveIntegerField(_("流转轮次"), default=0)
    position = models.PositiveSmallIntegerField(_("当前步骤"), default=0)
    number = models.CharField(_("发文字号"), max_length=60, blank=True, db_index=True)
    recipient_departments = models.ManyToManyField(
        "identity.Department", verbose_name=_("主送部门"), blank=True, related_name="+"
    )
    recipient_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("抄送人员"), blank=True, related_name="+"
    )
    pdf = models.BinaryField(_("正式文件"), blank=True, editable=False, default=b"")
    signature = models.CharField(_("SM2 签名"), max_length=128, blank=True, editable=False)
    seal_key_version = models.PositiveIntegerField(_("印章密钥版本"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)
    submitted_at = models.DateTimeField(_("送审时间"), null=True, blank=True)
    issued_at = models.DateTimeField(_("印发时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("公文")
        verbose_name_plural = _("公文")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.title


class Circulation(models.Model):
    """One step of one routing round: who (role in department) must act, and what they did."""

    class State(models.TextChoices):
        WAITING = "waiting", _("未到达")
        PENDING = "pending", _("待办理")
        APPROVED = "approved", _("已同意")
        RETURNED = "returned", _("已退回")
        CANCELLED = "cancelled", _("已撤销")

    document = models.ForeignKey(Document, verbose_name=_("公文"), on_delete=models.CASCADE, related_name="steps")
    round = models.PositiveIntegerField(_("流转轮次"))
    position = models.PositiveSmallIntegerField(_("步骤序号"))
    kind = models.CharField(_("环节"), max_length=20, choices=StepKind.choices)
    role = models.CharField(_("办理角色"), max_length=30)
    department = models.ForeignKey(
        "identity.Department", verbose_name=_("办理部门"), on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.WAITING, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("办理人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    comment = models.TextField(_("意见"), blank=True)
    arrived_at = models.DateTimeField(_("到达时间"), null=True, blank=True)
    acted_at = models.DateTimeField(_("办理时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("流转步骤")
        verbose_name_plural = _("流转步骤")
        ordering = ["round", "position", "pk"]
        indexes = [models.Index(fields=["state", "role", "department"])]

    def __str__(self) -> str:
        return f"{self.document_id} · {self.round}.{self.position} {self.get_kind_display()}"


class Receipt(models.Model):
    """The issued document sent to one department or one person; ``acknowledged_at`` is the 签收."""

    document = models.ForeignKey(Document, verbose_name=_("公文"), on_delete=models.CASCADE, related_name="receipts")
    department = models.ForeignKey(
        "identity.Department",
        verbose_name=_("收文部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("收文人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    acknowledged_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("签收人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reminded_at = models.DateTimeField(_("最近催签"), null=True, blank=True)
    reminder_count = models.PositiveSmallIntegerField(_("催签次数"), default=0)

    class Meta:
        verbose_name = _("签收记录")
        verbose_name_plural = _("签收记录")
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(department__isnull=False) | models.Q(user__isnull=False),
                name="documents_receipt_has_recipient",
            )
        ]

    def __str__(self) -> str:
        return f"{self.document_id} → {self.department or self.user}"


class DutyShift(models.Model):
    department = models.ForeignKey(
        "identity.Department", verbose_name=_("部门"), on_delete=models.PROTECT, related_name="duty_shifts"
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("值班人员"), on_delete=models.PROTECT, related_name="duty_shifts"
    )
    starts_at = models.DateTimeField(_("开始时间"), db_index=True)
    ends_at = models.DateTimeField(_("结束时间"), db_index=True)
    phone = EncryptedTextField(_("值班电话"))
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("排班人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("值班安排")
        verbose_name_plural = _("值班安排")
        ordering = ["starts_at", "pk"]

    def __str__(self) -> str:
        return f"{self.department} · {self.person} · {self.starts_at:%Y-%m-%d %H:%M}"


class DutySwap(models.Model):
    class State(models.TextChoices):
        REQUESTED = "requested", _("待对方确认")
        ACCEPTED = "accepted", _("已换班")
        DECLINED = "declined", _("已拒绝")

    shift = models.ForeignKey(DutyShift, verbose_name=_("值班安排"), on_delete=models.CASCADE, related_name="swaps")
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("申请人"), on_delete=models.PROTECT, related_name="+"
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("接班人"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("理由"), max_length=200, blank=True)
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.REQUESTED)
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    decided_at = models.DateTimeField(_("确认时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("换班申请")
        verbose_name_plural = _("换班申请")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.shift_id}: {self.from_user} → {self.to_user}"
