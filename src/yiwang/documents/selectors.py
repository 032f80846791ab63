"""Reads of the documents app, already scoped to the actor.

A document is visible to its drafter, to whoever acted on it, to the holders of the role of any
step of its route (in that step's department, as ``actor_has_role`` reads a grant), and, once
issued, to its recipients (the person, or anyone with a role in the recipient department).
Superusers see every document. Anyone else gets ``NotFound``, as for a missing one.
"""

import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.core.errors import NotFound
from yiwang.documents.models import Circulation, Document, DocumentType, DutyShift, DutySwap, Receipt
from yiwang.identity.models import Department, RoleGrant, User
from yiwang.identity.selectors import role_grants_of


def _person(actor) -> bool:
    return not (actor is None or isinstance(actor, str)) and actor.is_authenticated and actor.is_active


def _staff(actor) -> bool:
    return _person(actor) and (actor.is_superuser or actor.kind == User.Kind.STAFF)


def _step_q(actor, prefix: str = "") -> Q | None:
    """Steps whose role the actor holds in the step's department (or above it, with descendants)."""
    q = None
    for grant in role_grants_of(actor=actor):
        here = Q(**{f"{prefix}role": grant.role, f"{prefix}department_id": grant.department_id})
        if grant.include_descendants:
            here |= Q(**{f"{prefix}role": grant.role, f"{prefix}department__path__startswith": grant.department.path})
        q = here if q is None else q | here
    return q


def documents_visible(*, actor) -> QuerySet[Document]:
    if not _staff(actor):
        return Document.objects.none()
    documents = Document.objects.select_related("document_type", "department", "drafter")
    if actor.is_superuser:
        return documents
    visible = Q(drafter=actor) | Exists(Circulation.objects.filter(document=OuterRef("pk"), actor=actor))
    step_q = _step_q(actor)
    if step_q is not None:
        visible |= Exists(Circulation.objects.filter(step_q, document=OuterRef("pk")))
    member_of = RoleGrant.objects.filter(user=actor, department__is_active=True).values("department_id")
    visible |= Exists(Receipt.objects.filter(Q(user=actor) | Q(department_id__in=member_of), document=OuterRef("pk")))
    return documents.filter(visible)


def document_get(*, actor, id) -> Document:
    try:
        pk = int(id)
    except (TypeError, ValueError):
        raise NotFound() from None
    document = documents_visible(actor=actor).filter(pk=pk).first()
    if document is None:
        raise NotFound(_("未找到该公文。"), code="document_not_found")
    return document


def document_list(*, actor, box: str = "all") -> QuerySet[Document]:
    """``all`` (visible), ``drafts`` (mine, not yet issued), ``received`` (sent to me or my
    departments), ``issued`` (issued by documents I can see)."""
    documents = documents_visible(actor=actor)
    if box == "drafts":
        documents = documents.filter(drafter=actor).exclude(state=Document.State.ISSUED)
    elif box == "received":
        member_of = RoleGrant.objects.filter(user=actor, department__is_active=True).values("department_id")
        documents = documents.filter(
            Exists(Receipt.objects.filter(Q(user=actor) | Q(department_id__in=member_of), document=OuterRef("pk")))
        )
    elif box == "issued":
        documents = documents.filter(state=Document.State.ISSUED)
    return documents.order_by("-updated_at", "-pk")


def steps_todo(*, actor) -> QuerySet[Circulation]:
    """The pending steps the actor may act on (我的待办)."""
    if not _staff(actor):
        return Circulation.objects.none()
    steps = Circulation.objects.filter(state=Circulation.State.PENDING, document__state=Document.State.ROUTING)
    if not actor.is_superuser:
        step_q = _step_q(actor)
        if step_q is None:
            return Circulation.objects.none()
        steps = steps.filter(step_q)
    return steps.select_related("document", "document__department", "document__drafter", "department").order_by(
        "arrived_at", "pk"
    )


def document_route(*, document: Document) -> list[Circulation]:
    """Every step of every round, oldest first (the history)."""
    return list(document.steps.select_related("department", "actor").order_by("round", "position", "pk"))


def document_receipts(*, document: Document) -> list[Receipt]:
    return list(document.receipts.select_related("department", "user", "acknowledged_by").order_by("pk"))


def document_types(*, actor, department: Department | None = None) -> QuerySet[DocumentType]:
    """Active types usable in ``department`` (the city-wide ones and its own); staff only."""
    if not _staff(actor):
        return DocumentType.objects.none()
    types = DocumentType.objects.filter(is_active=True)
    if department is not None:
        types = types.filter(Q(department__isnull=True) | Q(department=department))
    return types.order_by("code")


def type_admin_scope(*, actor) -> tuple[bool, QuerySet[Department]]:
    """Where the actor may define document types: (city-wide types too?, the departments whose
    own types he may define) — a city admin or superuser everything, a department admin his
    departments (with those below where his grant says so). (False, none): not at all."""
    from yiwang.identity.models import Role
    from yiwang.identity.selectors import actor_has_role, departments_for_actor

    if not _staff(actor):
        return False, Department.objects.none()
    active = Department.objects.filter(is_active=True).order_by("path")
    if actor.is_superuser or actor_has_role(actor, roles=(Role.CITY_ADMIN,)):
        return True, active
    mine = departments_for_actor(actor=actor, role=Role.DEPARTMENT_ADMIN).values("pk")
    return False, active.filter(pk__in=mine)


def document_types_all(*, actor) -> QuerySet[DocumentType]:
    """Every type, inactive ones too, with its defining department (staff only): the
    workbench's list of types and their routes."""
    if not _staff(actor):
        return DocumentType.objects.none()
    return DocumentType.objects.select_related("department").order_by("-is_active", "code")


def drafting_departments(*, actor) -> QuerySet[Department]:
    """Where the actor may draft: the departments in which he holds a role himself."""
    if not _staff(actor):
        return Department.objects.none()
    if actor.is_superuser:
        return Department.objects.filter(is_active=True, level__lte=Department.Level.COUNTY)
    return Department.objects.filter(
        is_active=True, pk__in=RoleGrant.objects.filter(user=actor).values("department_id")
    ).order_by("path")


# =============================================================================================
# Duty rosters
# =============================================================================================


def duty_on_now(*, department: Department | None = None, at: datetime.datetime | None = None) -> QuerySet[DutyShift]:
    """Who is on duty at ``at`` (now), in ``department`` or everywhere: the hotline and the
    dashboards show it. The contact phone is decrypted on the object: mask it where shown
    (``core.masking.mask_phone``)."""
    at = at or timezone.now()
    shifts = DutyShift.objects.filter(starts_at__lte=at, ends_at__gt=at)
    if department is not None:
        shifts = shifts.filter(department=department)
    return shifts.select_related("department", "person").order_by("department__path", "starts_at", "pk")


def duty_on_now_for(*, actor, department: Department | None = None) -> QuerySet[DutyShift]:
    """``duty_on_now`` for a caller: staff only (anyone else gets nothing)."""
    if not _staff(actor):
        return DutyShift.objects.none()
    return duty_on_now(department=department)


def duty_shifts(
    *, actor, department: Department, start: datetime.datetime, end: datetime.datetime
) -> QuerySet[DutyShift]:
    """A department's shifts overlapping [start, end): any member of staff may read a roster."""
    if not _staff(actor):
        return DutyShift.objects.none()
    return (
        DutyShift.objects.filter(department=department, starts_at__lt=end, ends_at__gt=start)
        .select_related("person", "department")
        .order_by("starts_at", "pk")
    )


def swaps_for(*, actor) -> QuerySet[DutySwap]:
    """Swap requests waiting for the actor's answer, and the ones he asked for."""
    if not _staff(actor):
        return DutySwap.objects.none()
    return (
        DutySwap.objects.filter(Q(to_user=actor) | Q(from_user=actor), state=DutySwap.State.REQUESTED)
        .select_related("shift", "shift__department", "from_user", "to_user")
        .order_by("shift__starts_at")
    )


def department_staff(*, department: Department) -> QuerySet[User]:
    """Active staff with a role in the department itself (for the roster and swap pickers)."""
    return User.objects.filter(
        is_active=True,
        kind=User.Kind.STAFF,
        is_superuser=False,
        pk__in=RoleGrant.objects.filter(department=department).values("user_id"),
    ).order_by("username")
