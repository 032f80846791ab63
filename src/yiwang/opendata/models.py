"""Open data (公共数据开放): datasets with their distributions, stored rows for the datastore,
applications for conditional data, personal API keys, usage counts and moderated comments.

A dataset's metadata follows DCAT (dcat:Dataset / dcat:Distribution) and the national 政务数据开放
practice (title, description, publisher, theme, keywords, update frequency, temporal and spatial
coverage, licence, contact). The CKAN Action API (``ckan.py``) and the DCAT catalogue (``dcat.py``)
are two renderings of these rows.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class OpenType(models.TextChoices):
    # Same values as exchange.OpenType, so a catalog row's open type carries over unchanged.
    OPEN = "open", _("无条件开放")
    CONDITIONAL = "conditional", _("有条件开放")
    CLOSED = "closed", _("不予开放")


class Theme(models.TextChoices):
    """Themes of the national open-data practice; CKAN groups and dcat:theme."""

    ECONOMY = "economy", _("经济建设")
    ENVIRONMENT = "environment", _("资源环境")
    EDUCATION = "education", _("教育科技")
    TRANSPORT = "transport", _("道路交通")
    SOCIETY = "society", _("社会发展")
    SAFETY = "safety", _("公共安全")
    FINANCE = "finance", _("财税金融")
    HEALTH = "health", _("医疗卫生")
    CULTURE = "culture", _("文化休闲")
    WELFARE = "welfare", _("社会保障")
    ORGANIZATIONS = "organizations", _("机构团体")
    HOUSING = "housing", _("城建住房")
    AGRICULTURE = "agriculture", _("农业农村")
    CREDIT = "credit", _("信用服务")
    GEOSPATIAL = "geospatial", _("地理空间")
    MARKET = "market", _("市场监管")


class Frequency(models.TextChoices):
    """Update frequency; each maps to a Dublin Core frequency term in the DCAT catalogue."""

    REALTIME = "realtime", _("实时")
    DAILY = "daily", _("每日")
    WEEKLY = "weekly", _("每周")
    MONTHLY = "monthly", _("每月")
    QUARTERLY = "quarterly", _("每季度")
    ANNUAL = "annual", _("每年")
    IRREGULAR = "irregular", _("不定期")


class Dataset(models.Model):
    """A published dataset (数据集). ``不予开放`` datasets are kept for the record and never listed."""

    class Source(models.TextChoices):
        EXCHANGE = "exchange", _("资源目录(汇聚脱敏)")
        UPLOAD = "upload", _("上传")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.SlugField(_("标识名"), max_length=100, unique=True)
    title = models.CharField(_("标题"), max_length=200)
    description = models.TextField(_("描述"), blank=True)
    publisher = models.ForeignKey(
        "identity.Department", verbose_name=_("发布部门"), on_delete=models.PROTECT, related_name="+"
    )
    theme = models.CharField(_("主题"), max_length=20, choices=Theme.choices)
    keywords = models.JSONField(_("关键词"), default=list, blank=True)
    frequency = models.CharField(_("更新频率"), max_length=20, choices=Frequency.choices, default=Frequency.IRREGULAR)
    temporal_start = models.DateField(_("时间范围自"), null=True, blank=True)
    temporal_end = models.DateField(_("时间范围至"), null=True, blank=True)
    spatial = models.CharField(_("空间范围"), max_length=100, blank=True)
    licence = models.CharField(_("开放协议"), max_length=40, default="cc-by-4.0")
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_email = models.EmailField(_("联系邮箱"), blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    open_type = models.CharField(_("开放类型"), max_length=20, choices=OpenType.choices)
    source = models.CharField(_("来源"), max_length=20, choices=Source.choices, default=Source.UPLOAD)
    source_registry = models.CharField(_("来源基础库"), max_length=30, blank=True)
    # Lower-cased title, description, keywords and publisher: what package_search's q matches.
    search_text = models.TextField(editable=False, blank=True)
    # "|企业|统计|": the keywords as text, so fq=tags:企业 is one portable LIKE on every backend.
    tag_index = models.TextField(editable=False, blank=True)
    download_count = models.PositiveIntegerField(_("下载次数"), default=0)
    api_call_count = models.PositiveIntegerField(_("接口调用次数"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("开放数据集")
        verbose_name_plural = _("开放数据集")
        ordering = ["-updated_at", "name"]
        indexes = [
            models.Index(fields=["open_type", "updated_at"]),
            models.Index(fields=["theme"]),
        ]

    def __str__(self) -> str:
        return self.title


class Distribution(models.Model):
    """A resource of a dataset (dcat:Distribution / CKAN resource): a file or a live query API.
    Its rows are stored (``DatastoreRow``) so datastore_search and the live API can page them."""

    class Format(models.TextChoices):
        CSV = "CSV", "CSV"
        XLSX = "XLSX", "XLSX"
        JSON = "JSON", "JSON"
        API = "API", _("实时查询接口")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="distributions")
    name = models.CharField(_("名称"), max_length=200)
    description = models.TextField(_("描述"), blank=True)
    format = models.CharField(_("格式"), max_length=10, choices=Format.choices)
    # [{"id": "region_code", "type": "text", "label": "户籍地行政区划"}, ...]
    fields = models.JSONField(_("字段"), default=list)
    row_count = models.PositiveIntegerField(_("行数"), default=0)
    content = models.BinaryField(_("原始文件"), blank=True, default=b"", editable=False)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("数据资源")
        verbose_name_plural = _("数据资源")
        ordering = ["dataset_id", "position", "created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.format})"


class DatastoreRow(models.Model):
    """One stored row of a distribution; ``number`` counts from 1 (CKAN's ``_id``)."""

    distribution = models.ForeignKey(Distribution, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField()
    data = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["distribution", "number"], name="opendata_row_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.distribution_id}#{self.number}"


class AccessApplication(models.Model):
    """An application for a 有条件开放 dataset, with its purpose, decided by the publisher."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待审核")
        APPROVED = "approved", _("已同意")
        REFUSED = "refused", _("已拒绝")

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="+")
    applicant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    purpose = models.CharField(_("用途"), max_length=500)
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    decision_reason = models.CharField(_("审核意见"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("数据开放申请")
        verbose_name_plural = _("数据开放申请")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["applicant", "status"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_status_display()}"


class ApiKey(models.Model):
    """A user's personal API key for the CKAN API. Only a keyed digest is stored; the key is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("前缀"), max_length=12)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("停用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("开放数据密钥")
        verbose_name_plural = _("开放数据密钥")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}…"


class Comment(models.Model):
    """A user's rating (1–5) and comment on a dataset; shown only once a moderator approves it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待审核")
        APPROVED = "approved", _("已发布")
        REJECTED = "rejected", _("未通过")

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    rating = models.PositiveSmallIntegerField(_("评分"))
    text = models.CharField(_("评论"), max_length=1000, blank=True)
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("评价")
        verbose_name_plural = _("评价")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.rating}/5"
