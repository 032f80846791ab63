"""12345 hotline (接诉即办): tickets, their timeline, dispatch rules, the knowledge base,
hotspots and sensor alerts. Writes go through ``services``; reads through ``selectors``."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yiwang.core.fields import EncryptedTextField


class Member(models.Model):
    """A hotline-centre role: agent (话务员), dispatcher (派单员), centre supervisor, grid worker.

    Department handlers are not members: they are staff holding a role grant in the
    department a ticket was sent to (identity's grants)."""

    class Role(models.TextChoices):
        AGENT = "agent", _("话务员")
        DISPATCHER = "dispatcher", _("派单员")
        SUPERVISOR = "supervisor", _("热线中心督办")
        GRID_WORKER = "grid_worker", _("网格员")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="hotline_roles")
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    grid_code = models.CharField(_("负责网格"), max_length=15, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("热线人员")
        verbose_name_plural = _("热线人员")
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="hotline_member_user_role")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.role}"


class Category(models.Model):
    """A kind of matter (诉求分类); its code is the Open311 ``service_code``."""

    code = models.CharField(_("分类编码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    group = models.CharField(_("分组"), max_length=60, blank=True)
    description = models.TextField(_("说明"), blank=True)
    keywords = models.CharField(_("关键词"), max_length=300, blank=True)
    # Open311 service definition attributes (the spec's shape: variable, code, datatype, required, ...).
    attributes = models.JSONField(_("附加字段"), default=list, blank=True)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("诉求分类")
        verbose_name_plural = _("诉求分类")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    class Kind(models.TextChoices):
        CONSULT = "consult", _("咨询")
        HELP = "help", _("求助")
        COMPLAINT = "complaint", _("投诉")
        REPORT = "report", _("举报")
        SUGGESTION = "suggestion", _("建议")
        PRAISE = "praise", _("表扬")

    class Channel(models.TextChoices):
        PHONE = "phone", _("电话")
        PORTAL = "portal", _("网站")
        MAILBOX = "mailbox", _("领导信箱")
        API = "api", _("接口")
        OPEN311 = "open311", _("Open311")
        GRID = "grid", _("网格员上报")
        SENSOR = "sensor", _("物联感知")

    class Status(models.TextChoices):
        NEW = "new", _("待派单")
        DISPATCHED = "dispatched", _("已派单待签收")
        IN_PROGRESS = "in_progress", _("办理中")
        RETURN_REQUESTED = "return_requested", _("退单待审核")
        REPLIED = "replied", _("已答复待回访")
        UNRESOLVED = "unresolved", _("回访未解决")
        CLOSED = "closed", _("已办结")

    class Urgency(models.TextChoices):
        NORMAL = "normal", _("一般")
        URGENT = "urgent", _("紧急")

    class Clock(models.TextChoices):
        ON_TIME = "on_time", _("正常")
        WARNING = "warning", _("临近超期")
        OVERDUE = "overdue", _("已超期")

    class CloseReason(models.TextChoices):
        VISITED = "visited", _("回访办结")
        DIRECT_ANSWER = "direct_answer", _("直接答复")
        DUPLICATE = "duplicate", _("重复工单")
        CENTRE = "centre", _("热线中心办结")

    class Satisfaction(models.IntegerChoices):
        SATISFIED = 3, _("满意")
        BASIC = 2, _("基本满意")
        DISSATISFIED = 1, _("不满意")

    number = models.CharField(_("工单编号"), max_length=24, unique=True)
    kind = models.CharField(_("类型"), max_length=12, choices=Kind.choices)
    channel = models.CharField(_("渠道"), max_length=12, choices=Channel.choices)
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.NEW, db_index=True)
    urgency = models.CharField(_("紧急程度"), max_length=8, choices=Urgency.choices, default=Urgency.NORMAL)
    category = models.ForeignKey(Category, verbose_name=_("分类"), null=True, blank=True, on_delete=models.PROTECT)
    title = models.CharField(_("标题"), max_length=200)
    content = models.TextField(_("诉求内容"))
    caller_name = EncryptedTextField(_("诉求人"), blank=True)
    caller_phone = EncryptedTextField(_("联系电话"), blank=True)
    caller_phone_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    reporter_consent = models.BooleanField(_("同意向承办部门公开身份"), default=False)
    recording_ref = models.CharField(_("录音编号"), max_length=100, blank=True)
    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="hotline_tickets"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    region_code = models.CharField(_("所在区划"), max_length=12, blank=True, db_index=True)
    grid_code = models.CharField(_("网格"), max_length=15, blank=True, db_index=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("经度"), max_digits=9, decimal_places=6, null=True, blank=True)
    photo = models.FileField(_("照片"), upload_to="hotline/%Y/%m/", blank=True)
    terms = models.CharField(_("关键词"), max_length=400, blank=True, editable=False)
    department = models.ForeignKey(
        "identity.Department",
        verbose_name=_("承办部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="hotline_tickets",
    )
    suggested_department = models.ForeignKey(
        "identity.Department", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assist_departments = models.ManyToManyField(
        "identity.Department", verbose_name=_("协办部门"), blank=True, related_name="hotline_assists"
    )
    duplicate_of = models.ForeignKey(
        "self", verbose_name=_("重复于"), null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )
    knowledge_entry = models.ForeignKey(
        "hotline.KnowledgeEntry", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    external_id = models.CharField(_("外部编号"), max_length=100, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    response_due_at = models.DateTimeField(_("响应期限"), null=True, blank=True)
    resolve_due_at = models.DateTimeField(_("办结期限"), null=True, blank=True)
    responded_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    replied_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    clock = models.CharField(_("时限状态"), max_length=10, choices=Clock.choices, default=Clock.ON_TIME, db_index=True)
    reply = models.TextField(_("办理结果"), blank=True)
    satisfaction = models.PositiveSmallIntegerField(_("满意度"), choices=Satisfaction.choices, null=True, blank=True)
    resolved = models.BooleanField(_("是否解决"), null=True, blank=True)
    close_reason = models.CharField(_("办结方式"), max_length=16, choices=CloseReason.choices, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("重办次数"), default=0)
    supervised_at = models.DateTimeField(_("督办时间"), null=True, blank=True)
    patrol = models.ForeignKey(
        "hotline.Patrol",
        verbose_name=_("巡查记录"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="findings",
    )
    created_at = models.DateTimeField(_("受理时间"), db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("工单")
        verbose_name_plural = _("工单")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["department", "status"]),
            models.Index(fields=["category", "region_code", "created_at"]),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.CLOSED


class TicketEvent(models.Model):
    """One step of a ticket's timeline (流转记录); written by the service that made the step."""

    class Kind(models.TextChoices):
        CREATED = "created", _("受理")
        ANSWERED = "answered", _("直接答复")
        LINKED = "linked", _("关联重复工单")
        DISPATCHED = "dispatched", _("派单")
        ACCEPTED = "accepted", _("签收")
        RETURN_REQUESTED = "return_requested", _("申请退单")
        RETURN_ACCEPTED = "return_accepted", _("同意退单")
        RETURN_REFUSED = "return_refused", _("驳回退单")
        ASSIST = "assist", _("协办")
        NOTE = "note", _("办理意见")
        SUPERVISED = "supervised", _("督办")
        REPLIED = "replied", _("答复")
        VISITED = "visited", _("回访")
        RATED = "rated", _("群众评价")
        REOPENED = "reopened", _("重办")
        CLOSED = "closed", _("办结")
        WARNING = "warning", _("临近超期")
        OVERDUE = "overdue", _("超期")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    department = models.ForeignKey(
        "identity.Department", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("工单流转记录")
        verbose_name_plural = _("工单流转记录")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.ticket_id}:{self.kind}"


class DispatchRule(models.Model):
    """派单规则: every condition given must hold (category, one of the keywords, region prefix);
    the matching rule with the most specific conditions suggests its department."""

    name = models.CharField(_("规则名称"), max_length=100)
    category = models.ForeignKey(Category, verbose_name=_("分类"), null=True, blank=True, on_delete=models.CASCADE)
    keywords = models.CharField(_("关键词"), max_length=400, blank=True, help_text=_("以逗号或空格分隔,命中任一即可"))
    region_prefix = models.CharField(_("区划代码前缀"), max_length=12, blank=True)
    department = models.ForeignKey("identity.Department", verbose_name=_("承办部门"), on_delete=models.CASCADE)
    priority = models.IntegerField(_("优先级"), default=0)
    active = models.BooleanField(_("启用"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("派单规则")
        verbose_name_plural = _("派单规则")
        ordering = ["-priority", "pk"]

    def __str__(self) -> str:
        return self.name

    def keyword_list(self) -> list[str]:
        return [k for k in self.keywords.replace(",", " ").replace(",", " ").replace("、", " ").split() if k]


class KnowledgeEntry(models.Model):
    """知识库 answer maintained by its owner department; not shown after ``expires_on``."""

    title = models.CharField(_("问题"), max_length=200)
    answer = models.TextField(_("答复口径"))
    keywords = models.CharField(_("关键词"), max_length=300, blank=True)
    department = models.ForeignKey("identity.Department", verbose_name=_("维护部门"), on_delete=models.PROTECT)
    expires_on = models.DateField(_("有效期至"), null=True, blank=True)
    active = models.BooleanField(_("启用"), default=True)
    terms = models.CharField(max_length=600, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("知识库条目")
        verbose_name_plural = _("知识库")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class Hotspot(models.Model):
    """未诉先办: a cluster of similar recent tickets, raised to the responsible department."""

    class Status(models.TextChoices):
        OPEN = "open", _("待处置")
        ACKNOWLEDGED = "acknowledged", _("已处置")

    fingerprint = models.CharField(max_length=64, unique=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL)
    region_code = models.CharField(max_length=12, blank=True)
    grid_code = models.CharField(max_length=15, blank=True)
    terms = models.CharField(max_length=200, blank=True)
    ticket_count = models.PositiveIntegerField(default=0)
    ticket_ids = models.JSONField(default=list)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    department = models.ForeignKey("identity.Department", null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("热点预警")
        verbose_name_plural = _("热点预警")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.terms


class SensorAlert(models.Model):
    """物联感知: one open alert per device and metric; repeats raise its count, not new tickets."""

    device_id = models.CharField(_("设备编号"), max_length=64)
    metric = models.CharField(_("指标"), max_length=40)
    value = models.FloatField(_("读数"))
    threshold = models.FloatField(_("阈值"))
    place = models.CharField(_("位置"), max_length=200, blank=True)
    region_code = models.CharField(max_length=12, blank=True)
    count = models.PositiveIntegerField(default=1)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    open = models.BooleanField(default=True)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("感知告警")
        verbose_name_plural = _("感知告警")
        constraints = [
            models.UniqueConstraint(
                fields=["device_id", "metric"], condition=models.Q(open=True), name="hotline_sensor_one_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.device_id}:{self.metric}"


class GridArea(models.Model):
    """网格的空间范围: a grid cell's polygon (imported GeoJSON), keyed by the grid code the
    registries' ``GridCell``, the grid workers and the tickets use. Drawn on the grid map."""

    code = models.CharField(_("网格编码"), max_length=15, unique=True)
    name = models.CharField(_("网格名称"), max_length=100)
    region_code = models.CharField(_("所在行政区划"), max_length=12, db_index=True)
    # A GeoJSON geometry: {"type": "Polygon"|"MultiPolygon", "coordinates": [...]} in degrees (CGCS2000).
    geometry = models.JSONField(_("范围"))
    imported_at = models.DateTimeField(_("导入时间"))

    class Meta:
        verbose_name = _("网格范围")
        verbose_name_plural = _("网格范围")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name}({self.code})"


class Patrol(models.Model):
    """网格员巡查: one round of a grid worker through a grid cell — its route (points with time)
    and the issues found on the way, each of which became a ticket (``Ticket.patrol``)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("巡查中")
        FINISHED = "finished", _("已结束")

    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("网格员"), on_delete=models.PROTECT, related_name="hotline_patrols"
    )
    grid_code = models.CharField(_("网格"), max_length=15, db_index=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    # [{"lat": "31.300000", "lon": "120.580000", "at": "2026-12-03T09:00:00+08:00", "note": ""}, ...]
    route = models.JSONField(_("巡查路线"), default=list, blank=True)
    note = models.TextField(_("巡查情况"), blank=True)
    started_at = models.DateTimeField(_("开始时间"))
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("巡查记录")
        verbose_name_plural = _("巡查记录")
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.grid_code}:{self.started_at:%Y-%m-%d}"
