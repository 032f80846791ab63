"""Bills (缴款通知书), payments through a channel, e-receipts (电子票据), callback log and
reconciliation reports. Money is integer fen everywhere (``amount_fen``), never a float."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class BillState(models.TextChoices):
    OPEN = "open", _("待缴费")
    PAID = "paid", _("已缴费")
    REFUNDED = "refunded", _("已退款")
    CANCELLED = "cancelled", _("已作废")


class Bill(models.Model):
    """A payment notice for one fee of one case: what, how much, who pays, by when, and the
    payment code (缴款码) the payer scans or types at any channel."""

    number = models.CharField(_("缴款通知书编号"), max_length=24, unique=True)
    payment_code = models.CharField(_("缴款码"), max_length=20, unique=True)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey("identity.Department", on_delete=models.PROTECT, related_name="+")
    payer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    payer_name = models.CharField(_("缴款人"), max_length=100)
    fee_name = models.CharField(_("收费项目"), max_length=200)
    revenue_code = models.CharField(_("非税收入项目编码"), max_length=20)
    amount_fen = models.PositiveBigIntegerField(_("金额(分)"))
    due_date = models.DateField(_("缴款期限"))
    state = models.CharField(_("状态"), max_length=12, choices=BillState.choices, default=BillState.OPEN)
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("开具时间"), auto_now_add=True)
    paid_at = models.DateTimeField(_("缴款时间"), null=True, blank=True)
    clock_paused = models.BooleanField(_("已暂停办理时限"), default=False)
    cancel_reason = models.CharField(_("作废原因"), max_length=200, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("缴款通知书")
        verbose_name_plural = _("缴款通知书")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="payments_bill_amount_positive"),
            # One live bill per fee of a case: a double click raises one bill.
            models.UniqueConstraint(
                fields=["case", "fee_name"],
                condition=~Q(state="cancelled"),
                name="payments_bill_one_live_per_fee",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def amount_yuan(self) -> str:
        return f"{self.amount_fen // 100}.{self.amount_fen % 100:02d}"


class PaymentState(models.TextChoices):
    PENDING = "pending", _("待支付")
    PAID = "paid", _("已支付")
    CLOSED = "closed", _("已关闭")
    REFUNDED = "refunded", _("已退款")


class Payment(models.Model):
    """One order at a channel for a bill. At most one paid payment per bill, and one per
    channel transaction: the database refuses money recorded twice."""

    number = models.CharField(_("支付订单号"), max_length=32, unique=True)
    bill = models.ForeignKey(Bill, on_delete=models.PROTECT, related_name="payments")
    channel = models.CharField(_("支付渠道"), max_length=32)
    amount_fen = models.PositiveBigIntegerField(_("金额(分)"))
    state = models.CharField(_("状态"), max_length=12, choices=PaymentState.choices, default=PaymentState.PENDING)
    channel_order_id = models.CharField(_("渠道订单号"), max_length=64, blank=True)
    channel_txn_id = models.CharField(_("渠道交易流水号"), max_length=64, null=True, blank=True)
    cashier_url = models.CharField(_("收银台地址"), max_length=500, blank=True)
    confirmed_by = models.CharField(_("确认方式"), max_length=12, blank=True)  # callback | query
    created_at = models.DateTimeField(_("下单时间"), auto_now_add=True)
    paid_at = models.DateTimeField(_("支付时间"), null=True, blank=True)
    refunded_at = models.DateTimeField(_("退款时间"), null=True, blank=True)
    refund_reason = models.CharField(_("退款原因"), max_length=200, blank=True)
    refund_id = models.CharField(_("退款流水号"), max_length=64, blank=True)
    refunded_fen = models.PositiveBigIntegerField(_("已退款金额(分)"), default=0)
    # Paid at the window (channel "counter"): cash or a POS card terminal, taken by this clerk.
    counter_method = models.CharField(_("窗口收款方式"), max_length=8, blank=True)  # cash | pos
    collected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("支付订单")
        verbose_name_plural = _("支付订单")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["bill"],
                condition=Q(state__in=["paid", "refunded"]),
                name="payments_payment_one_paid_per_bill",
            ),
            models.UniqueConstraint(fields=["channel", "channel_txn_id"], name="payments_payment_unique_channel_txn"),
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="payments_payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(refunded_fen__lte=models.F("amount_fen")), name="payments_payment_refund_within_amount"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class RefundState(models.TextChoices):
    PENDING = "pending", _("退款处理中")
    DONE = "done", _("已退款")
    FAILED = "failed", _("退款失败")


class Refund(models.Model):
    """One refund of a payment, whole or partial. Written ``pending`` before the channel is
    called, ``done`` once the channel answered: a crash in between leaves a pending refund that
    the 5-minute job and the reconciliation find and finish (the channel's refund is idempotent
    per refund number)."""

    number = models.CharField(_("退款单号"), max_length=40, unique=True)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount_fen = models.PositiveBigIntegerField(_("退款金额(分)"))
    reason = models.CharField(_("退款原因"), max_length=200)
    state = models.CharField(_("状态"), max_length=10, choices=RefundState.choices, default=RefundState.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    channel_refund_id = models.CharField(_("渠道退款流水号"), max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    settled_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("退款")
        verbose_name_plural = _("退款")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="payments_refund_amount_positive"),
            # One refund in flight per payment: two clicks cannot refund twice.
            models.UniqueConstraint(
                fields=["payment"], condition=Q(state="pending"), name="payments_refund_one_pending"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def amount_yuan(self) -> str:
        return f"{self.amount_fen // 100}.{self.amount_fen % 100:02d}"


class CallbackRecord(models.Model):
    """Every callback the platform received, accepted or not: the nonce is unique, so a replayed
    message (same signed body sent again) is recognised and refused."""

    channel = models.CharField(max_length=32)
    nonce = models.CharField(max_length=64, null=True, blank=True)
    payment_number = models.CharField(max_length=32, blank=True)
    outcome = models.CharField(max_length=24)  # accepted | duplicate | forged | replayed | rejected
    detail = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("支付回调记录")
        verbose_name_plural = _("支付回调记录")
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["channel", "nonce"], name="payments_callback_unique_nonce")]

    def __str__(self) -> str:
        return f"{self.channel} {self.outcome} {self.payment_number}"


class Receipt(models.Model):
    """The electronic receipt (电子票据) of a paid bill, sealed by the collecting department: an
    SM2 signature over its content, and a PAdES-signed PDF made on first download.

    A settled refund voids (冲红) the bill's live receipt, naming the refund; after a partial
    refund a new receipt is issued for the amount kept, linked to the one it replaces (换开).
    At most one live (not voided) receipt per bill, and one replacement per receipt: the
    database refuses a second one when a refund is settled twice."""

    number = models.CharField(_("票据号码"), max_length=24, unique=True)
    check_code = models.CharField(_("校验码"), max_length=12)
    bill = models.ForeignKey(Bill, on_delete=models.PROTECT, related_name="receipts")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="receipts")
    replaces = models.OneToOneField(
        "self",
        verbose_name=_("原票据"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replaced_by",
    )
    amount_fen = models.PositiveBigIntegerField(_("金额(分)"))
    payer_name = models.CharField(_("缴款人"), max_length=100)
    issued_at = models.DateTimeField(_("开票时间"))
    seal_key_id = models.PositiveIntegerField()
    signature = models.CharField(max_length=128)
    pdf = models.BinaryField(null=True, blank=True, editable=False)
    voided_at = models.DateTimeField(_("冲红时间"), null=True, blank=True)
    voided_by = models.ForeignKey(
        Refund,
        verbose_name=_("冲红退款"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="voided_receipts",
    )

    class Meta:
        verbose_name = _("电子票据")
        verbose_name_plural = _("电子票据")
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["bill"], condition=Q(voided_at=None), name="payments_receipt_one_live_per_bill"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def amount_yuan(self) -> str:
        return f"{self.amount_fen // 100}.{self.amount_fen % 100:02d}"


class Reconciliation(models.Model):
    """The daily comparison of the platform's payments with the channel's statement."""

    channel = models.CharField(max_length=32)
    day = models.DateField(_("对账日期"))
    created_at = models.DateTimeField(auto_now=True)
    platform_count = models.PositiveIntegerField(default=0)
    channel_count = models.PositiveIntegerField(default=0)
    platform_total_fen = models.BigIntegerField(default=0)
    channel_total_fen = models.BigIntegerField(default=0)
    mismatches = models.JSONField(default=list)  # [{"kind", "payment", "platform_fen", "channel_fen"}]

    class Meta:
        verbose_name = _("对账报告")
        verbose_name_plural = _("对账报告")
        ordering = ["-day", "channel"]
        constraints = [models.UniqueConstraint(fields=["channel", "day"], name="payments_reconciliation_unique_day")]

    def __str__(self) -> str:
        return f"{self.channel} {self.day}"
