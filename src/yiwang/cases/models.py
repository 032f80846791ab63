"""Cases (办件): an application from submission to decision and delivery, on the legal clock.

A ``Case`` keeps a foreign key to the catalog version it was submitted under, a snapshot of
the applicant (name, encrypted 身份证号 / 统一社会信用代码 with a blind index), the form data
validated against that version's JSON Schema, and its clock (see ``cases.clock``). Every
change goes through ``cases.services``; ``version`` increases on each one (optimistic
concurrency). ``CaseStep`` rows are the timeline; ``Supplement`` is the one notice listing
everything missing (一次性告知); ``CaseMaterial`` an uploaded file checked by content.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yiwang.core.fields import EncryptedJSONField, EncryptedTextField


class CaseState(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("已提交")
    SUPPLEMENT_REQUESTED = "supplement_requested", _("待补正")
    ACCEPTED = "accepted", _("已受理")
    REFUSED = "refused", _("不予受理")
    UNDER_REVIEW = "under_review", _("审查中")
    APPROVED = "approved", _("准予许可")
    REJECTED = "rejected", _("不予许可")
    DELIVERED = "delivered", _("已送达")
    WITHDRAWN = "withdrawn", _("已撤回")


# States in which the case is still open before a decision (the applicant may withdraw).
OPEN_STATES = (
    CaseState.SUBMITTED,
    CaseState.SUPPLEMENT_REQUESTED,
    CaseState.ACCEPTED,
    CaseState.UNDER_REVIEW,
)
# States in which the time limit runs (or is paused by a supplement after acceptance).
CLOCK_STATES = (CaseState.ACCEPTED, CaseState.UNDER_REVIEW, CaseState.SUPPLEMENT_REQUESTED)


class Channel(models.TextChoices):
    ONLINE = "online", _("网上申报")
    WINDOW = "window", _("窗口申报")


class ApplicantKind(models.TextChoices):
    NATURAL_PERSON = "natural_person", _("自然人")
    LEGAL_PERSON = "legal_person", _("法人")


class SlaStatus(models.TextChoices):
    NONE = "none", _("未计时")
    NORMAL = "normal", _("正常")
    WARNING = "warning", _("临近超期")
    OVERDUE = "overdue", _("已超期")
    PAUSED = "paused", _("补正暂停")
    DONE = "done", _("已办结")


class Decision(models.TextChoices):
    APPROVE = "approve", _("准予")
    REJECT = "reject", _("不予")


class CaseNumberCounter(models.Model):
    """The last sequence number given out per (region, day); locked while a number is drawn."""

    region_code = models.CharField(max_length=12)
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["region_code", "day"], name="cases_counter_unique")]

    def __str__(self) -> str:
        return f"{self.region_code} {self.day}: {self.last}"


class Case(models.Model):
    # None while the case is a draft: the official number is drawn on submission.
    number = models.CharField(_("办件编号"), max_length=32, unique=True, null=True, blank=True)
    item_version = models.ForeignKey(
        "catalog.ServiceItemVersion", verbose_name=_("事项版本"), on_delete=models.PROTECT, related_name="cases"
    )
    department = models.ForeignKey(
        "identity.Department", verbose_name=_("办理部门"), on_delete=models.PROTECT, related_name="cases"
    )
    state = models.CharField(_("状态"), max_length=24, choices=CaseState.choices, default=CaseState.SUBMITTED)
    channel = models.CharField(_("申报渠道"), max_length=10, choices=Channel.choices)

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("申请人账户"), on_delete=models.PROTECT, related_name="cases"
    )
    applicant_kind = models.CharField(_("申请人类型"), max_length=16, choices=ApplicantKind.choices)
    applicant_name = models.CharField(_("申请人名称"), max_length=200)
    applicant_id_number = EncryptedTextField(_("申请人证件号码"), help_text=_("身份证号或统一社会信用代码"))
    applicant_id_index = models.CharField(max_length=64, db_index=True, editable=False)
    applicant_phone = EncryptedTextField(_("联系电话"), blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("收件人员"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The front office (一窗受理): the hall whose window took a walk-in case in, and the region
    # whose halls take the case in and deliver it (see cases.selectors, "front-office region").
    intake_department = models.ForeignKey(
        "identity.Department",
        verbose_name=_("收件大厅"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("窗口申报时收件窗口所在的政务服务大厅(部门);网上申报为空"),
    )
    intake_region = models.CharField(
        _("前台区划代码"),
        max_length=12,
        blank=True,
        help_text=_("窗口申报为收件大厅的区划代码,网上申报为办理部门的区划代码;该区划的窗口受理和送达"),
    )
    idempotency_key = models.CharField(_("幂等键"), max_length=64, blank=True)
    form_data = EncryptedJSONField(_("申请表"), default=dict, blank=True)

    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("承办人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_cases",
    )
    step_index = models.PositiveSmallIntegerField(_("当前审查环节"), default=0)

    # --- the clock (working days; see cases.clock) ---
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)  # None for a draft
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("受理人员"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    deemed_accepted = models.BooleanField(
        _("视为受理"),
        default=False,
        help_text=_("五个工作日内未告知补正,自收到申请之日起即为受理(行政许可法第三十二条)"),
    )
    time_limit_days = models.PositiveIntegerField(_("承诺时限(工作日)"))
    paused_days = models.PositiveIntegerField(_("补正暂停(工作日)"), default=0)
    paused_since = models.DateField(_("暂停起始日"), null=True, blank=True)
    extension_days = models.PositiveIntegerField(_("延长(工作日)"), default=0)
    extension_reason = models.TextField(_("延长理由"), blank=True)
    extension_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("延长批准人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    due_date = models.DateField(_("办结期限"), null=True, blank=True)
    sla_status = models.CharField(_("时限状态"), max_length=10, choices=SlaStatus.choices, default=SlaStatus.NONE)

    # --- outcome ---
    decision = models.CharField(_("决定"), max_length=10, choices=Decision.choices, blank=True)
    decision_reasons = models.TextField(_("决定理由"), blank=True)
    remedy_notice = models.TextField(_("救济途径告知"), blank=True)
    decided_at = models.DateTimeField(_("决定时间"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("决定人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    refusal_reason = models.TextField(_("不予受理理由"), blank=True)
    delivered_at = models.DateTimeField(_("送达时间"), null=True, blank=True)
    delivery_method = models.CharField(_("送达方式"), max_length=20, blank=True)
    withdrawn_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)

    bundle = models.ForeignKey(
        "CaseBundle",
        verbose_name=_("所属一件事申请"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )

    version = models.PositiveIntegerField(_("修订号"), default=1)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("办件")
        verbose_name_plural = _("办件")
        constraints = [
            models.UniqueConstraint(
                fields=["applicant", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="cases_case_idempotency_unique",
            ),
            # Only a draft goes without an official number and a submission time.
            models.CheckConstraint(
                condition=Q(state="draft") | Q(number__isnull=False, submitted_at__isnull=False),
                name="cases_case_number_unless_draft",
            ),
        ]
        indexes = [
            # Department queues, most urgent first.
            models.Index(fields=["department", "state", "due_date"], name="cases_queue_idx"),
            # Front-office queues: by region prefix and state.
            models.Index(fields=["intake_region", "state"], name="cases_front_office_idx"),
            models.Index(fields=["applicant", "-submitted_at"], name="cases_applicant_idx"),
            models.Index(fields=["state", "submitted_at"], name="cases_state_idx"),
        ]

    def __str__(self) -> str:
        return self.number or str(_("草稿"))


class StepKind(models.TextChoices):
    SUBMITTED = "submitted", _("提交申请")
    MATERIAL_ADDED = "material_added", _("上传材料")
    ACCEPTED = "accepted", _("受理")
    DEEMED_ACCEPTED = "deemed_accepted", _("视为受理")
    REFUSED = "refused", _("不予受理")
    SUPPLEMENT_REQUESTED = "supplement_requested", _("一次性告知补正")
    SUPPLEMENT_ANSWERED = "supplement_answered", _("补正材料已提交")
    CLAIMED = "claimed", _("认领")
    ASSIGNED = "assigned", _("分派")
    OPINION = "opinion", _("审查意见")
    EXTENDED = "extended", _("延长办理期限")
    APPROVED = "approved", _("准予许可")
    REJECTED = "rejected", _("不予许可")
    DELIVERED = "delivered", _("送达")
    WITHDRAWN = "withdrawn", _("撤回申请")
    SLA_CHANGED = "sla_changed", _("时限状态变化")
    EVIDENCE_VERIFIED = "evidence_verified", _("免提交材料核验")
    AUTO_CHECKED = "auto_checked", _("智能审批")
    REVIEW_REQUESTED = "review_requested", _("申请人工复核")
    # Written by the channels app through ``services.case_channel_note``.
    POSTAL = "postal", _("邮寄送达")
    CROSS_REGION = "cross_region", _("异地代收")


class CaseStep(models.Model):
    """One entry of the case's timeline. ``public`` entries are shown to the applicant."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="steps")
    kind = models.CharField(_("类型"), max_length=24, choices=StepKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField(_("经办人"), max_length=100, blank=True)
    process_step = models.PositiveSmallIntegerField(_("流程环节序号"), null=True, blank=True)
    process_step_name = models.CharField(_("流程环节"), max_length=100, blank=True)
    outcome = models.CharField(_("结论"), max_length=20, blank=True)
    note = models.TextField(_("说明"), blank=True)
    public = models.BooleanField(_("申请人可见"), default=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")
        ordering = ["case", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} · {self.get_kind_display()}"


class Supplement(models.Model):
    """The one supplement notice of a case (一次性告知): everything missing, in one list."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="supplement")
    items = models.JSONField(_("需补正内容"), help_text=_('[{"material": "…", "problem": "…"}]'))
    note = models.TextField(_("补充说明"), blank=True)
    before_acceptance = models.BooleanField(_("受理前告知"), default=True)
    requested_at = models.DateTimeField(_("告知时间"), auto_now_add=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    answered_at = models.DateTimeField(_("补正时间"), null=True, blank=True)
    answer_note = models.TextField(_("补正说明"), blank=True)

    class Meta:
        verbose_name = _("补正告知")
        verbose_name_plural = _("补正告知")

    def __str__(self) -> str:
        return f"{self.case} 补正告知"


def material_upload_to(instance: "CaseMaterial", filename: str) -> str:
    # The name is never taken from the uploader: digest plus the detected type's extension.
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png", "application/ofd": "ofd"}
    return f"cases/{instance.case_id}/{instance.sm3[:32]}.{extension.get(instance.content_type, 'bin')}"


class CaseMaterial(models.Model):
    """One uploaded file for one material requirement, checked by content and stored with its SM3 digest."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="materials")
    requirement = models.ForeignKey(
        "catalog.MaterialRequirement", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("材料名称"), max_length=200)
    original_filename = models.CharField(_("原文件名"), max_length=255, blank=True)
    file = models.FileField(_("文件"), upload_to=material_upload_to, max_length=300)
    size = models.PositiveIntegerField(_("大小(字节)"))
    sm3 = models.CharField(_("SM3 摘要"), max_length=64)
    content_type = models.CharField(_("文件类型"), max_length=40)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("申请材料文件")
        verbose_name_plural = _("申请材料文件")
        ordering = ["case", "id"]

    def __str__(self) -> str:
        return self.name


# --- life-event bundles (一件事一次办) -------------------------------------------------------


class BundleStatus(models.TextChoices):
    """A bundle's status, computed from its cases (``selectors.bundle_status``); never stored."""

    IN_PROGRESS = "in_progress", _("办理中")
    PARTLY_DECIDED = "partly_decided", _("部分办结")
    ALL_DELIVERED = "all_delivered", _("全部办结")
    SOME_REFUSED = "some_refused", _("部分事项未获准")
    WITHDRAWN = "withdrawn", _("已撤回")


class CaseBundle(models.Model):
    """One application for a life-event bundle: one form, one set of materials, split into one
    ``Case`` per member item (``cases``), each run in parallel by its own department on its own
    clock. The bundle keeps the merged form as submitted and the applicant as at submission."""

    number = models.CharField(_("一件事申请编号"), max_length=32, unique=True)
    life_event_version = models.ForeignKey(
        "catalog.LifeEventVersion",
        verbose_name=_("一件事版本"),
        on_delete=models.PROTECT,
        related_name="case_bundles",
    )
    channel = models.CharField(_("申报渠道"), max_length=10, choices=Channel.choices)
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("申请人账户"), on_delete=models.PROTECT, related_name="case_bundles"
    )
    applicant_kind = models.CharField(_("申请人类型"), max_length=16, choices=ApplicantKind.choices)
    applicant_name = models.CharField(_("申请人名称"), max_length=200)
    applicant_id_number = EncryptedTextField(_("申请人证件号码"), help_text=_("身份证号或统一社会信用代码"))
    applicant_id_index = models.CharField(max_length=64, db_index=True, editable=False)
    applicant_phone = EncryptedTextField(_("联系电话"), blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("收件人员"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    idempotency_key = models.CharField(_("幂等键"), max_length=64, blank=True)
    form_data = EncryptedJSONField(_("申请表"), default=dict, blank=True)
    submitted_at = models.DateTimeField(_("提交时间"))

    class Meta:
        verbose_name = _("一件事申请")
        verbose_name_plural = _("一件事申请")
        constraints = [
            models.UniqueConstraint(
                fields=["applicant", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="cases_bundle_idempotency_unique",
            )
        ]
        indexes = [models.Index(fields=["applicant", "-submitted_at"], name="cases_bundle_applicant_idx")]

    def __str__(self) -> str:
        return self.number


# --- 免证可办 and 秒批 ------------------------------------------------------------------------


class EvidenceStatus(models.TextChoices):
    VERIFIED = "verified", _("已核验,免提交")
    MISSING = "missing", _("未查到")
    REVOKED = "revoked", _("已注销")
    EXPIRED = "expired", _("已过期")
    SUSPENDED = "suspended", _("已暂停使用")
    INVALID_SIGNATURE = "invalid_signature", _("签名验证未通过")
    UNAVAILABLE = "unavailable", _("暂时无法核验")


class CaseEvidence(models.Model):
    """免提交: a material whose catalog source is a license type or a registry item, satisfied at
    submission by reading the applicant's license or registry record through the exchange (the
    read is in the evidence log with the item as purpose). ``verified`` rows carry the snapshot
    (license id, signature checked, fields, time); the others say why the applicant must upload."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="evidence")
    requirement = models.ForeignKey(
        "catalog.MaterialRequirement", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("材料名称"), max_length=200)
    source = models.CharField(_("来源"), max_length=10)  # license | registry
    source_code = models.CharField(_("证照类型或基础库字段"), max_length=100)
    status = models.CharField(_("核验结果"), max_length=20, choices=EvidenceStatus.choices)
    license_identifier = models.CharField(_("证照标识"), max_length=64, blank=True)
    signature_valid = models.BooleanField(_("签名有效"), default=False)
    snapshot = EncryptedTextField(_("核验快照"), blank=True, help_text=_("JSON:核验时读取的字段"))
    note = models.CharField(_("说明"), max_length=300, blank=True)
    checked_at = models.DateTimeField(_("核验时间"))

    class Meta:
        verbose_name = _("免提交材料核验")
        verbose_name_plural = _("免提交材料核验")
        ordering = ["case", "id"]

    def __str__(self) -> str:
        return f"{self.name} · {self.get_status_display()}"

    @property
    def is_verified(self) -> bool:
        return self.status == EvidenceStatus.VERIFIED


class AutoOutcome(models.TextChoices):
    APPROVE = "approve", _("自动准予")
    REFUSE = "refuse", _("自动不予")
    REFER = "refer", _("转人工审查")


class CaseAutoCheck(models.Model):
    """What the platform found by itself at submission (秒批 and 减填): the decision table's
    verdict with the table version, the facts used and what each condition found, whether the
    verdict was applied, and which pre-filled form fields the applicant changed."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="auto_check")
    table_version = models.PositiveIntegerField(_("决策表版本"), null=True, blank=True)
    table_digest = models.CharField(_("事项内容摘要"), max_length=64, blank=True)
    outcome = models.CharField(_("决策结论"), max_length=10, choices=AutoOutcome.choices, blank=True)
    reason = models.TextField(_("理由"), blank=True)
    row = models.PositiveSmallIntegerField(_("命中行"), null=True, blank=True)
    applied = models.BooleanField(_("已自动办理"), default=False)
    referral = models.TextField(_("转人工原因"), blank=True)
    details = EncryptedTextField(_("事实与核验结果"), blank=True, help_text=_("JSON:facts、findings、prefill"))
    changed_fields = models.JSONField(_("申请人修改的预填字段"), default=list, blank=True)
    review_requested_at = models.DateTimeField(_("申请人工复核时间"), null=True, blank=True)
    review_reason = models.TextField(_("复核理由"), blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("智能审批记录")
        verbose_name_plural = _("智能审批记录")

    def __str__(self) -> str:
        return f"{self.case_id} · {self.outcome}"
