"""Messaging (消息中心): templates, messages in three channels, and the log of delivery attempts.

A ``Template`` is the wording of one notification (``code``) in one channel, as Django
template text, editable in the admin. ``message_send`` renders it into a ``Message`` per
channel for one recipient; in-app messages are delivered by being stored, e-mail and SMS
ones by a background task that logs every attempt as a ``Delivery``. Addresses (e-mail,
phone) are never stored in clear: they are read from the user at delivery time, and the
log keeps them masked.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    IN_APP = "in_app", _("站内消息")
    EMAIL = "email", _("电子邮件")
    SMS = "sms", _("短信")


class MessageState(models.TextChoices):
    QUEUED = "queued", _("待发送")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("发送失败")
    SKIPPED = "skipped", _("未发送")
    READ = "read", _("已读")


class TemplateKind(models.TextChoices):
    """Whether a person may turn a notification off (docs/messaging.md, "Preferences").

    A legal notice (法定告知) tells an applicant of an act with legal effect on their case —
    受理, 不予受理, 补正, the decision — and is sent in every channel it has, whatever the
    person's preferences. A service notice (服务提醒) respects them."""

    LEGAL = "legal", _("法定告知")
    SERVICE = "service", _("服务提醒")


class Template(models.Model):
    """The wording of one notification in one channel (Django template language)."""

    code = models.CharField(_("模板代码"), max_length=64, help_text=_("程序发送通知时使用的代码,如 case.sla_warning"))
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices)
    name = models.CharField(_("名称"), max_length=100)
    subject = models.CharField(_("标题"), max_length=200, help_text=_("Django 模板语法,如 {{ number }}"))
    body = models.TextField(_("正文"), help_text=_("Django 模板语法;可用变量见 docs/messaging.md"))
    active = models.BooleanField(_("启用"), default=True, help_text=_("停用后,该渠道不再发送此通知"))
    kind = models.CharField(
        _("类别"),
        max_length=10,
        choices=TemplateKind.choices,
        default=TemplateKind.SERVICE,
        help_text=_("法定告知(受理、不予受理、补正、决定)不受个人退订影响,始终发送"),
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("消息模板")
        verbose_name_plural = _("消息模板")
        ordering = ["code", "channel"]
        constraints = [models.UniqueConstraint(fields=["code", "channel"], name="messaging_template_unique")]

    def __str__(self) -> str:
        return f"{self.code} · {self.get_channel_display()}"


class Message(models.Model):
    """One notification to one person in one channel, rendered when it was sent."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("接收人"), on_delete=models.CASCADE, related_name="messages"
    )
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices)
    template_code = models.CharField(_("模板代码"), max_length=64)
    subject = models.CharField(_("标题"), max_length=300)
    body = models.TextField(_("正文"))
    ref_type = models.CharField(_("关联对象类型"), max_length=40, blank=True)
    ref_id = models.CharField(_("关联对象"), max_length=64, blank=True)
    ref_url = models.CharField(_("关联链接"), max_length=300, blank=True)
    state = models.CharField(_("状态"), max_length=10, choices=MessageState.choices, default=MessageState.QUEUED)
    # The same notification about the same thing is sent once per recipient and channel.
    dedupe_key = models.CharField(_("去重键"), max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(_("发送次数"), default=0)
    # E-mail and SMS: when the next attempt is due (set at creation, pushed back by a retry),
    # and until when a worker holds the attempt it claimed. An attempt is made only by the
    # worker whose claim (one conditional UPDATE) succeeded: services.message_deliver.
    next_attempt_at = models.DateTimeField(_("下次发送时间"), null=True, blank=True)
    claimed_until = models.DateTimeField(_("发送占用至"), null=True, blank=True)
    last_error = models.TextField(_("最近错误"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("消息")
        verbose_name_plural = _("消息")
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "channel", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="messaging_message_dedupe",
            )
        ]
        indexes = [
            # The inbox (newest first) and the header's unread count.
            models.Index(fields=["recipient", "channel", "state"], name="messaging_inbox_idx"),
            models.Index(fields=["state", "channel", "created_at"], name="messaging_queue_idx"),
            models.Index(fields=["state", "next_attempt_at"], name="messaging_due_idx"),
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def unread(self) -> bool:
        return self.channel == Channel.IN_APP and self.state == MessageState.SENT


class DeliveryOutcome(models.TextChoices):
    SENT = "sent", _("成功")
    FAILED = "failed", _("失败")
    SKIPPED = "skipped", _("未发送")


class Delivery(models.Model):
    """One attempt to deliver an e-mail or SMS message (the delivery log)."""

    message = models.ForeignKey(Message, verbose_name=_("消息"), on_delete=models.CASCADE, related_name="deliveries")
    attempt = models.PositiveSmallIntegerField(_("第几次"))
    attempted_at = models.DateTimeField(_("时间"), auto_now_add=True)
    outcome = models.CharField(_("结果"), max_length=10, choices=DeliveryOutcome.choices)
    address = models.CharField(_("地址(脱敏)"), max_length=100, blank=True)
    provider_ref = models.CharField(_("网关回执"), max_length=100, blank=True)
    error = models.TextField(_("错误信息"), blank=True)

    class Meta:
        verbose_name = _("发送记录")
        verbose_name_plural = _("发送记录")
        ordering = ["message", "attempt", "id"]

    def __str__(self) -> str:
        return f"{self.message_id} #{self.attempt} {self.outcome}"


class NotificationPreference(models.Model):
    """A person's choice of channels. In-app messages are always on; e-mail and SMS can be
    turned off, except for legal notices (``TemplateKind.LEGAL``). No row: everything on."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("用户"),
        on_delete=models.CASCADE,
        related_name="notification_preference",
    )
    email = models.BooleanField(_("接收电子邮件通知"), default=True)
    sms = models.BooleanField(_("接收短信通知"), default=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("通知偏好")
        verbose_name_plural = _("通知偏好")

    def __str__(self) -> str:
        return f"{self.user_id}: email={self.email} sms={self.sms}"

    def allows(self, channel: str) -> bool:
        return {Channel.EMAIL: self.email, Channel.SMS: self.sms}.get(channel, True)


# --- staff chat (即时通讯) ---------------------------------------------------------------------


class ChatGroupKind(models.TextChoices):
    DEPARTMENT = "department", _("部门群")
    TASK = "task", _("任务群")
    INCIDENT = "incident", _("事件群")


class ChatGroup(models.Model):
    """A staff chat group. A department group's members are whoever holds a role in that
    department (they follow the role grants, nothing to keep in step); a task or incident
    group's members are the ``ChatMembership`` rows its members invited."""

    name = models.CharField(_("群名称"), max_length=100)
    kind = models.CharField(_("群类型"), max_length=12, choices=ChatGroupKind.choices)
    department = models.ForeignKey(
        "identity.Department",
        verbose_name=_("部门"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # What a task or incident group is about: e.g. ("hotline_ticket", "12345-20261203-0001").
    ref_type = models.CharField(_("关联对象类型"), max_length=40, blank=True)
    ref_id = models.CharField(_("关联对象"), max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    last_message_at = models.DateTimeField(_("最近消息时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("工作群")
        verbose_name_plural = _("工作群")
        constraints = [
            models.UniqueConstraint(
                fields=["department"], condition=Q(kind="department"), name="messaging_chatgroup_one_per_department"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ChatMembership(models.Model):
    """A person in a group: for a task or incident group the membership itself (``active``);
    for every group where the person reads, how far they have read (``last_read_id``)."""

    group = models.ForeignKey(ChatGroup, verbose_name=_("工作群"), on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("成员"), on_delete=models.CASCADE, related_name="+"
    )
    active = models.BooleanField(_("在群中"), default=True)
    last_read_id = models.PositiveBigIntegerField(_("已读至消息"), default=0)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("邀请人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    joined_at = models.DateTimeField(_("加入时间"), auto_now_add=True)
    left_at = models.DateTimeField(_("退出时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("群成员")
        verbose_name_plural = _("群成员")
        constraints = [models.UniqueConstraint(fields=["group", "user"], name="messaging_chatmembership_unique")]
        indexes = [models.Index(fields=["user", "active"], name="messaging_chatmember_user_idx")]

    def __str__(self) -> str:
        return f"{self.group_id}: {self.user_id}"


def chat_attachment_upload_to(instance: "ChatMessage", filename: str) -> str:
    import uuid

    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"messaging/chat/{instance.group_id}/{uuid.uuid4().hex}.{extension[:8]}"


class ChatMessage(models.Model):
    """One message in a group: text, a file, or both. Files are checked by their content."""

    group = models.ForeignKey(ChatGroup, verbose_name=_("工作群"), on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("发送人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(_("内容"), blank=True)
    attachment = models.FileField(_("附件"), upload_to=chat_attachment_upload_to, blank=True, max_length=300)
    attachment_name = models.CharField(_("附件名称"), max_length=200, blank=True)
    attachment_type = models.CharField(_("附件类型"), max_length=100, blank=True)
    attachment_size = models.PositiveIntegerField(_("附件大小"), default=0)
    created_at = models.DateTimeField(_("发送时间"), auto_now_add=True)
    # Its author may edit or recall it within ``YIWANG_CHAT_CHANGE_MINUTES`` (audited); a poll
    # re-sends the messages changed since its last look (``changed_at``).
    edited_at = models.DateTimeField(_("编辑时间"), null=True, blank=True)
    recalled_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)
    changed_at = models.DateTimeField(_("最后变更时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("群消息")
        verbose_name_plural = _("群消息")
        indexes = [
            models.Index(fields=["group", "id"], name="messaging_chatmsg_group_idx"),
            models.Index(fields=["group", "changed_at"], name="messaging_chatmsg_changed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.group_id} #{self.pk}"

    @property
    def is_recalled(self) -> bool:
        return self.recalled_at is not None


# --- work instructions (一键触达) ---------------------------------------------------------------


class WorkInstruction(models.Model):
    """A work instruction sent "一键触达" to departments and people, each of whom must
    acknowledge it by ``deadline``; unacknowledged ones escalate to the recipient's
    department heads (``tasks.escalate_instructions``)."""

    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("发送人"), on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"))
    deadline = models.DateTimeField(_("确认期限"))
    departments = models.ManyToManyField(
        "identity.Department", verbose_name=_("接收部门"), blank=True, related_name="+"
    )
    # The form's one-time key: a double-clicked submit sends one instruction.
    request_key = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(_("发送时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("工作指令")
        verbose_name_plural = _("工作指令")
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "request_key"], condition=~Q(request_key=""), name="messaging_instruction_once"
            )
        ]

    def __str__(self) -> str:
        return self.title


class InstructionReceipt(models.Model):
    """One recipient of an instruction: when they read it, acknowledged it, and when it was
    escalated for want of an acknowledgement. ``department`` is where it reached them (the
    department it was sent to, or their own), whose heads an escalation goes to."""

    instruction = models.ForeignKey(
        WorkInstruction, verbose_name=_("工作指令"), on_delete=models.CASCADE, related_name="receipts"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("接收人"), on_delete=models.CASCADE, related_name="+"
    )
    department = models.ForeignKey(
        "identity.Department",
        verbose_name=_("所在部门"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    note = models.CharField(_("确认说明"), max_length=500, blank=True)
    escalated_at = models.DateTimeField(_("督办时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("指令回执")
        verbose_name_plural = _("指令回执")
        constraints = [models.UniqueConstraint(fields=["instruction", "recipient"], name="messaging_receipt_unique")]
        indexes = [
            models.Index(fields=["recipient", "acknowledged_at"], name="messaging_receipt_inbox_idx"),
            models.Index(fields=["acknowledged_at", "escalated_at"], name="messaging_receipt_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.instruction_id}: {self.recipient_id}"

    @property
    def status(self) -> str:
        if self.acknowledged_at:
            return "acknowledged"
        return "read" if self.read_at else "unread"
