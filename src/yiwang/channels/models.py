"""Service channels beside cases: postal delivery of a result (快递送达) and cross-region
acceptance (跨省通办 / 异地代收).

``PostalDelivery`` is the applicant's choice to receive a case's result by post, with the
address (encrypted at rest) and, once dispatched, the courier's waybill; ``TrackingEvent`` is one
signed callback of the courier, kept once per courier event id. ``CrossRegionForward`` is a case
taken in at a window of one region for an item handled in another: the receiving hall, the
handling department and where the result goes back to.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yiwang.core.fields import EncryptedTextField


class AddressSource(models.TextChoices):
    APPLICANT = "applicant", _("申请人填写")
    REGISTRY = "registry", _("人口库户籍地址")


class PostalState(models.TextChoices):
    REQUESTED = "requested", _("待交寄")
    DISPATCHED = "dispatched", _("已下单")
    PICKED_UP = "picked_up", _("已揽收")
    IN_TRANSIT = "in_transit", _("运输中")
    OUT_FOR_DELIVERY = "out_for_delivery", _("派送中")
    SIGNED = "signed", _("已签收")
    RETURNED = "returned", _("已退回")


# The courier's statuses in the order they happen; a callback never moves a delivery backwards.
TRACKING_ORDER = {
    PostalState.DISPATCHED: 0,
    PostalState.PICKED_UP: 1,
    PostalState.IN_TRANSIT: 2,
    PostalState.OUT_FOR_DELIVERY: 3,
    PostalState.SIGNED: 4,
    PostalState.RETURNED: 4,
}
FINAL_STATES = (PostalState.SIGNED, PostalState.RETURNED)


class PostalDelivery(models.Model):
    case = models.OneToOneField(
        "cases.Case", verbose_name=_("办件"), on_delete=models.PROTECT, related_name="postal_delivery"
    )
    recipient_name = EncryptedTextField(_("收件人"))
    recipient_phone = EncryptedTextField(_("收件人电话"))
    address = EncryptedTextField(_("收件地址"))
    region_code = models.CharField(_("收件地区划代码"), max_length=12)
    postal_code = models.CharField(_("邮政编码"), max_length=6, blank=True)
    source = models.CharField(_("地址来源"), max_length=10, choices=AddressSource.choices)
    state = models.CharField(_("邮寄状态"), max_length=20, choices=PostalState.choices, default=PostalState.REQUESTED)
    courier = models.CharField(_("寄递企业"), max_length=30, blank=True)
    waybill_no = models.CharField(_("运单号"), max_length=40, null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("申请时间"), auto_now_add=True)
    dispatched_at = models.DateTimeField(_("交寄时间"), null=True, blank=True)
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    finished_at = models.DateTimeField(_("签收或退回时间"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("邮寄送达")
        verbose_name_plural = _("邮寄送达")
        constraints = [
            models.UniqueConstraint(fields=["courier", "waybill_no"], name="channels_waybill_unique"),
        ]

    def __str__(self) -> str:
        return self.waybill_no or f"postal #{self.pk}"


class TrackingEvent(models.Model):
    """One tracking callback (or polled event) of the courier, stored once per courier event id."""

    delivery = models.ForeignKey(PostalDelivery, on_delete=models.CASCADE, related_name="events")
    courier = models.CharField(max_length=30)
    event_id = models.CharField(_("事件编号"), max_length=64)
    status = models.CharField(_("状态"), max_length=20, choices=PostalState.choices)
    occurred_at = models.DateTimeField(_("发生时间"))
    location = models.CharField(_("地点"), max_length=100, blank=True)
    description = models.CharField(_("说明"), max_length=200, blank=True)
    applied = models.BooleanField(_("推进了邮寄状态"), default=False)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("物流轨迹")
        verbose_name_plural = _("物流轨迹")
        ordering = ["occurred_at", "id"]
        constraints = [models.UniqueConstraint(fields=["courier", "event_id"], name="channels_event_unique")]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.status}"


class ForwardState(models.TextChoices):
    FORWARDED = "forwarded", _("已转办理地")
    HANDLING = "handling", _("办理地已签收")
    RESULT_RETURNED = "result_returned", _("结果已返回")
    COMPLETED = "completed", _("已送达")


class ReturnMethod(models.TextChoices):
    WINDOW = "window", _("回收件窗口领取")
    POST = "post", _("邮寄送达")


class CrossRegionForward(models.Model):
    """A case taken in at a window of one region for an item of another (异地代收, 无差别受理)."""

    case = models.OneToOneField(
        "cases.Case", verbose_name=_("办件"), on_delete=models.PROTECT, related_name="cross_region_forward"
    )
    receiving_hall = models.ForeignKey(
        "identity.Department", verbose_name=_("收件大厅"), on_delete=models.PROTECT, related_name="+"
    )
    receiving_region = models.CharField(_("收件地区划"), max_length=12)
    handling_department = models.ForeignKey(
        "identity.Department", verbose_name=_("办理部门"), on_delete=models.PROTECT, related_name="+"
    )
    handling_region = models.CharField(_("办理地区划"), max_length=12)
    return_method = models.CharField(_("结果送达方式"), max_length=10, choices=ReturnMethod.choices)
    state = models.CharField(_("状态"), max_length=20, choices=ForwardState.choices, default=ForwardState.FORWARDED)
    identity_checked = models.BooleanField(_("已核验身份"), default=False)
    materials_checked = models.BooleanField(_("已核验材料"), default=False)
    forwarded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    forwarded_at = models.DateTimeField(_("转办时间"), auto_now_add=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField(_("办理地签收时间"), null=True, blank=True)
    returned_at = models.DateTimeField(_("结果返回时间"), null=True, blank=True)
    completed_at = models.DateTimeField(_("送达时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("异地代收")
        verbose_name_plural = _("异地代收")
        indexes = [models.Index(fields=["receiving_region", "state"], name="channels_fwd_receiving_idx")]

    def __str__(self) -> str:
        return f"{self.receiving_region} → {self.handling_region}"


class PeerInstallation(models.Model):
    """Another Yiwang installation (跨省通办 between installations). Outbound: its ``base_url``, the
    regions it handles (``region_prefix``) and the credential its exchange issued to us
    (``client_id`` and ``client_secret``, encrypted) — used to forward to it, and to call it back
    with the result of a case it forwarded to us. Inbound: the client id our exchange issued to it
    (``inbound_client_id``: identifies its forwards and its result callbacks) and our window-clerk
    account that takes its applications in (``inbound_clerk``)."""

    code = models.CharField(_("代码"), max_length=30, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    region_prefix = models.CharField(_("办理地区划前缀"), max_length=12, blank=True)
    base_url = models.URLField(_("地址"), blank=True)
    client_id = models.CharField(_("系统凭证 client_id"), max_length=64, blank=True)
    client_secret = EncryptedTextField(_("系统凭证密钥"), blank=True)
    inbound_client_id = models.CharField(_("对方在本平台的 client_id"), max_length=64, blank=True)
    inbound_clerk = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("对端一网平台")
        verbose_name_plural = _("对端一网平台")

    def __str__(self) -> str:
        return self.name


class RemoteForward(models.Model):
    """An application taken in here and forwarded to another installation; its state there is
    read back over the signed API."""

    peer = models.ForeignKey(PeerInstallation, on_delete=models.PROTECT, related_name="forwards")
    item_code = models.CharField(_("事项实施编码"), max_length=64)
    applicant_name = models.CharField(_("申请人"), max_length=200)
    applicant_id_number = EncryptedTextField(_("申请人证件号码"))
    hall = models.ForeignKey("identity.Department", on_delete=models.PROTECT, related_name="+")
    remote_case_id = models.PositiveBigIntegerField(_("对端办件 ID"))
    remote_case_number = models.CharField(_("对端办件编号"), max_length=32)
    remote_state = models.CharField(_("对端办件状态"), max_length=24)
    idempotency_key = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    result_received_at = models.DateTimeField(_("收到办理结果时间"), null=True, blank=True)
    # Forwarded from a case taken in at this installation's window (the clerk's form page); empty
    # when sent through the API with the application's data only.
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("本地办件")
    )
    reason = models.CharField(_("转办原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("跨平台转办")
        verbose_name_plural = _("跨平台转办")
        constraints = [
            models.UniqueConstraint(fields=["peer", "idempotency_key"], name="channels_remote_idem_unique"),
        ]

    def __str__(self) -> str:
        return self.remote_case_number


class NotifyState(models.TextChoices):
    NONE = "none", _("无需回告")
    PENDING = "pending", _("待回告")
    SENT = "sent", _("已回告")


class InboundForward(models.Model):
    """A case another installation forwarded to us (the handling side). When the case is decided
    the result is called back to that installation over the signed API: ``notify_state`` is set
    ``pending`` in the decision's wake and ``sent`` once the other side answered; the job
    ``channels.results_notify`` retries what is still pending."""

    peer = models.ForeignKey(PeerInstallation, on_delete=models.PROTECT, related_name="inbound_forwards")
    case = models.OneToOneField("cases.Case", on_delete=models.PROTECT, related_name="inbound_forward")
    reference = models.CharField(_("对方转办编号"), max_length=64)
    notify_state = models.CharField(_("结果回告"), max_length=10, choices=NotifyState.choices, default=NotifyState.NONE)
    notified_state = models.CharField(_("已回告的办件状态"), max_length=24, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=200, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("跨平台转入")
        verbose_name_plural = _("跨平台转入")
        constraints = [
            models.UniqueConstraint(fields=["peer", "reference"], name="channels_inbound_ref_unique"),
        ]
        indexes = [models.Index(fields=["notify_state"], name="channels_inbound_notify_idx")]

    def __str__(self) -> str:
        return f"{self.peer_id}:{self.reference}"
