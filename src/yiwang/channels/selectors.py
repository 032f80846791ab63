"""Channel reads, already scoped to the actor: a postal delivery or a forward is visible to whoever
may see its case (``cases.selectors.visible_cases``); anything else is ``NotFound``."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from yiwang.cases import selectors as case_selectors
from yiwang.channels.models import CrossRegionForward, PeerInstallation, PostalDelivery, RemoteForward, TrackingEvent
from yiwang.core.errors import NotFound
from yiwang.core.masking import mask_name, mask_phone


def mask_address(address: str) -> str:
    """The first six characters of an address, then ``****`` (as the exchange masks addresses)."""
    if not address:
        return ""
    return address[:6] + "****"


def _visible_case_ids(actor):
    return case_selectors.visible_cases(actor=actor).values("pk")


def postal_get(*, actor, delivery_id) -> PostalDelivery:
    try:
        pk = int(delivery_id)
    except (TypeError, ValueError):
        raise NotFound(_("未找到该邮寄记录。"), code="postal_not_found") from None
    delivery = PostalDelivery.objects.filter(pk=pk, case_id__in=_visible_case_ids(actor)).first()
    if delivery is None:
        raise NotFound(_("未找到该邮寄记录。"), code="postal_not_found")
    return delivery


def postal_for_case(*, actor, case_id) -> PostalDelivery | None:
    """The case's postal delivery, or None; ``NotFound`` if the actor may not see the case."""
    case = case_selectors.case_get(actor=actor, case_id=case_id)
    return PostalDelivery.objects.filter(case_id=case.pk).first()


def postal_tracking(*, delivery: PostalDelivery) -> QuerySet[TrackingEvent]:
    return delivery.events.order_by("occurred_at", "id")


def postal_shown(delivery: PostalDelivery) -> dict:
    """The delivery as it may be shown anywhere: recipient, phone and address masked."""
    return {
        "id": delivery.pk,
        "case_id": delivery.case_id,
        "state": delivery.state,
        "state_label": delivery.get_state_display(),
        "source": delivery.source,
        "recipient_name": mask_name(delivery.recipient_name),
        "recipient_phone": mask_phone(delivery.recipient_phone),
        "address": mask_address(delivery.address),
        "region_code": delivery.region_code,
        "courier": delivery.courier,
        "waybill_no": delivery.waybill_no or "",
        "dispatched_at": delivery.dispatched_at,
        "finished_at": delivery.finished_at,
    }


def postal_list(*, actor) -> QuerySet[PostalDelivery]:
    """Postal deliveries of the cases the actor may see, newest first."""
    return PostalDelivery.objects.filter(case_id__in=_visible_case_ids(actor)).order_by("-requested_at")


def forward_list(*, actor) -> QuerySet[CrossRegionForward]:
    """Cross-region forwards of the cases the actor may see, newest first."""
    return (
        CrossRegionForward.objects.filter(case_id__in=_visible_case_ids(actor))
        .select_related("receiving_hall", "handling_department", "case")
        .order_by("-forwarded_at")
    )


def forward_get(*, actor, forward_id) -> CrossRegionForward:
    try:
        pk = int(forward_id)
    except (TypeError, ValueError):
        raise NotFound(_("未找到该异地代收记录。"), code="forward_not_found") from None
    forward = forward_list(actor=actor).filter(pk=pk).first()
    if forward is None:
        raise NotFound(_("未找到该异地代收记录。"), code="forward_not_found")
    return forward


def forward_for_case(*, case_id) -> CrossRegionForward | None:
    """The case's forward (the caller has already read the case through ``cases.selectors``)."""
    return (
        CrossRegionForward.objects.select_related("receiving_hall", "handling_department")
        .filter(case_id=case_id)
        .first()
    )


def peer_list():
    """Every registered installation (the system administrator's page)."""
    return PeerInstallation.objects.select_related("inbound_clerk").order_by("code")


def peer_get(*, peer_id):
    return PeerInstallation.objects.select_related("inbound_clerk").filter(pk=peer_id).first()


def remote_forward_list(*, actor):
    """Applications forwarded from here to other installations: the superuser sees all, a clerk
    those he sent."""
    forwards = RemoteForward.objects.select_related("peer", "hall").order_by("-created_at")
    if not getattr(actor, "is_superuser", False):
        forwards = forwards.filter(created_by=actor)
    return forwards


def remote_forward_for_case(*, case_id) -> RemoteForward | None:
    """The forward to another installation made from this local case (the caller sees the case)."""
    return RemoteForward.objects.select_related("peer", "created_by").filter(case_id=case_id).first()
