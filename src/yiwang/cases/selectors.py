"""Case reads, already scoped to the actor. A case the actor may not see raises ``NotFound``
exactly like a missing one.

Who sees a case:
* its applicant;
* reviewers, department heads, auditors and city admins of the implementing department
  (or above it, with descendants) — from the actor's grants (``identity.selectors.roles_for_actor``);
* window clerks while the case is at the front office (before acceptance, or decided and
  waiting for delivery) *and* in their hall's region, and always the cases they received;
* superusers.

Front-office region (一窗受理, GB/T 2260 region codes). A window clerk's hall is the
department of his ``window_clerk`` grant; he takes in cases for ANY department's item, but
works only the queue of his hall's region. A case's front-office region (``intake_region``)
is, for a walk-in, the region code of the hall whose window received it (delivery goes back
to that hall), and for an online case the region code of the implementing department. A
grant covers the hall's region code exactly; a grant with descendants covers every region
code under it (by significant-digit prefix: a city hall "610300" with descendants covers
"6103…", its counties and townships).

A draft (state ``draft``) is its applicant's alone: no staff role, no window clerk, no
superuser sees it, it is in no queue or count, and the public progress lookup never finds it.
"""

import hmac
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from yiwang.cases.models import ApplicantKind, Case, CaseMaterial, CaseState, CaseStep, StepKind
from yiwang.core.codes import region_prefix, validate_id_number
from yiwang.core.errors import NotFound
from yiwang.core.masking import mask_id_number, mask_name, mask_phone
from yiwang.identity.models import Role, User
from yiwang.identity.selectors import actor_grants

BACK_OFFICE_ROLES = (Role.REVIEWER, Role.DEPARTMENT_HEAD, Role.AUDITOR, Role.CITY_ADMIN)
INTAKE_STATES = (CaseState.SUBMITTED, CaseState.SUPPLEMENT_REQUESTED)
DELIVERY_STATES = (CaseState.APPROVED, CaseState.REJECTED)
QUEUE_STATES = (CaseState.ACCEPTED, CaseState.UNDER_REVIEW, CaseState.SUPPLEMENT_REQUESTED)


def _signed_in(actor) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and getattr(actor, "is_active", False)


def front_office_covers(grant, region_code: str) -> bool:
    """Whether a ``window_clerk`` grant's hall serves this front-office region (see the module docstring)."""
    hall_region = grant.department.region_code
    if grant.include_descendants:
        return (region_code or "").startswith(region_prefix(hall_region))
    return region_code == hall_region


def _front_office_q(grant) -> Q:
    hall_region = grant.department.region_code
    if grant.include_descendants:
        return Q(intake_region__startswith=region_prefix(hall_region))
    return Q(intake_region=hall_region)


def _scope(actor, grants: list | None = None) -> tuple[Q, Q | None]:
    """(the back-office cases of the actor's departments, the front-office regions of the
    actor's window grants — None if the actor is no window clerk).

    One query at most: the actor's role grants in active departments (``actor_grants``); a grant
    with descendants covers every active department below by materialized-path prefix, as in
    ``departments_for_actor``. Building the filter from the grants, rather than nesting one
    EXISTS subquery per role, keeps each request's query small and cheap to compile.
    """
    scope = Q(pk__in=[])
    front: Q | None = None
    for grant in actor_grants(actor=actor) if grants is None else grants:
        if grant.role == Role.WINDOW_CLERK:
            front = _front_office_q(grant) if front is None else front | _front_office_q(grant)
        if grant.role not in BACK_OFFICE_ROLES:
            continue
        if grant.include_descendants:
            scope |= Q(department__path__startswith=grant.department.path, department__is_active=True)
        else:
            scope |= Q(department_id=grant.department_id)
    return scope, front


def visible_cases(*, actor, grants: list | None = None) -> QuerySet[Case]:
    """Cases the actor may see (``grants``: the actor's ``roles_for_actor``, if already read)."""
    if not _signed_in(actor):
        return Case.objects.none()
    own = Q(applicant=actor)
    if actor.is_superuser:
        return Case.objects.filter(own | ~Q(state=CaseState.DRAFT))
    scope, front = _scope(actor, grants)
    staff = scope
    if front is not None:
        staff |= Q(received_by=actor) | Q(accepted_by=actor) | (Q(state__in=INTAKE_STATES + DELIVERY_STATES) & front)
    return Case.objects.filter(own | (staff & ~Q(state=CaseState.DRAFT)))


def case_visible_to(*, actor, case: Case, grants: list) -> bool:
    """Whether ``visible_cases(actor=actor, grants=grants)`` contains ``case``, decided in
    Python for a case already read (with its department): the write services lock a case by
    its key alone and check this, so their SQL is the same for every actor. Property-tested
    against ``visible_cases`` (``tests/test_visibility.py``): change both together."""
    if not _signed_in(actor):
        return False
    if case.applicant_id == actor.pk:
        return True
    if case.state == CaseState.DRAFT:  # a draft is its applicant's alone
        return False
    if actor.is_superuser:
        return True
    windows = []
    for grant in grants:
        if grant.role == Role.WINDOW_CLERK:
            windows.append(grant)
        if grant.role not in BACK_OFFICE_ROLES:
            continue
        if grant.department_id == case.department_id:
            return True
        if (
            grant.include_descendants
            and case.department.is_active
            and case.department.path.startswith(grant.department.path)
        ):
            return True
    if windows:
        if actor.pk in (case.received_by_id, case.accepted_by_id):
            return True
        if case.state in INTAKE_STATES + DELIVERY_STATES:
            return any(front_office_covers(grant, case.intake_region) for grant in windows)
    return False


def _with_refs(cases: QuerySet[Case]) -> QuerySet[Case]:
    return cases.select_related("item_version__item", "department", "assignee", "intake_department")


def case_get(*, actor, case_id) -> Case:
    try:
        pk = int(case_id)
    except (TypeError, ValueError):
        raise NotFound(_("未找到该办件。"), code="case_not_found") from None
    case = _with_refs(visible_cases(actor=actor)).filter(pk=pk).exclude(state=CaseState.DRAFT).first()
    if case is None:
        raise NotFound(_("未找到该办件。"), code="case_not_found")
    return case


def case_get_by_number(*, actor, number: str) -> Case:
    case = _with_refs(visible_cases(actor=actor)).filter(number=(number or "").strip()).first()
    if case is None:
        raise NotFound(_("未找到该办件。"), code="case_not_found")
    return case


def case_list_for_applicant(*, actor, state: str | None = None) -> QuerySet[Case]:
    """My cases, newest first."""
    if not _signed_in(actor):
        return Case.objects.none()
    cases = Case.objects.filter(applicant=actor).exclude(state=CaseState.DRAFT)
    if state:
        cases = cases.filter(state=state)
    return _with_refs(cases).order_by("-submitted_at", "-pk")


def cases_for_delegation(*, delegation) -> QuerySet[Case]:
    """The principal's cases an agent follows through ``delegation`` (already checked to be the
    actor's and in force: ``identity.selectors.delegation_for_agent``): submitted cases of the
    items it covers, newest first. Drafts stay the principal's own."""
    cases = Case.objects.filter(applicant_id=delegation.principal_id).exclude(state=CaseState.DRAFT)
    if not delegation.all_items:
        cases = cases.filter(item_version__item__implementation_code__in=list(delegation.item_codes or []))
    return _with_refs(cases).order_by("-submitted_at", "-pk")


def cases_submitted_by_agent(*, delegation) -> QuerySet[Case]:
    """The cases of ``cases_for_delegation`` that the agent himself submitted for the principal:
    the ones he may act on (answer a supplement, withdraw) through the delegation."""
    by_agent = CaseStep.objects.filter(case=OuterRef("pk"), kind=StepKind.SUBMITTED, actor_id=delegation.agent_id)
    return cases_for_delegation(delegation=delegation).filter(Exists(by_agent))


def case_get_for_delegation(*, delegation, case_id, acting: bool = False) -> Case:
    """One case of ``cases_for_delegation`` (``acting``: of ``cases_submitted_by_agent``);
    ``NotFound`` for any other (outside the scope too)."""
    try:
        pk = int(case_id)
    except (TypeError, ValueError):
        raise NotFound(_("未找到该办件。"), code="case_not_found") from None
    scope = cases_submitted_by_agent if acting else cases_for_delegation
    case = scope(delegation=delegation).filter(pk=pk).first()
    if case is None:
        raise NotFound(_("未找到该办件。"), code="case_not_found")
    return case


def case_draft_list(*, actor) -> QuerySet[Case]:
    """My drafts (applications saved but not submitted), last edited first."""
    if not _signed_in(actor):
        return Case.objects.none()
    return _with_refs(Case.objects.filter(applicant=actor, state=CaseState.DRAFT)).order_by("-updated_at", "-pk")


def case_draft_get(*, actor, draft_id) -> Case:
    """One of my drafts; anybody else's draft, a submitted case or a missing one is ``NotFound``."""
    try:
        pk = int(draft_id)
    except (TypeError, ValueError):
        raise NotFound(_("未找到该草稿。"), code="draft_not_found") from None
    draft = case_draft_list(actor=actor).filter(pk=pk).first()
    if draft is None:
        raise NotFound(_("未找到该草稿。"), code="draft_not_found")
    return draft


def case_queue(
    *,
    actor,
    department_id: int | None = None,
    states: tuple[str, ...] = QUEUE_STATES,
    sla_status: str | None = None,
    mine: bool = False,
) -> QuerySet[Case]:
    """The back-office queue of the actor's departments, most urgent first (earliest due date;
    cases without one, e.g. paused ones, after; then by submission)."""
    if not _signed_in(actor):
        return Case.objects.none()
    cases = Case.objects.filter(state__in=states)
    if not actor.is_superuser:
        cases = cases.filter(_scope(actor)[0])
    if department_id is not None:
        cases = cases.filter(department_id=department_id)
    if sla_status:
        cases = cases.filter(sla_status=sla_status)
    if mine:
        cases = cases.filter(assignee=actor)
    return _with_refs(cases).order_by(F("due_date").asc(nulls_last=True), "submitted_at", "pk")


def window_halls(*, actor, grants: list | None = None) -> list:
    """The halls (departments) where the actor holds a ``window_clerk`` grant, in tree order:
    the choices of the window pages' hall chooser, and the hall a walk-in is taken in at by
    default (the first). ``grants``: the actor's grants if already read (else one query)."""
    grants = actor_grants(actor=actor) if grants is None else grants
    halls = {grant.department.pk: grant.department for grant in grants if grant.role == Role.WINDOW_CLERK}
    return sorted(halls.values(), key=lambda department: department.path)


def case_intake_queue(*, actor, stage: str = "intake") -> QuerySet[Case]:
    """The front office of the actor's hall(s): cases of its region (see "front-office region"
    above) waiting for acceptance (``intake``) or for delivery (``delivery``)."""
    if not _signed_in(actor):
        return Case.objects.none()
    states = DELIVERY_STATES if stage == "delivery" else INTAKE_STATES
    cases = Case.objects.filter(state__in=states)
    if not actor.is_superuser:
        front = _scope(actor)[1]
        if front is None:
            return Case.objects.none()
        cases = cases.filter(front)
    return _with_refs(cases).order_by("submitted_at", "pk")


def case_timeline(*, actor, case: Case) -> QuerySet[CaseStep]:
    """The case's steps; the applicant sees only the public ones (no internal opinions)."""
    steps = case.steps.all().order_by("id")
    own = case.applicant_id == actor.pk and getattr(actor, "kind", "") != "staff"
    staff_view = not own and (actor.is_superuser or case_is_staff_view(actor=actor, case=case))
    return steps if staff_view else steps.filter(public=True)


def case_is_staff_view(*, actor, case: Case) -> bool:
    if not _signed_in(actor) or case.state == CaseState.DRAFT:
        return False
    if actor.is_superuser:
        return True
    if actor.pk in (case.received_by_id, case.accepted_by_id):
        return True
    return Case.objects.filter(pk=case.pk).filter(_scope(actor)[0]).exists()


def case_material_get(*, actor, case_id, material_id) -> CaseMaterial:
    """A material file: only for those who may see the case (a draft's: its applicant); else ``NotFound``."""
    material = CaseMaterial.objects.filter(case__in=visible_cases(actor=actor), case_id=case_id, pk=material_id).first()
    if material is None:
        raise NotFound(_("未找到该材料。"), code="material_not_found")
    return material


def case_issuance_facts(*, case_id: int) -> dict:
    """What the licenses app needs to issue on approval (called from its ``case.approved``
    subscriber, a system context, so not scoped to an actor).

    ``{"case_id", "case_number", "state", "license_type_code" (or None), "holder_kind"
    ("natural_person" | "legal_person"), "holder_name", "holder_id_number" (身份证号 or
    统一社会信用代码, in clear: handle as personal data), "issuer_department_id",
    "item_name", "form_data", "decided_at"}``. ``NotFound`` if there is no such case.
    """
    case = Case.objects.select_related("item_version").filter(pk=case_id).first()
    if case is None:
        raise NotFound(_("未找到该办件。"), code="case_not_found")
    version = case.item_version
    return {
        "case_id": case.pk,
        "case_number": case.number,
        "state": case.state,
        "license_type_code": version.output_license_type_code or None,
        "holder_kind": case.applicant_kind,
        "holder_name": case.applicant_name,
        "holder_id_number": case.applicant_id_number,
        "issuer_department_id": case.department_id,
        "item_name": version.name,
        "form_data": case.form_data,
        "decided_at": case.decided_at,
    }


def case_notification_facts(*, case_id: int) -> dict:
    """What the messaging app needs to word a notification about a case (called from its
    event subscribers, a system context, so not scoped to an actor; no personal data).

    ``{"case_id", "number", "item_name", "state", "state_label", "sla_status", "sla_label",
    "due_date" (ISO date or None), "department_id", "department_name", "assignee_id" (or
    None), "applicant_id"}``. ``NotFound`` if there is no such case.
    """
    case = Case.objects.select_related("item_version", "department").filter(pk=case_id).first()
    if case is None:
        raise NotFound(_("未找到该办件。"), code="case_not_found")
    return {
        "case_id": case.pk,
        "number": case.number,
        "item_name": case.item_version.name,
        "state": case.state,
        "state_label": str(case.get_state_display()),
        "sla_status": case.sla_status,
        "sla_label": str(case.get_sla_status_display()),
        "due_date": case.due_date.isoformat() if case.due_date else None,
        "department_id": case.department_id,
        "department_name": case.department.name,
        "assignee_id": case.assignee_id,
        "applicant_id": case.applicant_id,
    }


# --- reads for the evaluation app (好差评 and the service metrics; added by the evaluation
# helper) ------------------------------------------------------------------------------------

RATABLE_STATES = (CaseState.DELIVERED, CaseState.REFUSED)


def case_rating_facts(*, actor, case_id) -> dict:
    """For the applicant rating his own case: what the rating keeps (item, department, the
    window that took it in, the staff who decided it). ``NotFound`` unless ``actor`` is the
    case's applicant — anybody else's case looks missing, whatever their roles.

    ``{"case_id", "number", "state", "ratable" (delivered or refused), "item_code",
    "item_name", "department_id", "intake_department_id" (walk-in hall, or None),
    "staff_id" (who decided, else who accepted or refused, else who received; or None),
    "concluded_at"}``.
    """
    try:
        pk = int(case_id)
    except (TypeError, ValueError):
        raise NotFound(_("未找到该办件。"), code="case_not_found") from None
    case = case_list_for_applicant(actor=actor).filter(pk=pk).first()
    if case is None:
        raise NotFound(_("未找到该办件。"), code="case_not_found")
    staff_id = case.decided_by_id or case.accepted_by_id or case.received_by_id
    if case.state == CaseState.REFUSED:
        step = case.steps.filter(kind="refused").only("actor_id").order_by("-id").first()
        staff_id = step.actor_id if step and step.actor_id else staff_id
    return {
        "case_id": case.pk,
        "number": case.number,
        "state": case.state,
        "ratable": case.state in RATABLE_STATES,
        "item_code": case.item_version.item.implementation_code,
        "item_name": case.item_version.name,
        "department_id": case.department_id,
        "intake_department_id": case.intake_department_id,
        "staff_id": staff_id,
        "concluded_at": case.delivered_at or case.decided_at or case.updated_at,
    }


def case_metric_rows(*, department_ids=None, since=None, until=None) -> list[dict]:
    """One row per submitted case (drafts never), for the service metrics (a system read: the
    caller scopes by ``department_ids``, an iterable of ids, or None for every department;
    ``since``/``until`` bound ``submitted_at``, until exclusive). No personal data.

    Keys: ``id, item_code, item_name, department_id, state, channel, decision,
    submitted_at, accepted_at, decided_at, delivered_at, refused_at, delivery_method,
    statutory_time_limit, promised_time_limit, supplement_by_staff`` (the supplement was
    answered by a member of staff other than the applicant, i.e. at a window — not by an agent
    online through a delegation), ``item_version_id``,
    and, when the cases app records them, ``materials_exempt`` (verified 免提交 evidence rows,
    ``CaseEvidence``) and ``auto_decided`` (an applied 秒批 verdict, ``CaseAutoCheck``) — else None.
    """
    from django.db.models import Count, Exists, OuterRef, Subquery

    cases = Case.objects.exclude(state=CaseState.DRAFT)
    if department_ids is not None:
        cases = cases.filter(department_id__in=list(department_ids))
    if since is not None:
        cases = cases.filter(submitted_at__gte=since)
    if until is not None:
        cases = cases.filter(submitted_at__lt=until)
    # A member of staff (a window), not the applicant nor an agent acting online for him (授权代办).
    by_staff = CaseStep.objects.filter(
        case_id=OuterRef("pk"), kind="supplement_answered", actor__kind=User.Kind.STAFF
    ).exclude(actor_id=OuterRef("applicant_id"))
    auto_model = _optional_cases_model("CaseAutoCheck")
    if auto_model is not None:
        # 秒批: the decision table's verdict was applied by the system actor.
        cases = cases.annotate(auto_decided=Exists(auto_model.objects.filter(case_id=OuterRef("pk"), applied=True)))
    extra = ["auto_decided"] if auto_model is not None else []
    rows = list(
        cases.annotate(
            supplement_by_staff=Exists(by_staff),
            refused_at=Subquery(
                CaseStep.objects.filter(case_id=OuterRef("pk"), kind="refused").order_by("id").values("created_at")[:1]
            ),
        ).values(
            "id",
            "item_version_id",
            "department_id",
            "state",
            "channel",
            "decision",
            "submitted_at",
            "accepted_at",
            "decided_at",
            "delivered_at",
            "delivery_method",
            "supplement_by_staff",
            "refused_at",
            "item_version__name",
            "item_version__item__implementation_code",
            "item_version__statutory_time_limit",
            "item_version__promised_time_limit",
            *extra,
        )
    )
    exempt = {}
    exempt_model = _optional_cases_model("CaseEvidence")
    if exempt_model is not None and rows:
        ids = [row["id"] for row in rows]
        verified = exempt_model.objects.filter(case_id__in=ids, status="verified")
        for entry in verified.values("case_id").annotate(n=Count("id")):
            exempt[entry["case_id"]] = entry["n"]
    result = []
    for row in rows:
        auto = next((row[name] for name in extra), None)
        result.append(
            {
                "id": row["id"],
                "item_version_id": row["item_version_id"],
                "item_code": row["item_version__item__implementation_code"],
                "item_name": row["item_version__name"],
                "department_id": row["department_id"],
                "state": row["state"],
                "channel": row["channel"],
                "decision": row["decision"],
                "submitted_at": row["submitted_at"],
                "accepted_at": row["accepted_at"],
                "decided_at": row["decided_at"],
                "delivered_at": row["delivered_at"],
                "refused_at": row["refused_at"],
                "delivery_method": row["delivery_method"],
                "statutory_time_limit": row["item_version__statutory_time_limit"],
                "promised_time_limit": row["item_version__promised_time_limit"],
                "supplement_by_staff": row["supplement_by_staff"],
                "materials_exempt": exempt.get(row["id"], 0) if exempt_model is not None else None,
                "auto_decided": bool(auto) if extra else None,
            }
        )
    return result


def _optional_cases_model(name: str):
    """A model of the cases app that the smart-services work adds (``CaseEvidence``: 免提交
    snapshots; ``CaseAutoCheck``: 秒批 verdicts), or None while it does not exist — the metrics
    then say the figure is not recorded."""
    from django.apps import apps

    try:
        return apps.get_model("cases", name)
    except LookupError:
        return None


@dataclass(frozen=True)
class PublicProgress:
    number: str
    item_name: str
    department_name: str
    state: str
    state_label: str
    submitted_on: str
    accepted_on: str | None
    due_date: str | None
    concluded_on: str | None


def case_public_progress(*, number: str, last4: str) -> PublicProgress:
    """办件进度查询: case number plus the last four characters of the applicant's ID number
    (or USCC) or phone. Reveals the progress only; any mismatch is the same ``NotFound``."""
    from yiwang.cases.clock import local_day

    not_found = NotFound(_("未查到该办件,请核对办件编号和证件号码或手机号后四位。"), code="case_not_found")
    number, last4 = (number or "").strip(), (last4 or "").strip().upper()
    if len(last4) != 4 or not number:
        raise not_found
    case = (
        Case.objects.select_related("item_version", "department")
        .filter(number=number)
        .exclude(state=CaseState.DRAFT)
        .first()
    )
    if case is None:
        raise not_found
    id_tail = (case.applicant_id_number or "").upper()[-4:]
    phone_tail = (case.applicant_phone or "")[-4:]
    ok = hmac.compare_digest(id_tail.encode(), last4.encode())
    ok = hmac.compare_digest(phone_tail.encode(), last4.encode()) or ok if phone_tail else ok
    if not ok:
        raise not_found
    concluded = case.delivered_at or case.decided_at or case.withdrawn_at
    return PublicProgress(
        number=case.number,
        item_name=case.item_version.name,
        department_name=case.department.name,
        state=case.state,
        state_label=case.get_state_display(),
        submitted_on=local_day(case.submitted_at).isoformat(),
        accepted_on=local_day(case.accepted_at).isoformat() if case.accepted_at else None,
        due_date=case.due_date.isoformat() if case.due_date else None,
        concluded_on=local_day(concluded).isoformat() if concluded else None,
    )


# --- reads for the pages (added by the pages helper; the case comes from ``case_get``, so
# these are already scoped to the actor) --------------------------------------------------


def case_supplement(*, case: Case):
    """The case's one supplement notice, or None (no query when it was read with the case)."""
    try:
        return case.supplement
    except Case.supplement.RelatedObjectDoesNotExist:
        return None


def case_materials(*, case: Case) -> QuerySet[CaseMaterial]:
    """The files uploaded for the case, in upload order."""
    return CaseMaterial.objects.filter(case=case).order_by("id")


# --- life-event bundles (一件事一次办) ------------------------------------------------------
# A bundle is the applicant's: only they (and the window clerk who received it) see it whole.
# Staff see each child case through the usual scoping, plus a note naming the bundle and its
# other items' names and states — nothing else of another department's case.


def _bundles():
    from yiwang.cases.models import CaseBundle

    return CaseBundle.objects.select_related("life_event_version__life_event").prefetch_related(
        Prefetch(
            "cases", queryset=Case.objects.select_related("item_version__item", "department", "assignee").order_by("pk")
        )
    )


def bundle_get(*, actor, bundle_id):
    """The bundle with its cases; ``NotFound`` unless the actor applied for it, received it at
    the window, or is a superuser."""
    not_found = NotFound(_("未找到该一件事申请。"), code="bundle_not_found")
    try:
        pk = int(bundle_id)
    except (TypeError, ValueError):
        raise not_found from None
    if not _signed_in(actor):
        raise not_found
    bundles = _bundles().filter(pk=pk)
    if not actor.is_superuser:
        bundles = bundles.filter(Q(applicant=actor) | Q(received_by=actor))
    bundle = bundles.first()
    if bundle is None:
        raise not_found
    return bundle


def bundle_list_for_applicant(*, actor):
    """My bundle applications with their cases, newest first."""
    from yiwang.cases.models import CaseBundle

    if not _signed_in(actor):
        return CaseBundle.objects.none()
    return _bundles().filter(applicant=actor).order_by("-submitted_at", "-pk")


DECIDED_STATES = (CaseState.APPROVED, CaseState.REJECTED, CaseState.REFUSED, CaseState.DELIVERED)


@dataclass(frozen=True)
class BundleProgress:
    status: str
    label: str
    total: int
    delivered: int
    decided: int
    supplement_requested: int


def bundle_status(*, bundle) -> BundleProgress:
    """The bundle's status from its cases (use a bundle from ``bundle_get`` / ``bundle_list_for_applicant``,
    whose cases are prefetched):

    * ``some_refused`` — a case was refused (不予受理) or rejected (不予许可), delivered or not;
    * ``withdrawn`` — every case was withdrawn;
    * ``all_delivered`` — every case is delivered (or withdrawn);
    * ``partly_decided`` — some cases are decided or delivered, others still running;
    * ``in_progress`` — no case is decided yet.
    """
    from yiwang.cases.models import BundleStatus, Decision

    cases = list(bundle.cases.all())
    refused = any(
        c.state in (CaseState.REFUSED, CaseState.REJECTED)
        or (c.state == CaseState.DELIVERED and c.decision == Decision.REJECT)
        for c in cases
    )
    delivered = sum(1 for c in cases if c.state == CaseState.DELIVERED)
    withdrawn = sum(1 for c in cases if c.state == CaseState.WITHDRAWN)
    decided = sum(1 for c in cases if c.state in DECIDED_STATES)
    if refused:
        status = BundleStatus.SOME_REFUSED
    elif cases and withdrawn == len(cases):
        status = BundleStatus.WITHDRAWN
    elif cases and delivered + withdrawn == len(cases):
        status = BundleStatus.ALL_DELIVERED
    elif decided or withdrawn:
        status = BundleStatus.PARTLY_DECIDED
    else:
        status = BundleStatus.IN_PROGRESS
    return BundleProgress(
        status=status.value,
        label=str(status.label),
        total=len(cases),
        delivered=delivered,
        decided=decided,
        supplement_requested=sum(1 for c in cases if c.state == CaseState.SUPPLEMENT_REQUESTED),
    )


def bundle_timeline(*, bundle) -> QuerySet[CaseStep]:
    """The public steps of every case of the bundle, merged in time order (each step's
    ``case`` carries its number and the item's name, and nothing else of the case: no
    applicant data decrypted, no guide read, per step)."""
    return (
        CaseStep.objects.filter(case__bundle=bundle, public=True)
        .select_related("case__item_version")
        .only(
            "case_id",
            "kind",
            "process_step_name",
            "note",
            "created_at",
            "case__number",
            "case__item_version_id",
            "case__item_version__name",
        )
        .order_by("created_at", "id")
    )


@dataclass(frozen=True)
class BundleNote:
    bundle_id: int
    number: str
    name: str
    siblings: list  # [(item name, state label, is this case)]


def case_bundle_note(*, case: Case) -> BundleNote | None:
    """For a case the actor may already see (from ``case_get``): the bundle it belongs to and
    the names and states of the bundle's cases — no other department's case contents."""
    if not case.bundle_id:
        return None
    from yiwang.cases.models import CaseBundle

    bundle = (
        CaseBundle.objects.select_related("life_event_version")
        .only("number", "life_event_version__name")
        .get(pk=case.bundle_id)
    )
    rows = (
        Case.objects.filter(bundle_id=case.bundle_id)
        .select_related("item_version")
        .only("pk", "state", "item_version__name")
        .order_by("pk")
    )
    return BundleNote(
        bundle_id=bundle.pk,
        number=bundle.number,
        name=bundle.life_event_version.name,
        siblings=[(row.item_version.name, row.get_state_display(), row.pk == case.pk) for row in rows],
    )


def case_missing_materials(*, case: Case) -> list:
    """The required materials the applicant has still to supply for ``case``: requirements of
    its item version with source ``applicant`` and requirement ``required`` that have no
    uploaded file. Materials the government holds (a license, registry data) never count."""
    from django.db.models import Exists, OuterRef

    from yiwang.catalog import selectors as catalog_selectors

    uploaded = CaseMaterial.objects.filter(case_id=case.pk, requirement_id=OuterRef("pk"))
    required = catalog_selectors.required_applicant_materials(version_id=case.item_version_id)
    return list(required.exclude(Exists(uploaded)))  # one query


_MOBILE = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$")


def _is_id_number(text: str) -> bool:
    try:
        validate_id_number(text)
    except ValidationError:
        return False
    return True


def shown_form(form_data, *, owner, full_name: bool):
    """A case's (or bundle's) form as an API response or a page shows it: every 身份证号 (the
    applicant's or anybody's), the applicant's certificate number and every mobile number
    masked, the applicant's name too unless ``full_name`` (the applicant looking at his own);
    docs/api.md: full identifiers never appear. ``owner``: the case or bundle, whose applicant
    snapshot is already read (no query)."""
    own_number = (owner.applicant_id_number or "").upper()

    def shown(value):
        if isinstance(value, dict):
            return {key: shown(item) for key, item in value.items()}
        if isinstance(value, list):
            return [shown(item) for item in value]
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text and (text.upper() == own_number or (len(text) == 18 and _is_id_number(text))):
            return mask_id_number(text)
        if text and (text == owner.applicant_phone or _MOBILE.match(text)):
            return mask_phone(text)
        if text and not full_name and text == owner.applicant_name:
            return mask_name(text)
        return value

    return shown(form_data or {})


# --- 免提交 and 秒批 (services.smart) ----------------------------------------------------------


@dataclass
class SmartView:
    """What the platform checked by itself for one case, as its pages show it: the 免提交
    materials (``evidence``), the decision table's verdict (``check``) and — for staff only —
    the facts and what each condition found, and the pre-filled fields the applicant changed."""

    evidence: list
    check: object | None
    facts: dict
    findings: list
    unverified: dict
    changed: list


def case_smart_view(*, case: Case, staff: bool) -> SmartView:
    """Two queries. The case is one the caller may already see (from ``case_get``)."""
    import json

    from yiwang.cases.models import CaseAutoCheck, CaseEvidence

    evidence = list(CaseEvidence.objects.filter(case_id=case.pk).order_by("id"))
    check = CaseAutoCheck.objects.filter(case_id=case.pk).first()
    details = {}
    if check is not None and staff and check.details:
        details = json.loads(check.details)
    return SmartView(
        evidence=evidence,
        check=check,
        facts=details.get("facts") or {},
        findings=details.get("findings") or [],
        unverified=details.get("unverified") or {},
        changed=list(check.changed_fields) if check is not None else [],
    )


def case_form_prefill(*, actor, version) -> tuple[dict, dict]:
    """The version's form pre-filled for the signed-in applicant (``services.form_prefill``:
    identity, and his own registry record read through the exchange)."""
    from yiwang.cases.services import form_prefill

    if not _signed_in(actor):
        return {}, {}
    return form_prefill(actor=actor, applicant=actor, version=version)


def case_ids_approved_with_output(*, limit: int = 1000) -> list[int]:
    """Ids of approved or delivered cases whose item version outputs a license type: what the
    licenses app issues for (its demo loader uses it when no worker ran the ``case.approved``
    events). Oldest first."""
    return list(
        Case.objects.filter(state__in=(CaseState.APPROVED, CaseState.DELIVERED), decision="approve")
        .exclude(item_version__output_license_type_code="")
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def case_search(*, actor, query: str) -> QuerySet[Case]:
    """Workbench search (issue #14) among the cases the actor may see: a case number (exact),
    an 18-character ID number or credit code (through the blind index: exact only, never stored
    or logged in clear), else part of the applicant's name. Newest first."""
    from yiwang.core.crypto import blind_index

    query = (query or "").strip()[:64]
    if not query:
        return Case.objects.none()
    cases = visible_cases(actor=actor).filter(submitted_at__isnull=False)
    compact = query.replace(" ", "").upper()
    match = Q(number=compact)
    if len(compact) == 18:
        match |= Q(applicant_id_index=blind_index(compact))
    if len(query) >= 2:
        match |= Q(applicant_name__icontains=query)
    return _with_refs(cases.filter(match)).order_by("-submitted_at", "-id")


def case_handled_by(*, actor) -> QuerySet[Case]:
    """The cases the actor has acted on (a step of the timeline is theirs), latest first."""
    if not _signed_in(actor):
        return Case.objects.none()
    handled = CaseStep.objects.filter(actor=actor).values("case_id")
    return _with_refs(visible_cases(actor=actor).filter(pk__in=handled)).order_by("-updated_at", "-id")


def case_id_mismatches(*, case: Case) -> list[str]:
    """Labels of the form fields that name the applicant's own ID number (``x-applicant: id_number``)
    but hold another one (issue #14): the clerk is warned before accepting. Fields for other
    people's numbers (a spouse, a child) carry no such marker and are left alone."""
    if case.applicant_kind != ApplicantKind.NATURAL_PERSON or not case.applicant_id_number:
        return []
    own = case.applicant_id_number.strip().upper()
    data = case.form_data or {}
    out = []
    for key, spec in ((case.item_version.form_schema or {}).get("properties") or {}).items():
        if not isinstance(spec, dict) or spec.get("x-applicant") != "id_number":
            continue
        value = str(data.get(key) or "").replace(" ", "").upper()
        if value and value != own:
            out.append(str(spec.get("title") or key))
    return out


@dataclass
class DepartmentFigures:
    """A department head's page (issue #14): real counts of the departments they head."""

    received: int
    open: int
    overdue: int
    warning: int
    delivered: int
    by_state: list  # (label, count)
    by_item: list  # (item name, count), most first
    to_decide: list  # cases waiting for a decision: the head's to-do list


def department_figures(*, actor) -> DepartmentFigures | None:
    """Counts over the cases of the departments the actor heads (None for anyone heading none)."""
    from django.db.models import Count

    scope = Q(pk__in=[])
    heads = False
    for grant in actor_grants(actor=actor) if _signed_in(actor) else []:
        if grant.role != Role.DEPARTMENT_HEAD:
            continue
        heads = True
        if grant.include_descendants:
            scope |= Q(department__path__startswith=grant.department.path, department__is_active=True)
        else:
            scope |= Q(department_id=grant.department_id)
    if not heads:
        return None
    cases = Case.objects.filter(scope, submitted_at__isnull=False)
    states = dict(CaseState.choices)
    by_state = [
        (states.get(row["state"], row["state"]), row["n"])
        for row in cases.values("state").annotate(n=Count("id")).order_by("state")
    ]
    by_item = [
        (row["item_version__name"], row["n"])
        for row in cases.values("item_version__name").annotate(n=Count("id")).order_by("-n", "item_version__name")[:10]
    ]
    open_states = (CaseState.SUBMITTED, CaseState.SUPPLEMENT_REQUESTED, CaseState.ACCEPTED, CaseState.UNDER_REVIEW)
    to_decide = list(_with_refs(cases.filter(state=CaseState.UNDER_REVIEW)).order_by("due_date", "id")[:20])
    return DepartmentFigures(
        received=cases.count(),
        open=cases.filter(state__in=open_states).count(),
        overdue=cases.filter(sla_status="overdue").count(),
        warning=cases.filter(sla_status="warning").count(),
        delivered=cases.filter(state=CaseState.DELIVERED).count(),
        by_state=by_state,
        by_item=by_item,
        to_decide=to_decide,
    )


def real_name_level_shortfall(*, version, applicant) -> int:
    """The 实名等级 the item needs that the applicant lacks: 0 when his account's level suffices
    (staff and anonymous accounts have none to compare), else the level the item requires."""
    needed = getattr(version, "real_name_level", 1) or 1
    if needed <= 1 or getattr(applicant, "kind", "") == User.Kind.STAFF:
        return 0
    return needed if (getattr(applicant, "real_name_level", 1) or 1) < needed else 0


# --- Figures for the dashboards' rollups (analytics) --------------------------------------------


def case_daily_figures(*, since, until) -> list[dict]:
    """Submitted cases per department and local submission day in ``[since, until)`` (aware
    datetimes): a system read for the analytics rollup, grouped in the database (one query,
    never a row per case). Keys: ``department_id, region_code, day, submitted, concluded,
    immediate`` (decided or refused on the day of submission: 即办), ``full_online``
    (concluded, applied online, no supplement answered at a window and not collected at a
    window: 全程网办). No personal data."""
    from django.db.models import Count, Exists, OuterRef
    from django.db.models.functions import TruncDate

    concluded = Q(decided_at__isnull=False) | Q(state=CaseState.REFUSED)
    # A member of staff (a window), not the applicant nor an agent acting online for him (授权代办).
    by_staff = CaseStep.objects.filter(
        case_id=OuterRef("pk"), kind="supplement_answered", actor__kind=User.Kind.STAFF
    ).exclude(actor_id=OuterRef("applicant_id"))
    rows = (
        Case.objects.exclude(state=CaseState.DRAFT)
        .filter(submitted_at__gte=since, submitted_at__lt=until)
        .annotate(
            day=TruncDate("submitted_at"),
            decided_day=TruncDate("decided_at"),
            changed_day=TruncDate("updated_at"),
            window_supplement=Exists(by_staff),
        )
        .values("department_id", "department__region_code", "day")
        .annotate(
            submitted=Count("id"),
            concluded=Count("id", filter=concluded),
            immediate=Count(
                "id",
                filter=Q(decided_day=F("day")) | Q(state=CaseState.REFUSED, changed_day=F("day")),
            ),
            full_online=Count(
                "id",
                filter=concluded & Q(channel="online", window_supplement=False) & ~Q(delivery_method="window"),
            ),
        )
        .order_by()
    )
    return [
        {
            "department_id": row["department_id"],
            "region_code": row["department__region_code"] or "",
            "day": row["day"],
            "submitted": row["submitted"],
            "concluded": row["concluded"],
            "immediate": row["immediate"],
            "full_online": row["full_online"],
        }
        for row in rows
    ]


def case_state_figures() -> list[dict]:
    """How many submitted cases are in each state and time-limit light now, per department:
    one grouped query for the analytics rollup. Keys: ``department_id, region_code, state,
    sla_status, count``."""
    from django.db.models import Count

    rows = (
        Case.objects.exclude(state=CaseState.DRAFT)
        .values("department_id", "department__region_code", "state", "sla_status")
        .annotate(count=Count("id"))
        .order_by()
    )
    return [
        {
            "department_id": row["department_id"],
            "region_code": row["department__region_code"] or "",
            "state": row["state"],
            "sla_status": row["sla_status"],
            "count": row["count"],
        }
        for row in rows
    ]
