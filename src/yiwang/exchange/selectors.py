"""Exchange reads, scoped to the actor: a request, grant or dispute outside the actor's
departments raises ``NotFound`` exactly like a missing one."""

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from yiwang.core.crypto import blind_index
from yiwang.core.errors import NotFound
from yiwang.exchange.models import ConsumerSystem, DataDispute, DataResource, ExchangeLog, Grant, ShareRequest
from yiwang.identity.models import User
from yiwang.identity.selectors import departments_for_actor


def catalog_list(*, registry: str | None = None) -> QuerySet[DataResource]:
    """The resource catalog (政务数据资源目录): public, as the catalog is published."""
    rows = DataResource.objects.select_related("source_department")
    if registry:
        rows = rows.filter(registry=registry)
    return rows.order_by("registry", "sort_order", "field")


def catalog_labels() -> dict[tuple[str, str], str]:
    return {(r, f): label for r, f, label in DataResource.objects.values_list("registry", "field", "label")}


def _mine(actor):
    return departments_for_actor(actor=actor)


def share_requests_for_actor(*, actor) -> QuerySet[ShareRequest]:
    """Requests the actor's departments made or must answer."""
    mine = _mine(actor)
    return (
        ShareRequest.objects.filter(Q(consumer_department__in=mine) | Q(source_department__in=mine))
        .select_related("consumer_department", "source_department", "system", "grant")
        .order_by("-created_at", "-pk")
    )


def share_request_get(*, actor, id) -> ShareRequest:
    try:
        return share_requests_for_actor(actor=actor).get(pk=int(id))
    except (ShareRequest.DoesNotExist, TypeError, ValueError):
        raise NotFound(_("未找到该共享申请。"), code="request_not_found") from None


def grants_for_actor(*, actor) -> QuerySet[Grant]:
    """Grants held by, or given by, the actor's departments."""
    mine = _mine(actor)
    return (
        Grant.objects.filter(Q(consumer_department__in=mine) | Q(request__source_department__in=mine))
        .select_related("consumer_department", "system", "request__source_department")
        .order_by("-created_at", "-pk")
    )


def grant_get(*, actor, id) -> Grant:
    try:
        return grants_for_actor(actor=actor).get(pk=int(id))
    except (Grant.DoesNotExist, TypeError, ValueError):
        raise NotFound(_("未找到该授权。"), code="grant_not_found") from None


def systems_for_actor(*, actor) -> QuerySet[ConsumerSystem]:
    return ConsumerSystem.objects.filter(department__in=_mine(actor)).select_related("department")


def system_get(*, actor, id) -> ConsumerSystem:
    try:
        return systems_for_actor(actor=actor).get(pk=int(id))
    except (ConsumerSystem.DoesNotExist, TypeError, ValueError):
        raise NotFound(_("未找到该接入系统。"), code="system_not_found") from None


def _subject_index(actor) -> str:
    """Whose records the actor may see the reads of: a citizen's own, an agent's enterprise's."""
    if not getattr(actor, "is_authenticated", False):
        return ""
    if actor.kind == User.Kind.CITIZEN and actor.id_number:
        return actor.id_number_index or blind_index(actor.id_number.upper())
    if actor.kind == User.Kind.ENTERPRISE_AGENT and actor.enterprise_uscc:
        return blind_index(actor.enterprise_uscc.upper())
    return ""


def usage_for_subject(*, actor) -> QuerySet[ExchangeLog]:
    """数据使用记录: every successful read of the actor's records (a citizen's own; an enterprise
    agent's enterprise), newest first, with the reading department."""
    index = _subject_index(actor)
    if not index:
        return ExchangeLog.objects.none()
    return (
        ExchangeLog.objects.filter(subject_index=index, outcome="ok").select_related("department").order_by("-sequence")
    )


def disputes_for_actor(*, actor) -> QuerySet[DataDispute]:
    """Disputes the actor raised, about the actor's own records, or that the actor's departments
    must verify (as source) or raised."""
    query = Q(raised_by=actor)
    index = _subject_index(actor)
    if index:
        query |= Q(subject_index=index)
    if actor.kind == User.Kind.STAFF or actor.is_superuser:
        mine = _mine(actor)
        query |= Q(source_department__in=mine) | Q(raised_by_department__in=mine)
    return DataDispute.objects.filter(query).select_related("source_department", "raised_by").order_by("-created_at")


def dispute_get(*, actor, id) -> DataDispute:
    try:
        return disputes_for_actor(actor=actor).get(pk=int(id))
    except (DataDispute.DoesNotExist, TypeError, ValueError):
        raise NotFound(_("未找到该异议。"), code="dispute_not_found") from None


# --- Figures for the dashboards' rollups (analytics) --------------------------------------------


def exchange_daily_figures(*, since, until) -> list[dict]:
    """Registry reads through the gateway (evidence-log rows) per consuming department and
    local day in ``[since, until)`` (answered reads only, not refusals): one grouped query for
    the analytics rollup. Keys: ``department_id, region_code, day, reads``. No personal data."""
    from django.db.models import Count
    from django.db.models.functions import TruncDate

    from yiwang.identity.models import Department

    rows = list(
        ExchangeLog.objects.filter(created_at__gte=since, created_at__lt=until, outcome="ok")
        .annotate(day=TruncDate("created_at"))
        .values("department_id", "day")
        .annotate(reads=Count("id"))
        .order_by()
    )
    # The log's department is a loose reference (no constraint): resolve regions separately.
    regions = dict(
        Department.objects.filter(pk__in={row["department_id"] for row in rows if row["department_id"]}).values_list(
            "pk", "region_code"
        )
    )
    return [
        {
            "department_id": row["department_id"],
            "region_code": regions.get(row["department_id"], ""),
            "day": row["day"],
            "reads": row["reads"],
        }
        for row in rows
    ]
