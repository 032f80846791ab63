"""Service items (政务服务事项), their versioned guides, and life-event bundles (一件事).

An item's identity (``ServiceItem``) is stable; its guide lives in ``ServiceItemVersion``
rows. A version is editable while it is a draft and immutable once published; a case keeps
a foreign key to the version it was submitted under. Writes go through ``services``.
"""

import jsonschema
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


def localized(chinese: str, english: str) -> str:
    """The English text when the interface is English and there is one, else the Chinese
    (issue #14: catalog content in English where the catalog has a translation)."""
    if english and (get_language() or "").startswith("en"):
        return english
    return chinese


class LocalizedText:
    """``display_name`` / ``display_description``: the English content in an English interface."""

    @property
    def display_name(self) -> str:
        return localized(self.name, getattr(self, "name_en", ""))

    @property
    def display_description(self) -> str:
        return localized(getattr(self, "description", ""), getattr(self, "description_en", ""))


class ItemKind(models.TextChoices):
    LICENSING = "licensing", _("行政许可")
    BENEFIT = "benefit", _("行政给付")
    CONFIRMATION = "confirmation", _("行政确认")
    ADJUDICATION = "adjudication", _("行政裁决")
    REWARD = "reward", _("行政奖励")
    OTHER_POWER = "other_power", _("其他行政权力")
    PUBLIC_SERVICE = "public_service", _("公共服务")


class ExerciseLevel(models.TextChoices):
    NATIONAL = "national", _("国家级")
    PROVINCIAL = "provincial", _("省级")
    CITY = "city", _("市级")
    COUNTY = "county", _("县级")
    TOWNSHIP = "township", _("乡级")
    VILLAGE = "village", _("村级")


class HandlingForm(models.TextChoices):
    WINDOW = "window", _("窗口办理")
    ONLINE = "online", _("网上办理")
    BOTH = "both", _("网上和窗口均可")


class Target(models.TextChoices):
    NATURAL_PERSON = "natural_person", _("自然人")
    LEGAL_PERSON = "legal_person", _("法人")


class OnlineDepth(models.IntegerChoices):
    """网上办理深度, as coded in the national exchange schema; an item has several."""

    CONSULTATION = 1, _("互联网咨询")
    COLLECTION = 2, _("互联网收件")
    PRE_REVIEW = 3, _("互联网预审")
    ACCEPTANCE = 4, _("互联网受理")
    HANDLING = 5, _("互联网办理")
    RESULT_FEEDBACK = 6, _("互联网办理结果信息反馈")
    OTHER = 7, _("其他")


class Status(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")
    RETIRED = "retired", _("已停用")


class MaterialRequirementKind(models.TextChoices):
    REQUIRED = "required", _("必需")
    CONDITIONAL = "conditional", _("按情形提交")


class MaterialFormat(models.TextChoices):
    PAPER = "paper", _("纸质")
    ELECTRONIC = "electronic", _("电子")
    BOTH = "both", _("纸质或电子")


class MaterialSource(models.TextChoices):
    APPLICANT = "applicant", _("申请人提交")
    LICENSE = "license", _("电子证照")
    REGISTRY = "registry", _("基础库数据")
    # The platform writes it from the online form at submission (the case's 申请书 PDF, signed by
    # the applicant's 承诺 on submitting): nothing to upload, nothing for a department to verify.
    FORM = "form", _("申请表生成")


def validate_form_schema(value) -> None:
    """The application form must be a valid Draft 2020-12 JSON Schema describing an object."""
    if value in (None, {}):
        return
    if not isinstance(value, dict):
        raise ValidationError(_("申请表必须是 JSON 对象形式的 JSON Schema"), code="form_schema")
    try:
        jsonschema.Draft202012Validator.check_schema(value)
    except jsonschema.SchemaError as exc:
        path = "/".join(str(p) for p in exc.absolute_path) or "根"
        raise ValidationError(
            _("申请表不是有效的 JSON Schema(2020-12):位置 %(path)s:%(message)s"),
            params={"path": path, "message": exc.message},
            code="form_schema",
        ) from exc
    if value.get("type") != "object":
        raise ValidationError(_('申请表的根节点必须是 {"type": "object"}'), code="form_schema")


class ServiceItem(models.Model):
    """A service item's stable identity: its implementation code and implementing department."""

    implementation_code = models.CharField(_("实施编码"), max_length=64, unique=True)
    department = models.ForeignKey(
        "identity.Department", verbose_name=_("实施主体"), on_delete=models.PROTECT, related_name="service_items"
    )
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    current_version = models.ForeignKey(
        "ServiceItemVersion",
        verbose_name=_("当前发布版本"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("政务服务事项")
        verbose_name_plural = _("政务服务事项")
        ordering = ["implementation_code"]
        indexes = [models.Index(fields=["status", "department"])]

    def __str__(self) -> str:
        version = self.current_version
        return f"{self.implementation_code} {version.name if version else ''}".strip()


class PublishedVersion(models.Model):
    """What every catalog version records: its content digest, who made it and who published it.

    A version is immutable once ``published_at`` is set.
    """

    content_digest = models.CharField(_("内容摘要"), max_length=64, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("发布人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.name} v{self.number}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class ServiceItemVersion(LocalizedText, PublishedVersion):
    """One version of an item's guide (办事指南). Immutable once ``published_at`` is set."""

    item = models.ForeignKey(ServiceItem, verbose_name=_("事项"), on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("版本号"))
    name = models.CharField(_("事项名称"), max_length=200)
    basic_code = models.CharField(_("基本编码"), max_length=64)
    aliases = models.JSONField(_("别名"), default=list, blank=True)
    keywords = models.JSONField(_("关键词"), default=list, blank=True)
    description = models.TextField(_("事项简介"), blank=True)
    kind = models.CharField(_("事项类型"), max_length=20, choices=ItemKind.choices)
    exercise_level = models.CharField(_("行使层级"), max_length=12, choices=ExerciseLevel.choices, blank=True)
    legal_basis = models.TextField(_("设定依据"), blank=True)
    statutory_time_limit = models.PositiveIntegerField(_("法定办结时限(工作日)"))
    promised_time_limit = models.PositiveIntegerField(_("承诺办结时限(工作日)"))
    acceptance_conditions = models.TextField(_("受理条件"), blank=True)
    fees = models.JSONField(_("收费项目"), default=list, blank=True, help_text=_("空列表表示不收费"))
    handling_form = models.CharField(_("办理形式"), max_length=10, choices=HandlingForm.choices)
    onsite_visits = models.PositiveSmallIntegerField(_("到现场次数"), default=0)
    onsite_visits_reason = models.TextField(_("必须现场办理原因"), blank=True)
    online_depth = models.JSONField(_("网上办理深度"), default=list, blank=True)
    targets = models.JSONField(_("服务对象"), default=list)
    handling_place = models.TextField(_("办理地点"), blank=True)
    handling_hours = models.CharField(_("办理时间"), max_length=200, blank=True)
    consultation_contact = models.CharField(_("咨询方式"), max_length=200, blank=True)
    complaint_contact = models.CharField(_("监督投诉方式"), max_length=200, blank=True)
    process = models.JSONField(_("办理流程"), default=list, blank=True)
    form_schema = models.JSONField(_("申请表"), default=dict, blank=True, validators=[validate_form_schema])
    output_license_type_code = models.CharField(_("出件证照类型"), max_length=64, blank=True)
    output_description = models.CharField(_("办理结果"), max_length=200, blank=True)
    # 秒批: the item's decision table (see ``catalog.decision``), versioned with the guide.
    decision_table = models.JSONField(_("决策表"), default=dict, blank=True)
    # 实名等级 the applicant's account must have (identity.User.RealNameLevel); applying with a
    # lower one is refused with how to raise it.
    real_name_level = models.PositiveSmallIntegerField(
        _("申报所需实名等级"), default=1, validators=[MinValueValidator(1), MaxValueValidator(3)]
    )
    # English content (issue #14): shown when the interface is English, else the Chinese above.
    name_en = models.CharField(_("事项名称（英文）"), max_length=200, blank=True)
    description_en = models.TextField(_("事项简介（英文）"), blank=True)
    # 网上申请自动受理: an online application with every required material is accepted at once.
    auto_accept = models.BooleanField(_("网上申请自动受理"), default=False)

    class Meta:
        verbose_name = _("事项版本")
        verbose_name_plural = _("事项版本")
        ordering = ["item", "number"]
        constraints = [
            models.UniqueConstraint(fields=["item", "number"], name="catalog_itemversion_unique_number"),
            # At most one draft per item: edits of a published item go to this one draft.
            models.UniqueConstraint(
                fields=["item"], condition=Q(published_at__isnull=True), name="catalog_itemversion_one_draft"
            ),
            models.CheckConstraint(
                condition=Q(promised_time_limit__lte=models.F("statutory_time_limit")),
                name="catalog_itemversion_promised_le_statutory",
            ),
        ]

    def clean(self) -> None:
        errors = {}
        promised, statutory = self.promised_time_limit, self.statutory_time_limit
        if promised is not None and statutory is not None and promised > statutory:
            errors["promised_time_limit"] = _("承诺办结时限不能大于法定办结时限")
        if self.onsite_visits and not (self.onsite_visits_reason or "").strip():
            errors["onsite_visits_reason"] = _("到现场次数大于 0 时必须说明原因")
        if errors:
            raise ValidationError(errors)

    @staticmethod
    def reduction_of(materials) -> tuple[int, float]:
        """(免提交 materials, 材料减免比例 0..1) of a material list (model rows or dicts)."""
        sources = [m["source"] if isinstance(m, dict) else m.source for m in materials]
        free = sum(1 for s in sources if s != MaterialSource.APPLICANT)
        return free, (round(free / len(sources), 4) if sources else 0.0)


class MaterialRequirement(LocalizedText, models.Model):
    """One material (申请材料) of one item version, with where it comes from."""

    version = models.ForeignKey(
        ServiceItemVersion, verbose_name=_("事项版本"), on_delete=models.CASCADE, related_name="materials"
    )
    name = models.CharField(_("材料名称"), max_length=200)
    requirement = models.CharField(
        _("必要性"), max_length=12, choices=MaterialRequirementKind.choices, default=MaterialRequirementKind.REQUIRED
    )
    condition = models.TextField(_("提交情形"), blank=True)
    copies = models.PositiveSmallIntegerField(_("份数"), default=1)
    format = models.CharField(_("材料形式"), max_length=12, choices=MaterialFormat.choices, default=MaterialFormat.BOTH)
    description = models.TextField(_("填报说明"), blank=True)
    blank_form = models.CharField(_("空白表格"), max_length=300, blank=True)
    sample = models.CharField(_("示例样表"), max_length=300, blank=True)
    source = models.CharField(
        _("来源"), max_length=10, choices=MaterialSource.choices, default=MaterialSource.APPLICANT
    )
    license_type_code = models.CharField(_("证照类型编码"), max_length=64, blank=True)
    registry_field = models.CharField(_("基础库字段"), max_length=100, blank=True)
    sort = models.PositiveIntegerField(_("排序"), default=0)
    name_en = models.CharField(_("材料名称（英文）"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("申请材料")
        verbose_name_plural = _("申请材料")
        ordering = ["version", "sort", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_certificate_free(self) -> bool:
        """免提交: the government already holds it (a license, a registry record) or the platform
        writes it from the online form (the 申请书)."""
        return self.source != MaterialSource.APPLICANT

    @property
    def is_generated(self) -> bool:
        """The 申请书 the platform generates from the online form: no upload field at all."""
        return self.source == MaterialSource.FORM


class LifeEvent(models.Model):
    """A life-event bundle (一件事一次办): several items behind one form and one material list."""

    code = models.CharField(_("一件事编码"), max_length=64, unique=True)
    department = models.ForeignKey(
        "identity.Department", verbose_name=_("牵头部门"), on_delete=models.PROTECT, related_name="life_events"
    )
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    current_version = models.ForeignKey(
        "LifeEventVersion",
        verbose_name=_("当前发布版本"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("一件事")
        verbose_name_plural = _("一件事")
        ordering = ["code"]

    def __str__(self) -> str:
        version = self.current_version
        return f"{self.code} {version.name if version else ''}".strip()


class LifeEventVersion(LocalizedText, PublishedVersion):
    """One version of a bundle's definition. Immutable once published."""

    life_event = models.ForeignKey(
        LifeEvent, verbose_name=_("一件事"), on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField(_("版本号"))
    name = models.CharField(_("名称"), max_length=200)
    aliases = models.JSONField(_("别名"), default=list, blank=True)
    keywords = models.JSONField(_("关键词"), default=list, blank=True)
    description = models.TextField(_("简介"), blank=True)
    targets = models.JSONField(_("服务对象"), default=list, blank=True)
    name_en = models.CharField(_("名称（英文）"), max_length=200, blank=True)
    description_en = models.TextField(_("简介（英文）"), blank=True)

    items = models.ManyToManyField(
        ServiceItem, verbose_name=_("包含事项"), through="LifeEventItem", related_name="life_event_versions"
    )

    class Meta:
        verbose_name = _("一件事版本")
        verbose_name_plural = _("一件事版本")
        ordering = ["life_event", "number"]
        constraints = [
            models.UniqueConstraint(fields=["life_event", "number"], name="catalog_leversion_unique_number"),
            models.UniqueConstraint(
                fields=["life_event"], condition=Q(published_at__isnull=True), name="catalog_leversion_one_draft"
            ),
        ]


class LifeEventItem(models.Model):
    """An item in a bundle, in order. Bundles point at items; the guide uses their current versions."""

    version = models.ForeignKey(LifeEventVersion, on_delete=models.CASCADE, related_name="entries")
    item = models.ForeignKey(ServiceItem, verbose_name=_("事项"), on_delete=models.PROTECT, related_name="+")
    sort = models.PositiveIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("一件事包含事项")
        verbose_name_plural = _("一件事包含事项")
        ordering = ["version", "sort"]
        constraints = [models.UniqueConstraint(fields=["version", "item"], name="catalog_leitem_unique")]

    def __str__(self) -> str:
        return f"{self.version} · {self.item}"


# --- search (owned by catdata) ---------------------------------------------------------------
# The search index is a denormalized pair of tables written in the same transaction as the
# publication that changes it (see ``catalog/search.py``), so every web process reads the same
# index from the database; nothing is cached per process except jieba's dictionary.


class SearchSynonym(models.Model):
    """What citizens type (开饭店) mapped to the official words it means (餐饮, 食品经营).

    Applied to the query, not to the index: editing a synonym takes effect on the next search.
    """

    term = models.CharField(_("群众用语"), max_length=50, unique=True, help_text=_("例如:开饭店、生孩子、开公司"))
    expansions = models.JSONField(_("对应规范用语"), default=list, help_text=_('JSON 列表,例如 ["餐饮", "食品经营"]'))
    is_active = models.BooleanField(_("启用"), default=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("搜索同义词")
        verbose_name_plural = _("搜索同义词")
        ordering = ["term"]

    def __str__(self) -> str:
        return f"{self.term} → {'、'.join(self.expansions or [])}"

    def clean(self) -> None:
        expansions = self.expansions
        if (
            not isinstance(expansions, list)
            or not expansions
            or not all(isinstance(e, str) and e.strip() for e in expansions)
        ):
            raise ValidationError({"expansions": _("对应规范用语必须是非空的文字列表")})


class SearchEntry(models.Model):
    """One searchable thing: a published item (its current version) or a published life event."""

    class Kind(models.TextChoices):
        ITEM = "item", _("政务服务事项")
        LIFE_EVENT = "life_event", _("一件事")

    kind = models.CharField(_("类别"), max_length=12, choices=Kind.choices)
    code = models.CharField(_("编码"), max_length=64)
    item = models.OneToOneField(
        ServiceItem, null=True, blank=True, on_delete=models.CASCADE, related_name="search_entry"
    )
    life_event = models.OneToOneField(
        LifeEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="search_entry"
    )
    name = models.CharField(_("名称"), max_length=200)
    item_kind = models.CharField(_("事项类型"), max_length=20, blank=True)
    department = models.ForeignKey(
        "identity.Department", verbose_name=_("部门"), on_delete=models.CASCADE, related_name="+"
    )
    department_name = models.CharField(_("部门名称"), max_length=100)
    for_natural_person = models.BooleanField(_("面向自然人"), default=False)
    for_legal_person = models.BooleanField(_("面向法人"), default=False)
    summary = models.CharField(_("摘要"), max_length=300, blank=True)
    name_en = models.CharField(_("名称（英文）"), max_length=200, blank=True)
    summary_en = models.CharField(_("摘要（英文）"), max_length=300, blank=True)
    promised_time_limit = models.PositiveIntegerField(_("承诺办结时限"), null=True, blank=True)
    onsite_visits = models.PositiveSmallIntegerField(_("到现场次数"), null=True, blank=True)
    indexed_at = models.DateTimeField(_("索引时间"), auto_now=True)

    class Meta:
        verbose_name = _("搜索条目")
        verbose_name_plural = _("搜索条目")
        constraints = [models.UniqueConstraint(fields=["kind", "code"], name="catalog_searchentry_unique_code")]

    def __str__(self) -> str:
        return self.name


class SearchTerm(models.Model):
    """An inverted-index posting: ``term`` occurs in ``entry`` with ``weight`` (field and match kind)."""

    entry = models.ForeignKey(SearchEntry, on_delete=models.CASCADE, related_name="terms")
    term = models.CharField(max_length=64)
    weight = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("搜索词条")
        verbose_name_plural = _("搜索词条")
        constraints = [models.UniqueConstraint(fields=["entry", "term"], name="catalog_searchterm_unique")]
        # Covering index in impact order: a query reads a term's strongest postings first and
        # stops at its cap, without touching the table.
        indexes = [models.Index(fields=["term", "weight", "entry"], name="catalog_searchterm_impact")]

    def __str__(self) -> str:
        return f"{self.term} → {self.entry_id} ({self.weight})"
