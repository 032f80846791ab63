"""好差评 (service ratings, the national scheme) and 差评整改 (rectification of a bad rating).

A ``Rating`` is the applicant's verdict on one concluded case (delivered, or refused), on the
five national levels; one per case and applicant, changeable once within
``YIWANG_RATING_CHANGE_DAYS`` days. It keeps, at the time of rating, the facts the figures
group by (item, department, the window hall that took the case in, the staff who decided it),
so the statistics never reach into the cases' tables.

A 差评 (不满意 / 非常不满意) opens a ``Rectification``: the department verifies, contacts the
applicant and rectifies within 15 working days (``core.calendar``); the applicant may then
re-rate. A rating marked invalid (malicious) needs a reason and a second person's approval.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RatingLevel(models.TextChoices):
    VERY_SATISFIED = "very_satisfied", _("非常满意")
    SATISFIED = "satisfied", _("满意")
    BASICALLY_SATISFIED = "basically_satisfied", _("基本满意")
    DISSATISFIED = "dissatisfied", _("不满意")
    VERY_DISSATISFIED = "very_dissatisfied", _("非常不满意")


# 好评: the three upper levels; 差评: the two lower ones (国办发〔2019〕51号).
GOOD_LEVELS = (RatingLevel.VERY_SATISFIED, RatingLevel.SATISFIED, RatingLevel.BASICALLY_SATISFIED)
BAD_LEVELS = (RatingLevel.DISSATISFIED, RatingLevel.VERY_DISSATISFIED)
SCORES = {
    RatingLevel.VERY_SATISFIED: 5,
    RatingLevel.SATISFIED: 4,
    RatingLevel.BASICALLY_SATISFIED: 3,
    RatingLevel.DISSATISFIED: 2,
    RatingLevel.VERY_DISSATISFIED: 1,
}


class RatingChannel(models.TextChoices):
    PORTAL = "portal", _("网上(门户)")
    API = "api", _("接口(移动端)")
    QR = "qr", _("窗口扫码")


class RatingValidity(models.TextChoices):
    VALID = "valid", _("有效")
    INVALID_REQUESTED = "invalid_requested", _("申请认定无效")
    INVALID = "invalid", _("无效(恶意评价)")


class Rating(models.Model):
    case = models.ForeignKey("cases.Case", verbose_name=_("办件"), on_delete=models.PROTECT, related_name="+")
    case_number = models.CharField(_("办件编号"), max_length=32)
    rater = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("评价人"), on_delete=models.PROTECT, related_name="ratings"
    )
    level = models.CharField(_("评价等级"), max_length=20, choices=RatingLevel.choices)
    comment = models.TextField(_("评价意见"), blank=True)
    channel = models.CharField(_("评价渠道"), max_length=10, choices=RatingChannel.choices)
    # What the figures group by, as at rating time.
    item_code = models.CharField(_("事项编码"), max_length=64)
    item_name = models.CharField(_("事项名称"), max_length=200)
    department = models.ForeignKey(
        "identity.Department", verbose_name=_("办理部门"), on_delete=models.PROTECT, related_name="+"
    )
    window = models.ForeignKey(
        "identity.Department",
        verbose_name=_("窗口(收件大厅)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("窗口申报的办件:收件大厅;网上申报为空"),
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人员"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    rated_at = models.DateTimeField(_("评价时间"))
    changed_at = models.DateTimeField(_("修改时间"), null=True, blank=True)
    first_level = models.CharField(_("首次评价等级"), max_length=20, choices=RatingLevel.choices)
    rerated_at = models.DateTimeField(_("整改后再评价时间"), null=True, blank=True)

    validity = models.CharField(
        _("有效性"), max_length=20, choices=RatingValidity.choices, default=RatingValidity.VALID
    )
    invalid_reason = models.TextField(_("认定无效理由"), blank=True)
    invalid_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    invalid_requested_at = models.DateTimeField(null=True, blank=True)
    invalid_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    invalid_decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("服务评价")
        verbose_name_plural = _("服务评价")
        constraints = [models.UniqueConstraint(fields=["case", "rater"], name="evaluation_rating_one_per_case")]
        indexes = [
            models.Index(fields=["department", "rated_at"], name="evaluation_rating_dept_idx"),
            models.Index(fields=["rater", "-rated_at"], name="evaluation_rating_rater_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.case_number} · {self.get_level_display()}"

    @property
    def is_bad(self) -> bool:
        return self.level in BAD_LEVELS


class RectificationState(models.TextChoices):
    OPEN = "open", _("待核实")
    VERIFIED = "verified", _("已核实")
    CONTACTED = "contacted", _("已联系申请人,整改中")
    OVERDUE = "overdue", _("已超期(已督办)")
    RECTIFIED = "rectified", _("已整改")
    CLOSED_INVALID = "closed_invalid", _("评价无效,已关闭")


OPEN_RECTIFICATION_STATES = (
    RectificationState.OPEN,
    RectificationState.VERIFIED,
    RectificationState.CONTACTED,
    RectificationState.OVERDUE,
)


class Rectification(models.Model):
    rating = models.OneToOneField(Rating, on_delete=models.PROTECT, related_name="rectification")
    department = models.ForeignKey(
        "identity.Department", verbose_name=_("整改部门"), on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(_("状态"), max_length=20, choices=RectificationState.choices)
    opened_at = models.DateTimeField(_("开始时间"))
    due_date = models.DateField(_("整改期限"), help_text=_("15 个工作日"))
    level_at_opening = models.CharField(_("差评等级"), max_length=20, choices=RatingLevel.choices)
    verified_at = models.DateTimeField(_("核实时间"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    finding = models.TextField(_("核实情况"), blank=True)
    contacted_at = models.DateTimeField(_("联系申请人时间"), null=True, blank=True)
    contacted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    contact_note = models.TextField(_("沟通情况"), blank=True)
    rectified_at = models.DateTimeField(_("整改完成时间"), null=True, blank=True)
    rectified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    measures = models.TextField(_("整改措施"), blank=True)
    reminded_on = models.DateField(_("最近提醒日"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("督办时间"), null=True, blank=True)
    was_overdue = models.BooleanField(_("曾超期"), default=False)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("差评整改")
        verbose_name_plural = _("差评整改")
        indexes = [models.Index(fields=["state", "due_date"], name="evaluation_rect_due_idx")]

    def __str__(self) -> str:
        return f"{self.rating.case_number} · {self.get_state_display()}"
