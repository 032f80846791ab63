"""The base registries (基础库): population, legal entities, credit, spatial, economy.

Each record type has one key (身份证号, 统一社会信用代码, record number, address code, USCC +
year). Personal identifiers are encrypted at rest (SM4-GCM) and found by a keyed blind index.
Which department is the source of each field (一数一源) is ``RegistryField``; every change
to a record is a ``RecordChange`` row (who, when, which source department, old and new
value, encrypted when the field is personal). The electronic-license registry is a view
over the ``licenses`` app, not a table here.

Records are written only by ``registries.services``.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yiwang.core.fields import EncryptedTextField
from yiwang.registries import schema


class RegistryRecord(models.Model):
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        abstract = True


class Person(RegistryRecord):
    """人口库: one natural person, keyed by 公民身份号码 (encrypted; found by its blind index)."""

    id_number = EncryptedTextField(_("公民身份号码"))
    id_number_index = models.CharField(max_length=64, unique=True, editable=False)
    name = models.CharField(_("姓名"), max_length=50, blank=True)
    sex = models.CharField(_("性别"), max_length=10, choices=schema.SEX, blank=True)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    region_code = models.CharField(_("户籍地行政区划"), max_length=12, blank=True, db_index=True)
    address = EncryptedTextField(_("户籍地址"), blank=True)
    address_code = models.CharField(_("标准地址编码"), max_length=18, blank=True)
    phone = EncryptedTextField(_("联系电话"), blank=True)
    marital_status = models.CharField(_("婚姻状况"), max_length=12, choices=schema.MARITAL, blank=True)
    household_id = models.CharField(_("户号"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("人口")
        verbose_name_plural = _("人口库")

    def __str__(self) -> str:
        return self.name or str(self.pk)


class LegalEntity(RegistryRecord):
    """法人库: an enterprise, individual business, social organization or public body."""

    uscc = models.CharField(_("统一社会信用代码"), max_length=18, unique=True)
    name = models.CharField(_("名称"), max_length=200, blank=True)
    kind = models.CharField(_("主体类型"), max_length=24, choices=schema.ENTITY_KINDS, blank=True)
    legal_representative = models.CharField(_("法定代表人(负责人)"), max_length=50, blank=True)
    legal_representative_id_number = EncryptedTextField(_("法定代表人身份证号"), blank=True)
    registered_capital = models.DecimalField(
        _("注册资本(万元)"), max_digits=16, decimal_places=4, null=True, blank=True
    )
    industry_code = models.CharField(_("行业代码"), max_length=5, blank=True)
    address = models.CharField(_("住所"), max_length=200, blank=True)
    address_code = models.CharField(_("标准地址编码"), max_length=18, blank=True)
    region_code = models.CharField(_("登记地行政区划"), max_length=12, blank=True, db_index=True)
    established_on = models.DateField(_("成立日期"), null=True, blank=True)
    status = models.CharField(_("登记状态"), max_length=12, choices=schema.ENTITY_STATUS, blank=True)

    class Meta:
        verbose_name = _("法人")
        verbose_name_plural = _("法人库")

    def __str__(self) -> str:
        return self.name or self.uscc


class CreditRecord(RegistryRecord):
    """信用库: one administrative license, penalty, blacklist or redlist entry, inspection result,
    纳税信用等级 or 信用承诺 about a subject (``outcome``: the tax grade, or whether the commitment
    was kept)."""

    record_number = models.CharField(_("信用记录编号"), max_length=64, unique=True)
    subject_kind = models.CharField(_("主体类型"), max_length=16, choices=schema.SUBJECT_KINDS, blank=True)
    subject_key = EncryptedTextField(_("主体代码"), blank=True)
    subject_key_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    subject_name = models.CharField(_("主体名称"), max_length=200, blank=True)
    kind = models.CharField(_("信用信息类别"), max_length=16, choices=schema.CREDIT_KINDS, blank=True)
    content = models.TextField(_("内容"), blank=True)
    outcome = models.CharField(_("结论"), max_length=8, choices=schema.CREDIT_OUTCOMES, blank=True)
    authority = models.CharField(_("认定部门"), max_length=200, blank=True)
    decided_on = models.DateField(_("决定日期"), null=True, blank=True)
    valid_from = models.DateField(_("有效期自"), null=True, blank=True)
    valid_to = models.DateField(_("有效期至"), null=True, blank=True)

    class Meta:
        verbose_name = _("信用记录")
        verbose_name_plural = _("信用库")
        indexes = [models.Index(fields=["kind", "valid_to"])]

    def __str__(self) -> str:
        return self.record_number


class GridCell(models.Model):
    """网格: the smallest unit of grid-based governance, inside one township or village."""

    code = models.CharField(_("网格编码"), max_length=15, unique=True)
    name = models.CharField(_("网格名称"), max_length=100)
    region_code = models.CharField(_("所在行政区划"), max_length=12, db_index=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("网格")
        verbose_name_plural = _("网格")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name}({self.code})"


class Address(RegistryRecord):
    """空间地理库: a standard address with its region, grid cell and coordinates (CGCS2000)."""

    code = models.CharField(_("标准地址编码"), max_length=18, unique=True)
    text = models.CharField(_("标准地址"), max_length=200, blank=True)
    region_code = models.CharField(_("所在行政区划"), max_length=12, blank=True, db_index=True)
    grid_code = models.CharField(_("网格编码"), max_length=15, blank=True, db_index=True)
    longitude = models.DecimalField(_("经度"), max_digits=9, decimal_places=6, null=True, blank=True)
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True, blank=True)

    class Meta:
        verbose_name = _("标准地址")
        verbose_name_plural = _("空间地理库")

    def __str__(self) -> str:
        return self.text or self.code


class Indicator(RegistryRecord):
    """宏观经济库: one enterprise's indicators for one year (亩均效益 and economic monitoring)."""

    uscc = models.CharField(_("统一社会信用代码"), max_length=18)
    year = models.PositiveSmallIntegerField(_("年度"))
    tax_paid = models.DecimalField(_("实缴税金(万元)"), max_digits=16, decimal_places=2, null=True, blank=True)
    output_value = models.DecimalField(_("工业总产值(万元)"), max_digits=16, decimal_places=2, null=True, blank=True)
    energy_use = models.DecimalField(_("综合能耗(吨标准煤)"), max_digits=16, decimal_places=2, null=True, blank=True)
    land_area_mu = models.DecimalField(_("用地面积(亩)"), max_digits=16, decimal_places=2, null=True, blank=True)
    employees = models.PositiveIntegerField(_("年平均职工人数"), null=True, blank=True)
    rd_spend = models.DecimalField(_("研发经费支出(万元)"), max_digits=16, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name = _("经济指标")
        verbose_name_plural = _("宏观经济库")
        constraints = [models.UniqueConstraint(fields=["uscc", "year"], name="registries_indicator_uscc_year")]

    def __str__(self) -> str:
        return f"{self.uscc} {self.year}"


class RegistryField(models.Model):
    """一数一源: the one department that is the source of a registry field.

    Only that department's staff (or an import they run) may change the field. A field
    without a source department can be changed by nobody but the platform itself.
    """

    registry = models.CharField(
        _("基础库"), max_length=20, choices=[(n, s.label) for n, s in schema.REGISTRIES.items()]
    )
    field = models.CharField(_("字段"), max_length=50)
    source_department = models.ForeignKey(
        "identity.Department",
        verbose_name=_("数源部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="registry_fields",
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("基础库字段数源")
        verbose_name_plural = _("基础库字段数源")
        ordering = ["registry", "id"]
        constraints = [models.UniqueConstraint(fields=["registry", "field"], name="registries_field_unique")]

    def __str__(self) -> str:
        return f"{self.registry}.{self.field}"


class RecordChange(models.Model):
    """History of a registry record: one row per created record, or per changed field.

    Old and new values of personal fields are stored encrypted (``*_secret``), the others
    in clear (``*_plain``). ``batch`` ties together the rows of one upsert or import.
    """

    class Action(models.TextChoices):
        CREATE = "create", _("新增")
        UPDATE = "update", _("更新")
        CORRECT = "correct", _("异议更正")

    registry = models.CharField(_("基础库"), max_length=20)
    record_id = models.BigIntegerField(_("记录"))
    action = models.CharField(_("操作"), max_length=10, choices=Action.choices)
    field = models.CharField(_("字段"), max_length=50, blank=True)
    old_plain = models.TextField(blank=True)
    new_plain = models.TextField(blank=True)
    old_secret = EncryptedTextField(blank=True)
    new_secret = EncryptedTextField(blank=True)
    source_department = models.ForeignKey(
        "identity.Department",
        verbose_name=_("数源部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_repr = models.CharField(_("操作人"), max_length=200, blank=True)
    channel = models.CharField(_("渠道"), max_length=20, blank=True)  # api | import | correction | demo | ...
    batch = models.CharField(_("批次"), max_length=32, blank=True, db_index=True)
    reason = models.CharField(_("原因"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("基础库变更记录")
        verbose_name_plural = _("基础库变更记录")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["registry", "record_id"])]

    def __str__(self) -> str:
        return f"{self.registry}#{self.record_id} {self.action} {self.field}"

    @property
    def old_value(self) -> str:
        return self.old_secret or self.old_plain

    @property
    def new_value(self) -> str:
        return self.new_secret or self.new_plain


class QualityReport(models.Model):
    """A data-quality report of one registry, for all of it or for one source department's fields."""

    registry = models.CharField(_("基础库"), max_length=20)
    department = models.ForeignKey(
        "identity.Department",
        verbose_name=_("数源部门"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    computed_at = models.DateTimeField(_("生成时间"))
    records = models.PositiveIntegerField(_("记录数"), default=0)
    checks = models.PositiveIntegerField(_("检查项次"), default=0)
    failed_checks = models.PositiveIntegerField(_("不合格项次"), default=0)
    failing_records = models.PositiveIntegerField(_("问题记录数"), default=0)
    score = models.DecimalField(_("质量得分"), max_digits=5, decimal_places=2, default=100)
    by_rule = models.JSONField(_("按规则统计"), default=dict, blank=True)
    failures = models.JSONField(_("问题记录(前若干条,已脱敏)"), default=list, blank=True)

    class Meta:
        verbose_name = _("数据质量报告")
        verbose_name_plural = _("数据质量报告")
        ordering = ["registry", "department_id"]
        constraints = [
            models.UniqueConstraint(fields=["registry", "department"], name="registries_quality_unique"),
            models.UniqueConstraint(
                fields=["registry"], condition=models.Q(department__isnull=True), name="registries_quality_unique_all"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.registry} {self.score}"
