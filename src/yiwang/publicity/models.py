"""政务公开 and 意见征集 (issue #18, "Publishing and consultation").

* ``PolicyDocument`` — a published policy document (文号, issuing department, full text) with its
  interpretation (``Interpretation``, 政策解读) and questions and answers (``PolicyQuestion``),
  indexed for the catalog's Chinese search (``DocumentTerm``: the same jieba words, bigrams and
  pinyin as ``catalog.search``, one row per posting).
* ``Consultation`` — a draft put out for public comment (意见征集) by a department, open between two
  dates; ``ConsultationComment`` — a signed-in person's comment, shown only after moderation; when
  the consultation closes, the department publishes a summary of what was adopted and why, with
  each published comment marked adopted or not and answered.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PolicyDocument(models.Model):
    title = models.CharField(_("标题"), max_length=200)
    doc_number = models.CharField(_("文号"), max_length=100, blank=True)
    department = models.ForeignKey(
        "identity.Department", verbose_name=_("发文机关"), on_delete=models.PROTECT, related_name="+"
    )
    summary = models.CharField(_("摘要"), max_length=300, blank=True)
    body = models.TextField(_("正文"))
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("政策文件")
        verbose_name_plural = _("政策文件")
        ordering = ["-published_at", "-pk"]

    def __str__(self) -> str:
        return self.title


class Interpretation(models.Model):
    """政策解读: what the document changes, for whom, in plain words."""

    document = models.ForeignKey(PolicyDocument, on_delete=models.CASCADE, related_name="interpretations")
    title = models.CharField(_("解读标题"), max_length=200)
    body = models.TextField(_("解读内容"))
    sort = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("政策解读")
        verbose_name_plural = _("政策解读")
        ordering = ["document", "sort", "pk"]

    def __str__(self) -> str:
        return self.title


class PolicyQuestion(models.Model):
    """One question and its answer (政策问答)."""

    document = models.ForeignKey(PolicyDocument, on_delete=models.CASCADE, related_name="questions")
    question = models.CharField(_("问题"), max_length=300)
    answer = models.TextField(_("回答"))
    sort = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("政策问答")
        verbose_name_plural = _("政策问答")
        ordering = ["document", "sort", "pk"]

    def __str__(self) -> str:
        return self.question


class DocumentTerm(models.Model):
    """One search posting of a published document (``catalog.search.terms_for``)."""

    document = models.ForeignKey(PolicyDocument, on_delete=models.CASCADE, related_name="+")
    term = models.CharField(max_length=64)
    weight = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["term", "weight"], name="publicity_term_idx")]

    def __str__(self) -> str:
        return self.term


class Consultation(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("征集中")
        CLOSED = "closed", _("已截止")
        SUMMARIZED = "summarized", _("已公布采纳情况")

    title = models.CharField(_("标题"), max_length=200)
    department = models.ForeignKey(
        "identity.Department", verbose_name=_("征集部门"), on_delete=models.PROTECT, related_name="+"
    )
    description = models.TextField(_("起草说明"), blank=True)
    draft_text = models.TextField(_("草案全文"))
    opens_on = models.DateField(_("开始日期"))
    closes_on = models.DateField(_("截止日期"))
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.OPEN)
    summary = models.TextField(_("采纳情况说明"), blank=True)
    summary_published_at = models.DateTimeField(_("说明公布时间"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("意见征集")
        verbose_name_plural = _("意见征集")
        ordering = ["-opens_on", "-pk"]

    def __str__(self) -> str:
        return self.title


class ConsultationComment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("待审核")
        PUBLISHED = "published", _("已公开")
        REJECTED = "rejected", _("不予公开")

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("意见内容"))
    status = models.CharField(_("审核状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    moderation_note = models.CharField(_("审核说明"), max_length=200, blank=True)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    adopted = models.BooleanField(_("是否采纳"), null=True, blank=True)
    response = models.TextField(_("采纳情况及理由"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("征集意见")
        verbose_name_plural = _("征集意见")
        ordering = ["consultation", "created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.consultation_id}:{self.pk}"
