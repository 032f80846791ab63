"""Appointments (预约) at the service halls and the self-service kiosks (自助端).

A hall (服务大厅) is a department of the tree where window clerks hold their grants (the same
department that ``cases`` records as a walk-in's ``intake_department``); ``Hall`` adds what
booking needs: its address and whether it takes bookings. Slots are generated from weekly
``SlotTemplate`` rows over the working-day calendar; ``Slot.booked`` is the counter that the
booking service increments with a conditional ``UPDATE … WHERE booked < capacity`` — the
database, not Python, keeps a slot from being booked beyond its capacity (and a check
constraint says so too).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Hall(models.Model):
    department = models.OneToOneField(
        "identity.Department", verbose_name=_("所属部门(大厅)"), on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("大厅名称"), max_length=100)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    is_active = models.BooleanField(_("接受预约"), default=True)

    class Meta:
        verbose_name = _("服务大厅")
        verbose_name_plural = _("服务大厅")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class SlotTemplate(models.Model):
    """Every ``weekday`` (0 = Monday) the hall offers ``capacity`` bookings of the item from
    ``start_time`` to ``end_time``, on working days only: a holiday gets no slots, and a make-up
    working Saturday (调休) gets the rows of weekday 5, if any."""

    hall = models.ForeignKey(Hall, verbose_name=_("大厅"), on_delete=models.CASCADE, related_name="templates")
    item_code = models.CharField(_("事项实施编码"), max_length=64)
    item_name = models.CharField(_("事项名称"), max_length=200)
    weekday = models.PositiveSmallIntegerField(_("星期"), help_text=_("0 为星期一,6 为星期日"))
    start_time = models.TimeField(_("开始时间"))
    end_time = models.TimeField(_("结束时间"))
    capacity = models.PositiveIntegerField(_("可约人数"))
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("号源模板")
        verbose_name_plural = _("号源模板")
        ordering = ["hall", "item_code", "weekday", "start_time"]
        constraints = [
            models.UniqueConstraint(
                fields=["hall", "item_code", "weekday", "start_time"], name="appointments_template_unique"
            ),
            models.CheckConstraint(
                condition=Q(end_time__gt=models.F("start_time")), name="appointments_template_times"
            ),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="appointments_template_weekday"),
        ]

    def __str__(self) -> str:
        return f"{self.hall_id}:{self.item_code} {self.weekday} {self.start_time:%H:%M}"


class Slot(models.Model):
    hall = models.ForeignKey(Hall, verbose_name=_("大厅"), on_delete=models.CASCADE, related_name="slots")
    item_code = models.CharField(_("事项实施编码"), max_length=64)
    item_name = models.CharField(_("事项名称"), max_length=200)
    date = models.DateField(_("日期"))
    start_time = models.TimeField(_("开始时间"))
    end_time = models.TimeField(_("结束时间"))
    capacity = models.PositiveIntegerField(_("可约人数"))
    booked = models.PositiveIntegerField(_("已约人数"), default=0)

    class Meta:
        verbose_name = _("预约时段")
        verbose_name_plural = _("预约时段")
        ordering = ["date", "start_time", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["hall", "item_code", "date", "start_time"], name="appointments_slot_unique"
            ),
            models.CheckConstraint(condition=Q(booked__lte=models.F("capacity")), name="appointments_slot_not_over"),
        ]
        indexes = [models.Index(fields=["hall", "item_code", "date"])]

    def __str__(self) -> str:
        return f"{self.item_code} {self.date} {self.start_time:%H:%M}"

    @property
    def remaining(self) -> int:
        return max(0, self.capacity - self.booked)


class BookingState(models.TextChoices):
    BOOKED = "booked", _("已预约")
    CHECKED_IN = "checked_in", _("已签到")
    CANCELLED = "cancelled", _("已取消")
    NO_SHOW = "no_show", _("爽约")


ACTIVE_BOOKING_STATES = (BookingState.BOOKED, BookingState.CHECKED_IN)


class Booking(models.Model):
    number = models.CharField(_("预约号"), max_length=20, unique=True)
    slot = models.ForeignKey(Slot, verbose_name=_("时段"), on_delete=models.PROTECT, related_name="bookings")
    citizen = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("预约人"), on_delete=models.PROTECT, related_name="+"
    )
    # Copied from the slot so that "one booking of an item per person per day" is a constraint.
    item_code = models.CharField(_("事项实施编码"), max_length=64)
    date = models.DateField(_("日期"))
    state = models.CharField(_("状态"), max_length=12, choices=BookingState.choices, default=BookingState.BOOKED)
    channel = models.CharField(_("预约渠道"), max_length=10, default="portal")
    idempotency_key = models.CharField(_("幂等键"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("预约时间"), auto_now_add=True)
    changed_at = models.DateTimeField(_("改约时间"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("取消时间"), null=True, blank=True)
    checked_in_at = models.DateTimeField(_("签到时间"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("提醒时间"), null=True, blank=True)
    no_show_at = models.DateTimeField(_("记为爽约时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("预约")
        verbose_name_plural = _("预约")
        ordering = ["-date", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["citizen", "item_code", "date"],
                condition=Q(state__in=["booked", "checked_in"]),
                name="appointments_one_item_per_day",
            ),
            models.UniqueConstraint(
                fields=["citizen", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="appointments_booking_idempotent",
            ),
        ]
        indexes = [models.Index(fields=["state", "date"]), models.Index(fields=["citizen", "state"])]

    def __str__(self) -> str:
        return self.number


class TicketKind(models.TextChoices):
    APPOINTMENT = "appointment", _("预约")
    WALK_IN = "walk_in", _("现场取号")


class TicketState(models.TextChoices):
    WAITING = "waiting", _("等候中")
    CALLED = "called", _("已叫号")
    DONE = "done", _("已办理")
    SKIPPED = "skipped", _("过号")


class QueueCounter(models.Model):
    """The last number given out per hall, day and prefix (A: appointments, B: walk-ins)."""

    hall = models.ForeignKey(Hall, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    prefix = models.CharField(max_length=1)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hall", "date", "prefix"], name="appointments_counter_unique")]

    def __str__(self) -> str:
        return f"{self.hall_id} {self.date} {self.prefix}{self.last}"


class QueueTicket(models.Model):
    hall = models.ForeignKey(Hall, verbose_name=_("大厅"), on_delete=models.CASCADE, related_name="tickets")
    date = models.DateField(_("日期"))
    code = models.CharField(_("排队号"), max_length=8)
    kind = models.CharField(_("类型"), max_length=12, choices=TicketKind.choices)
    booking = models.OneToOneField(
        Booking, verbose_name=_("预约"), null=True, blank=True, on_delete=models.PROTECT, related_name="ticket"
    )
    item_code = models.CharField(_("事项实施编码"), max_length=64)
    item_name = models.CharField(_("事项名称"), max_length=200)
    masked_name = models.CharField(_("姓名(脱敏)"), max_length=40, blank=True)
    state = models.CharField(_("状态"), max_length=10, choices=TicketState.choices, default=TicketState.WAITING)
    window_label = models.CharField(_("窗口"), max_length=20, blank=True)
    issued_at = models.DateTimeField(_("取号时间"), auto_now_add=True)
    called_at = models.DateTimeField(_("叫号时间"), null=True, blank=True)
    called_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("排队号")
        verbose_name_plural = _("排队号")
        ordering = ["date", "pk"]
        constraints = [models.UniqueConstraint(fields=["hall", "date", "code"], name="appointments_ticket_unique")]
        indexes = [models.Index(fields=["hall", "date", "state"])]

    def __str__(self) -> str:
        return self.code


class KioskDevice(models.Model):
    """A self-service terminal in a hall. A browser becomes this kiosk by entering the device's
    activation code once (its SM3 digest is stored); it then carries a signed cookie."""

    hall = models.ForeignKey(Hall, verbose_name=_("大厅"), on_delete=models.PROTECT, related_name="kiosks")
    name = models.CharField(_("终端名称"), max_length=100)
    code_digest = models.CharField(max_length=64, editable=False)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("自助终端")
        verbose_name_plural = _("自助终端")

    def __str__(self) -> str:
        return self.name


class KioskLoginState(models.TextChoices):
    PENDING = "pending", _("待扫码确认")
    CONFIRMED = "confirmed", _("已确认")
    USED = "used", _("已登录")


class KioskLogin(models.Model):
    """One QR sign-in: the kiosk shows ``token`` as a QR; the citizen, signed in on the phone,
    opens it and confirms; the kiosk's next poll signs the kiosk session in (once)."""

    device = models.ForeignKey(KioskDevice, on_delete=models.CASCADE, related_name="+")
    token_digest = models.CharField(max_length=64, unique=True)
    state = models.CharField(max_length=10, choices=KioskLoginState.choices, default=KioskLoginState.PENDING)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.device_id}:{self.pk} {self.state}"


class KioskSmsCode(models.Model):
    """A six-digit SMS code for signing in at a kiosk by ID number; stored as a digest. The SMS
    carrying it is sent at once through the SMS gateway and is not kept in the message log
    (its text would hold the code): this row is its log — when, to which (masked) number, the
    gateway's receipt or the error."""

    device = models.ForeignKey(KioskDevice, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    code_digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("短信发送时间"), null=True, blank=True)
    phone_masked = models.CharField(_("手机号(脱敏)"), max_length=20, blank=True)
    provider_ref = models.CharField(_("网关回执"), max_length=100, blank=True)
    error = models.CharField(_("发送失败原因"), max_length=300, blank=True)

    def __str__(self) -> str:
        return f"{self.device_id}:{self.pk}"
