"""Business policies (惠企政策): a policy library whose benefits carry eligibility rules over registry
facts, and 免申即享 awards paid through a finance adapter (a payment batch in Excel by default)."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Policy(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PUBLISHED = "published", _("已发布")

    title = models.CharField(_("政策名称"), max_length=200)
    document = models.TextField(_("政策原文"), blank=True)
    department = models.ForeignKey(
        "identity.Department", verbose_name=_("发文部门"), on_delete=models.PROTECT, related_name="+"
    )
    valid_from = models.DateField(_("有效期自"), null=True, blank=True)
    valid_to = models.DateField(_("有效期至"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("政策")
        verbose_name_plural = _("政策")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.title


class Benefit(models.Model):
    """One benefit of a policy (补贴, 减免, 奖励) with its rules: every row {fact, op, value} must hold."""

    class Kind(models.TextChoices):
        SUBSIDY = "subsidy", _("补贴")
        RELIEF = "relief", _("减免")
        AWARD = "award", _("奖励")

    class Mode(models.TextChoices):
        NO_APPLICATION = "no_application", _("免申即享")
        INSTANT = "instant", _("即申即享")

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="benefits")
    name = models.CharField(_("名称"), max_length=200)
    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices)
    mode = models.CharField(_("兑现方式"), max_length=20, choices=Mode.choices, default=Mode.NO_APPLICATION)
    amount = models.DecimalField(_("金额(元)"), max_digits=14, decimal_places=2, default=Decimal("0"))
    # A decision table in the platform's rule language (core.rules): {rules, default, examples}.
    rules = models.JSONField(_("条件"), default=dict)

    class Meta:
        verbose_name = _("政策待遇")
        verbose_name_plural = _("政策待遇")
        ordering = ["policy_id", "pk"]

    def __str__(self) -> str:
        return self.name


class PaymentBatch(models.Model):
    """A batch handed to the finance system: the file sent, and once it answers, the references."""

    class Status(models.TextChoices):
        SENT = "sent", _("已提交财政")
        PAID = "paid", _("已支付")

    benefit = models.ForeignKey(Benefit, on_delete=models.PROTECT, related_name="+")
    count = models.PositiveIntegerField(_("笔数"))
    total = models.DecimalField(_("总金额(元)"), max_digits=16, decimal_places=2)
    file = models.BinaryField(_("批次文件"), editable=False)
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.SENT)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("支付批次")
        verbose_name_plural = _("支付批次")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.count} / {self.total}"


class Award(models.Model):
    """A 免申即享 beneficiary: computed eligible, reviewed by the department, confirmed, paid."""

    class Status(models.TextChoices):
        ELIGIBLE = "eligible", _("待审核")
        REVIEWED = "reviewed", _("已审核")
        EXCLUDED = "excluded", _("已剔除")
        CONFIRMED = "confirmed", _("已确认待支付")
        PAID = "paid", _("已兑现")

    benefit = models.ForeignKey(Benefit, on_delete=models.PROTECT, related_name="awards")
    uscc = models.CharField(_("统一社会信用代码"), max_length=18)
    name = models.CharField(_("企业名称"), max_length=200)
    amount = models.DecimalField(_("金额(元)"), max_digits=14, decimal_places=2)
    reasons = models.JSONField(_("符合理由"), default=list)
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.ELIGIBLE)
    batch = models.ForeignKey(PaymentBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="awards")
    payment_reference = models.CharField(_("支付凭证号"), max_length=64, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # 即申即享: the agent who applied with one click (empty for 免申即享, listed by the platform).
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("兑现名单")
        verbose_name_plural = _("兑现名单")
        ordering = ["benefit_id", "uscc"]
        constraints = [models.UniqueConstraint(fields=["benefit", "uscc"], name="policies_award_unique")]

    def __str__(self) -> str:
        return f"{self.name} {self.amount}"


class Objection(models.Model):
    """An enterprise objects to what the platform decided about one benefit (left off the list,
    taken off, the amount): the department answers within its deadline (working days)."""

    class Status(models.TextChoices):
        OPEN = "open", _("待处理")
        UPHELD = "upheld", _("异议成立")
        DISMISSED = "dismissed", _("异议不成立")

    benefit = models.ForeignKey(Benefit, on_delete=models.PROTECT, related_name="objections")
    uscc = models.CharField(_("统一社会信用代码"), max_length=18)
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("异议内容"))
    reasons_seen = models.JSONField(_("当时的判定理由"), default=list)
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.OPEN)
    due_on = models.DateField(_("答复期限"))
    answer = models.TextField(_("答复"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("提出时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("政策异议")
        verbose_name_plural = _("政策异议")
        ordering = ["status", "due_on", "pk"]

    def __str__(self) -> str:
        return f"{self.uscc} {self.benefit_id}"

    @property
    def overdue(self) -> bool:
        from django.utils import timezone

        return self.status == self.Status.OPEN and self.due_on < timezone.localdate()
