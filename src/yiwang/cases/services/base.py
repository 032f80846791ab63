"""Shared by every stage: the actor's grants and roles, the locked case, steps, saving."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.cases.models import (
    Case,
    CaseState,
    CaseStep,
    StepKind,
    Supplement,
)
from yiwang.core import db, events
from yiwang.core.audit import audit_record
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.identity.models import Department, Role, User
from yiwang.identity.selectors import actor_grants, actor_has_role


def _actor_name(actor) -> str:
    if actor is None or isinstance(actor, str):
        return actor or _("系统")
    return actor.real_name or actor.username


def _grants(actor, case: Case | None = None) -> list:
    """The actor's role grants (``identity.selectors.actor_grants``: one query at most),
    reused from ``_lock`` when it already read them."""
    cached = getattr(case, "_actor_grants", None)
    if cached is not None and cached[0] == getattr(actor, "pk", None):
        return cached[1]
    return actor_grants(actor=actor)


def _has_role(actor, roles: str | Iterable[str], case: Case) -> bool:
    """Whether the actor holds one of ``roles`` in the case's department (the grants ``_lock`` read)."""
    return actor_has_role(actor, roles=roles, department=case.department, grants=_grants(actor, case))


def is_window_clerk(actor, case: Case | None = None) -> bool:
    """A window clerk: front-office intake serves every department's items. With ``case``: a
    clerk whose hall serves the case's front-office region, or who received it (see
    ``cases.selectors``, "front-office region")."""
    from yiwang.cases.selectors import front_office_covers

    grants = _grants(actor, case)
    if case is None or getattr(actor, "is_superuser", False):
        return actor_has_role(actor, roles=Role.WINDOW_CLERK, grants=grants)
    windows = [grant for grant in grants if grant.role == Role.WINDOW_CLERK]
    if not windows:
        return False
    if case.received_by_id is not None and case.received_by_id == actor.pk:
        return True
    return any(front_office_covers(grant, case.intake_region) for grant in windows)


def _intake_hall(actor, hall: Department | None, *, grants: list | None = None) -> Department | None:
    """The hall whose window takes a walk-in in: ``hall`` if the clerk works there (a window
    grant on it, or above it with descendants), else the first of ``selectors.window_halls``.
    None for a superuser without a window grant (the case then belongs to the implementing
    department's region)."""
    from yiwang.cases.selectors import window_halls

    grants = _grants(actor) if grants is None else grants
    if hall is None:
        halls = window_halls(actor=actor, grants=grants)
        return halls[0] if halls else None
    if actor_has_role(actor, roles=Role.WINDOW_CLERK, department=hall, grants=grants):
        return hall
    message = _("您不在该政务服务大厅的窗口工作")
    raise ValidationFailed(message, code="intake_department", fields={"intake_department": message})


# What a transition reads of the case's neighbours; the rest (guide texts and JSON of the
# item version, the assignee's personal data) is left out so that the lock reads, decrypts
# and decodes less. A deferred column read by mistake costs one query, never a wrong answer.
_LOCK_RELATED_FIELDS = (
    "department__name",
    "department__path",
    "department__is_active",
    "department__parent_id",
    "department__region_code",
    "item_version__item_id",
    "item_version__name",
    "item_version__process",
    "item_version__output_license_type_code",
    "item_version__item__implementation_code",
    "item_version__item__department_id",
    "assignee__username",
    "assignee__real_name",
    "assignee__is_active",
    "assignee__kind",
    *(f"supplement__{f.name}" for f in Supplement._meta.concrete_fields),
)


def _lock_fields() -> tuple[str, ...]:
    return (*(f.name for f in Case._meta.concrete_fields), *_LOCK_RELATED_FIELDS)


def _lock(*, actor, case_id, expected_version: int | None) -> Case:
    """The case, locked until commit; ``NotFound`` if the actor may not see it.

    The row is read by its key alone (the same SQL for every actor) and the actor's right
    to see it is checked in Python by ``selectors.case_visible_to`` — the rule of
    ``visible_cases``, property-tested against it — with the grants read once here.
    """
    from yiwang.cases.selectors import case_visible_to

    try:
        pk = int(case_id)
    except (TypeError, ValueError):
        raise NotFound(_("未找到该办件。"), code="case_not_found") from None
    grants = _grants(actor)
    # No ORDER BY (``.first()`` would add one): Django's compiler hashes every selected
    # column to place an ORDER BY, a large share of this wide query's cost.
    found = (
        Case.objects.select_related("department", "item_version__item", "assignee", "supplement")
        .only(*_lock_fields())
        .select_for_update(of=("self",), no_key=True)
        .filter(pk=pk)
        .order_by()[:1]
    )
    case = next(iter(found), None)
    if case is None:
        raise NotFound(_("未找到该办件。"), code="case_not_found")
    case._actor_grants = (getattr(actor, "pk", None), grants)
    stale = expected_version is not None and case.version != expected_version
    if not case_visible_to(actor=actor, case=case, grants=grants):
        # A clerk who legitimately saw the case at the front office, after a colleague moved
        # it on, is told so; for anybody else an invisible case is a plain NotFound whatever
        # the version.
        if not (stale and clerk_saw_at_front_office(actor=actor, case=case, grants=grants)):
            raise NotFound(_("未找到该办件。"), code="case_not_found")
    elif not stale:
        case._loaded = {f.attname: getattr(case, f.attname) for f in Case._meta.concrete_fields}
        return case
    raise Conflict(
        _("办件 %(number)s 已被他人处理(当前状态:%(state)s),请刷新后再操作。")
        % {"number": case.number, "state": case.get_state_display()},
        code="case_changed",
    )


def delegation_mark(*, actor, delegation, doing: str) -> dict:
    """The mark an agent's action through ``delegation`` leaves: ``note`` for the timeline step
    (「代办:X 受 Y 委托代为<doing>(授权编号 N)」, names masked for a person) and ``record``, the
    audit event's ``on_behalf_of``."""
    from yiwang.core.masking import mask_name

    principal = delegation.principal
    agent_name = getattr(actor, "real_name", "") or actor.username
    principal_name = principal.enterprise_name or principal.real_name or principal.username
    notes = {
        "submit": _("代办:%(agent)s 受 %(principal)s 委托代为提交(授权编号 %(id)s)"),
        "material": _("代办:%(agent)s 受 %(principal)s 委托代为上传材料(授权编号 %(id)s)"),
        "supplement": _("代办:%(agent)s 受 %(principal)s 委托代为补正(授权编号 %(id)s)"),
        "withdraw": _("代办:%(agent)s 受 %(principal)s 委托代为撤回申请(授权编号 %(id)s)"),
    }
    note = notes[doing] % {
        "agent": mask_name(agent_name),
        "principal": principal_name if principal.enterprise_name else mask_name(principal_name),
        "id": delegation.pk,
    }
    record = {"kind": "delegation", "delegation": delegation.pk, "agent": actor.pk, "principal": principal.pk}
    return {"note": note, "record": record}


def _lock_for_agent(*, actor, delegation, case_id, expected_version: int | None, doing: str) -> tuple[Case, dict]:
    """The principal's case, locked until commit, for an agent acting through ``delegation``
    (授权代办), with the mark of ``delegation_mark``. Checked here whatever the caller passed:
    the delegation (read again) is the actor's, in force now, its principal active; the case is
    the principal's, not a draft, of an item the delegation covers, and the agent himself
    submitted it for the principal. Anything else is ``NotFound`` — the same answer as for a
    case that does not exist."""
    from yiwang.identity.models import Delegation

    missing = NotFound(_("未找到该办件。"), code="case_not_found")
    try:
        pk = int(case_id)
    except (TypeError, ValueError):
        raise missing from None
    now = timezone.now()
    fresh = (
        Delegation.objects.select_related("principal").filter(pk=getattr(delegation, "pk", None)).first()
        if isinstance(delegation, Delegation)
        else None
    )
    if (
        fresh is None
        or fresh.agent_id != getattr(actor, "pk", None)
        or not fresh.is_live(now)
        or not fresh.principal.is_active
    ):
        raise missing
    found = (
        Case.objects.select_related("department", "item_version__item", "assignee", "supplement")
        .only(*_lock_fields())
        .select_for_update(of=("self",), no_key=True)
        .filter(pk=pk, applicant_id=fresh.principal_id)
        .exclude(state=CaseState.DRAFT)
        .order_by()[:1]
    )
    case = next(iter(found), None)
    if (
        case is None
        or not fresh.covers(case.item_version.item.implementation_code)
        or not CaseStep.objects.filter(case=case, kind=StepKind.SUBMITTED, actor_id=actor.pk).exists()
    ):
        raise missing
    case._actor_grants = (actor.pk, [])
    if expected_version is not None and case.version != expected_version:
        raise Conflict(
            _("办件 %(number)s 已被他人处理(当前状态:%(state)s),请刷新后再操作。")
            % {"number": case.number, "state": case.get_state_display()},
            code="case_changed",
        )
    case._loaded = {f.attname: getattr(case, f.attname) for f in Case._meta.concrete_fields}
    return case, delegation_mark(actor=actor, delegation=fresh, doing=doing)


def clerk_saw_at_front_office(*, actor, case: Case, grants: list | None = None) -> bool:
    """Whether a window clerk legitimately saw ``case`` at the front office, so may be told
    what became of it after a colleague moved it on: the case is not a draft, and the clerk
    received or accepted it, or one of his windows serves its front-office region (the rule
    of ``cases.selectors``: the receiving hall's region for a walk-in, the implementing
    department's for an online case). No query: ``intake_region`` is read with the case.
    Anybody else (another region's case) gets a plain NotFound."""
    from yiwang.cases.selectors import front_office_covers

    if case.state == CaseState.DRAFT:
        return False
    windows = [g for g in (_grants(actor, case) if grants is None else grants) if g.role == Role.WINDOW_CLERK]
    if not windows:
        return False
    if getattr(actor, "pk", None) in (case.received_by_id, case.accepted_by_id):
        return True
    return any(front_office_covers(grant, case.intake_region) for grant in windows)


def _require_state(case: Case, *states: str) -> None:
    if case.state not in states:
        raise Conflict(
            _("办件 %(number)s 当前状态为「%(state)s」,不能执行此操作。")
            % {"number": case.number, "state": case.get_state_display()},
            code="case_state",
        )


def _require(allowed: bool, message: str, code: str = "forbidden") -> None:
    if not allowed:
        raise Forbidden(message, code=code)


def _save(case: Case, *, actor, action: str, changes: dict) -> None:
    """Bump the version and write the columns that changed since ``_lock`` read the row."""
    case.version += 1
    loaded = getattr(case, "_loaded", None)
    if loaded is None:
        case.save()
    else:
        fields = [f.name for f in Case._meta.concrete_fields if getattr(case, f.attname) != loaded[f.attname]]
        db.update(case, fields)
        case._loaded = {f.attname: getattr(case, f.attname) for f in Case._meta.concrete_fields}
    audit_record(actor=actor, action=action, obj=case, changes=changes)


def _new_step(case: Case, kind: str, actor, *, note: str = "", public: bool = True, **extra) -> CaseStep:
    return CaseStep(
        case=case,
        kind=kind,
        actor=actor if isinstance(actor, User) else None,
        actor_name=_actor_name(actor)[:100],
        note=str(note),
        public=public,
        created_at=timezone.now(),
        **extra,
    )


def _step(case: Case, kind: str, actor, *, note: str = "", public: bool = True, **extra) -> CaseStep:
    return db.insert(_new_step(case, kind, actor, note=note, public=public, **extra))


def _publish(name: str, case: Case) -> None:
    events.publish(name, case_id=case.pk)


def _required_text(value: str, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(message, code="required", fields={field: message})
    return value


def remedy_notice(department: Department) -> str:
    """The applicant's right to reconsideration or litigation (行政许可法第三十八条)."""
    body = department.parent.name if department.parent_id else _("上一级主管部门")
    return _(
        "申请人如对本决定不服,可以自收到本决定之日起六十日内向%(body)s申请行政复议,"
        "也可以自收到本决定之日起六个月内依法向人民法院提起行政诉讼。"
    ) % {"body": body}
