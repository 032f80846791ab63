"""Supervision writes. Every change is audited in its own transaction; rows are locked with
``select_for_update(no_key=True)``.

Guarantees of the draw (``plan_publish`` → ``plan_draw``):

* ``plan_publish`` fixes every input — the entity pool from the 法人 registry with each
  entity's credit grade, the inspectors of the taking-part departments, the 回避 pairs, the
  ratios and teams — checks them (``drawing.check_inputs``: empty pool, ratio over 100 %,
  too few inspectors after avoidance are refused with nothing written), generates the secret
  seed and publishes the plan file with the commitment SM3(seed). The seed is returned ONCE
  to the caller and not stored: whoever holds it must bring it to the draw.
* ``plan_draw`` takes the revealed seed (refused unless SM3(seed) is the commitment) and an
  optional public entropy, computes the selection with ``drawing.draw`` and publishes the
  result file. A plan is drawn once; there is no other write path to its files.
* A redraw is ``plan_publish(supersedes=…, redraw_reason=…)``: a new plan, audited with its
  reason, while the old plan and its files stay published, marked superseded.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Sequence

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.core import events
from yiwang.core.audit import audit_record
from yiwang.core.calendar import add_working_days
from yiwang.core.codes import validate_uscc
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.inputs import ensure_storable
from yiwang.identity.models import Department, Role, User
from yiwang.identity.selectors import actor_has_role
from yiwang.registries import selectors as registries
from yiwang.registries import services as registry_services
from yiwang.supervision import drawing, grading, mu, selectors
from yiwang.supervision.models import (
    ENTITY_KINDS,
    CreditGrade,
    CreditRepair,
    CreditRule,
    DrawPlan,
    Inspection,
    InspectionPhoto,
    Inspector,
    InspectorQualification,
    MuEvaluation,
    MuResult,
    QualificationKind,
    SupervisionItem,
)
from yiwang.supervision.models import (
    Conflict as AvoidanceConflict,
)

MANAGER_ROLES = (Role.DEPARTMENT_HEAD, Role.DEPARTMENT_ADMIN)
PUBLISH_WITHIN_WORKING_DAYS = 20  # 一公开: results public within 20 working days of the inspection
DEFAULT_AVOIDANCE_YEARS = 3
DEFAULT_RATIOS_BP = {"A": 300, "B": 500, "C": 1500, "D": 3000}

DRAW_ERRORS = {
    "empty_entity_pool": _("对象库为空:没有符合抽查事项和范围的市场主体,不能抽取"),
    "ratio_out_of_range": _("抽查比例须在 0% 到 100% 之间"),
    "ratio_missing": _("缺少该信用等级的抽查比例"),
    "entities_not_sorted": _("对象库未排序"),
    "entity_twice": _("对象库中有重复的主体"),
    "team_departments_mismatch": _("每个参与部门都须有检查人员和每户人数"),
    "team_size_invalid": _("每户检查人数至少为 1"),
    "inspectors_not_sorted": _("检查人员库未排序"),
    "inspector_pool_too_small": _("检查人员不足:人数少于每户所需人数"),
    "inspector_pool_too_small_after_avoidance": _("回避后检查人员不足:某一主体可派的检查人员少于每户所需人数"),
    "seed_mismatch": _("揭示的种子与抽取前公示的承诺值不符,不能抽取"),
}


def _system(actor) -> bool:
    return actor is None or isinstance(actor, str)


def _require_manager(actor, department: Department) -> None:
    if _system(actor):
        return
    if not actor_has_role(actor, roles=MANAGER_ROLES, department=department):
        raise Forbidden(_("只有该部门负责人或部门管理员可以进行此操作。"), code="supervision_forbidden")


def _too_long(values: dict[str, tuple[str, int]]) -> dict[str, list]:
    return {
        field: [_("最多 %(n)d 个字符") % {"n": limit}] for field, (value, limit) in values.items() if len(value) > limit
    }


def _years_later(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _draw_error(exc: drawing.DrawInputError, field: str) -> ValidationFailed:
    message = DRAW_ERRORS.get(exc.code, exc.code)
    return ValidationFailed(message, code=f"supervision_{exc.code}", fields={field: [message]})


# =============================================================================================
# Items, inspectors, avoidance
# =============================================================================================


def item_create(
    *,
    actor,
    department: Department,
    code: str,
    name: str,
    legal_basis: str,
    entity_kinds: Sequence[str],
    checklist: Sequence[str],
    industry_prefixes: Sequence[str] = (),
    qualification_kind: str = "",
) -> SupervisionItem:
    """Add one item to a department's 抽查事项清单 (department head or admin); only inspectors
    holding a valid qualification of ``qualification_kind`` (blank: any) are drawn for it."""
    _require_manager(actor, department)
    data = {"code": code, "name": name, "legal_basis": legal_basis, "checklist": list(checklist)}
    for field, value in data.items():
        ensure_storable(value, field=field)
    errors = {}
    for field in ("code", "name", "legal_basis"):
        if not str(data[field]).strip():
            errors[field] = [_("必填")]
    kinds = {k for k, _label in ENTITY_KINDS}
    if not entity_kinds or set(entity_kinds) - kinds:
        errors["entity_kinds"] = [_("须为企业、个体工商户、社会组织、机关事业单位中的一项或多项")]
    if not checklist:
        errors["checklist"] = [_("至少一项检查内容")]
    if qualification_kind and qualification_kind not in QualificationKind.values:
        errors["qualification_kind"] = [_("执法资格类别无效")]
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        if SupervisionItem.objects.filter(code=code).exists():
            raise ValidationFailed(code="supervision_item_code_taken", fields={"code": [_("事项编码已存在")]})
        item = SupervisionItem.objects.create(
            department=department,
            code=code.strip(),
            name=name.strip(),
            legal_basis=legal_basis.strip(),
            entity_kinds=sorted(entity_kinds),
            industry_prefixes=list(industry_prefixes),
            checklist=[str(c) for c in checklist],
            qualification_kind=qualification_kind or "",
        )
        audit_record(actor=actor, action="supervision.item_create", obj=item, changes={"department": department.code})
    return item


def _validate_id_number(id_number: str) -> str:
    from yiwang.core.codes import validate_id_number

    value = (id_number or "").strip().upper()
    if not value:
        return ""
    try:
        validate_id_number(value)
    except DjangoValidationError as exc:
        raise ValidationFailed(fields={"id_number": list(exc.messages)}) from None
    return value


def inspector_register(
    *,
    actor,
    user: User,
    department: Department,
    certificate_number: str,
    id_number: str = "",
    qualifications: Sequence[dict] = (),
) -> Inspector:
    """Enter a staff member in the department's 执法检查人员名录 (idempotent on the user), with
    his 身份证号 (for the household 回避 check; default: his account's) and his 执法资格
    (each ``{kind, certificate_number, valid_from, valid_to, issued_by}``, see
    ``qualification_add``)."""
    from yiwang.core.crypto import blind_index

    _require_manager(actor, department)
    ensure_storable(certificate_number, field="certificate_number")
    if user.kind != User.Kind.STAFF:
        raise ValidationFailed(fields={"user": [_("只有工作人员可以登记为检查人员")]})
    if not certificate_number.strip():
        raise ValidationFailed(fields={"certificate_number": [_("必填")]})
    id_number = _validate_id_number(id_number or user.id_number or "")
    with transaction.atomic():
        inspector, created = Inspector.objects.get_or_create(
            user=user,
            defaults={
                "department": department,
                "certificate_number": certificate_number.strip(),
                "id_number": id_number,
                "id_number_index": blind_index(id_number) if id_number else "",
            },
        )
        if created:
            audit_record(actor=actor, action="supervision.inspector_register", obj=inspector)
        elif id_number and not inspector.id_number:
            inspector.id_number, inspector.id_number_index = id_number, blind_index(id_number)
            inspector.save(update_fields=["id_number", "id_number_index"])
            audit_record(actor=actor, action="supervision.inspector_id_number_set", obj=inspector)
        for q in qualifications:
            if not InspectorQualification.objects.filter(
                kind=q.get("kind"), certificate_number=str(q.get("certificate_number", "")).strip()
            ).exists():
                qualification_add(actor=actor, inspector=inspector, **q)
    return inspector


def _as_date_or_error(value, field: str, errors: dict) -> datetime.date | None:
    if isinstance(value, datetime.date):
        return value
    if value in (None, ""):
        errors[field] = [_("必填")]
        return None
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        errors[field] = [_("日期格式应为 YYYY-MM-DD")]
        return None


def _qualification_clean(*, kind, certificate_number, valid_from, valid_to, issued_by, exclude_pk=None) -> dict:
    """The checked values of a 执法资格, or ``ValidationFailed`` naming every bad field at once."""
    certificate_number = str(certificate_number or "").strip()
    issued_by = str(issued_by or "").strip()
    ensure_storable(certificate_number, field="certificate_number")
    ensure_storable(issued_by, field="issued_by")
    errors = _too_long({"certificate_number": (certificate_number, 40), "issued_by": (issued_by, 100)})
    if kind not in QualificationKind.values:
        errors["kind"] = [_("执法资格类别无效")]
    if not certificate_number:
        errors["certificate_number"] = [_("必填")]
    start = _as_date_or_error(valid_from, "valid_from", errors)
    end = _as_date_or_error(valid_to, "valid_to", errors)
    if start and end and end < start:
        errors["valid_to"] = [_("有效期至不能早于有效期自")]
    if "certificate_number" not in errors and "kind" not in errors:
        taken = InspectorQualification.objects.filter(kind=kind, certificate_number=certificate_number)
        if exclude_pk is not None:
            taken = taken.exclude(pk=exclude_pk)
        if taken.exists():
            errors["certificate_number"] = [_("该执法证件号已登记")]
            if len(errors) == 1:
                raise ValidationFailed(code="supervision_qualification_taken", fields=errors)
    if errors:
        raise ValidationFailed(fields=errors)
    return {
        "kind": kind,
        "certificate_number": certificate_number,
        "issued_by": issued_by,
        "valid_from": start,
        "valid_to": end,
    }


def qualification_add(
    *,
    actor,
    inspector: Inspector,
    kind: str,
    certificate_number: str,
    valid_from,
    valid_to,
    issued_by: str = "",
) -> InspectorQualification:
    """Register one 执法资格 (行政执法证) of an inspector: its kind, number and validity (his
    department's head or administrator). Only inspectors holding a qualification of the kind an
    item asks for, valid on the day the plan is published, are drawn for it. Every bad field is
    named at once. Audited."""
    _require_manager(actor, inspector.department)
    with transaction.atomic():
        values = _qualification_clean(
            kind=kind,
            certificate_number=certificate_number,
            valid_from=valid_from,
            valid_to=valid_to,
            issued_by=issued_by,
        )
        row = InspectorQualification.objects.create(inspector=inspector, **values)
        audit_record(
            actor=actor,
            action="supervision.qualification_add",
            obj=row,
            changes={
                "inspector": inspector.pk,
                "kind": row.kind,
                "valid_from": str(row.valid_from),
                "valid_to": str(row.valid_to),
            },
        )
    return row


def _qualification_locked(actor, qualification_id: int, revoked_message) -> InspectorQualification:
    """A qualification of the actor's department (head or administrator), locked for a change;
    ``NotFound`` for another's, ``Conflict`` (``revoked_message``) when already revoked."""
    row = (
        InspectorQualification.objects.select_for_update(no_key=True)
        .select_related("inspector__department")
        .filter(pk=qualification_id)
        .first()
    )
    if row is None:
        raise NotFound(code="supervision_qualification_not_found")
    _require_manager(actor, row.inspector.department)
    if row.revoked_at is not None:
        raise Conflict(revoked_message, code="supervision_qualification_revoked")
    return row


def qualification_update(
    *,
    actor,
    qualification_id: int,
    kind: str,
    certificate_number: str,
    valid_from,
    valid_to,
    issued_by: str = "",
) -> InspectorQualification:
    """Correct or renew (换证, a later 有效期至) a 执法资格 of an inspector of the actor's
    department (head or administrator). A revoked one cannot be changed (``409``: register a new
    one). Draws already made keep what they published; the next plan reads the new values.
    Every bad field is named at once. Audited with each changed field's old and new value."""
    with transaction.atomic():
        row = _qualification_locked(actor, qualification_id, _("该执法资格已注销,不能修改;请登记新的执法资格。"))
        values = _qualification_clean(
            kind=kind,
            certificate_number=certificate_number,
            valid_from=valid_from,
            valid_to=valid_to,
            issued_by=issued_by,
            exclude_pk=row.pk,
        )
        changes = {
            field: [str(getattr(row, field)), str(value)]
            for field, value in values.items()
            if getattr(row, field) != value
        }
        if not changes:
            return row
        for field, value in values.items():
            setattr(row, field, value)
        row.save(update_fields=list(values))
        audit_record(actor=actor, action="supervision.qualification_update", obj=row, changes=changes)
    return row


def qualification_revoke(*, actor, qualification_id: int, reason: str) -> InspectorQualification:
    """注销 a qualification (withdrawn, suspended): from now on it does not qualify. Audited."""
    ensure_storable(reason, field="reason")
    if not (reason or "").strip():
        raise ValidationFailed(fields={"reason": [_("请说明注销原因")]})
    with transaction.atomic():
        row = _qualification_locked(actor, qualification_id, _("该执法资格已注销"))
        row.revoked_at = timezone.now()
        row.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor, action="supervision.qualification_revoke", obj=row, changes={"reason": reason.strip()[:300]}
        )
    return row


def conflict_add(
    *, actor, inspector: Inspector, entity_uscc: str, kind: str, ended_on: datetime.date | None = None, note: str = ""
) -> AvoidanceConflict:
    """Register a 回避 fact: the inspector himself (a stated conflict) or his department's managers."""
    if not (_system(actor) or actor.pk == inspector.user_id):
        _require_manager(actor, inspector.department)
    ensure_storable(note, field="note")
    try:
        uscc = validate_uscc(entity_uscc)
    except DjangoValidationError as exc:
        raise ValidationFailed(fields={"entity_uscc": list(exc.messages)}) from None
    if kind not in AvoidanceConflict.Kind.values:
        raise ValidationFailed(fields={"kind": [_("回避原因无效")]})
    with transaction.atomic():
        conflict, created = AvoidanceConflict.objects.get_or_create(
            inspector=inspector, entity_uscc=uscc, kind=kind, defaults={"ended_on": ended_on, "note": note}
        )
        if created:
            audit_record(
                actor=actor, action="supervision.conflict_add", obj=conflict, changes={"kind": kind, "uscc": uscc}
            )
    return conflict


# =============================================================================================
# The draw
# =============================================================================================


def _grades_of(usccs: Sequence[str]) -> dict[str, str]:
    rows = CreditGrade.objects.all() if len(usccs) > 10000 else CreditGrade.objects.filter(uscc__in=list(usccs))
    grades = dict(rows.values_list("uscc", "grade"))
    return {u: grades.get(u, "B") for u in usccs}  # not yet graded: B, the ordinary grade


AVOIDANCE_REASONS = {
    "relative": _("登记的近亲属关系"),
    "former_employer": _("曾任职单位"),
    "stated": _("本人申报的利害关系"),
    "last_inspected": _("上次检查过该主体"),
    "household": _("与法定代表人同户(人口库)"),
    "self": _("本人即法定代表人"),
}
HOUSEHOLD_PURPOSE = "双随机抽查回避核查:检查人员是否与被检查主体的法定代表人同户"


def _avoidance_pairs(
    inspectors: list[Inspector], usccs: set[str], years: int, today: datetime.date
) -> dict[tuple, set[str]]:
    """{(uscc, inspector id): reasons} of pairs that must not meet: registered conflicts (a former
    employer only within ``years``), and whoever inspected the entity last time."""
    ids = {i.pk for i in inspectors}
    pairs: dict[tuple, set[str]] = {}
    since = _years_later(today, -years)
    for c in AvoidanceConflict.objects.filter(inspector_id__in=ids):
        if c.entity_uscc not in usccs:
            continue
        if c.kind == AvoidanceConflict.Kind.FORMER_EMPLOYER and c.ended_on and c.ended_on < since:
            continue
        pairs.setdefault((c.entity_uscc, c.inspector_id), set()).add(c.kind)
    last: dict[str, int] = {}
    rows = Inspection.objects.exclude(plan__status=DrawPlan.Status.SUPERSEDED)
    if len(usccs) <= 10000:  # a large pool reads every inspection instead of a huge IN list
        rows = rows.filter(entity_uscc__in=list(usccs))
    for uscc, pk in rows.order_by("entity_uscc", "-plan__drawn_at", "-pk").values_list("entity_uscc", "pk"):
        if uscc in usccs:
            last.setdefault(uscc, pk)
    by_inspection = {pk: uscc for uscc, pk in last.items()}
    through = Inspection.inspectors.through.objects.filter(inspector_id__in=list(ids))
    for inspection_id, inspector_id in through.values_list("inspection_id", "inspector_id"):
        if inspection_id in by_inspection:
            pairs.setdefault((by_inspection[inspection_id], inspector_id), set()).add("last_inspected")
    return pairs


def _registry_read_many(actor, registry: str, keys: list[str], fields: list[str]) -> dict:
    """A bulk read through the exchange as the app ``supervision`` (its grant decides; every
    record read is on the evidence log). A missing grant is a clear error naming it."""
    from yiwang.core.errors import YiwangError
    from yiwang.exchange import services as exchange

    try:
        return exchange.registry_read_many(
            actor=actor, app="supervision", purpose=HOUSEHOLD_PURPOSE, registry=registry, keys=keys, fields=fields
        )
    except YiwangError as exc:
        if exc.code in ("grant_missing", "field_not_granted", "grant_expired", "grant_revoked", "field_not_shared",
                        "registry_unknown"):  # fmt: skip
            message = _(
                "不能核对亲属回避:监管应用(supervision)没有%(registry)s“%(fields)s”的有效共享授权(%(why)s)。"
                "请向数源部门申请授权,或在计划中关闭同户回避核查。"
            ) % {
                "registry": {"population": _("人口库"), "legal_entity": _("法人库")}[registry],
                "fields": "、".join(fields),
                "why": exc.message,
            }
            raise ValidationFailed(
                message, code="supervision_household_grant_missing", fields={"household_avoidance": [message]}
            ) from None
        raise


def _household_pairs(actor, inspectors: list[Inspector], usccs: list[str]) -> tuple[dict[tuple, set[str]], set[int]]:
    """回避 by household: (uscc, inspector id) pairs where the inspector is the entity's legal
    representative or is in his household (same 户号 in the 人口库), and the inspectors whose
    household cannot be found (no 人口库 record): those cannot be checked, so are not drawn.

    Reads, through the exchange (evidence-logged): each inspector's 户号, each entity's
    法定代表人身份证号, and each legal representative's 户号."""
    numbers = {i.pk: (i.id_number or "").upper() for i in inspectors if i.id_number}
    people = _registry_read_many(actor, "population", sorted(set(numbers.values())), ["household_id"])
    unknown = {pk for pk, n in numbers.items() if not (people.get(n) and people[n].values.get("household_id"))}
    by_number: dict[str, list[int]] = {}
    by_household: dict[str, list[int]] = {}
    for pk, number in numbers.items():
        if pk in unknown:
            continue
        by_number.setdefault(number, []).append(pk)
        by_household.setdefault(people[number].values["household_id"], []).append(pk)
    reps = _registry_read_many(actor, "legal_entity", usccs, ["legal_representative_id_number"])
    rep_of = {
        uscc: str(view.values.get("legal_representative_id_number") or "").upper()
        for uscc, view in reps.items()
        if view.values.get("legal_representative_id_number")
    }
    rep_people = _registry_read_many(actor, "population", sorted(set(rep_of.values())), ["household_id"])
    pairs: dict[tuple, set[str]] = {}
    for uscc, rep in rep_of.items():
        for pk in by_number.get(rep, ()):
            pairs.setdefault((uscc, pk), set()).add("self")
        view = rep_people.get(rep)
        household = view.values.get("household_id") if view else None
        for pk in by_household.get(household, ()) if household else ():
            if pk not in by_number.get(rep, ()):
                pairs.setdefault((uscc, pk), set()).add("household")
    return pairs, unknown


QUALIFICATION_EXCLUSIONS = {
    "no_qualification": _("无所需执法资格"),
    "qualification_not_valid": _("执法资格不在有效期内或已注销"),
    "no_id_number": _("未登记身份证号,无法核对亲属回避"),
    "no_household": _("人口库中无其户籍记录,无法核对亲属回避"),
}


def _qualification_gap(inspector: Inspector, kinds: set[str], day: datetime.date) -> str | None:
    """Why the inspector may not be drawn for items asking ``kinds`` on ``day`` (None: he may).
    No kind asked: any valid qualification will do."""
    held = list(inspector.qualifications.all())
    for kind in kinds or {None}:
        mine = [q for q in held if kind is None or q.kind == kind]
        if not mine:
            return "no_qualification"
        if not any(q.valid_on(day) for q in mine):
            return "qualification_not_valid"
    return None


def _pool_too_small(dept: Department, total: int, excluded: dict[str, int], kinds: set[str], ok: int, size: int):
    labels = dict(QualificationKind.choices)
    parts = []
    for reason, n in excluded.items():
        if not n:
            continue
        label = QUALIFICATION_EXCLUSIONS[reason]
        if reason == "no_qualification" and kinds:
            label = _("无“%(kinds)s”执法资格") % {"kinds": "、".join(str(labels[k]) for k in sorted(kinds))}
        parts.append(f"{label} {n} 名")
    message = _("%(dept)s:在册检查人员 %(total)d 名%(why)s,可抽 %(ok)d 名,少于每户所需 %(size)d 名") % {
        "dept": dept.name,
        "total": total,
        "why": (",其中" + "、".join(parts)) if parts else "",
        "ok": ok,
        "size": size,
    }
    return ValidationFailed(
        message, code="supervision_inspector_pool_too_small", fields={f"inspectors.{dept.code}": [message]}
    )


def _avoidance_too_small(dept, entity: dict, ok: int, reasons: dict[str, int], size: int) -> ValidationFailed:
    why = "、".join(f"{AVOIDANCE_REASONS[r]} {n} 名" for r, n in sorted(reasons.items()))
    message = _(
        "回避后检查人员不足:%(entity)s(%(uscc)s)%(dept)s可抽检查人员 %(ok)d 名,须回避 %(avoid)d 名(%(why)s),"
        "少于每户所需 %(size)d 名"
    ) % {"entity": entity.get("name", ""), "uscc": entity["uscc"], "dept": dept.name, "ok": ok,
         "avoid": sum(reasons.values()), "why": why, "size": size}  # fmt: skip
    return ValidationFailed(
        message,
        code="supervision_inspector_pool_too_small_after_avoidance",
        fields={f"inspectors.{dept.code}": [message]},
    )


def _ratios(ratios_bp: dict | None) -> dict[str, int]:
    ratios = dict(DEFAULT_RATIOS_BP if ratios_bp is None else ratios_bp)
    errors = {}
    for grade in drawing.GRADES:
        value = ratios.get(grade)
        if not isinstance(value, int) or isinstance(value, bool):
            errors[f"ratios_bp.{grade}"] = [_("须为 0 到 10000 之间的整数(万分比)")]
        elif value < 0 or value > drawing.BP:
            errors[f"ratios_bp.{grade}"] = [_("抽查比例须在 0% 到 100% 之间")]
    if set(ratios) - set(drawing.GRADES):
        errors["ratios_bp"] = [_("信用等级只有 A、B、C、D")]
    if errors:
        raise ValidationFailed(_("抽查比例有误"), code="supervision_ratio_invalid", fields=errors)
    return ratios


def plan_publish(
    *,
    actor,
    code: str,
    title: str,
    lead_department: Department,
    items: Sequence[SupervisionItem],
    departments: Sequence[Department] = (),
    ratios_bp: dict | None = None,
    team: dict[str, int] | None = None,
    region_prefixes: Sequence[str] = (),
    period: str = "",
    avoidance_years: int = DEFAULT_AVOIDANCE_YEARS,
    household_avoidance: bool = True,
    supersedes: DrawPlan | None = None,
    redraw_reason: str = "",
    today: datetime.date | None = None,
) -> tuple[DrawPlan, str]:
    """Fix and publish a plan's inputs with the seed's commitment; returns (plan, seed hex).

    The seed is not stored: it is shown once and must be brought back to ``plan_draw``. Joint
    draws (部门联合抽查): ``departments`` lists every taking-part department (default: the lead
    alone); each drawn entity gets ``team[dept code]`` inspectors of each (default 2 for a
    single department, 1 each in a joint draw), so one visit serves them all.

    The inspector pool: a department's active inspectors holding, valid on ``today``, a
    qualification of every kind its items in the plan ask (``SupervisionItem.qualification_kind``;
    none asked: any valid one). With ``household_avoidance`` (default) the 人口库 is read through
    the exchange (as the app ``supervision``, evidence-logged) for each inspector's and each
    entity's legal representative's 户号: an inspector in the same household as (or who is) the
    legal representative is avoided for that entity, and an inspector whose household cannot be
    read is not drawn. A pool too small — before or after avoidance — is refused with a message
    naming the department (and entity) and how many were set aside for which reason.
    """
    _require_manager(actor, lead_department)
    for field, value in {"code": code, "title": title, "period": period, "redraw_reason": redraw_reason}.items():
        ensure_storable(value, field=field)
    ensure_storable(list(region_prefixes), field="region_prefixes")
    today = today or timezone.localdate()
    departments = list(dict.fromkeys([lead_department, *departments]))
    errors = _too_long({"code": (code, 40), "title": (title, 200), "period": (period, 20)})
    errors.update(_too_long({"redraw_reason": (redraw_reason, 500)}))
    if any(not isinstance(p, str) or len(p) > 12 for p in region_prefixes):
        errors["region_prefixes"] = [_("行政区划代码前缀最多 12 位")]
    if not code.strip():
        errors["code"] = [_("必填")]
    if not title.strip():
        errors["title"] = [_("必填")]
    if not items:
        errors["items"] = [_("至少选择一项抽查事项")]
    elif any(i.department_id not in {d.pk for d in departments} or not i.is_active for i in items):
        errors["items"] = [_("抽查事项须为参与部门的有效事项")]
    if supersedes is not None and not redraw_reason.strip():
        errors["redraw_reason"] = [_("重新抽取须说明原因,原计划保持公示")]
    if errors:
        raise ValidationFailed(fields=errors)
    ratios = _ratios(ratios_bp)
    default_size = 2 if len(departments) == 1 else 1
    team = dict(team or {d.code: default_size for d in departments})
    if set(team) != {d.code for d in departments}:
        raise ValidationFailed(fields={"team": [_("须为每个参与部门给出每户检查人数")]})
    if not all(isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 10 for n in team.values()):
        raise ValidationFailed(fields={"team": [_("每户检查人数须为 1 到 10 之间的整数")]})
    kinds = sorted({k for i in items for k in i.entity_kinds})
    industries = (
        sorted({p for i in items for p in i.industry_prefixes}) if all(i.industry_prefixes for i in items) else []
    )
    pool = registries.legal_entity_pool(kinds=kinds, industry_prefixes=industries, region_prefixes=region_prefixes)
    usccs = [row["uscc"] for row in pool]
    grades = _grades_of(usccs)
    pool_secret = secrets.token_bytes(32)
    entity_hashes = {u: drawing.entity_hash(u, drawing.entity_salt(pool_secret, u)) for u in usccs}
    entities: dict[str, list[str]] = {g: [] for g in drawing.GRADES}
    for u in usccs:
        entities[grades[u]].append(entity_hashes[u])
    for hashes in entities.values():
        hashes.sort()
    required = {d.code: {i.qualification_kind for i in items if i.department_id == d.pk and i.qualification_kind}
                for d in departments}  # fmt: skip
    registered = list(
        Inspector.objects.filter(department__in=departments, is_active=True, user__is_active=True)
        .select_related("department")
        .prefetch_related("qualifications")
    )
    excluded: dict[str, dict[str, int]] = {d.code: dict.fromkeys(QUALIFICATION_EXCLUSIONS, 0) for d in departments}
    inspectors = []
    for i in registered:
        gap = _qualification_gap(i, required[i.department.code], today)
        if gap is None and household_avoidance and not i.id_number:
            gap = "no_id_number"
        if gap is None:
            inspectors.append(i)
        else:
            excluded[i.department.code][gap] += 1
    pairs = _avoidance_pairs(inspectors, set(usccs), avoidance_years, today)
    if household_avoidance and usccs and inspectors:
        household, unknown = _household_pairs(actor, inspectors, usccs)
        for i in inspectors:
            if i.pk in unknown:
                excluded[i.department.code]["no_household"] += 1
        inspectors = [i for i in inspectors if i.pk not in unknown]
        for pair, reasons in household.items():
            pairs.setdefault(pair, set()).update(reasons)
    by_dept: dict[str, list[str]] = {d.code: [] for d in departments}
    members: dict[str, set[int]] = {d.code: set() for d in departments}
    inspector_keys = {}
    for i in inspectors:
        h = drawing.inspector_hash(i.certificate_number)
        by_dept[i.department.code].append(h)
        members[i.department.code].add(i.pk)
        inspector_keys[h] = i.pk
    for d in departments:  # why a pool is too small, named before anything is published
        total = sum(1 for i in registered if i.department_id == d.pk)
        if len(by_dept[d.code]) < team[d.code]:
            raise _pool_too_small(d, total, excluded[d.code], required[d.code], len(by_dept[d.code]), team[d.code])
    blocked: dict[str, dict[int, set[str]]] = {}
    for (uscc, pk), reasons in pairs.items():
        blocked.setdefault(uscc, {})[pk] = reasons
    rows_by_uscc = {row["uscc"]: row for row in pool}
    for uscc, avoid in blocked.items():
        for d in departments:
            mine = {pk: r for pk, r in avoid.items() if pk in members[d.code]}
            if len(members[d.code]) - len(mine) < team[d.code]:
                counts: dict[str, int] = {}
                for reasons in mine.values():
                    for r in reasons:
                        counts[r] = counts.get(r, 0) + 1
                ok = len(members[d.code]) - len(mine)
                raise _avoidance_too_small(d, rows_by_uscc.get(uscc, {"uscc": uscc}), ok, counts, team[d.code])
    for hashes in by_dept.values():
        hashes.sort()
    id_hash = {pk: h for h, pk in inspector_keys.items()}
    conflicts = sorted([entity_hashes[u], id_hash[pk]] for (u, pk) in pairs if pk in id_hash)
    conflict_counts: dict[str, int] = {}
    for (_u, pk), reasons in pairs.items():
        if pk in id_hash:
            for r in reasons:
                conflict_counts[r] = conflict_counts.get(r, 0) + 1
    seed = secrets.token_hex(32)
    document = {
        "algorithm": drawing.ALGORITHM,
        "plan": code.strip(),
        "title": title.strip(),
        "period": period,
        "departments": sorted(d.code for d in departments),
        "items": sorted(i.code for i in items),
        "filters": {"kinds": kinds, "industry_prefixes": industries, "region_prefixes": list(region_prefixes)},
        "entities": entities,
        "ratios_bp": ratios,
        "inspectors": by_dept,
        "team": team,
        "conflicts": conflicts,
        "conflict_reasons": conflict_counts,
        "avoidance_years": avoidance_years,
        "household_avoidance": household_avoidance,
        "qualifications": {code: sorted(kinds) for code, kinds in required.items()},
        "qualified_on": today.isoformat(),
        "commitment": drawing.commitment_of(seed),
        "supersedes": supersedes.code if supersedes else None,
        "redraw_reason": redraw_reason.strip(),
        "published_on": today.isoformat(),
    }
    try:
        drawing.check_inputs(document)
    except drawing.DrawInputError as exc:
        raise _draw_error(exc, "entities" if "entit" in exc.code else "inspectors") from None
    body = drawing.canonical(document)
    with transaction.atomic():
        if DrawPlan.objects.filter(code=code.strip()).exists():
            raise ValidationFailed(code="supervision_plan_code_taken", fields={"code": [_("计划编号已存在")]})
        if supersedes is not None:
            old = DrawPlan.objects.select_for_update(no_key=True).get(pk=supersedes.pk)
            if old.status == DrawPlan.Status.SUPERSEDED:
                raise Conflict(_("该计划已被重新抽取取代"), code="supervision_plan_superseded")
            if old.inspections.exclude(status=Inspection.Status.ASSIGNED).exists():
                raise Conflict(_("该计划已有检查结果,不能重新抽取"), code="supervision_plan_inspected")
            old.status = DrawPlan.Status.SUPERSEDED
            old.save(update_fields=["status"])
        plan = DrawPlan.objects.create(
            code=code.strip(),
            title=title.strip(),
            lead_department=lead_department,
            period=period,
            filters=document["filters"],
            ratios_bp=ratios,
            team=team,
            plan_document=body.decode(),
            plan_digest=drawing.sm3(body).hex(),
            commitment=document["commitment"],
            pool_keys=usccs,
            pool_secret=pool_secret.hex(),
            inspector_keys=inspector_keys,
            entity_count=len(usccs),
            inspector_count=len(inspectors),
            supersedes=supersedes,
            redraw_reason=redraw_reason.strip(),
            created_by=None if _system(actor) else actor,
        )
        plan.departments.set(departments)
        plan.items.set(items)
        audit_record(
            actor=actor,
            action="supervision.plan_redraw" if supersedes else "supervision.plan_publish",
            obj=plan,
            changes={
                "plan_digest": plan.plan_digest,
                "commitment": plan.commitment,
                "entities": len(usccs),
                "inspectors": len(inspectors),
                "supersedes": supersedes.code if supersedes else None,
                "reason": redraw_reason.strip(),
            },
        )
    return plan, seed


def plan_draw(*, actor, plan_id: int, seed: str, public_entropy: str = "") -> DrawPlan:
    """Reveal the seed, draw, publish the result file and send the tasks to the inspectors.

    Refused (nothing written) when the plan is drawn or superseded (``Conflict``) or the seed
    does not match the commitment (``ValidationFailed`` ``supervision_seed_mismatch``).
    """
    ensure_storable(public_entropy, field="public_entropy")
    if len(public_entropy) > 200:
        raise ValidationFailed(fields={"public_entropy": [_("最多 %(n)d 个字符") % {"n": 200}]})
    seed = (seed or "").strip().lower()
    with transaction.atomic():
        plan = DrawPlan.objects.select_for_update(no_key=True).filter(pk=plan_id).first()
        if plan is None:
            raise NotFound(code="supervision_plan_not_found")
        _require_manager(actor, plan.lead_department)
        if plan.status != DrawPlan.Status.PUBLISHED:
            raise Conflict(_("该计划已抽取或已被取代,不能再次抽取"), code="supervision_plan_drawn")
        document = drawing.json.loads(plan.plan_document)
        try:
            selected = drawing.draw(document, seed, public_entropy)
        except drawing.DrawInputError as exc:
            raise _draw_error(exc, "seed") from None
        secret = bytes.fromhex(plan.pool_secret)
        by_hash = {}
        for u in plan.pool_keys:
            salt = drawing.entity_salt(secret, u)
            by_hash[drawing.entity_hash(u, salt)] = (u, salt)
        result = {
            "algorithm": drawing.ALGORITHM,
            "openings": {
                row["entity"]: dict(zip(("uscc", "salt"), by_hash[row["entity"]], strict=True)) for row in selected
            },
            "plan": plan.code,
            "plan_digest": plan.plan_digest,
            "seed": seed,
            "public_entropy": public_entropy,
            "drawn_at": timezone.now().isoformat(timespec="seconds"),
            "selected": selected,
        }
        body = drawing.canonical(result)
        plan.seed, plan.public_entropy = seed, public_entropy
        plan.result_document, plan.result_digest = body.decode(), drawing.sm3(body).hex()
        plan.status, plan.drawn_at = DrawPlan.Status.DRAWN, timezone.now()
        plan.save()
        drawn_usccs = {by_hash[row["entity"]][0] for row in selected}
        names = {r["uscc"]: r["name"] for r in registries.legal_entity_pool(usccs=sorted(drawn_usccs))}
        inspections = Inspection.objects.bulk_create(
            [
                Inspection(
                    plan=plan,
                    order=index,
                    entity_uscc=by_hash[row["entity"]][0],
                    entity_name=names.get(by_hash[row["entity"]][0], ""),
                    grade=row["grade"],
                )
                for index, row in enumerate(selected, start=1)
            ]
        )
        links = [
            Inspection.inspectors.through(inspection_id=inspection.pk, inspector_id=plan.inspector_keys[h])
            for inspection, row in zip(inspections, selected, strict=True)
            for hashes in row["inspectors"].values()
            for h in hashes
        ]
        Inspection.inspectors.through.objects.bulk_create(links)
        audit_record(
            actor=actor,
            action="supervision.plan_draw",
            obj=plan,
            changes={"result_digest": plan.result_digest, "selected": len(selected), "entropy": public_entropy},
        )
    return plan


# =============================================================================================
# Inspections
# =============================================================================================


def _my_inspection(actor, inspection_id: int) -> Inspection:
    inspection = (
        Inspection.objects.select_for_update(no_key=True)
        .filter(pk=inspection_id, plan__status=DrawPlan.Status.DRAWN)
        .first()
    )
    if inspection is None or not (_system(actor) or inspection.inspectors.filter(user_id=actor.pk).exists()):
        raise NotFound(code="supervision_inspection_not_found")
    return inspection


def inspection_record(
    *,
    actor,
    inspection_id: int,
    result: str,
    findings: str = "",
    checklist: Sequence[dict] = (),
    inspected_on: datetime.date | None = None,
    rectify_by: datetime.date | None = None,
) -> Inspection:
    """An inspector of the team records the visit; the publication deadline (20 working days
    after the inspection) starts. Until published, the team may correct it."""
    ensure_storable(findings, field="findings")
    ensure_storable(list(checklist), field="checklist")
    if not all(isinstance(c, dict) for c in checklist):
        raise ValidationFailed(fields={"checklist": [_("每项须为 {item, ok, note}")]})
    if result not in Inspection.Result.values:
        raise ValidationFailed(fields={"result": [_("检查结果须为合格、责令整改或立案查处")]})
    if result == Inspection.Result.RECTIFY and rectify_by is None:
        raise ValidationFailed(fields={"rectify_by": [_("责令整改须给出整改期限")]})
    if result != Inspection.Result.PASSED and not findings.strip():
        raise ValidationFailed(fields={"findings": [_("请写明发现的问题")]})
    today = timezone.localdate()
    inspected_on = inspected_on or today
    if inspected_on > today or inspected_on.year < 2000:
        raise ValidationFailed(fields={"inspected_on": [_("检查日期不能晚于今天")]})
    with transaction.atomic():
        inspection = _my_inspection(actor, inspection_id)
        if inspection.status == Inspection.Status.PUBLISHED:
            raise Conflict(_("检查结果已公示,不能修改"), code="supervision_inspection_published")
        inspection.result, inspection.findings = result, findings.strip()
        inspection.checklist = [
            {"item": str(c.get("item", "")), "ok": bool(c.get("ok")), "note": str(c.get("note", ""))} for c in checklist
        ]
        inspection.inspected_on = inspected_on
        inspection.publish_by = add_working_days(inspected_on, PUBLISH_WITHIN_WORKING_DAYS)
        inspection.rectify_by = rectify_by
        inspection.status = Inspection.Status.RECORDED
        inspection.save()
        audit_record(actor=actor, action="supervision.inspection_record", obj=inspection, changes={"result": result})
    return inspection


CREDIT_VALIDITY_YEARS = {"passed": 1, "rectify": 1, "case": 3}


def inspection_publish(*, actor, inspection_id: int) -> Inspection:
    """一公开: publish a recorded inspection (public page and API) and write it to the 信用库 as a
    credit record (kind ``inspection``); the entity's grade is recomputed."""
    with transaction.atomic():
        inspection = _my_inspection(actor, inspection_id)
        if inspection.status != Inspection.Status.RECORDED:
            raise Conflict(_("只有已检查、未公示的结果可以公示"), code="supervision_inspection_not_recorded")
        plan = inspection.plan
        number = f"JC-{plan.code}-{inspection.order:05d}"
        years = CREDIT_VALIDITY_YEARS[inspection.result]
        registry_services.records_upsert(
            actor=f"supervision:{getattr(actor, 'username', actor) or 'system'}",
            registry="credit",
            rows=[
                {
                    "record_number": number,
                    "subject_kind": "legal_entity",
                    "subject_key": inspection.entity_uscc,
                    "subject_name": inspection.entity_name or inspection.entity_uscc,
                    "kind": "inspection",
                    "content": f"{plan.title}:{inspection.get_result_display()}",
                    "authority": plan.lead_department.name,
                    "decided_on": inspection.inspected_on.isoformat(),
                    "valid_from": inspection.inspected_on.isoformat(),
                    "valid_to": _years_later(inspection.inspected_on, years).isoformat(),
                }
            ],
            channel="supervision",
            reason=str(_("双随机抽查结果公示")),
        )
        inspection.credit_record_number = number
        inspection.status, inspection.published_at = Inspection.Status.PUBLISHED, timezone.now()
        inspection.save()
        audit_record(
            actor=actor,
            action="supervision.inspection_publish",
            obj=inspection,
            changes={"credit_record": number, "late": timezone.localdate() > inspection.publish_by},
        )
        grades_recompute(actor=actor, usccs=[inspection.entity_uscc])
    return inspection


def inspection_follow_up(*, actor, inspection_id: int, rectified_on: datetime.date, note: str) -> Inspection:
    """Record the re-check of a 责令整改 (rectification done on ``rectified_on``)."""
    ensure_storable(note, field="note")
    if not note.strip():
        raise ValidationFailed(fields={"note": [_("请写明复查情况")]})
    with transaction.atomic():
        inspection = _my_inspection(actor, inspection_id)
        if inspection.result != Inspection.Result.RECTIFY:
            raise Conflict(_("只有责令整改的检查需要复查"), code="supervision_no_rectification")
        inspection.rectified_on, inspection.follow_up = rectified_on, note.strip()
        inspection.save(update_fields=["rectified_on", "follow_up", "updated_at"])
        audit_record(actor=actor, action="supervision.inspection_follow_up", obj=inspection)
    return inspection


def publication_deadlines_warn(*, today: datetime.date | None = None, within_working_days: int = 3) -> int:
    """Warn (once, audited) about recorded inspections whose 20-working-day publication deadline
    is within ``within_working_days`` or past. Returns how many were warned."""
    today = today or timezone.localdate()
    horizon = add_working_days(today, within_working_days)
    warned = 0
    with transaction.atomic():
        rows = Inspection.objects.select_for_update(no_key=True).filter(
            status=Inspection.Status.RECORDED, publish_by__lte=horizon, deadline_warned_at__isnull=True
        )
        for inspection in rows:
            inspection.deadline_warned_at = timezone.now()
            inspection.save(update_fields=["deadline_warned_at"])
            audit_record(
                actor="task:supervision.deadlines",
                action="supervision.publication_deadline_warning",
                obj=inspection,
                changes={"publish_by": inspection.publish_by.isoformat()},
            )
            warned += 1
    return warned


# =============================================================================================
# Credit grades, repair
# =============================================================================================


def credit_rule_publish(*, actor, version: str, rule: dict) -> CreditRule:
    """Publish a new scoring rule version and make it current (old versions stay readable)."""
    if not _system(actor) and not actor.is_superuser:
        raise Forbidden(code="supervision_forbidden")
    ensure_storable(version, field="version")
    try:
        grading.check_rule(rule)
    except grading.RuleError as exc:
        raise ValidationFailed(str(exc), code="supervision_rule_invalid", fields={"rule": [str(exc)]}) from None
    with transaction.atomic():
        if CreditRule.objects.filter(version=version).exists():
            raise ValidationFailed(fields={"version": [_("该版本已存在")]})
        CreditRule.objects.filter(is_current=True).update(is_current=False)
        row = CreditRule.objects.create(version=version, rule=rule, is_current=True)
        audit_record(actor=actor, action="supervision.credit_rule_publish", obj=row, changes={"version": version})
    return row


def current_rule() -> tuple[str, dict]:
    row = CreditRule.objects.filter(is_current=True).first()
    return (row.version, row.rule) if row else (grading.DEFAULT_VERSION, grading.DEFAULT_RULE)


def grades_recompute(*, actor, usccs: Sequence[str] | None = None, today: datetime.date | None = None) -> dict:
    """Recompute the grades of the given entities (default: every active one in the 法人库) from
    their credit records with the current rule; one audit event for the batch."""
    today = today or timezone.localdate()
    version, rule = current_rule()
    pool = registries.legal_entity_pool(usccs=None if usccs is None else list(usccs))
    names = {r["uscc"]: r["name"] for r in pool}
    usccs = list(names) if usccs is None else list(usccs)
    repaired = (
        set(
            CreditRepair.objects.filter(uscc__in=usccs, status=CreditRepair.Status.APPROVED).values_list(
                "record_number", flat=True
            )
        )
        if len(usccs) <= 10000
        else set(
            CreditRepair.objects.filter(status=CreditRepair.Status.APPROVED).values_list("record_number", flat=True)
        )
    )
    records = registries.credit_records_of_entities(usccs=usccs)
    existing = (
        {g.uscc: g for g in CreditGrade.objects.filter(uscc__in=usccs)}
        if len(usccs) <= 10000
        else {g.uscc: g for g in CreditGrade.objects.all()}
    )
    changed, create, update = 0, [], []
    moved: list[str] = []  # grade or 严重失信 list membership changed (what credit facts are made of)
    for uscc in usccs:
        outcome = grading.grade(records.get(uscc, []), rule, today=today, repaired=repaired)
        row = existing.get(uscc)
        if row is None or row.grade != outcome.grade or _dishonest(row.lists) != _dishonest(outcome.lists):
            moved.append(uscc)
        if row is None:
            create.append(
                CreditGrade(
                    uscc=uscc,
                    name=names.get(uscc, ""),
                    grade=outcome.grade,
                    score=outcome.score,
                    rule_version=version,
                    lists=outcome.lists,
                    explanation=outcome.explanation,
                )
            )
            changed += 1
        else:
            if row.grade != outcome.grade:
                changed += 1
            row.grade, row.score, row.rule_version = outcome.grade, outcome.score, version
            row.lists, row.explanation = outcome.lists, outcome.explanation
            row.computed_at = timezone.now()
            update.append(row)
    with transaction.atomic():
        CreditGrade.objects.bulk_create(create, batch_size=2000)
        CreditGrade.objects.bulk_update(
            update, ["grade", "score", "rule_version", "lists", "explanation", "computed_at"], batch_size=2000
        )
        audit_record(
            actor=actor,
            action="supervision.grades_recompute",
            object_type="supervision.creditgrade",
            changes={"entities": len(usccs), "grade_changed": changed, "rule_version": version},
        )
        for first in range(0, len(moved), GRADE_EVENT_CHUNK):
            events.publish(GRADE_CHANGED, usccs=moved[first : first + GRADE_EVENT_CHUNK])
    return {"entities": len(usccs), "grade_changed": changed, "rule_version": version}


# ``supervision.credit_grade_changed`` {usccs}: entities whose grade or 严重失信 listing changed in a
# recomputation (a first grade included), in chunks; published with the change (the outbox), so
# subscribers (the policies' eligibility) see the new grades. USCCs only: no personal data.
GRADE_CHANGED = "supervision.credit_grade_changed"
GRADE_EVENT_CHUNK = 1000


def _dishonest(lists) -> bool:
    return "blacklist" in (lists or [])


REPAIRABLE_KINDS = ("penalty", "inspection")
MIN_PUBLICATION_DAYS = 90  # 行政处罚信息最短公示期三个月


def credit_repair_apply(*, actor, uscc: str, record_number: str, reason: str) -> CreditRepair:
    """The enterprise (its agent) asks to repair a record once the minimum publication period
    has passed and it has rectified."""
    ensure_storable(reason, field="reason")
    ensure_storable(record_number, field="record_number")
    if _system(actor) or not actor.enterprise_uscc or actor.enterprise_uscc != uscc:
        raise NotFound(code="supervision_credit_record_not_found")
    if len(reason) > 2000:
        raise ValidationFailed(fields={"reason": [_("最多 %(n)d 个字符") % {"n": 2000}]})
    if not reason.strip():
        raise ValidationFailed(fields={"reason": [_("请说明整改情况")]})
    record = next(
        (
            r
            for r in registries.credit_records_of_entities(usccs=[uscc]).get(uscc, [])
            if r["record_number"] == record_number
        ),
        None,
    )
    if record is None:
        raise NotFound(code="supervision_credit_record_not_found")
    if record["kind"] not in REPAIRABLE_KINDS:
        raise ValidationFailed(fields={"record_number": [_("只有行政处罚和检查结果记录可以申请修复")]})
    if record["decided_on"] and (timezone.localdate() - record["decided_on"]).days < MIN_PUBLICATION_DAYS:
        raise ValidationFailed(
            _("最短公示期(三个月)届满后方可申请信用修复"),
            code="supervision_repair_too_early",
            fields={"record_number": [_("最短公示期未满")]},
        )
    with transaction.atomic():
        if CreditRepair.objects.filter(
            record_number=record_number, status__in=[CreditRepair.Status.PENDING, CreditRepair.Status.APPROVED]
        ).exists():
            raise Conflict(_("该记录已有修复申请"), code="supervision_repair_exists")
        repair = CreditRepair.objects.create(
            uscc=uscc, record_number=record_number, reason=reason.strip(), applicant=actor
        )
        audit_record(actor=actor, action="supervision.credit_repair_apply", obj=repair)
    return repair


def credit_repair_decide(*, actor, repair_id: int, approve: bool, note: str) -> CreditRepair:
    """The credit department decides; an approved repair stops the record counting and the
    grade is recomputed at once."""
    ensure_storable(note, field="note")
    department = selectors.credit_department()
    if not _system(actor) and (
        department is None
        or not actor_has_role(actor, roles=(Role.REVIEWER, Role.DEPARTMENT_HEAD), department=department)
    ):
        raise NotFound(code="supervision_repair_not_found")
    if not note.strip():
        raise ValidationFailed(fields={"note": [_("请填写审核意见")]})
    with transaction.atomic():
        repair = CreditRepair.objects.select_for_update(no_key=True).filter(pk=repair_id).first()
        if repair is None:
            raise NotFound(code="supervision_repair_not_found")
        if repair.status != CreditRepair.Status.PENDING:
            raise Conflict(_("该申请已审核"), code="supervision_repair_decided")
        repair.status = CreditRepair.Status.APPROVED if approve else CreditRepair.Status.REJECTED
        repair.decided_by = None if _system(actor) else actor
        repair.decision_note, repair.decided_at = note.strip(), timezone.now()
        repair.save()
        audit_record(actor=actor, action="supervision.credit_repair_decide", obj=repair, changes={"approve": approve})
        grades_recompute(actor=actor, usccs=[repair.uscc])
    return repair


def credit_measure_apply(*, actor, entity_code: str, context: str, context_id: str) -> list[dict]:
    """Record that the joint rewards/punishments of an entity were applied to something (a case,
    a policy); audited with the measures and why. Returns the measures applied."""
    found = selectors.credit_measures_for(entity_code=entity_code)
    if found["measures"]:
        with transaction.atomic():
            audit_record(
                actor=actor,
                action="supervision.credit_measure_apply",
                object_type=context,
                object_id=str(context_id),
                changes={
                    "uscc": entity_code,
                    "grade": found["grade"],
                    "lists": found["lists"],
                    "measures": [m["code"] for m in found["measures"]],
                },
            )
    return found["measures"]


PHOTO_MAX_BYTES = 10 * 1024 * 1024
PHOTO_MAGIC = {b"\xff\xd8\xff": ".jpg", b"\x89PNG\r\n\x1a\n": ".png"}


def inspection_photo_add(*, actor, inspection_id: int, content: bytes) -> InspectionPhoto:
    """Attach an on-site photo (JPEG or PNG, at most 10 MB) to a task not yet published."""
    from django.core.files.base import ContentFile

    suffix = next((ext for magic, ext in PHOTO_MAGIC.items() if content.startswith(magic)), None)
    if suffix is None:
        raise ValidationFailed(fields={"photo": [_("只接受 JPEG 或 PNG 照片")]})
    if len(content) > PHOTO_MAX_BYTES:
        raise ValidationFailed(fields={"photo": [_("照片不能超过 10 MB")]})
    with transaction.atomic():
        inspection = _my_inspection(actor, inspection_id)
        if inspection.status == Inspection.Status.PUBLISHED:
            raise Conflict(_("检查结果已公示,不能修改"), code="supervision_inspection_published")
        photo = InspectionPhoto(inspection=inspection, uploaded_by=None if _system(actor) else actor)
        photo.image.save(f"{secrets.token_hex(8)}{suffix}", ContentFile(content), save=True)
        audit_record(actor=actor, action="supervision.inspection_photo_add", obj=inspection)
    return photo


# =============================================================================================
# 亩均效益评价
# =============================================================================================


def _require_economy_manager(actor) -> None:
    if _system(actor) or actor.is_superuser:
        return
    department = selectors.economy_department()
    if department is None or not actor_has_role(actor, roles=MANAGER_ROLES, department=department):
        raise Forbidden(_("只有宏观经济库数源部门的负责人或管理员可以组织亩均效益评价。"), code="supervision_forbidden")


def mu_evaluation_run(*, actor, year: int, weights: dict | None = None, thresholds: dict | None = None) -> MuEvaluation:
    """Configure (weights summing to 100 %, score lines A > B > C) and compute the year's
    evaluation from the 经济 registry; re-running replaces the results until it is published."""
    _require_economy_manager(actor)
    weights = dict(mu.DEFAULT_WEIGHTS if weights is None else weights)
    thresholds = dict(mu.DEFAULT_THRESHOLDS if thresholds is None else thresholds)
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ValidationFailed(fields={"year": [_("评价年度无效")]})
    try:
        results = mu.evaluate(registries.economy_indicators(year=year), weights, thresholds)
    except mu.ConfigError as exc:
        raise ValidationFailed(str(exc), code="supervision_mu_config_invalid", fields={exc.field: [str(exc)]}) from None
    if not results:
        raise ValidationFailed(
            _("宏观经济库中没有该年度的企业指标"), code="supervision_mu_no_data", fields={"year": [_("没有数据")]}
        )
    with transaction.atomic():
        evaluation = MuEvaluation.objects.select_for_update(no_key=True).filter(year=year).first()
        if evaluation is not None and evaluation.published_at:
            raise Conflict(_("该年度评价已公布,不能重新计算"), code="supervision_mu_published")
        if evaluation is None:
            evaluation = MuEvaluation.objects.create(year=year, weights=weights, thresholds=thresholds)
        else:
            evaluation.weights, evaluation.thresholds = weights, thresholds
            evaluation.save(update_fields=["weights", "thresholds"])
            evaluation.results.all().delete()
        MuResult.objects.bulk_create(
            [
                MuResult(
                    evaluation=evaluation,
                    uscc=r["uscc"],
                    name=r["name"],
                    indicators=r["indicators"],
                    score=r["score"],
                    klass=r["klass"],
                    measures=r["measures"],
                )
                for r in results
            ],
            batch_size=2000,
        )
        counts = {k: sum(1 for r in results if r["klass"] == k) for k in "ABCD"}
        audit_record(
            actor=actor,
            action="supervision.mu_evaluation_run",
            obj=evaluation,
            changes={"year": year, "weights": weights, "thresholds": thresholds, "classes": counts},
        )
    return evaluation


def mu_evaluation_publish(*, actor, year: int) -> MuEvaluation:
    """Publish the year's classes to the enterprises (public list and Excel); then it is fixed."""
    _require_economy_manager(actor)
    with transaction.atomic():
        evaluation = MuEvaluation.objects.select_for_update(no_key=True).filter(year=year).first()
        if evaluation is None:
            raise NotFound(code="supervision_mu_not_found")
        if evaluation.published_at:
            raise Conflict(_("该年度评价已公布"), code="supervision_mu_published")
        evaluation.published_at = timezone.now()
        evaluation.save(update_fields=["published_at"])
        audit_record(actor=actor, action="supervision.mu_evaluation_publish", obj=evaluation)
    return evaluation
