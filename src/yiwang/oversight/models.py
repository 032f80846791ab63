"""Key-task oversight (督查督办): key tasks from a leader's instruction, a meeting decision or an
annual key project, their milestones, the departments' progress reports (晒进度) with evidence,
and the task's timeline. The traffic light (红黄绿灯) is never stored: ``selectors`` computes it
from the dates and the working-day calendar. Writes go through ``services``."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Member(models.Model):
    """Who speaks for the oversight office (督查室) or is a city leader (市领导).

    The office creates tasks, reviews reports, urges and rates; leaders see every task and
    receive the escalations. Departments are not members: a department's staff act through
    their identity role grants in the lead or co-handling department."""

    class Role(models.TextChoices):
        OFFICE = "office", _("督查室")
        LEADER = "leader", _("市领导")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oversight_roles")
    role = models.CharField(_("角色"), max_length=10, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("督查人员")
        verbose_name_plural = _("督查人员")
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="oversight_member_user_role")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.role}"


class KeyTask(models.Model):
    class SourceKind(models.TextChoices):
        INSTRUCTION = "instruction", _("领导批示件")
        MEETING = "meeting", _("会议议定事项")
        PROJECT = "project", _("年度重点项目")

    class Status(models.TextChoices):
        ACTIVE = "active", _("推进中")
        COMPLETED = "completed", _("已办结")

    number = models.CharField(_("督办编号"), max_length=20, unique=True)
    title = models.CharField(_("任务名称"), max_length=200)
    source_kind = models.CharField(_("任务来源"), max_length=12, choices=SourceKind.choices)
    source_ref = models.CharField(_("来源文号"), max_length=100, blank=True)
    source_text = models.TextField(_("批示或议定内容"), blank=True)
    lead_department = models.ForeignKey(
        "identity.Department", verbose_name=_("牵头部门"), on_delete=models.PROTECT, related_name="+"
    )
    co_departments = models.ManyToManyField(
        "identity.Department", verbose_name=_("配合部门"), blank=True, related_name="+"
    )
    deadline = models.DateField(_("办结时限"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    score = models.PositiveSmallIntegerField(_("评分"), null=True, blank=True)
    score_note = models.CharField(_("评分说明"), max_length=500, blank=True)
    urge_count = models.PositiveIntegerField(_("催办次数"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("立项时间"))
    completed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("督办任务")
        verbose_name_plural = _("督办任务")
        ordering = ["deadline", "pk"]
        indexes = [models.Index(fields=["lead_department", "status"])]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class Milestone(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("待完成")
        SUBMITTED = "submitted", _("已报送待审核")
        ACCEPTED = "accepted", _("已完成")

    task = models.ForeignKey(KeyTask, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(_("节点名称"), max_length=200)
    due_date = models.DateField(_("节点时限"))
    # Names of the attachments a report on this milestone must carry, e.g. ["现场照片", "验收报告"].
    evidence = models.JSONField(_("佐证材料"), default=list, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN)
    score = models.PositiveSmallIntegerField(_("评分"), null=True, blank=True)
    completed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("节点")
        verbose_name_plural = _("节点")
        ordering = ["task", "due_date", "pk"]

    def __str__(self) -> str:
        return self.title


class ProgressReport(models.Model):
    """One report of progress (晒进度) by the lead or a co-handling department, reviewed by the office."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("待审核")
        ACCEPTED = "accepted", _("已通过")
        RETURNED = "returned", _("已退回")

    task = models.ForeignKey(KeyTask, on_delete=models.CASCADE, related_name="reports")
    milestone = models.ForeignKey(Milestone, null=True, blank=True, on_delete=models.CASCADE, related_name="reports")
    department = models.ForeignKey(
        "identity.Department", verbose_name=_("报送部门"), on_delete=models.PROTECT, related_name="+"
    )
    summary = models.TextField(_("进展情况"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.SUBMITTED)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(_("报送时间"))
    review_note = models.CharField(_("审核意见"), max_length=1000, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("进度报送")
        verbose_name_plural = _("进度报送")
        ordering = ["-submitted_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.task_id}:{self.pk}"


def attachment_upload_to(instance: "ReportAttachment", filename: str) -> str:
    # Never the uploader's name: the digest and the detected type's extension.
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png", "application/ofd": "ofd"}
    return f"oversight/{instance.report.task_id}/{instance.sm3[:32]}.{extension.get(instance.content_type, 'bin')}"


class ReportAttachment(models.Model):
    report = models.ForeignKey(ProgressReport, on_delete=models.CASCADE, related_name="attachments")
    evidence = models.CharField(_("佐证材料"), max_length=100)
    original_filename = models.CharField(_("原文件名"), max_length=255, blank=True)
    file = models.FileField(_("文件"), upload_to=attachment_upload_to, max_length=300)
    size = models.PositiveIntegerField(_("大小(字节)"))
    sm3 = models.CharField(_("SM3 摘要"), max_length=64)
    content_type = models.CharField(_("文件类型"), max_length=40)

    class Meta:
        verbose_name = _("佐证附件")
        verbose_name_plural = _("佐证附件")
        ordering = ["report", "pk"]

    def __str__(self) -> str:
        return self.evidence


class TaskEvent(models.Model):
    """The task's timeline: what happened, by whom, when (the audit chain keeps the proof)."""

    class Kind(models.TextChoices):
        CREATED = "created", _("立项")
        MILESTONE_ADDED = "milestone_added", _("增加节点")
        REPORTED = "reported", _("报送进度")
        ACCEPTED = "accepted", _("审核通过")
        RETURNED = "returned", _("退回")
        URGED = "urged", _("催办")
        RATED = "rated", _("评分")
        REMINDED = "reminded", _("到期提醒")
        ESCALATED = "escalated", _("超期督办")
        COMPLETED = "completed", _("办结")

    task = models.ForeignKey(KeyTask, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(_("说明"), max_length=1000, blank=True)
    created_at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("督办记录")
        verbose_name_plural = _("督办记录")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.task_id}:{self.kind}"
