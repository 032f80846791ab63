from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One state change, linked by an SM3 hash to the event before it.

    Rows are only ever appended through ``yiwang.core.audit.audit_record``; the chain
    (``prev_hash`` → ``hash``) makes an edited, deleted, inserted or reordered row
    detectable by ``yiwang audit verify``.
    """

    sequence = models.BigIntegerField(_("序号"), unique=True)
    created_at = models.DateTimeField(_("时间"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    actor_repr = models.CharField(_("操作人标识"), max_length=200, blank=True)
    action = models.CharField(_("操作"), max_length=100, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=100, blank=True)
    object_id = models.CharField(_("对象标识"), max_length=100, blank=True)
    object_repr = models.CharField(_("对象"), max_length=300, blank=True)
    changes = models.JSONField(_("变更内容"), default=dict, blank=True)
    digest = models.CharField(_("变更摘要"), max_length=64)
    prev_hash = models.CharField(_("前一哈希"), max_length=64, unique=True)
    hash = models.CharField(_("本条哈希"), max_length=64, unique=True)

    class Meta:
        verbose_name = _("审计事件")
        verbose_name_plural = _("审计事件")
        ordering = ["sequence"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.object_type}:{self.object_id}"


class AuditChainHead(models.Model):
    """A single row locked by every audited write so concurrent writers never fork the chain."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    sequence = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("审计链头")

    def __str__(self) -> str:
        return f"head #{self.sequence}"


class Holiday(models.Model):
    """An official day off or a make-up working day (调休) that overrides the seeded calendar."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("法定节假日(休)")
        WORKDAY = "workday", _("调休上班日")

    class Source(models.TextChoices):
        SEED = "seed", _("国务院办公厅通知(chinesecalendar)")
        ADMIN = "admin", _("管理员维护")

    date = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("名称"), max_length=50, blank=True, help_text=_("例如:春节、国庆节"))
    source = models.CharField(_("来源"), max_length=10, choices=Source.choices, default=Source.ADMIN)
    note = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("节假日与调休")
        verbose_name_plural = _("节假日与调休")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}"


class RateLimitCounter(models.Model):
    """How many hits one key had in one fixed window (see ``yiwang.core.ratelimit``).

    Shared by every web process and machine through the database: a hit is one atomic
    ``UPDATE … SET count = count + 1`` (or the INSERT of the window's first row). ``key`` is
    an SM3 digest, never the IP address, case number or ID number itself. Rows whose window
    has ended are purged when a new window row is written.
    """

    scope = models.CharField(_("限流规则"), max_length=50)
    key = models.CharField(_("键摘要"), max_length=64)
    window_start = models.DateTimeField(_("窗口起点"))
    expires_at = models.DateTimeField(_("窗口终点"), db_index=True)
    count = models.PositiveIntegerField(_("次数"), default=0)

    class Meta:
        verbose_name = _("限流计数")
        verbose_name_plural = _("限流计数")
        constraints = [
            models.UniqueConstraint(fields=["scope", "key", "window_start"], name="core_ratelimit_window_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key[:8]}… {self.window_start:%Y-%m-%d %H:%M}: {self.count}"


MIN_INTERVAL_SECONDS = 60
MAX_INTERVAL_SECONDS = 366 * 86400


class ScheduledJob(models.Model):
    """The database side of one periodic job registered with ``yiwang.core.schedule.every``.

    Every worker's scheduler reads these rows; claiming a due run updates ``next_due_at``
    in the same transaction that enqueues the task, so each due run is enqueued once
    however many workers poll. The outcome of the last run is written here, not audited;
    a change of the schedule itself (admin) goes through ``schedule.scheduled_job_update``.
    """

    class Outcome(models.TextChoices):
        NONE = "none", _("尚未运行")
        QUEUED = "queued", _("已入队")
        SUCCEEDED = "succeeded", _("成功")
        FAILED = "failed", _("失败")

    name = models.CharField(_("名称"), max_length=100, unique=True)
    enabled = models.BooleanField(_("启用"), default=True)
    interval_seconds = models.PositiveIntegerField(
        _("间隔(秒)"),
        null=True,
        blank=True,
        help_text=_("留空则使用配置项 YIWANG_SCHEDULE 或程序中的默认间隔"),
        validators=[
            MinValueValidator(MIN_INTERVAL_SECONDS, _("间隔不能少于60秒")),
            MaxValueValidator(MAX_INTERVAL_SECONDS, _("间隔不能超过366天")),
        ],
    )
    next_due_at = models.DateTimeField(_("下次运行时间"), null=True, blank=True, help_text=_("留空表示立即运行"))
    last_enqueued_at = models.DateTimeField(_("上次运行时间"), null=True, blank=True)
    last_task_id = models.CharField(_("上次任务标识"), max_length=64, blank=True, db_index=True)
    last_outcome = models.CharField(_("上次结果"), max_length=20, choices=Outcome.choices, default=Outcome.NONE)
    last_finished_at = models.DateTimeField(_("上次完成时间"), null=True, blank=True)
    last_summary = models.CharField(_("结果摘要"), max_length=500, blank=True)
    run_count = models.PositiveIntegerField(_("运行次数"), default=0)

    class Meta:
        verbose_name = _("定时任务")
        verbose_name_plural = _("定时任务")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def is_due(self, now) -> bool:
        return self.enabled and (self.next_due_at is None or self.next_due_at <= now)


class WorkerHeartbeat(models.Model):
    """One background worker process (``yiwang worker``), stamped by its task loop.

    ``beat_at`` moves every ``YIWANG_WORKER_HEARTBEAT_SECONDS`` while the loop turns; a row
    that stops moving is a worker that died or hangs (the operator's health page and
    ``/api/v1/health`` say so). A worker that stops cleanly removes its row; rows silent for
    a day are pruned by the next beat of any worker.
    """

    worker_id = models.CharField(_("工作进程标识"), max_length=100, unique=True)
    hostname = models.CharField(_("主机"), max_length=255)
    pid = models.PositiveIntegerField(_("进程号"))
    started_at = models.DateTimeField(_("启动时间"))
    beat_at = models.DateTimeField(_("最近心跳"), db_index=True)
    tasks_run = models.PositiveIntegerField(_("已执行任务数"), default=0)
    scheduler = models.BooleanField(_("运行定时任务"), default=False)

    class Meta:
        verbose_name = _("工作进程心跳")
        verbose_name_plural = _("工作进程心跳")
        ordering = ["-beat_at"]

    def __str__(self) -> str:
        return self.worker_id
