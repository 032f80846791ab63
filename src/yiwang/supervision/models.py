"""互联网+监管: supervision items, inspectors, 双随机 draw plans, inspections, credit grades,
信用修复 and 亩均效益 evaluations.

Rows are written only by ``supervision.services``. A published plan's files (``plan_document``,
``result_document``) are never changed once written: a redraw is a new plan naming the one it
replaces and why (``supersedes`` / ``redraw_reason``).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yiwang.core.fields import EncryptedTextField

ENTITY_KINDS = (
    ("enterprise", _("企业")),
    ("individual_business", _("个体工商户")),
    ("social_organization", _("社会组织")),
    ("public_body", _("机关事业单位")),
)


class QualificationKind(models.TextChoices):
    """执法资格类别: what an inspector's 行政执法证 entitles him to inspect."""

    MARKET = "market", _("市场监管行政执法")
    HEALTH = "health", _("卫生健康监督执法")
    TRANSPORT = "transport", _("交通运输行政执法")
    ECOLOGY = "ecology", _("生态环境保护执法")
    EMERGENCY = "emergency", _("应急管理执法")
    AGRICULTURE = "agriculture", _("农业综合行政执法")
    CULTURE = "culture", _("文化市场综合执法")
    COMPREHENSIVE = "comprehensive", _("综合行政执法")


class SupervisionItem(models.Model):
    """抽查事项清单: one thing a department inspects, with its legal basis and checklist."""

    department = models.ForeignKey(
        "identity.Department", verbose_name=_("实施部门"), on_delete=models.PROTECT, related_name="+"
    )
    code = models.CharField(_("事项编码"), max_length=40, unique=True)
    name = models.CharField(_("抽查事项"), max_length=200)
    legal_basis = models.TextField(_("抽查依据"))
    entity_kinds = models.JSONField(_("抽查对象类型"), default=list)
    industry_prefixes = models.JSONField(_("行业范围(GB/T 4754 前缀)"), default=list, blank=True)
    checklist = models.JSONField(_("检查内容"), default=list)
    # Only inspectors holding a qualification of this kind, valid on the day, are drawn for it
    # (blank: any valid 执法资格).
    qualification_kind = models.CharField(
        _("所需执法资格"), max_length=20, choices=QualificationKind.choices, blank=True
    )
    is_active = models.BooleanField(_("有效"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("抽查事项")
        verbose_name_plural = _("抽查事项清单")
        ordering = ["department_id", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Inspector(models.Model):
    """执法检查人员名录: a staff member who may be drawn, with the 回避 facts about him.

    His 身份证号 (encrypted; blind index for lookups) is how the draw finds his household in
    the 人口库 (回避 of relatives of an entity's legal representative); without it, or without
    a valid 执法资格 (``InspectorQualification``) for the plan's items, he is not drawn."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("工作人员"), on_delete=models.PROTECT, related_name="+"
    )
    department = models.ForeignKey(
        "identity.Department", verbose_name=_("所属部门"), on_delete=models.PROTECT, related_name="+"
    )
    certificate_number = models.CharField(_("执法证号"), max_length=32, unique=True)
    id_number = EncryptedTextField(_("居民身份证号码"), blank=True)
    id_number_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    is_active = models.BooleanField(_("在册"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("执法检查人员")
        verbose_name_plural = _("执法检查人员名录")
        ordering = ["department_id", "certificate_number"]

    def __str__(self) -> str:
        return self.certificate_number


class InspectorQualification(models.Model):
    """执法资格: one 行政执法证 of an inspector — its kind, number and validity."""

    inspector = models.ForeignKey(
        Inspector, verbose_name=_("检查人员"), on_delete=models.CASCADE, related_name="qualifications"
    )
    kind = models.CharField(_("执法资格类别"), max_length=20, choices=QualificationKind.choices)
    certificate_number = models.CharField(_("执法证件号"), max_length=40)
    issued_by = models.CharField(_("发证机关"), max_length=100, blank=True)
    valid_from = models.DateField(_("有效期自"))
    valid_to = models.DateField(_("有效期至"))
    revoked_at = models.DateTimeField(_("注销时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("执法资格")
        verbose_name_plural = _("执法资格")
        ordering = ["inspector_id", "kind", "-valid_to"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "certificate_number"], name="supervision_qualification_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.certificate_number}"

    def valid_on(self, day) -> bool:
        return self.revoked_at is None and self.valid_from <= day <= self.valid_to


class Conflict(models.Model):
    """回避: an inspector may not inspect this entity (relative, former employer, stated conflict)."""

    class Kind(models.TextChoices):
        RELATIVE = "relative", _("近亲属任职或持股")
        FORMER_EMPLOYER = "former_employer", _("曾任职单位")
        STATED = "stated", _("本人申报的利害关系")

    inspector = models.ForeignKey(
        Inspector, verbose_name=_("检查人员"), on_delete=models.CASCADE, related_name="conflicts"
    )
    entity_uscc = models.CharField(_("统一社会信用代码"), max_length=18)
    kind = models.CharField(_("回避原因"), max_length=20, choices=Kind.choices)
    ended_on = models.DateField(_("离职日期"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("回避关系")
        verbose_name_plural = _("回避关系")
        constraints = [
            models.UniqueConstraint(fields=["inspector", "entity_uscc", "kind"], name="supervision_conflict_unique")
        ]

    def __str__(self) -> str:
        return f"{self.inspector_id}↔{self.entity_uscc}"


class DrawPlan(models.Model):
    """A 双随机 plan: its published inputs and commitment, then its revealed seed and result."""

    class Status(models.TextChoices):
        PUBLISHED = "published", _("已公示承诺")
        DRAWN = "drawn", _("已抽取")
        SUPERSEDED = "superseded", _("已被重新抽取取代")

    code = models.CharField(_("计划编号"), max_length=40, unique=True)
    title = models.CharField(_("计划名称"), max_length=200)
    lead_department = models.ForeignKey(
        "identity.Department", verbose_name=_("牵头部门"), on_delete=models.PROTECT, related_name="+"
    )
    departments = models.ManyToManyField("identity.Department", verbose_name=_("参与部门"), related_name="+")
    items = models.ManyToManyField(SupervisionItem, verbose_name=_("抽查事项"), related_name="plans")
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.PUBLISHED)
    period = models.CharField(_("抽查期间"), max_length=20, blank=True)
    filters = models.JSONField(_("对象范围"), default=dict)
    ratios_bp = models.JSONField(_("各信用等级抽查比例(万分比)"), default=dict)
    team = models.JSONField(_("每户检查人数(按部门)"), default=dict)
    plan_document = models.TextField(_("公示的计划文件"))
    plan_digest = models.CharField(_("计划文件 SM3"), max_length=64)
    commitment = models.CharField(_("种子承诺 SM3"), max_length=64)
    pool_keys = models.JSONField(_("对象库(内部)"), default=list)  # USCCs; their salted hashes are recomputed
    pool_secret = models.CharField(max_length=64, editable=False)  # salts entity hashes; never published
    inspector_keys = models.JSONField(_("检查人员(内部)"), default=dict)  # {hash: inspector id}
    entity_count = models.PositiveIntegerField(_("对象数"), default=0)
    inspector_count = models.PositiveIntegerField(_("检查人员数"), default=0)
    seed = models.CharField(_("揭示的种子"), max_length=64, blank=True)
    public_entropy = models.CharField(_("公开随机数"), max_length=200, blank=True)
    result_document = models.TextField(_("公示的抽取结果"), blank=True)
    result_digest = models.CharField(_("结果文件 SM3"), max_length=64, blank=True)
    supersedes = models.OneToOneField(
        "self",
        verbose_name=_("取代的计划"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="superseded_by",
    )
    redraw_reason = models.CharField(_("重新抽取原因"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("创建人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(_("公示时间"), auto_now_add=True)
    drawn_at = models.DateTimeField(_("抽取时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("双随机抽查计划")
        verbose_name_plural = _("双随机抽查计划")
        ordering = ["-published_at", "-id"]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class Inspection(models.Model):
    """One drawn entity's inspection: the team, checklist, findings, result and its publication."""

    class Result(models.TextChoices):
        PASSED = "passed", _("合格")
        RECTIFY = "rectify", _("责令整改")
        CASE = "case", _("立案查处")

    class Status(models.TextChoices):
        ASSIGNED = "assigned", _("待检查")
        RECORDED = "recorded", _("已检查待公示")
        PUBLISHED = "published", _("已公示")

    plan = models.ForeignKey(DrawPlan, verbose_name=_("抽查计划"), on_delete=models.PROTECT, related_name="inspections")
    order = models.PositiveIntegerField(_("抽取顺序"))
    entity_uscc = models.CharField(_("统一社会信用代码"), max_length=18, db_index=True)
    entity_name = models.CharField(_("检查对象"), max_length=200)
    grade = models.CharField(_("信用等级"), max_length=1)
    inspectors = models.ManyToManyField(Inspector, verbose_name=_("检查人员"), related_name="inspections")
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.ASSIGNED)
    checklist = models.JSONField(_("检查内容及结论"), default=list, blank=True)
    findings = models.TextField(_("检查情况"), blank=True)
    result = models.CharField(_("检查结果"), max_length=10, choices=Result.choices, blank=True)
    inspected_on = models.DateField(_("检查日期"), null=True, blank=True)
    publish_by = models.DateField(_("公示期限"), null=True, blank=True)
    published_at = models.DateTimeField(_("公示时间"), null=True, blank=True)
    rectify_by = models.DateField(_("整改期限"), null=True, blank=True)
    rectified_on = models.DateField(_("整改完成日期"), null=True, blank=True)
    follow_up = models.TextField(_("整改复查情况"), blank=True)
    credit_record_number = models.CharField(_("信用记录编号"), max_length=64, blank=True)
    deadline_warned_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("检查任务")
        verbose_name_plural = _("检查任务")
        ordering = ["plan_id", "order"]
        constraints = [models.UniqueConstraint(fields=["plan", "entity_uscc"], name="supervision_inspection_unique")]

    def __str__(self) -> str:
        return f"{self.plan.code} #{self.order} {self.entity_name}"


def photo_path(instance, filename: str) -> str:
    return f"supervision/{instance.inspection_id}/{filename}"


class InspectionPhoto(models.Model):
    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(_("现场照片"), upload_to=photo_path)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.image.name


class CreditRule(models.Model):
    """A published, versioned scoring rule (信用评价规则): its points and grade thresholds."""

    version = models.CharField(_("版本"), max_length=20, unique=True)
    rule = models.JSONField(_("规则"))
    is_current = models.BooleanField(_("现行"), default=False)
    published_at = models.DateTimeField(_("发布时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("信用评价规则")
        verbose_name_plural = _("信用评价规则")
        ordering = ["-published_at"]

    def __str__(self) -> str:
        return self.version


class CreditGrade(models.Model):
    """An entity's current grade, with the explanation of every point (shown to the entity)."""

    uscc = models.CharField(_("统一社会信用代码"), max_length=18, unique=True)
    name = models.CharField(_("名称"), max_length=200, blank=True)
    grade = models.CharField(_("信用等级"), max_length=1)
    score = models.IntegerField(_("得分"))
    rule_version = models.CharField(_("规则版本"), max_length=20)
    lists = models.JSONField(_("名单"), default=list, blank=True)  # ["blacklist"], ["redlist"]
    explanation = models.JSONField(_("得分说明"), default=list)
    computed_at = models.DateTimeField(_("计算时间"), auto_now=True)

    class Meta:
        verbose_name = _("信用等级")
        verbose_name_plural = _("信用等级")
        ordering = ["uscc"]

    def __str__(self) -> str:
        return f"{self.uscc} {self.grade}"


class CreditRepair(models.Model):
    """信用修复: an entity asks that a record stop counting; the credit department decides."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待审核")
        APPROVED = "approved", _("准予修复")
        REJECTED = "rejected", _("不予修复")

    uscc = models.CharField(_("统一社会信用代码"), max_length=18, db_index=True)
    record_number = models.CharField(_("信用记录编号"), max_length=64)
    reason = models.TextField(_("申请理由及整改情况"))
    applicant = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_note = models.TextField(_("审核意见"), blank=True)
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    decided_at = models.DateTimeField(_("审核时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("信用修复申请")
        verbose_name_plural = _("信用修复申请")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.uscc} {self.record_number}"


class MuEvaluation(models.Model):
    """亩均效益评价 of one year: the configured weights and thresholds, then the classes."""

    year = models.PositiveSmallIntegerField(_("评价年度"), unique=True)
    weights = models.JSONField(_("指标权重(%)"))
    thresholds = models.JSONField(_("分类得分线"))
    published_at = models.DateTimeField(_("公布时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("亩均效益评价")
        verbose_name_plural = _("亩均效益评价")
        ordering = ["-year"]

    def __str__(self) -> str:
        return str(self.year)


class MuResult(models.Model):
    evaluation = models.ForeignKey(MuEvaluation, on_delete=models.CASCADE, related_name="results")
    uscc = models.CharField(_("统一社会信用代码"), max_length=18)
    name = models.CharField(_("企业名称"), max_length=200, blank=True)
    indicators = models.JSONField(_("指标值"))
    score = models.DecimalField(_("综合得分"), max_digits=7, decimal_places=2)
    klass = models.CharField(_("分类"), max_length=1)
    measures = models.JSONField(_("差别化措施"), default=list)

    class Meta:
        verbose_name = _("亩均效益评价结果")
        verbose_name_plural = _("亩均效益评价结果")
        ordering = ["evaluation_id", "-score"]
        constraints = [models.UniqueConstraint(fields=["evaluation", "uscc"], name="supervision_mu_result_unique")]

    def __str__(self) -> str:
        return f"{self.uscc} {self.klass}"
