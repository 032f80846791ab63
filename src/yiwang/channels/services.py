"""Channel writes: postal delivery of a case's result and cross-region acceptance.

Every service is keyword-only, atomic and audited; the case's timeline is written through
``cases.services.case_channel_note`` and delivery by post through ``case_deliver_by_post``
(this app never writes the cases' tables). Who may act is decided on the case as the cases
app shows it: ``cases.selectors.case_get`` (a case the actor may not see is ``NotFound``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.cases import selectors as case_selectors
from yiwang.cases import services as case_services
from yiwang.channels import couriers
from yiwang.channels.models import (
    FINAL_STATES,
    TRACKING_ORDER,
    AddressSource,
    CrossRegionForward,
    ForwardState,
    InboundForward,
    NotifyState,
    PeerInstallation,
    PostalDelivery,
    PostalState,
    RemoteForward,
    ReturnMethod,
    TrackingEvent,
)
from yiwang.channels.selectors import mask_address
from yiwang.core.audit import audit_record
from yiwang.core.codes import region_name, region_prefix, validate_region_code
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed, YiwangError
from yiwang.core.masking import mask_name, mask_phone
from yiwang.identity.models import Role
from yiwang.identity.selectors import actor_has_role

POSTAL_STEP, CROSS_REGION_STEP = case_services.CHANNEL_STEP_KINDS
ADDRESS_PURPOSE = "邮寄送达:读取申请人户籍地址"
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_POSTAL_CODE = re.compile(r"^\d{6}$")
# The case states in which the applicant may still choose (or change) delivery by post.
_POSTAL_OPEN_STATES = ("submitted", "supplement_requested", "accepted", "under_review", "approved", "rejected")
_DECIDED = ("approved", "rejected")
STATUS_LABELS = {
    PostalState.PICKED_UP: "已揽收",
    PostalState.IN_TRANSIT: "运输中",
    PostalState.OUT_FOR_DELIVERY: "派送中",
    PostalState.SIGNED: "已签收",
    PostalState.RETURNED: "已退回",
}


# --- postal delivery ---------------------------------------------------------------------------


def _clean_address(
    *, recipient_name: str, recipient_phone: str, address: str, region_code: str, postal_code: str
) -> dict:
    """The address checked field by field; ``ValidationFailed`` naming every bad field at once."""
    name = (recipient_name or "").strip()
    phone = re.sub(r"[\s-]", "", recipient_phone or "")
    text = re.sub(r"\s+", " ", address or "").strip()
    code = re.sub(r"\s", "", region_code or "")
    post = (postal_code or "").strip()
    problems: dict[str, str] = {}
    if not name or len(name) > 50:
        problems["recipient_name"] = _("请填写收件人姓名(不超过 50 个字)")
    if not _MOBILE.match(phone):
        problems["recipient_phone"] = _("请填写 11 位手机号码")
    if len(text) < 8 or len(text) > 200 or text.isdigit():
        problems["address"] = _("请填写详细地址(街道、门牌号,8 至 200 个字)")
    try:
        code = validate_region_code(code)
    except Exception:  # django ValidationError, or anything the code tables raise on garbage
        problems["region_code"] = _("请填写有效的行政区划代码")
    if post and not _POSTAL_CODE.match(post):
        problems["postal_code"] = _("邮政编码为 6 位数字")
    if problems:
        raise ValidationFailed(_("收件地址有误,请检查标出的项目。"), code="address_invalid", fields=problems)
    return {"recipient_name": name, "recipient_phone": phone, "address": text, "region_code": code, "postal_code": post}


def registry_address(*, actor, case) -> dict:
    """The applicant's 户籍地址 from the population registry, read through the exchange as the
    app ``channels`` (the read is in the evidence log with its purpose). ``{"address",
    "region_code"}``; ``NotFound`` (``registry_address_missing``) when the registry has none."""
    from yiwang.exchange import services as exchange

    try:
        result = exchange.registry_read(
            actor=actor,
            app="channels",
            purpose=ADDRESS_PURPOSE,
            registry="population",
            key=case.applicant_id_number,
            fields=["address", "address_code"],
        )
    except YiwangError as exc:
        raise NotFound(
            _("人口库中没有可用的户籍地址(%(reason)s),请手工填写收件地址。") % {"reason": exc.message},
            code="registry_address_missing",
        ) from exc
    values = result.values if hasattr(result, "values") else result["values"]
    address = values.get("address") or ""
    if not address or "*" in address:
        raise NotFound(_("人口库中没有可用的户籍地址,请手工填写收件地址。"), code="registry_address_missing")
    code = (values.get("address_code") or "")[:6] or case.applicant_id_number[:6]
    return {"address": address, "region_code": code}


def _may_request(actor, case) -> bool:
    if case.applicant_id == getattr(actor, "pk", None):
        return True
    return case_services.is_window_clerk(actor, case)


@transaction.atomic
def postal_request(
    *,
    actor,
    case_id,
    recipient_name: str = "",
    recipient_phone: str = "",
    address: str = "",
    region_code: str = "",
    postal_code: str = "",
    from_registry: bool = False,
) -> PostalDelivery:
    """Choose delivery by post for the case's result (the applicant, or a window clerk serving
    him). With ``from_registry`` the address is the applicant's 户籍地址 read from the population
    registry through the exchange; otherwise the given one, checked field by field. The same
    request again changes the address until the result is handed to the courier; afterwards
    ``Conflict``. The address is stored encrypted and audited masked."""
    case = case_selectors.case_get(actor=actor, case_id=case_id)
    if not _may_request(actor, case):
        raise Forbidden(_("只有申请人或窗口人员可以选择邮寄送达。"), code="forbidden")
    if case.state not in _POSTAL_OPEN_STATES:
        raise Conflict(
            _("办件当前状态为「%(state)s」,不能再选择邮寄送达。") % {"state": case.get_state_display()},
            code="case_state",
        )
    source = AddressSource.APPLICANT
    if from_registry:
        found = registry_address(actor=actor, case=case)
        address, region_code, source = found["address"], found["region_code"], AddressSource.REGISTRY
    clean = _clean_address(
        recipient_name=recipient_name or case.applicant_name,
        recipient_phone=recipient_phone or case.applicant_phone or "",
        address=address,
        region_code=region_code,
        postal_code=postal_code,
    )
    delivery = PostalDelivery.objects.select_for_update().filter(case_id=case.pk).first()
    if delivery is not None and delivery.state != PostalState.REQUESTED:
        raise Conflict(
            _("结果已交寄(运单号 %(no)s),不能再修改地址。") % {"no": delivery.waybill_no}, code="postal_dispatched"
        )
    created = delivery is None
    if created:
        delivery = PostalDelivery(case_id=case.pk, requested_by=actor)
    for name, value in clean.items():
        setattr(delivery, name, value)
    delivery.source = source
    delivery.save()
    shown = mask_address(clean["address"])
    case_services.case_channel_note(
        actor=actor,
        case_id=case.pk,
        kind=POSTAL_STEP,
        note=_("选择邮寄送达,收件人 %(name)s,地址 %(address)s")
        % {"name": mask_name(clean["recipient_name"]), "address": shown},
    )
    audit_record(
        actor=actor,
        action="channels.postal_request" if created else "channels.postal_change",
        obj=delivery,
        changes={
            "case": case.pk,
            "source": source,
            "address": shown,
            "recipient_phone": mask_phone(clean["recipient_phone"]),
            "region_code": clean["region_code"],
        },
    )
    return delivery


def _may_dispatch(actor, case) -> bool:
    if case_services.is_window_clerk(actor, case):
        return True
    return actor_has_role(actor, roles=(Role.REVIEWER, Role.DEPARTMENT_HEAD), department=case.department)


def postal_dispatch(*, actor, delivery_id) -> PostalDelivery:
    """Hand the decided case's result to the courier: a waybill through the courier adapter,
    then the delivery is ``dispatched``. By a window clerk serving the case or its department's
    reviewers and heads. Idempotent: a delivery already dispatched is returned unchanged. The
    courier is called outside the transaction (nothing is held while it answers); if two
    clerks dispatch at once, the first waybill written wins."""
    delivery = _delivery_for(actor=actor, delivery_id=delivery_id)
    case = case_selectors.case_get(actor=actor, case_id=delivery.case_id)
    if not _may_dispatch(actor, case):
        raise Forbidden(_("只有窗口人员或办理部门人员可以交寄和查询物流。"), code="forbidden")
    if delivery.waybill_no:
        return delivery
    if case.state not in _DECIDED:
        raise Conflict(_("办件尚未作出决定,结果还不能交寄。"), code="case_state")
    code = couriers.default_courier_code()
    courier = couriers.courier_get(code)
    hall = case.intake_department or case.department
    waybill_no = courier.create_waybill(
        couriers.WaybillOrder(
            reference=case.number,
            sender=hall.name,
            recipient_name=delivery.recipient_name,
            recipient_phone=delivery.recipient_phone,
            address=delivery.address,
            region_code=delivery.region_code,
            postal_code=delivery.postal_code,
        )
    )
    with transaction.atomic():
        delivery = PostalDelivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.waybill_no:
            return delivery
        delivery.courier, delivery.waybill_no = code, waybill_no
        delivery.state = PostalState.DISPATCHED
        delivery.dispatched_at, delivery.dispatched_by = timezone.now(), actor
        delivery.save()
        case_services.case_channel_note(
            actor=actor,
            case_id=case.pk,
            kind=POSTAL_STEP,
            note=_("办理结果已交寄,运单号 %(no)s") % {"no": waybill_no},
        )
        audit_record(
            actor=actor,
            action="channels.postal_dispatch",
            obj=delivery,
            changes={"courier": code, "waybill_no": waybill_no, "state": [PostalState.REQUESTED, delivery.state]},
        )
    return delivery


def _delivery_for(*, actor, delivery_id) -> PostalDelivery:
    from yiwang.channels.selectors import postal_get

    return postal_get(actor=actor, delivery_id=delivery_id)


@transaction.atomic
def tracking_apply(*, courier_code: str, update: couriers.TrackingUpdate) -> tuple[TrackingEvent, bool]:
    """Record one tracking event of a courier; returns (event, new). A repeated event id is
    ``new`` False and changes nothing (duplicate callbacks). An event that would move the
    delivery backwards, or arrives after 已签收/已退回, is kept in the tracking list but does
    not change the state (out-of-order callbacks). 已签收 marks the case delivered by post."""
    actor = f"courier:{courier_code}"
    delivery = (
        PostalDelivery.objects.select_for_update().filter(courier=courier_code, waybill_no=update.waybill_no).first()
    )
    if delivery is None:
        raise NotFound(_("未找到该运单。"), code="waybill_unknown", fields={"waybill_no": _("未找到该运单")})
    existing = TrackingEvent.objects.filter(courier=courier_code, event_id=update.event_id).first()
    if existing is not None:
        return existing, False
    advances = delivery.state not in FINAL_STATES and TRACKING_ORDER[update.status] > TRACKING_ORDER.get(
        delivery.state, -1
    )
    try:
        with transaction.atomic():
            event = TrackingEvent.objects.create(
                delivery=delivery,
                courier=courier_code,
                event_id=update.event_id,
                status=update.status,
                occurred_at=update.occurred_at,
                location=update.location,
                description=update.description,
                applied=advances,
            )
    except IntegrityError:  # the same event id committed by a concurrent callback
        return TrackingEvent.objects.get(courier=courier_code, event_id=update.event_id), False
    old = delivery.state
    if advances:
        delivery.state = update.status
        if update.status in FINAL_STATES:
            delivery.finished_at = update.occurred_at
        delivery.save()
        label = STATUS_LABELS[update.status]
        where = f" · {update.location}" if update.location else ""
        case_services.case_channel_note(
            actor=actor,
            case_id=delivery.case_id,
            kind=POSTAL_STEP,
            note=f"【{label}】{delivery.waybill_no}{where} {update.description}".strip(),
        )
        if update.status == PostalState.SIGNED:
            case_services.case_deliver_by_post(
                actor=actor,
                case_id=delivery.case_id,
                note=_("邮寄送达,运单号 %(no)s 已签收") % {"no": delivery.waybill_no},
            )
    audit_record(
        actor=actor,
        action="channels.tracking",
        obj=delivery,
        changes={
            "event_id": update.event_id,
            "status": update.status,
            "state": [old, delivery.state],
            "applied": advances,
        },
    )
    return event, True


def courier_callback(*, courier_code: str, headers, body: bytes) -> tuple[TrackingEvent, bool]:
    """A courier's tracking callback: the adapter verifies the signature and reads the event,
    then ``tracking_apply``. A refused callback (bad signature, stale time stamp, bad content,
    unknown waybill) is audited as ``channels.callback_refused`` and raised."""
    courier = couriers.courier_get(courier_code)
    try:
        update = courier.parse_callback(headers=headers, body=body)
        return tracking_apply(courier_code=courier_code, update=update)
    except YiwangError as exc:
        with transaction.atomic():
            audit_record(
                actor=f"courier:{courier_code}",
                action="channels.callback_refused",
                object_type="channels.courier",
                object_id=courier_code,
                changes={"code": exc.code, "size": len(body)},
            )
        raise


def tracking_refresh(*, actor, delivery_id) -> int:
    """Ask the courier for the waybill's tracking (when callbacks were missed) and apply every
    event not yet seen; returns how many were new. By whoever may dispatch the delivery."""
    delivery = _delivery_for(actor=actor, delivery_id=delivery_id)
    case = case_selectors.case_get(actor=actor, case_id=delivery.case_id)
    if not _may_dispatch(actor, case):
        raise Forbidden(_("只有窗口人员或办理部门人员可以交寄和查询物流。"), code="forbidden")
    if not delivery.waybill_no:
        raise Conflict(_("结果尚未交寄,没有物流信息。"), code="postal_not_dispatched")
    courier = couriers.courier_get(delivery.courier)
    new = 0
    for update in courier.query_tracking(delivery.waybill_no):
        new += tracking_apply(courier_code=delivery.courier, update=update)[1]
    return new


# --- cross-region acceptance (异地代收, 跨省通办) ------------------------------------------------


def is_cross_region(*, receiving_region: str, handling_region: str) -> bool:
    """Whether a window of ``receiving_region`` takes in for another region: the handling
    department's region is neither the window's own nor above it (a county hall taking in a
    city department's item is the city's ordinary 一窗受理, not 异地代收)."""
    return not (receiving_region or "").startswith(region_prefix(handling_region or ""))


@transaction.atomic
def forward_create(
    *,
    actor,
    case_id,
    identity_checked: bool,
    materials_checked: bool,
    return_method: str = ReturnMethod.WINDOW,
    note: str = "",
) -> CrossRegionForward:
    """The receiving window of one region takes in a case for another region's item and forwards
    it: the clerk confirms he checked the applicant's identity and the materials against the
    handling region's own form and list (无差别受理: the case was submitted on that item's form),
    the case is accepted (``cases.services.case_accept``) and goes to the handling department;
    the result comes back to this window (``window``) or by post (``post``, then the applicant's
    postal delivery is needed). ``ValidationFailed`` for a case of the clerk's own region
    (``not_cross_region``) or an unconfirmed check; ``NotFound`` for a case the clerk may not see."""
    case = case_selectors.case_get(actor=actor, case_id=case_id)
    if not case_services.is_window_clerk(actor, case):
        raise Forbidden(_("只有收件窗口人员可以异地代收转办。"), code="not_window_clerk")
    if case.intake_department_id is None:
        raise ValidationFailed(
            _("网上申报的办件不经窗口收件,无需异地代收。"),
            code="not_window_case",
            fields={"case": _("不是窗口收件的办件")},
        )
    problems = {}
    if not identity_checked:
        problems["identity_checked"] = _("请先核验申请人身份")
    if not materials_checked:
        problems["materials_checked"] = _("请先按办理地标准核验申请材料")
    if return_method not in ReturnMethod.values:
        problems["return_method"] = _("结果送达方式只能是回收件窗口领取或邮寄")
    if problems:
        raise ValidationFailed(_("转办前请完成核验。"), code="checks_missing", fields=problems)
    if not is_cross_region(receiving_region=case.intake_region, handling_region=case.department.region_code):
        raise ValidationFailed(
            _("该事项由本地办理,无需异地代收。"),
            code="not_cross_region",
            fields={"case": _("收件地与办理地相同")},
        )
    if CrossRegionForward.objects.filter(case_id=case.pk).exists():
        raise Conflict(_("该办件已转办理地。"), code="already_forwarded")
    if return_method == ReturnMethod.POST and not PostalDelivery.objects.filter(case_id=case.pk).exists():
        raise ValidationFailed(
            _("选择邮寄送达前请先登记收件地址。"),
            code="postal_missing",
            fields={"return_method": _("请先登记收件地址")},
        )
    case_services.case_accept(actor=actor, case_id=case.pk)
    forward = CrossRegionForward.objects.create(
        case_id=case.pk,
        receiving_hall_id=case.intake_department_id,
        receiving_region=case.intake_region,
        handling_department_id=case.department_id,
        handling_region=case.department.region_code,
        return_method=return_method,
        identity_checked=True,
        materials_checked=True,
        forwarded_by=actor,
    )
    text = _("异地代收:%(hall)s 已核验身份和材料,按办理地标准受理,转 %(dept)s 办理;结果%(back)s") % {
        "hall": case.intake_department.name,
        "dept": case.department.name,
        "back": ReturnMethod(return_method).label,
    }
    if note.strip():
        text += f"({note.strip()[:200]})"
    case_services.case_channel_note(actor=actor, case_id=case.pk, kind=CROSS_REGION_STEP, note=text)
    audit_record(
        actor=actor,
        action="channels.forward_create",
        obj=forward,
        changes={
            "case": case.pk,
            "receiving_region": forward.receiving_region,
            "handling_region": forward.handling_region,
            "return_method": return_method,
        },
    )
    return forward


@transaction.atomic
def forward_receive(*, actor, forward_id) -> CrossRegionForward:
    """The handling department signs for a forwarded case (签收): reviewers and heads of the
    handling department. Idempotent: a second receipt changes nothing."""
    from yiwang.channels.selectors import forward_get

    forward = forward_get(actor=actor, forward_id=forward_id)
    if not actor_has_role(actor, roles=(Role.REVIEWER, Role.DEPARTMENT_HEAD), department=forward.handling_department):
        raise Forbidden(_("只有办理部门的审核人员或负责人可以签收。"), code="forbidden")
    forward = CrossRegionForward.objects.select_for_update().get(pk=forward.pk)
    if forward.state != ForwardState.FORWARDED:
        return forward
    forward.state, forward.received_by, forward.received_at = ForwardState.HANDLING, actor, timezone.now()
    forward.save()
    case_services.case_channel_note(
        actor=actor,
        case_id=forward.case_id,
        kind=CROSS_REGION_STEP,
        note=_("异地代收:%(dept)s 已签收转来的办件") % {"dept": forward.handling_department.name},
    )
    audit_record(
        actor=actor, action="channels.forward_receive", obj=forward, changes={"state": ["forwarded", "handling"]}
    )
    return forward


SYSTEM_ACTOR = "channels.forward"


@transaction.atomic
def forward_result_returned(*, case_id: int) -> CrossRegionForward | None:
    """On the handling department's decision: the result goes back to the receiving window (or
    by post). System step (called from the ``case.approved`` / ``case.rejected`` subscriber);
    None for a case that was not forwarded; idempotent."""
    forward = CrossRegionForward.objects.select_for_update().filter(case_id=case_id).first()
    if forward is None or forward.state in (ForwardState.RESULT_RETURNED, ForwardState.COMPLETED):
        return forward
    old = forward.state
    forward.state, forward.returned_at = ForwardState.RESULT_RETURNED, timezone.now()
    forward.save()
    if forward.return_method == ReturnMethod.WINDOW:
        text = _("异地代收:办理结果已返回 %(hall)s,请到该窗口领取") % {"hall": forward.receiving_hall.name}
    else:
        text = _("异地代收:办理结果已返回 %(hall)s,将邮寄送达") % {"hall": forward.receiving_hall.name}
    case_services.case_channel_note(actor=SYSTEM_ACTOR, case_id=case_id, kind=CROSS_REGION_STEP, note=text)
    audit_record(
        actor=SYSTEM_ACTOR, action="channels.forward_return", obj=forward, changes={"state": [old, forward.state]}
    )
    return forward


@transaction.atomic
def forward_completed(*, case_id: int) -> CrossRegionForward | None:
    """On the case's delivery (at the receiving window or by post): the forward is complete."""
    forward = CrossRegionForward.objects.select_for_update().filter(case_id=case_id).first()
    if forward is None or forward.state == ForwardState.COMPLETED:
        return forward
    old = forward.state
    forward.state, forward.completed_at = ForwardState.COMPLETED, timezone.now()
    forward.save()
    audit_record(
        actor=SYSTEM_ACTOR, action="channels.forward_complete", obj=forward, changes={"state": [old, forward.state]}
    )
    return forward


def region_label(code: str) -> str:
    return region_name(code) or code


# --- between two installations (跨省通办 over the signed API, see ``channels.peers``) -------------


_PEER_CODE = re.compile(r"^[A-Za-z0-9_-]{1,30}$")
_KEEP = object()


@transaction.atomic
def peer_save(
    *,
    actor,
    code: str,
    name: str,
    region_prefix: str = "",
    base_url: str = "",
    client_id: str = "",
    client_secret=_KEEP,
    inbound_client_id: str | None = None,
    inbound_clerk=None,
    is_active: bool = True,
) -> PeerInstallation:
    """Create or change another installation (superuser only): where to forward and call back
    (``base_url``, ``region_prefix``, the credential its exchange issued to us: ``client_id`` and
    ``client_secret`` — left out or None: the stored secret is kept) and, for what it sends us,
    the client id our exchange issued to it (``inbound_client_id``, a registered, unrevoked
    consuming system) and our window clerk who takes its applications in. Every bad field is
    named at once; the change is audited (the secret never: only whether it changed)."""
    from urllib.parse import urlsplit

    from yiwang.exchange.models import ConsumerSystem

    if not getattr(actor, "is_superuser", False):
        raise Forbidden(_("只有系统管理员可以配置对端平台。"), code="forbidden")
    code = (code or "").strip()
    name = (name or "").strip()
    region_prefix = (region_prefix or "").strip()
    base_url = (base_url or "").strip().rstrip("/")
    client_id = (client_id or "").strip()
    existing = PeerInstallation.objects.select_for_update().filter(code=code).first()
    if inbound_client_id is None:  # the callers of the first version gave one id for both directions
        inbound_client_id = existing.inbound_client_id if existing else (client_id if inbound_clerk else "")
    inbound_client_id = (inbound_client_id or "").strip()
    if client_secret is _KEEP or client_secret is None:
        client_secret = existing.client_secret if existing else ""
    problems = {}
    if not _PEER_CODE.match(code):
        problems["code"] = _("请填写代码(字母、数字、-、_,不超过 30 个字符)")
    if not name or len(name) > 100:
        problems["name"] = _("请填写名称(不超过 100 个字)")
    if region_prefix and not (region_prefix.isdigit() and 2 <= len(region_prefix) <= 12):
        problems["region_prefix"] = _("行政区划代码前缀为 2 至 12 位数字")
    if base_url:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(base_url) > 200:
            problems["base_url"] = _("请填写对端平台的网址(http:// 或 https:// 开头)")
    if region_prefix and not base_url:
        problems["base_url"] = _("办理地区划已填写,须同时填写对端平台网址")
    if base_url and not (client_id and client_secret):
        problems["client_id"] = _("须填写对端平台签发给本平台的系统凭证(client_id 与密钥)")
    if client_secret and len(client_secret) < 16:
        problems["client_secret"] = _("密钥至少 16 个字符")
    if (
        inbound_client_id
        and not ConsumerSystem.objects.filter(client_id=inbound_client_id, revoked_at__isnull=True).exists()
    ):
        problems["inbound_client_id"] = _("本平台数据交换中没有该系统凭证(或已吊销)")
    if inbound_clerk is not None and not actor_has_role(inbound_clerk, roles=Role.WINDOW_CLERK):
        problems["inbound_clerk"] = _("代收账号须是窗口受理人员")
    if inbound_clerk is not None and not inbound_client_id:
        problems["inbound_client_id"] = _("指定代收账号时须填写对方在本平台的 client_id")
    if problems:
        raise ValidationFailed(_("对端平台配置有误,请检查标出的项目。"), code="peer_invalid", fields=problems)
    secret_changed = existing is None or existing.client_secret != client_secret
    peer, created = PeerInstallation.objects.update_or_create(
        code=code,
        defaults={
            "name": name,
            "region_prefix": region_prefix,
            "base_url": base_url,
            "client_id": client_id,
            "client_secret": client_secret,
            "inbound_client_id": inbound_client_id,
            "inbound_clerk": inbound_clerk,
            "is_active": bool(is_active),
        },
    )
    audit_record(
        actor=actor,
        action="channels.peer_create" if created else "channels.peer_change",
        obj=peer,
        changes={
            "code": code,
            "name": name,
            "region_prefix": peer.region_prefix,
            "base_url": peer.base_url,
            "client_id": peer.client_id,
            "inbound_client_id": peer.inbound_client_id,
            "inbound_clerk": getattr(inbound_clerk, "pk", None),
            "is_active": peer.is_active,
            "secret_changed": secret_changed,
        },
    )
    return peer


def _peer_for_region(region_code: str) -> PeerInstallation:
    code = (region_code or "").strip()
    peers = [
        p
        for p in PeerInstallation.objects.filter(is_active=True).exclude(base_url="").exclude(region_prefix="")
        if code.startswith(p.region_prefix)
    ]
    if not code or not peers:
        raise ValidationFailed(
            _("没有办理该区划事项的对端平台。"),
            code="region_unknown",
            fields={"region_code": _("未知的办理地区划")},
        )
    return max(peers, key=lambda p: len(p.region_prefix))


def remote_forward_send(
    *,
    actor,
    region_code: str,
    item_code: str,
    applicant_name: str,
    applicant_id_number: str,
    applicant_phone: str = "",
    form_data: dict,
    materials: list[dict] = (),
    return_method: str = ReturnMethod.WINDOW,
    idempotency_key: str,
    peer: PeerInstallation | None = None,
    case_id: int | None = None,
    reason: str = "",
) -> RemoteForward:
    """A window clerk here takes in an application for an item of another installation's region
    and forwards it over the signed API: the other installation checks the item, creates the case
    on its own form (the same standard) at its window for us, and accepts it. ``materials``:
    ``[{"requirement": name, "filename", "content": bytes}]``. ``422 region_unknown`` when no
    installation handles the region; the other side's refusals (``item_not_found``, a form error…)
    come back with their own code. Idempotent per ``idempotency_key``. ``peer`` (chosen by the
    clerk) instead of the region's installation; ``case_id``/``reason``: the local case it was
    taken in as (``case_forward_remote``)."""
    from yiwang.cases.selectors import window_halls
    from yiwang.channels import peers

    halls = window_halls(actor=actor)
    if not halls:
        raise Forbidden(_("只有收件窗口人员可以异地代收转办。"), code="not_window_clerk")
    key = (idempotency_key or "").strip()
    if not key or len(key) > 64:
        raise ValidationFailed(_("请提供幂等键"), fields={"idempotency_key": _("必填,最长 64 个字符")})
    peer = peer or _peer_for_region(region_code)
    existing = RemoteForward.objects.filter(peer=peer, idempotency_key=key).first()
    if existing is not None:
        return existing
    payload = {
        "reference": key,
        "item_code": item_code,
        "receiving_hall": halls[0].name,
        "applicant": {"name": applicant_name, "id_number": applicant_id_number, "phone": applicant_phone},
        "form_data": form_data,
        "return_method": return_method,
        "materials": [
            {
                "requirement": m["requirement"],
                "filename": m["filename"],
                "content_base64": base64.b64encode(m["content"]).decode(),
            }
            for m in materials
        ],
    }
    answer = peers.call(peer, "POST", "/api/v1/channels/inbound/forwards", payload)
    with transaction.atomic():
        forward, _created = RemoteForward.objects.get_or_create(
            peer=peer,
            idempotency_key=key,
            defaults={
                "item_code": item_code,
                "applicant_name": applicant_name,
                "applicant_id_number": applicant_id_number,
                "hall": halls[0],
                "remote_case_id": answer["case_id"],
                "remote_case_number": answer["case_number"],
                "remote_state": answer["state"],
                "created_by": actor,
                "case_id": case_id,
                "reason": reason[:200],
            },
        )
        audit_record(
            actor=actor,
            action="channels.remote_forward_send",
            obj=forward,
            changes={
                "peer": peer.code,
                "item_code": item_code,
                "remote_case_number": forward.remote_case_number,
                "case": case_id,
                "reason": reason[:200],
            },
        )
    return forward


_ITEM_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$")


def peers_for_forwarding():
    """The installations a clerk may forward to: active, with an address and a credential."""
    return PeerInstallation.objects.filter(is_active=True).exclude(base_url="").exclude(client_id="").order_by("code")


def case_forward_remote(
    *, actor, case_id, peer_id, item_code: str, reason: str, return_method: str = ReturnMethod.WINDOW
) -> RemoteForward:
    """异地代收 to another installation from a case taken in at this window (the clerk's form on
    the case's forward page): the clerk chooses the installation, the item there (its 实施编码 in
    that installation's public catalog: the item names the department that handles it) and says
    why. The application — applicant, form, materials — is sent through ``remote_forward_send``
    (audited ``channels.remote_forward_send``), the forward linked to the case and written on its
    timeline. Only by a window clerk who may take the case in, for a window case still
    ``submitted`` and forwarded nowhere yet (``409 already_forwarded``). Field errors name
    ``peer``, ``item_code``, ``reason``, ``return_method``; the other side's refusal of the
    item comes back under ``item_code``, its form errors under ``case``. Idempotent per case:
    a repeated submission returns the forward already made."""
    case = case_selectors.case_get(actor=actor, case_id=case_id)
    if not case_services.is_window_clerk(actor, case):
        raise Forbidden(_("只有收件窗口人员可以异地代收转办。"), code="not_window_clerk")
    if case.intake_department_id is None:
        raise ValidationFailed(
            _("网上申报的办件不经窗口收件,无需异地代收。"),
            code="not_window_case",
            fields={"case": _("不是窗口收件的办件")},
        )
    key = f"case-{case.pk}"
    existing = RemoteForward.objects.filter(case_id=case.pk).first()
    if existing is not None:
        return existing
    if CrossRegionForward.objects.filter(case_id=case.pk).exists():
        raise Conflict(_("该办件已转办理地。"), code="already_forwarded")
    problems = {}
    peer = None
    if str(peer_id or "").strip().isdigit():
        peer = peers_for_forwarding().filter(pk=int(peer_id)).first()
    if peer is None:
        problems["peer"] = _("请选择对端一网平台")
    item_code = (item_code or "").strip()
    if not _ITEM_CODE.fullmatch(item_code):
        problems["item_code"] = _("请填写对端平台的事项实施编码(字母、数字、点、横线,最长 64 位)")
    reason = (reason or "").strip()
    if not reason:
        problems["reason"] = _("请填写转办原因")
    elif len(reason) > 200:
        problems["reason"] = _("转办原因最长 200 个字")
    if return_method not in ReturnMethod.values:
        problems["return_method"] = _("结果送达方式只能是回收件窗口领取或邮寄")
    if problems:
        raise ValidationFailed(_("转办信息有误,请检查标出的项目。"), code="forward_invalid", fields=problems)
    if case.state != "submitted":
        raise ValidationFailed(
            _("只有待受理的办件可以转其他平台办理。"),
            code="case_state",
            fields={"case": _("办件当前状态为「%(state)s」") % {"state": case.get_state_display()}},
        )
    applicant = case.applicant
    materials = []
    for material in case_selectors.case_materials(case=case):
        with material.file.open("rb") as handle:
            materials.append(
                {"requirement": material.name, "filename": material.original_filename, "content": handle.read()}
            )
    try:
        forward = remote_forward_send(
            actor=actor,
            region_code="",
            item_code=item_code,
            applicant_name=applicant.real_name or applicant.username,
            applicant_id_number=applicant.id_number,
            applicant_phone=applicant.phone,
            form_data=case.form_data,
            materials=materials,
            return_method=return_method,
            idempotency_key=key,
            peer=peer,
            case_id=case.pk,
            reason=reason,
        )
    except YiwangError as exc:
        if exc.code in ("item_unknown", "item_not_found"):
            # Their 404 is a mistake in what the clerk typed here: a field error on our form.
            raise ValidationFailed(
                str(exc.message), code="item_unknown", fields={"item_code": _("对端平台没有该事项")}
            ) from exc
        if exc.fields and not set(exc.fields) & {"peer", "item_code", "reason"}:
            # The other side's form errors: shown on the form, named by the other side's fields.
            exc.fields = {"case": "; ".join(f"{k}: {v}" for k, v in exc.fields.items())}
        raise
    text = _("异地代收:已核验身份和材料,转 %(peer)s 办理(事项 %(item)s,对端办件编号 %(number)s);原因:%(reason)s") % {
        "peer": peer.name,
        "item": item_code,
        "number": forward.remote_case_number,
        "reason": reason,
    }
    case_services.case_channel_note(actor=actor, case_id=case.pk, kind=CROSS_REGION_STEP, note=text)
    return forward


def remote_forward_refresh(*, actor, forward_id) -> RemoteForward:
    """Read the forwarded case's state back from the other installation (its creator's hall)."""
    from yiwang.channels import peers

    forward = RemoteForward.objects.select_related("peer").filter(pk=forward_id, created_by=actor).first()
    if forward is None:
        raise NotFound(_("未找到该异地代收记录。"), code="forward_not_found")
    answer = peers.call(forward.peer, "GET", f"/api/v1/channels/inbound/forwards/{forward.remote_case_number}")
    with transaction.atomic():
        old = forward.remote_state
        forward.remote_state, forward.refreshed_at = answer["state"], timezone.now()
        forward.save(update_fields=["remote_state", "refreshed_at"])
        if old != forward.remote_state:
            audit_record(
                actor=actor,
                action="channels.remote_forward_state",
                obj=forward,
                changes={"remote_state": [old, forward.remote_state]},
            )
    return forward


def _inbound_peer(client_id: str, *, forwards: bool = True) -> PeerInstallation:
    """The active peer our exchange issued ``client_id`` to; for forwards it needs an inbound clerk."""
    peers = PeerInstallation.objects.filter(inbound_client_id=client_id, is_active=True).exclude(inbound_client_id="")
    if forwards:
        peers = peers.filter(inbound_clerk__isnull=False)
    peer = peers.first()
    if peer is None:
        raise Forbidden(_("该系统未登记为可转入跨省通办的对端平台。"), code="peer_unknown")
    return peer


def inbound_forward_receive(*, headers, body: bytes) -> dict:
    """Another installation's forward, signed with the credential our exchange issued to it: the
    item must be ours; the applicant is found by 身份证号 or registered as at a walk-in; the case
    is submitted by our window clerk for that installation (``inbound_clerk``) on the item's own
    form, the materials attached, and accepted and forwarded here as a cross-region case. Refusals
    are audited (``channels.inbound_refused``) and raised."""
    import secrets as _secrets
    import uuid

    from yiwang.catalog import selectors as catalog
    from yiwang.channels import peers
    from yiwang.identity.selectors import user_get_by_id_number
    from yiwang.identity.services import user_create

    client_id = ""
    try:
        client_id, _consumer = peers.authenticate(headers, body)
        peer = _inbound_peer(client_id)
        try:
            payload = json.loads(body)
            applicant_data = payload["applicant"]
            item_code = str(payload["item_code"])
            reference = str(payload["reference"])[:40]
        except (ValueError, KeyError, TypeError):
            raise ValidationFailed(_("转办请求内容无效"), code="forward_invalid") from None
        try:
            item = catalog.item_get_published(implementation_code=item_code)
        except NotFound:
            raise NotFound(
                _("本平台没有该事项。"), code="item_unknown", fields={"item_code": _("未知的事项")}
            ) from None
        clerk = peer.inbound_clerk
        with transaction.atomic():
            applicant = user_get_by_id_number(id_number=str(applicant_data.get("id_number", "")))
            if applicant is None:
                applicant = user_create(
                    actor=clerk,
                    username=f"walkin_{uuid.uuid4().hex[:12]}",
                    password=_secrets.token_urlsafe(18) + "aA1-",
                    kind="citizen",
                    real_name=str(applicant_data.get("name", "")),
                    id_number=str(applicant_data.get("id_number", "")),
                    phone=str(applicant_data.get("phone", "")),
                )
            case, created = case_services.case_submit(
                actor=clerk,
                item=item,
                form_data=payload.get("form_data") or {},
                applicant=applicant,
                channel="window",
                idempotency_key=f"peer-{peer.code}-{reference}",
            )
            if created:
                wanted = {m.name: m for m in case_selectors.case_missing_materials(case=case)}
                for material in payload.get("materials") or []:
                    requirement = wanted.get(material.get("requirement"))
                    if requirement is None:
                        continue
                    try:
                        content = base64.b64decode(material.get("content_base64") or "", validate=True)
                    except (binascii.Error, ValueError):
                        raise ValidationFailed(
                            _("材料内容无效"), code="forward_invalid", fields={"materials": _("材料内容不是 base64")}
                        ) from None
                    case_services.case_material_add(
                        actor=clerk,
                        case_id=case.pk,
                        requirement_id=requirement.pk,
                        filename=str(material.get("filename") or "scan.pdf"),
                        content=content,
                    )
                forward_create(
                    actor=clerk,
                    case_id=case.pk,
                    identity_checked=True,
                    materials_checked=True,
                    return_method=payload.get("return_method") or ReturnMethod.WINDOW,
                    note=_("%(peer)s %(hall)s 异地代收")
                    % {"peer": peer.name, "hall": payload.get("receiving_hall", "")},
                )
                InboundForward.objects.create(peer=peer, case=case, reference=reference)
                audit_record(
                    actor=f"peer:{peer.code}",
                    action="channels.inbound_forward",
                    object_type="cases.case",
                    object_id=str(case.pk),
                    changes={"item_code": item_code, "reference": reference},
                )
            case = case_selectors.case_get(actor=clerk, case_id=case.pk)
    except YiwangError as exc:
        with transaction.atomic():
            audit_record(
                actor=f"peer:{client_id or 'unknown'}",
                action="channels.inbound_refused",
                object_type="channels.peer",
                object_id=client_id,
                changes={"code": exc.code},
            )
        raise
    return {"case_id": case.pk, "case_number": case.number, "state": case.state}


def inbound_forward_status(*, headers, number: str) -> dict:
    """The state of a case this installation took in for the calling installation (else 404)."""
    from yiwang.cases.selectors import case_get_by_number
    from yiwang.channels import peers

    client_id, _consumer = peers.authenticate(headers, b"")
    peer = _inbound_peer(client_id)
    case = case_get_by_number(actor=peer.inbound_clerk, number=number)
    if case.received_by_id != peer.inbound_clerk_id:
        raise NotFound(_("未找到该办件。"), code="case_not_found")
    return {"case_number": case.number, "state": case.state, "state_label": str(case.get_state_display())}


# --- the result called back to the forwarding installation ------------------------------------------

RESULT_STATES = ("approved", "rejected", "delivered")


def inbound_result_notify(*, case_id: int) -> InboundForward | None:
    """The handling side: tell the installation that forwarded the case its result, over the
    signed API (``POST /api/v1/channels/inbound/results`` on its side). First the duty is written
    (``pending``, audited), then the call is made outside any transaction, then the answer is
    recorded: ``sent`` — or, unreachable or refused, still ``pending`` with the error, for the job
    ``channels.results_notify`` to retry. None for a case no installation forwarded to us."""
    from yiwang.channels import peers

    def facts() -> dict:
        return case_selectors.case_issuance_facts(case_id=case_id)

    with transaction.atomic():
        inbound = InboundForward.objects.select_for_update().select_related("peer").filter(case_id=case_id).first()
        if inbound is None:
            return None
        state = facts()["state"]
        if state not in RESULT_STATES or (inbound.notify_state == NotifyState.SENT and inbound.notified_state == state):
            return inbound
        peer = inbound.peer
        if not (peer.is_active and peer.base_url and peer.client_id and peer.client_secret):
            return inbound  # nowhere to call: the other side asks (GET inbound/forwards/{number})
        if inbound.notify_state != NotifyState.PENDING:
            inbound.notify_state = NotifyState.PENDING
            inbound.save(update_fields=["notify_state"])
            audit_record(
                actor=SYSTEM_ACTOR,
                action="channels.result_pending",
                obj=inbound,
                changes={"peer": peer.code, "state": state},
            )
    case = facts()
    label = case["state"]
    if peer.inbound_clerk_id:  # the state's name as our clerk for that peer sees the case
        label = str(case_selectors.case_get(actor=peer.inbound_clerk, case_id=case_id).get_state_display())
    payload = {
        "reference": inbound.reference,
        "case_number": case["case_number"],
        "state": case["state"],
        "state_label": label,
        "decided_at": case["decided_at"].isoformat() if case["decided_at"] else None,
    }
    error = ""
    try:
        peers.call(peer, "POST", "/api/v1/channels/inbound/results", payload)
    except YiwangError as exc:
        error = f"{exc.code}: {exc.message}"[:200]
    with transaction.atomic():
        inbound = InboundForward.objects.select_for_update().get(pk=inbound.pk)
        inbound.attempts += 1
        inbound.last_error = error
        if not error:
            inbound.notified_state, inbound.notified_at = payload["state"], timezone.now()
            current = facts()["state"]
            inbound.notify_state = NotifyState.SENT if current == payload["state"] else NotifyState.PENDING
        inbound.save()
        audit_record(
            actor=SYSTEM_ACTOR,
            action="channels.result_sent" if not error else "channels.result_failed",
            obj=inbound,
            changes={"peer": peer.code, "state": payload["state"], "attempt": inbound.attempts, "error": error},
        )
    return inbound


def results_notify_pending(*, limit: int = 100) -> dict:
    """The job: every result not yet called back (the other side was down) is tried again."""
    sent = failed = 0
    ids = list(
        InboundForward.objects.filter(notify_state=NotifyState.PENDING).order_by("pk").values_list("case_id", flat=True)
    )[:limit]
    for case_id in ids:
        inbound = inbound_result_notify(case_id=case_id)
        if inbound is not None and inbound.notify_state == NotifyState.SENT:
            sent += 1
        else:
            failed += 1
    return {"sent": sent, "pending": failed}


def remote_result_receive(*, headers, body: bytes) -> dict:
    """The forwarding side: the handling installation calls back with the result of a case we
    forwarded (signed with the credential our exchange issued to it). The ``RemoteForward`` is
    found by its reference and the other side's case number; its state is recorded, audited
    (``channels.remote_forward_result``; the clerk sees it on the workbench's channels page). The same
    result again is ``duplicate``. Refusals are audited (``channels.inbound_refused``) and raised."""
    from yiwang.channels import peers

    client_id = ""
    try:
        client_id, _consumer = peers.authenticate(headers, body)
        peer = _inbound_peer(client_id, forwards=False)
        try:
            payload = json.loads(body)
            reference = str(payload["reference"])
            number = str(payload["case_number"])
            state = str(payload["state"])
        except (ValueError, KeyError, TypeError):
            raise ValidationFailed(_("结果回告内容无效"), code="result_invalid") from None
        if not state or len(state) > 24:
            raise ValidationFailed(_("结果回告内容无效"), code="result_invalid", fields={"state": _("无效的状态")})
        with transaction.atomic():
            forward = (
                RemoteForward.objects.select_for_update()
                .filter(peer=peer, idempotency_key=reference, remote_case_number=number)
                .first()
            )
            if forward is None:
                raise NotFound(_("未找到该异地代收记录。"), code="forward_not_found")
            if forward.remote_state == state and forward.result_received_at is not None:
                return {"result": "duplicate"}
            old = forward.remote_state
            forward.remote_state, forward.result_received_at = state, timezone.now()
            forward.save(update_fields=["remote_state", "result_received_at"])
            audit_record(
                actor=f"peer:{peer.code}",
                action="channels.remote_forward_result",
                obj=forward,
                changes={"remote_state": [old, state]},
            )
    except YiwangError as exc:
        with transaction.atomic():
            audit_record(
                actor=f"peer:{client_id or 'unknown'}",
                action="channels.inbound_refused",
                object_type="channels.peer",
                object_id=client_id,
                changes={"code": exc.code, "call": "result"},
            )
        raise
    return {"result": "applied"}
