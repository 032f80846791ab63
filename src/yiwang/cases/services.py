"""Case writes: one service per transition of the lifecycle.

Every service is keyword-only, runs in one transaction, locks the case row, checks the
actor's role with the identity selectors, bumps ``Case.version``, writes a timeline step
and an audit event, and publishes ``case.<event>`` with payload ``{"case_id": id}`` once
the transaction commits.

Optimistic concurrency: staff services take ``expected_version`` (the ``version`` the
actor's page or API client last saw). If somebody else changed the case meanwhile, the
service raises ``Conflict`` naming what happened, and changes nothing. Without
``expected_version`` the state check alone decides (a second acceptance of an accepted
case is a conflict too).

Roles: a window clerk (any department's item: front-office intake, 一窗受理; cases of his
hall's region, see ``cases.selectors``) submits for walk-in applicants, accepts, refuses,
requests the supplement and delivers; reviewers and
department heads of the implementing department do the same and review; the department
head assigns, extends and decides; the applicant submits, answers, withdraws.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import jsonschema
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.cases import clock
from yiwang.cases.models import (
    OPEN_STATES,
    ApplicantKind,
    Case,
    CaseMaterial,
    CaseNumberCounter,
    CaseState,
    CaseStep,
    Channel,
    Decision,
    SlaStatus,
    StepKind,
    Supplement,
)
from yiwang.catalog import selectors as catalog_selectors
from yiwang.catalog.selectors import HandlingForm, Status
from yiwang.core import db, events
from yiwang.core.audit import audit_record
from yiwang.core.calendar import WorkingCalendar, working_calendar
from yiwang.core.crypto import blind_index, sm3_hex
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.identity.models import Department, Role, User
from yiwang.identity.selectors import role_grants_of

if TYPE_CHECKING:  # annotations only: catalog rows are read through catalog.selectors
    from yiwang.catalog.models import MaterialRequirement, ServiceItem, ServiceItemVersion

DEFAULT_MAX_MATERIAL_BYTES = 10 * 1024 * 1024


# --- helpers ---------------------------------------------------------------------------------


def _actor_name(actor) -> str:
    if actor is None or isinstance(actor, str):
        return actor or _("系统")
    return actor.real_name or actor.username


def _grants(actor, case: Case | None = None) -> list:
    """The actor's role grants (one query), reused from ``_lock`` when it already read them."""
    cached = getattr(case, "_actor_grants", None)
    if cached is not None and cached[0] == getattr(actor, "pk", None):
        return cached[1]
    if actor is None or isinstance(actor, str) or not getattr(actor, "is_authenticated", False):
        return []
    if not actor.is_active:
        return []
    return list(role_grants_of(actor=actor))


def is_window_clerk(actor, case: Case | None = None) -> bool:
    """A window clerk: front-office intake serves every department's items. With ``case``: a
    clerk whose hall serves the case's front-office region, or who received it (see
    ``cases.selectors``, "front-office region")."""
    from yiwang.cases.selectors import front_office_covers

    if getattr(actor, "is_superuser", False) and actor.is_active:
        return True
    windows = [grant for grant in _grants(actor, case) if grant.role == Role.WINDOW_CLERK]
    if case is None or not windows:
        return bool(windows)
    if case.received_by_id is not None and case.received_by_id == actor.pk:
        return True
    return any(front_office_covers(grant, case.intake_region) for grant in windows)


def _intake_hall(actor, hall: Department | None) -> Department | None:
    """The hall whose window takes a walk-in in: ``hall`` if the clerk works there (a window
    grant on it, or above it with descendants), else the clerk's first window in tree order.
    None for a superuser without a window grant (the case then belongs to the implementing
    department's region)."""
    windows = sorted(
        (grant for grant in _grants(actor) if grant.role == Role.WINDOW_CLERK), key=lambda g: g.department.path
    )
    if hall is None:
        return windows[0].department if windows else None
    if getattr(actor, "is_superuser", False) or has_any_role(actor, (Role.WINDOW_CLERK,), hall):
        return hall
    message = _("您不在该政务服务大厅的窗口工作")
    raise ValidationFailed(message, code="intake_department", fields={"intake_department": message})


def has_any_role(actor, roles: Iterable[str], department: Department, case: Case | None = None) -> bool:
    """Whether the actor holds one of ``roles`` in ``department``: granted there, or above it
    with descendants included (as ``identity.selectors.actor_has_role``, one query for all roles)."""
    if department is None or not department.is_active:
        return False
    if getattr(actor, "is_superuser", False) and actor.is_active:
        return True
    roles = set(roles)
    for grant in _grants(actor, case):
        if grant.role not in roles:
            continue
        if grant.department_id == department.pk:
            return True
        if grant.include_descendants and department.path.startswith(grant.department.path):
            return True
    return False


def actor_has_role(*, actor, role: str, department: Department, case: Case | None = None) -> bool:
    return has_any_role(actor, (role,), department, case)


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
        .select_for_update(of=("self",))
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


# --- numbers and form validation -------------------------------------------------------------


def _next_number(*, region_code: str, day) -> str:
    """``<6-digit region><YYYYMMDD><6-digit sequence>``, unique under concurrency: the
    (region, day) counter row is locked until the submitting transaction commits."""
    region = (region_code or "000000")[:6].ljust(6, "0")
    table = connection.ops.quote_name(CaseNumberCounter._meta.db_table)
    # One statement draws the number and locks the row (SQLite >= 3.35 and PostgreSQL both
    # support RETURNING); the first submission of a (region, day) creates the row.
    bump = f"UPDATE {table} SET last = last + 1 WHERE region_code = %s AND day = %s RETURNING last"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(bump, [region, day])
        row = cursor.fetchone()
    if row is None:
        try:
            with transaction.atomic():
                CaseNumberCounter.objects.create(region_code=region, day=day, last=1)
                last = 1
        except IntegrityError:  # another submission created it first; wait for its lock
            with connection.cursor() as cursor:
                cursor.execute(bump, [region, day])
                last = cursor.fetchone()[0]
    else:
        last = row[0]
    return f"{region}{day:%Y%m%d}{last:06d}"


_FORM_MESSAGES = {
    "required": _("请填写「%(title)s」"),
    "type": _("「%(title)s」的格式不正确"),
    "enum": _("「%(title)s」只能从给定选项中选择"),
    "pattern": _("「%(title)s」的格式不正确"),
    "format": _("「%(title)s」的格式不正确"),
    "minLength": _("「%(title)s」太短"),
    "maxLength": _("「%(title)s」太长"),
    "minimum": _("「%(title)s」太小"),
    "maximum": _("「%(title)s」太大"),
    "additionalProperties": _("申请表中有未定义的字段"),
}


def form_errors(schema: dict, data) -> dict[str, list[str]]:
    """Every problem of ``data`` against the version's JSON Schema, per field, in Chinese."""
    if not schema:
        return {} if isinstance(data, dict) else {"form_data": [str(_("申请表必须是对象"))]}
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    fields: dict[str, list[str]] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path = [str(p) for p in error.absolute_path]
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            path = [*path, missing]
        sub = schema
        for part in path:
            sub = (sub.get("properties") or {}).get(part, {}) if isinstance(sub, dict) else {}
        title = (sub.get("title") if isinstance(sub, dict) else None) or (path[-1] if path else _("申请表"))
        template = _FORM_MESSAGES.get(error.validator, _("「%(title)s」填写有误"))
        key = ".".join(["form_data", *path])
        fields.setdefault(key, []).append(str(template) % {"title": title})
    return fields


# --- submission ------------------------------------------------------------------------------


def _applicant_snapshot(applicant: User, version: ServiceItemVersion) -> dict:
    if applicant.kind == User.Kind.ENTERPRISE_AGENT:
        kind, name, number = ApplicantKind.LEGAL_PERSON, applicant.enterprise_name, applicant.enterprise_uscc
    else:
        kind, name, number = ApplicantKind.NATURAL_PERSON, applicant.real_name, applicant.id_number
    if not name or not number:
        raise ValidationFailed(
            _("申请人尚未完成实名信息(姓名和证件号码),不能申报。"),
            code="applicant_incomplete",
            fields={"applicant": _("申请人实名信息不完整")},
        )
    targets = version.targets or []
    if targets and kind not in targets:
        raise ValidationFailed(
            _("事项「%(item)s」不面向%(kind)s办理。") % {"item": version.name, "kind": ApplicantKind(kind).label},
            code="applicant_kind",
            fields={"applicant": _("申请人类型不符")},
        )
    return {
        "applicant_kind": kind,
        "applicant_name": name,
        "applicant_id_number": number,
        "applicant_id_index": blind_index(number),
        "applicant_phone": applicant.phone or "",
    }


def _published_version(item: ServiceItem, version: ServiceItemVersion | None, channel: str) -> None:
    """The item is published and offers this channel (online needs an online handling form)."""
    if item.status != Status.PUBLISHED or version is None:
        raise NotFound(_("该事项未发布或已停用。"), code="item_not_found")
    allowed_forms = {Channel.ONLINE: (HandlingForm.ONLINE, HandlingForm.BOTH)}.get(channel)
    if allowed_forms and version.handling_form not in allowed_forms:
        raise ValidationFailed(
            _("事项「%(item)s」不支持网上办理,请到窗口申报。") % {"item": version.name},
            code="channel_not_offered",
            fields={"channel": _("该事项只能窗口办理")},
        )


def _submission_checks(
    *, item: ServiceItem, version: ServiceItemVersion | None, channel: str, applicant: User, form_data
) -> dict:
    """Everything a submission must pass before it gets a number (shared by ``case_submit``
    and ``case_draft_submit``): the item is published for this channel, the form is valid
    against the version's schema, the applicant's real-name data is complete. Returns the
    applicant snapshot."""
    _published_version(item, version, channel)
    problems = form_errors(version.form_schema or {}, form_data)
    if problems:
        raise ValidationFailed(_("申请表填写有误,请按提示修改。"), code="invalid_form", fields=problems)
    return _applicant_snapshot(applicant, version)


def _submitter(*, actor, applicant: User | None, channel: str, idempotency_key: str) -> tuple[str, User]:
    """(the clean idempotency key, the applicant) of a submission: online the actor applies for
    himself; at a window a window clerk applies for ``applicant``."""
    key = (idempotency_key or "").strip()
    if len(key) > 64:
        raise ValidationFailed(_("幂等键最长 64 个字符"), fields={"idempotency_key": _("幂等键过长")})
    if channel == Channel.WINDOW:
        _require(is_window_clerk(actor), _("只有窗口受理人员可以代为申报。"), "not_window_clerk")
        if applicant is None:
            raise ValidationFailed(_("请指定申请人"), fields={"applicant": _("请指定申请人")})
    elif channel == Channel.ONLINE:
        if applicant is not None and applicant.pk != getattr(actor, "pk", None):
            raise Forbidden(_("网上申报只能以本人名义提交。"), code="not_applicant")
        applicant = actor
    else:
        raise ValidationFailed(_("申报渠道无效"), fields={"channel": _("申报渠道无效")})
    if applicant is None or not getattr(applicant, "is_authenticated", False):
        raise Forbidden(_("请先登录。"), code="not_authenticated")
    return key, applicant


def case_submit(
    *,
    actor,
    item: ServiceItem,
    form_data: dict,
    applicant: User | None = None,
    channel: str = Channel.ONLINE,
    idempotency_key: str = "",
    materials: Sequence[MaterialUpload] = (),
    intake_department: Department | None = None,
) -> tuple[Case, bool]:
    """Submit an application for the item's current published version; returns (case, created).

    Online, the actor is the applicant. At a window, the actor is a window clerk (any
    department's item) and ``applicant`` the person served; the case records the hall that
    took it in (``intake_department``: one of the clerk's windows, by default his first) and
    that hall's region is where it waits for acceptance and delivery. ``materials`` are stored
    with the case in the same transaction: one bad file (named in the error) and nothing is
    submitted. The same ``idempotency_key`` for the same applicant returns the first case
    unchanged (``created`` False): a double click or a retried request never makes two cases.
    """
    key, applicant = _submitter(actor=actor, applicant=applicant, channel=channel, idempotency_key=idempotency_key)

    version = item.current_version
    snapshot = _submission_checks(item=item, version=version, channel=channel, applicant=applicant, form_data=form_data)
    checked = []
    if materials:
        requirements = _requirements_of(version.pk)
        checked = [_check_material(upload, requirements) for upload in materials]
    hall = _intake_hall(actor, intake_department) if channel == Channel.WINDOW else None

    # No read before the insert: the unique (applicant, idempotency key) constraint finds a
    # repeated submission, and the whole transaction (number, files included) rolls back.
    stored: list[str] = []
    try:
        with transaction.atomic():
            now = timezone.now()
            department = item.department
            case = Case.objects.create(
                number=_next_number(region_code=department.region_code, day=clock.local_day(now)),
                item_version=version,
                department=department,
                state=CaseState.SUBMITTED,
                channel=channel,
                applicant=applicant,
                received_by=actor if channel == Channel.WINDOW else None,
                intake_department=hall,
                intake_region=(hall or department).region_code,
                idempotency_key=key,
                form_data=form_data,
                submitted_at=now,
                time_limit_days=version.promised_time_limit,
                **snapshot,
            )
            attached = _store_materials(case, checked, actor=actor, stored=stored)
            steps = [_new_step(case, StepKind.SUBMITTED, actor, note=Channel(channel).label)]
            steps += [_new_step(case, StepKind.MATERIAL_ADDED, actor, note=m.name) for m in attached]
            case._fresh = {"steps": CaseStep.objects.bulk_create(steps), "materials": attached}
            audit_record(
                actor=actor,
                action="case.submit",
                obj=case,
                changes={
                    "state": [None, case.state],
                    "channel": channel,
                    "item_version": version.pk,
                    "materials": [{"name": m.name, "sm3": m.sm3, "size": m.size} for m in attached],
                    "intake_department": hall.pk if hall else None,
                },
            )
            _publish("case.submitted", case)
    except IntegrityError:
        _remove_files(stored)
        if not key:
            raise
        existing = Case.objects.filter(applicant=applicant, idempotency_key=key).first()
        if existing is None:
            raise
        return _same_submission(existing, item), False
    except BaseException:
        _remove_files(stored)
        raise
    return case, True


def _same_submission(existing: Case, item: ServiceItem) -> Case:
    if existing.item_version.item_id != item.pk:
        raise Conflict(
            _("该幂等键已用于办件 %(number)s(另一事项),请使用新的幂等键。") % {"number": existing.number},
            code="idempotency_key_reused",
        )
    return existing


# --- drafts ----------------------------------------------------------------------------------
#
# A draft is a ``Case`` in state ``draft``: its applicant's alone (see ``selectors``), without
# an official number, a submission time or a clock, pinned to the item version it was started
# on. It gets its number and enters the normal flow only through ``case_draft_submit``. No
# domain event is published for a draft until it is submitted: nothing outside the
# applicant's own pages may see or count it.

MAX_DRAFT_BYTES = 64 * 1024
MAX_DRAFTS_PER_APPLICANT = 50


def _clean_draft_data(form_data) -> dict:
    """A draft's form is any JSON object up to ``MAX_DRAFT_BYTES``; the schema is checked on submission."""
    if not isinstance(form_data, dict):
        message = _("申请表必须是对象")
        raise ValidationFailed(message, code="invalid_form", fields={"form_data": message})
    try:
        size = len(json.dumps(form_data, ensure_ascii=False).encode())
    except (TypeError, ValueError):
        message = _("申请表含有无法保存的内容")
        raise ValidationFailed(message, code="invalid_form", fields={"form_data": message}) from None
    if size > MAX_DRAFT_BYTES:
        message = _("申请表草稿超过 %(kb)d KB 的上限") % {"kb": MAX_DRAFT_BYTES // 1024}
        raise ValidationFailed(message, code="draft_too_large", fields={"form_data": message})
    return form_data


def _draft_owner(actor) -> User:
    if actor is None or isinstance(actor, str) or not getattr(actor, "is_authenticated", False):
        raise Forbidden(_("请先登录。"), code="not_authenticated")
    if not actor.is_active:
        raise Forbidden(_("请先登录。"), code="not_authenticated")
    return actor


def _lock_draft(*, actor, draft_id, expected_version: int | None = None) -> Case:
    """The actor's own draft, locked until commit; anything else is ``NotFound``."""
    try:
        pk = int(draft_id)
    except (TypeError, ValueError):
        raise NotFound(_("未找到该草稿。"), code="draft_not_found") from None
    draft = (
        Case.objects.select_related("item_version__item", "department")
        .select_for_update(of=("self",))
        .filter(pk=pk, applicant_id=getattr(actor, "pk", None), state=CaseState.DRAFT)
        .first()
    )
    if draft is None:
        raise NotFound(_("未找到该草稿。"), code="draft_not_found")
    if expected_version is not None and draft.version != expected_version:
        raise Conflict(_("草稿已在别处修改,请刷新后再操作。"), code="draft_changed")
    return draft


def case_draft_save(
    *,
    actor,
    form_data: dict,
    item: ServiceItem | None = None,
    draft_id: int | None = None,
    expected_version: int | None = None,
) -> Case:
    """Save an application as a draft: a new one for ``item`` (its current published version,
    which the draft stays pinned to), or the actor's draft ``draft_id`` with new form data.

    Only the JSON shape and size are checked (the schema, the applicant's real-name data and
    the materials are checked on submission). The draft gets no number and no clock, and is
    visible to its applicant only. At most ``MAX_DRAFTS_PER_APPLICANT`` drafts per applicant.
    """
    data = _clean_draft_data(form_data)
    applicant = _draft_owner(actor)
    if (item is None) == (draft_id is None):
        message = _("请指定事项或草稿")
        raise ValidationFailed(message, code="draft_target", fields={"item": message})
    with transaction.atomic():
        if draft_id is not None:
            draft = _lock_draft(actor=applicant, draft_id=draft_id, expected_version=expected_version)
            draft.form_data = data
            _save(draft, actor=applicant, action="case.draft_save", changes={"fields": sorted(map(str, data))})
            return draft
        version = item.current_version
        _published_version(item, version, Channel.ONLINE)
        if Case.objects.filter(applicant=applicant, state=CaseState.DRAFT).count() >= MAX_DRAFTS_PER_APPLICANT:
            message = _("草稿最多保存 %(n)d 份,请先提交或删除不需要的草稿。") % {"n": MAX_DRAFTS_PER_APPLICANT}
            raise ValidationFailed(message, code="drafts_limit", fields={"item": message})
        legal = applicant.kind == User.Kind.ENTERPRISE_AGENT
        draft = Case.objects.create(
            number=None,
            item_version=version,
            department=item.department,
            state=CaseState.DRAFT,
            channel=Channel.ONLINE,
            applicant=applicant,
            applicant_kind=ApplicantKind.LEGAL_PERSON if legal else ApplicantKind.NATURAL_PERSON,
            applicant_name="",  # the real-name snapshot is taken on submission
            applicant_id_number="",
            applicant_id_index="",
            form_data=data,
            submitted_at=None,
            time_limit_days=version.promised_time_limit,
        )
        audit_record(
            actor=applicant,
            action="case.draft_create",
            obj=draft,
            changes={"state": [None, CaseState.DRAFT], "item_version": version.pk},
        )
    return draft


def _draft_follow_guide(draft: Case, item: ServiceItem, *, actor) -> Conflict:
    """Move a draft from its pinned version to the item's new current version: the form data
    comes along (fields the new schema forbids are dropped), uploaded files stay attached to
    the material of the same name in the new list (else they become 其他材料). Returns the
    ``Conflict`` telling the applicant, with the form's problems under the new schema."""
    old, new = draft.item_version, item.current_version
    schema = new.form_schema or {}
    data = dict(draft.form_data or {})
    if schema.get("additionalProperties") is False:
        known = set(schema.get("properties") or {})
        data = {key: value for key, value in data.items() if key in known}
    by_name = {requirement.name: requirement for requirement in new.materials.all()}
    for material in CaseMaterial.objects.filter(case=draft, requirement__isnull=False).select_related("requirement"):
        material.requirement = by_name.get(material.requirement.name)
        material.save(update_fields=["requirement"])
    draft.item_version = new
    draft.department_id = item.department_id
    draft.time_limit_days = new.promised_time_limit
    draft.form_data = data
    _save(draft, actor=actor, action="case.draft_follow_guide", changes={"item_version": [old.pk, new.pk]})
    return Conflict(
        _(
            "事项「%(item)s」的办事指南已更新(第 %(old)d 版 → 第 %(new)d 版),草稿已转到新版本并保留了已填内容,"
            "请按新的申请表和材料清单核对后再提交。"
        )
        % {"item": new.name, "old": old.number, "new": new.number},
        code="guide_changed",
        fields=form_errors(schema, data),
    )


def case_draft_submit(*, actor, draft_id, idempotency_key: str = "") -> tuple[Case, bool]:
    """Submit one of the actor's drafts: checked exactly like ``case_submit`` (published item
    offered online, the form against the version's schema, the applicant's real-name data);
    then it gets its official number, the submission time and the ``submitted`` state, and
    the normal flow starts (``case.submitted``). Returns (case, submitted now).

    A draft is submitted once: submitting it again, or with an idempotency key already used
    for it, returns the case (``False``); a key used for another case is a ``Conflict``.

    If the item has a newer published version than the draft's, nothing is submitted: the
    draft moves to the new version (committed) and ``Conflict`` ``guide_changed`` tells the
    applicant, with the form's problems under the new schema in ``fields``.
    """
    key = (idempotency_key or "").strip()
    if len(key) > 64:
        raise ValidationFailed(_("幂等键最长 64 个字符"), fields={"idempotency_key": _("幂等键过长")})
    applicant = _draft_owner(actor)
    try:
        pk = int(draft_id)
    except (TypeError, ValueError):
        raise NotFound(_("未找到该草稿。"), code="draft_not_found") from None
    if key:
        existing = Case.objects.filter(applicant=applicant, idempotency_key=key).first()
        if existing is not None and existing.pk != pk:
            raise Conflict(
                _("该幂等键已用于办件 %(number)s,请使用新的幂等键。") % {"number": existing.number},
                code="idempotency_key_reused",
            )
    changed = None
    try:
        with transaction.atomic():
            draft = (
                Case.objects.select_related("item_version", "department")
                .select_for_update(of=("self",))
                .filter(pk=pk, applicant=applicant)
                .first()
            )
            if draft is None:
                raise NotFound(_("未找到该草稿。"), code="draft_not_found")
            if draft.state != CaseState.DRAFT:  # submitted already (a double click, a retry)
                return draft, False
            item = catalog_selectors.item_get(item_id=draft.item_version.item_id)
            if item.status == Status.PUBLISHED and item.current_version_id not in (None, draft.item_version_id):
                changed = _draft_follow_guide(draft, item, actor=applicant)
            else:
                _submit_draft(draft, item=item, actor=applicant, key=key)
    except IntegrityError:
        if not key:
            raise
        existing = Case.objects.filter(applicant=applicant, idempotency_key=key).first()
        if existing is None or existing.pk != pk:
            raise
        return existing, False
    if changed is not None:
        raise changed
    return draft, True


def _submit_draft(draft: Case, *, item: ServiceItem, actor: User, key: str) -> None:
    version = draft.item_version
    snapshot = _submission_checks(
        item=item, version=version, channel=Channel.ONLINE, applicant=actor, form_data=draft.form_data
    )
    now = timezone.now()
    draft.number = _next_number(region_code=item.department.region_code, day=clock.local_day(now))
    draft.department = item.department
    draft.intake_region = item.department.region_code  # online: the implementing department's region
    draft.state = CaseState.SUBMITTED
    draft.submitted_at = now
    draft.idempotency_key = key
    draft.time_limit_days = version.promised_time_limit
    for field, value in snapshot.items():
        setattr(draft, field, value)
    _step(draft, StepKind.SUBMITTED, actor, note=Channel.ONLINE.label)
    _save(
        draft,
        actor=actor,
        action="case.submit",
        changes={
            "state": [CaseState.DRAFT, CaseState.SUBMITTED],
            "channel": Channel.ONLINE,
            "item_version": version.pk,
        },
    )
    _publish("case.submitted", draft)


@transaction.atomic
def case_draft_delete(*, actor, draft_id, expected_version: int | None = None) -> None:
    """Delete one of the actor's drafts with its uploaded files (removed from storage once the
    transaction commits). A submitted case can never be deleted this way."""
    applicant = _draft_owner(actor)
    draft = _lock_draft(actor=applicant, draft_id=draft_id, expected_version=expected_version)
    names = [material.file.name for material in CaseMaterial.objects.filter(case=draft)]
    audit_record(
        actor=applicant,
        action="case.draft_delete",
        obj=draft,
        changes={"state": [CaseState.DRAFT, None], "materials": len(names)},
    )
    draft.delete()
    transaction.on_commit(lambda: _remove_files(names))  # a file the disk refuses is left to the purge


# --- materials -------------------------------------------------------------------------------

ALLOWED_TYPES = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "application/ofd": "OFD",
}


def detect_content_type(content: bytes) -> str | None:
    """The file's type from its bytes (never its name): PDF, JPEG, PNG or OFD; else None."""
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                names = {name.lower() for name in archive.namelist()}
        except (zipfile.BadZipFile, ValueError):
            return None
        if "ofd.xml" in names:
            return "application/ofd"
    return None


def max_material_bytes() -> int:
    return int(getattr(settings, "YIWANG_CASE_MATERIAL_MAX_BYTES", DEFAULT_MAX_MATERIAL_BYTES))


@dataclass(frozen=True)
class MaterialUpload:
    """One file as posted: for a requirement of the item's material list, or ``None`` for
    「其他材料」 (then ``name`` says what it is)."""

    requirement_id: int | None
    filename: str
    content: bytes
    name: str = ""


@dataclass(frozen=True)
class _CheckedMaterial:
    requirement: MaterialRequirement | None
    label: str
    filename: str
    content: bytes
    content_type: str
    sm3: str


def _requirements_of(version_id: int) -> dict[int, MaterialRequirement]:
    return {r.pk: r for r in catalog_selectors.requirements_of_version(version_id=version_id)}


def _check_material(upload: MaterialUpload, requirements: dict[int, MaterialRequirement]) -> _CheckedMaterial:
    """The upload, checked by content and size; ``ValidationFailed`` naming the material and
    the form field (``material_<requirement id>`` or ``material_other``) otherwise."""
    field = f"material_{upload.requirement_id}" if upload.requirement_id is not None else "material_other"
    requirement = None
    if upload.requirement_id is not None:
        requirement = requirements.get(upload.requirement_id)
        if requirement is None:
            message = _("该材料不属于本事项的材料清单")
            raise ValidationFailed(message, fields={"requirement_id": message, field: message})
    label = requirement.name if requirement else (upload.name or "").strip() or _("其他材料")
    limit = max_material_bytes()
    content = upload.content
    if not content:
        message = _("材料「%(name)s」:文件为空") % {"name": label}
        raise ValidationFailed(message, code="material_empty", fields={"file": message, field: message})
    if len(content) > limit:
        message = _("材料「%(name)s」:文件超过 %(mb).0f MB 的上限") % {"name": label, "mb": limit / 1024 / 1024}
        raise ValidationFailed(message, code="material_too_large", fields={"file": message, field: message})
    content_type = detect_content_type(content)
    if content_type is None:
        message = _("材料「%(name)s」:文件内容不是 PDF、JPEG、PNG 或 OFD 格式") % {"name": label}
        raise ValidationFailed(message, code="material_type", fields={"file": message, field: message})
    return _CheckedMaterial(
        requirement=requirement,
        label=label[:200],
        filename=(upload.filename or "")[:255],
        content=content,
        content_type=content_type,
        sm3=sm3_hex(content),
    )


def _store_materials(case: Case, checked: list[_CheckedMaterial], *, actor, stored: list[str]) -> list[CaseMaterial]:
    """Write the files (named by digest, never by the uploader) and their rows in one insert.

    Each stored name is appended to ``stored`` at once, so that the caller can remove the
    files if its transaction fails; files of a transaction rolled back further out are
    removed by ``case_material_orphans_purge``.
    """
    rows = []
    for item in checked:
        material = CaseMaterial(
            case=case,
            requirement=item.requirement,
            name=item.label,
            original_filename=item.filename,
            size=len(item.content),
            sm3=item.sm3,
            content_type=item.content_type,
            uploaded_by=actor,
        )
        material.file.save("upload", ContentFile(item.content), save=False)
        stored.append(material.file.name)
        rows.append(material)
    return CaseMaterial.objects.bulk_create(rows)


def _remove_files(names: list[str]) -> None:
    storage = CaseMaterial._meta.get_field("file").storage
    for name in names:
        with contextlib.suppress(OSError):  # already gone, or the disk refuses: the purge retries later
            storage.delete(name)


def case_material_add(
    *, actor, case_id, requirement_id: int | None, filename: str, content: bytes, name: str = ""
) -> CaseMaterial:
    """Attach one file to a case before acceptance or while a supplement is outstanding.

    The applicant or a window clerk may upload. The type is detected from the content;
    the file is stored under its SM3 digest, never under the uploaded name.
    """
    stored: list[str] = []
    try:
        with transaction.atomic():
            case = _lock(actor=actor, case_id=case_id, expected_version=None)
            _require(
                case.applicant_id == getattr(actor, "pk", None) or is_window_clerk(actor, case),
                _("只有申请人或窗口受理人员可以上传材料。"),
            )
            _require_state(case, CaseState.DRAFT, CaseState.SUBMITTED, CaseState.SUPPLEMENT_REQUESTED)
            requirements = _requirements_of(case.item_version_id) if requirement_id is not None else {}
            upload = MaterialUpload(requirement_id=requirement_id, filename=filename, content=content, name=name)
            checked = _check_material(upload, requirements)
            (material,) = _store_materials(case, [checked], actor=actor, stored=stored)
            _step(case, StepKind.MATERIAL_ADDED, actor, note=checked.label)
            _save(
                case,
                actor=actor,
                action="case.material_add",
                changes={
                    "material": checked.label,
                    "sm3": material.sm3,
                    "content_type": material.content_type,
                    "size": material.size,
                },
            )
    except BaseException:
        _remove_files(stored)
        raise
    return material


ORPHAN_GRACE = timedelta(hours=6)
ORPHAN_BATCH = 500


def case_material_orphans_purge(*, older_than: timedelta = ORPHAN_GRACE, now=None) -> dict:
    """Remove material files that no row refers to (left by a transaction rolled back after
    the file was written), once they are older than ``older_than`` so that a submission still
    in flight is never touched. Returns ``{"scanned": n, "removed": [names]}``; audited when
    something is removed."""
    storage = CaseMaterial._meta.get_field("file").storage
    now = now or timezone.now()
    removed, scanned = [], 0
    try:
        folders, _files = storage.listdir("cases")
    except (FileNotFoundError, NotADirectoryError):
        return {"scanned": 0, "removed": []}
    # A case's files lie in cases/<case id>/, a bundle's (shared by its cases) in cases/bundles/<bundle id>/.
    folders = [f"cases/{folder}" for folder in folders if folder != "bundles"]
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        folders += [f"cases/bundles/{folder}" for folder in storage.listdir("cases/bundles")[0]]

    def names():
        for folder in folders:
            try:
                _sub, files = storage.listdir(folder)
            except (FileNotFoundError, NotADirectoryError):
                continue
            yield from (f"{folder}/{name}" for name in files)

    # One query per batch of files, not per folder: a million cases are a million folders.
    batch: list[str] = []
    for name in itertools.chain(names(), [None]):  # None: the end, check the last batch
        if name is not None:
            batch.append(name)
            scanned += 1
            if len(batch) < ORPHAN_BATCH:
                continue
        known = set(CaseMaterial.objects.filter(file__in=batch).values_list("file", flat=True))
        for candidate in batch:
            if candidate in known:
                continue
            try:
                modified = storage.get_modified_time(candidate)
            except OSError:
                continue
            if now - modified >= older_than:
                storage.delete(candidate)
                removed.append(candidate)
        batch = []
    if removed:
        audit_record(
            actor="task:case_material_orphans_purge",
            action="case.material_orphans_purge",
            object_type="cases.casematerial",
            changes={"removed": len(removed), "files": removed[:100]},
        )
    return {"scanned": scanned, "removed": removed}


# --- intake: accept, refuse, supplement ------------------------------------------------------


def _may_take_in(actor, case: Case) -> bool:
    return is_window_clerk(actor, case) or has_any_role(
        actor, (Role.REVIEWER, Role.DEPARTMENT_HEAD), case.department, case
    )


def _start_clock(case: Case, cal: WorkingCalendar, *, deemed: bool, actor) -> None:
    case.state = CaseState.ACCEPTED
    case.deemed_accepted = deemed
    case.accepted_at = case.submitted_at if deemed else timezone.now()
    case.accepted_by = actor if isinstance(actor, User) else None
    case.due_date = clock.due_date(case, cal)
    case.sla_status = clock.sla_status(case, timezone.localdate(), cal)


def _deemed_note(case: Case) -> str:
    return _(
        "自提交之日起五个工作日内未告知补正,依据《中华人民共和国行政许可法》第三十二条,自收到申请之日(%(day)s)起即为受理。"
    ) % {"day": clock.local_day(case.submitted_at).isoformat()}


@transaction.atomic
def case_accept(*, actor, case_id, expected_version: int | None = None) -> Case:
    """受理. If the five-working-day intake period has already passed without a supplement
    notice, the acceptance dates back to submission (the case counts as accepted then)."""
    case = _lock(actor=actor, case_id=case_id, expected_version=expected_version)
    _require(_may_take_in(actor, case), _("只有窗口受理人员或本部门审核人员可以受理。"))
    _require_state(case, CaseState.SUBMITTED)
    cal = working_calendar()
    deemed = not hasattr_supplement(case) and timezone.localdate() > clock.intake_deadline(case, cal)
    if not deemed:  # past the five days the law counts it accepted: the back office asks instead
        _require_materials(case)
    _start_clock(case, cal, deemed=deemed, actor=actor)
    _step(
        case,
        StepKind.DEEMED_ACCEPTED if deemed else StepKind.ACCEPTED,
        actor,
        note=_deemed_note(case) if deemed else "",
    )
    _save(
        case,
        actor=actor,
        action="case.accept",
        changes={"state": [CaseState.SUBMITTED, case.state], "deemed": deemed, "due_date": case.due_date},
    )
    _publish("case.accepted", case)
    return case


def _require_materials(case: Case) -> None:
    """Acceptance needs every required material the applicant must supply (source
    ``applicant``, requirement ``required`` in the case's item version) to have a file.
    Materials the government holds (licenses, registry data) are never demanded here."""
    from yiwang.cases.selectors import case_missing_materials

    missing = case_missing_materials(case=case)
    if not missing:
        return
    names = "、".join(f"「{m.name}」" for m in missing)
    raise ValidationFailed(
        _("必需材料%(names)s尚未提交,不能受理。请一次性告知申请人补正。") % {"names": names},
        code="materials_missing",
        fields={f"materials.{m.pk}": _("材料「%(name)s」尚未提交") % {"name": m.name} for m in missing},
    )


def hasattr_supplement(case: Case) -> bool:
    """Whether the case has had its one supplement notice (read with the case by ``_lock``)."""
    from yiwang.cases.selectors import case_supplement

    return case_supplement(case=case) is not None


@transaction.atomic
def case_refuse(*, actor, case_id, reason: str, expected_version: int | None = None) -> Case:
    """不予受理, with the reason and the applicant's right to reconsideration or litigation."""
    reason = _required_text(reason, "reason", _("请填写不予受理的理由"))
    case = _lock(actor=actor, case_id=case_id, expected_version=expected_version)
    _require(_may_take_in(actor, case), _("只有窗口受理人员或本部门审核人员可以作出不予受理决定。"))
    _require_state(case, CaseState.SUBMITTED)
    case.state = CaseState.REFUSED
    case.refusal_reason = reason
    case.remedy_notice = remedy_notice(case.department)
    case.sla_status = SlaStatus.DONE
    _step(case, StepKind.REFUSED, actor, note=reason)
    _save(case, actor=actor, action="case.refuse", changes={"state": [CaseState.SUBMITTED, case.state]})
    _publish("case.refused", case)
    return case


def _clean_supplement_items(items) -> list[dict]:
    message = _("请逐项列出需要补正的材料和问题(一次性告知)")
    if not isinstance(items, list) or not items:
        raise ValidationFailed(message, code="supplement_items", fields={"items": message})
    clean = []
    for index, entry in enumerate(items, start=1):
        material = (entry.get("material") or "").strip() if isinstance(entry, dict) else ""
        problem = (entry.get("problem") or "").strip() if isinstance(entry, dict) else ""
        if not material or not problem:
            text = _("第 %(n)d 项须写明材料名称和问题") % {"n": index}
            raise ValidationFailed(text, code="supplement_items", fields={f"items.{index - 1}": text})
        clean.append({"material": material[:200], "problem": problem[:500]})
    return clean


@transaction.atomic
def case_request_supplement(
    *, actor, case_id, items: list[dict], note: str = "", expected_version: int | None = None
) -> Supplement:
    """The one supplement notice (一次性告知补正) listing everything missing.

    Before acceptance (within five working days of submission) by a window clerk or the
    department's reviewers; after acceptance by the department's reviewers, and the time
    limit pauses until the applicant answers. A second notice is refused.
    """
    clean = _clean_supplement_items(items)
    case = _lock(actor=actor, case_id=case_id, expected_version=expected_version)
    if hasattr_supplement(case):
        raise Conflict(
            _("办件 %(number)s 已发出过补正告知;依法应一次性告知全部需补正内容,不能再次告知。")
            % {"number": case.number},
            code="supplement_once",
        )
    before = case.state == CaseState.SUBMITTED
    if before:
        _require(_may_take_in(actor, case), _("只有窗口受理人员或本部门审核人员可以告知补正。"))
        cal = working_calendar()
        deadline = clock.intake_deadline(case, cal)
        if timezone.localdate() > deadline:
            raise ValidationFailed(
                _("补正告知期限(提交后五个工作日,至 %(day)s)已过,依法视为受理,请直接受理。") % {"day": deadline},
                code="intake_period_over",
            )
    else:
        _require_state(case, CaseState.SUBMITTED, CaseState.ACCEPTED, CaseState.UNDER_REVIEW)
        _require(
            has_any_role(actor, (Role.REVIEWER, Role.DEPARTMENT_HEAD), case.department, case),
            _("只有本部门审核人员可以告知补正。"),
        )
        case.paused_since = timezone.localdate()
        case.sla_status = SlaStatus.PAUSED
    supplement = Supplement.objects.create(
        case=case, items=clean, note=(note or "").strip(), before_acceptance=before, requested_by=actor
    )
    old = case.state
    case.state = CaseState.SUPPLEMENT_REQUESTED
    listing = ";".join(f"{i['material']}:{i['problem']}" for i in clean)
    _step(case, StepKind.SUPPLEMENT_REQUESTED, actor, note=listing)
    _save(
        case,
        actor=actor,
        action="case.request_supplement",
        changes={"state": [old, case.state], "items": len(clean), "before_acceptance": before},
    )
    _publish("case.supplement_requested", case)
    return supplement


@transaction.atomic
def case_supplement_answer(*, actor, case_id, note: str = "", expected_version: int | None = None) -> Case:
    """The applicant (or a window clerk for them) has supplied what was asked; the clock resumes."""
    case = _lock(actor=actor, case_id=case_id, expected_version=expected_version)
    _require(
        case.applicant_id == getattr(actor, "pk", None) or is_window_clerk(actor, case),
        _("只有申请人或窗口受理人员可以提交补正。"),
    )
    _require_state(case, CaseState.SUPPLEMENT_REQUESTED)
    supplement = Supplement.objects.select_for_update().get(case=case)
    supplement.answered_at = timezone.now()
    supplement.answer_note = (note or "").strip()
    supplement.save(update_fields=["answered_at", "answer_note"])
    if supplement.before_acceptance:
        case.state = CaseState.SUBMITTED
    else:
        cal = working_calendar()
        case.paused_days += max(cal.working_days_between(case.paused_since, timezone.localdate()), 0)
        case.paused_since = None
        case.state = CaseState.UNDER_REVIEW
        case.due_date = clock.due_date(case, cal)
        case.sla_status = clock.sla_status(case, timezone.localdate(), cal)
    _step(case, StepKind.SUPPLEMENT_ANSWERED, actor, note=supplement.answer_note)
    _save(
        case,
        actor=actor,
        action="case.supplement_answer",
        changes={"state": [CaseState.SUPPLEMENT_REQUESTED, case.state], "paused_days": case.paused_days},
    )
    _publish("case.supplement_answered", case)
    return case


# --- back office: claim, assign, opinions, extension, decision -------------------------------


def review_steps(version: ServiceItemVersion) -> list[dict]:
    """The item's process steps done in the back office (intake steps are the acceptance)."""
    return [step for step in (version.process or []) if step.get("role") != Role.WINDOW_CLERK]


@transaction.atomic
def case_claim(*, actor, case_id, expected_version: int | None = None) -> Case:
    case = _lock(actor=actor, case_id=case_id, expected_version=expected_version)
    _require(
        actor_has_role(actor=actor, role=Role.REVIEWER, department=case.department, case=case),
        _("只有本部门审核人员可以认领。"),
    )
    _require_state(case, CaseState.ACCEPTED, CaseState.UNDER_REVIEW)
    if case.assignee_id and case.assignee_id != actor.pk:
        raise Conflict(
            _("办件 %(number)s 已由%(name)s认领。") % {"number": case.number, "name": _actor_name(case.assignee)},
            code="case_claimed",
        )
    old = case.state
    case.assignee = actor
    case.state = CaseState.UNDER_REVIEW
    _step(case, StepKind.CLAIMED, actor, public=False)
    _save(case, actor=actor, action="case.claim", changes={"state": [old, case.state], "assignee": actor.pk})
    return case


@transaction.atomic
def case_assign(*, actor, case_id, assignee: User, expected_version: int | None = None) -> Case:
    case = _lock(actor=actor, case_id=case_id, expected_version=expected_version)
    _require(
        actor_has_role(actor=actor, role=Role.DEPARTMENT_HEAD, department=case.department, case=case),
        _("只有部门负责人可以分派办件。"),
    )
    _require_state(case, CaseState.ACCEPTED, CaseState.UNDER_REVIEW)
    if not actor_has_role(actor=assignee, role=Role.REVIEWER, department=case.department):
        message = _("%(name)s不是本部门的审核人员") % {"name": _actor_name(assignee)}
        raise ValidationFailed(message, code="not_reviewer", fields={"assignee_id": message})
    old = case.state
    case.assignee = assignee
    case.state = CaseState.UNDER_REVIEW
    _step(case, StepKind.ASSIGNED, actor, note=_actor_name(assignee), public=False)
    _save(case, actor=actor, action="case.assign", changes={"state": [old, case.state], "assignee": assignee.pk})
    return case


OPINION_OUTCOMES = ("agree", "disagree")


@transaction.atomic
def case_record_opinion(
    *, actor, case_id, opinion: str, outcome: str = "agree", expected_version: int | None = None
) -> CaseStep:
    """The opinion of the current process step; the actor must hold that step's role."""
    opinion = _required_text(opinion, "opinion", _("请填写审查意见"))
    if outcome not in OPINION_OUTCOMES:
        raise ValidationFailed(_("结论只能是同意或不同意"), fields={"outcome": _("结论无效")})
    case = _lock(actor=actor, case_id=case_id, expected_version=expected_version)
    _require_state(case, CaseState.ACCEPTED, CaseState.UNDER_REVIEW)
    steps = review_steps(case.item_version)
    if case.step_index >= len(steps):
        raise Conflict(
            _("办件 %(number)s 的审查环节均已完成,请作出决定。") % {"number": case.number}, code="steps_done"
        )
    step = steps[case.step_index]
    role = step.get("role") or Role.REVIEWER
    _require(
        actor_has_role(actor=actor, role=role, department=case.department, case=case),
        _("环节「%(step)s」须由本部门%(role)s办理。") % {"step": step["name"], "role": Role(role).label},
    )
    if role == Role.REVIEWER and case.assignee_id not in (None, actor.pk):
        raise Conflict(
            _("办件 %(number)s 由%(name)s承办。") % {"number": case.number, "name": _actor_name(case.assignee)},
            code="case_claimed",
        )
    if role == Role.REVIEWER and case.assignee_id is None:
        case.assignee = actor
    entry = _step(
        case,
        StepKind.OPINION,
        actor,
        note=opinion,
        public=False,
        process_step=case.step_index,
        process_step_name=step["name"][:100],
        outcome=outcome,
    )
    old = case.state
    case.step_index += 1
    case.state = CaseState.UNDER_REVIEW
    _save(
        case,
        actor=actor,
        action="case.opinion",
        changes={"state": [old, case.state], "step": step["name"], "outcome": outcome},
    )
    return entry


@transaction.atomic
def case_extend(*, actor, case_id, days: int, reason: str, expected_version: int | None = None) -> Case:
    """Extend the time limit once, with the department head's approval and a reason (第四十二条)."""
    reason = _required_text(reason, "reason", _("请填写延长办理期限的理由"))
    if not isinstance(days, int) or not 1 <= days <= clock.MAX_EXTENSION_DAYS:
        message = _("延长天数须为 1 至 %(max)d 个工作日") % {"max": clock.MAX_EXTENSION_DAYS}
        raise ValidationFailed(message, code="extension_days", fields={"days": message})
    case = _lock(actor=actor, case_id=case_id, expected_version=expected_version)
    _require(
        actor_has_role(actor=actor, role=Role.DEPARTMENT_HEAD, department=case.department, case=case),
        _("延长办理期限须经本部门负责人批准。"),
    )
    _require_state(case, CaseState.ACCEPTED, CaseState.UNDER_REVIEW, CaseState.SUPPLEMENT_REQUESTED)
    if case.accepted_at is None:
        raise Conflict(_("办件尚未受理,无需延长。"), code="not_accepted")
    if case.extension_days:
        raise Conflict(
            _("办件 %(number)s 已延长过一次办理期限,依法不能再次延长。") % {"number": case.number},
            code="extension_once",
        )
    cal = working_calendar()
    old_due = case.due_date
    case.extension_days = days
    case.extension_reason = reason
    case.extension_approved_by = actor
    case.due_date = clock.due_date(case, cal)
    case.sla_status = clock.sla_status(case, timezone.localdate(), cal)
    _step(
        case,
        StepKind.EXTENDED,
        actor,
        note=_("延长 %(days)d 个工作日,办结期限由 %(old)s 延至 %(new)s。理由:%(reason)s")
        % {"days": days, "old": old_due, "new": case.due_date, "reason": reason},
    )
    _save(case, actor=actor, action="case.extend", changes={"days": days, "due_date": [old_due, case.due_date]})
    _publish("case.extended", case)
    return case


def decision_roles(version: ServiceItemVersion) -> set[str]:
    steps = review_steps(version)
    roles = {Role.DEPARTMENT_HEAD}
    if not steps or steps[-1].get("role") == Role.REVIEWER:
        roles.add(Role.REVIEWER)
    return roles


@transaction.atomic
def case_decide(*, actor, case_id, decision: str, reasons: str = "", expected_version: int | None = None) -> Case:
    """准予 or 不予. A rejection states its reasons and the applicant's right to
    reconsideration or litigation (第三十八条). Every review step before the last must have
    its opinion; the decision itself concludes the last step."""
    if decision not in Decision.values:
        raise ValidationFailed(_("决定只能是准予或不予"), fields={"decision": _("决定无效")})
    reasons = (reasons or "").strip()
    if decision == Decision.REJECT and not reasons:
        message = _("不予许可须说明理由")
        raise ValidationFailed(message, code="reasons_required", fields={"reasons": message})
    case = _lock(actor=actor, case_id=case_id, expected_version=expected_version)
    _require(
        has_any_role(actor, decision_roles(case.item_version), case.department, case),
        _("只有本部门负责人可以作出决定。"),
    )
    _require_state(case, CaseState.ACCEPTED, CaseState.UNDER_REVIEW)
    steps = review_steps(case.item_version)
    if case.step_index < len(steps) - 1:
        pending = steps[case.step_index]["name"]
        raise Conflict(_("环节「%(step)s」尚未办理,不能作出决定。") % {"step": pending}, code="steps_pending")
    old = case.state
    case.decision = decision
    case.decision_reasons = reasons
    case.decided_at = timezone.now()
    case.decided_by = actor
    case.step_index = max(case.step_index, len(steps))
    case.sla_status = SlaStatus.DONE
    if decision == Decision.APPROVE:
        case.state = CaseState.APPROVED
        kind, event = StepKind.APPROVED, "case.approved"
    else:
        case.state = CaseState.REJECTED
        case.remedy_notice = remedy_notice(case.department)
        kind, event = StepKind.REJECTED, "case.rejected"
    _step(case, kind, actor, note=reasons)
    _save(case, actor=actor, action="case.decide", changes={"state": [old, case.state], "decision": decision})
    _publish(event, case)
    return case


DELIVERY_METHODS = {
    "window": _("窗口领取"),
    "mail": _("邮寄送达"),
    "electronic": _("电子送达"),
}


@transaction.atomic
def case_deliver(*, actor, case_id, method: str = "window", expected_version: int | None = None) -> Case:
    """送达 of the decision (one delivery window, post, or electronically)."""
    if method not in DELIVERY_METHODS:
        raise ValidationFailed(_("送达方式无效"), fields={"method": _("送达方式只能是窗口领取、邮寄或电子送达")})
    case = _lock(actor=actor, case_id=case_id, expected_version=expected_version)
    _require(
        is_window_clerk(actor, case)
        or has_any_role(actor, (Role.REVIEWER, Role.DEPARTMENT_HEAD), case.department, case),
        _("只有窗口人员或本部门人员可以送达。"),
    )
    _require_state(case, CaseState.APPROVED, CaseState.REJECTED)
    old = case.state
    case.state = CaseState.DELIVERED
    case.delivered_at = timezone.now()
    case.delivery_method = method
    _step(case, StepKind.DELIVERED, actor, note=str(DELIVERY_METHODS[method]))
    _save(case, actor=actor, action="case.deliver", changes={"state": [old, case.state], "method": method})
    _publish("case.delivered", case)
    return case


@transaction.atomic
def case_withdraw(*, actor, case_id, reason: str = "", expected_version: int | None = None) -> Case:
    """The applicant withdraws before a decision."""
    case = _lock(actor=actor, case_id=case_id, expected_version=expected_version)
    _require(case.applicant_id == getattr(actor, "pk", None), _("只有申请人本人可以撤回申请。"), "not_applicant")
    _require_state(case, *OPEN_STATES)
    old = case.state
    case.state = CaseState.WITHDRAWN
    case.withdrawn_at = timezone.now()
    case.paused_since = None
    case.sla_status = SlaStatus.DONE
    _step(case, StepKind.WITHDRAWN, actor, note=(reason or "").strip())
    _save(case, actor=actor, action="case.withdraw", changes={"state": [old, case.state]})
    _publish("case.withdrawn", case)
    return case


# --- the sweep: deemed acceptance and SLA status ---------------------------------------------

SWEEP_ACTOR = "task:case_sweep"


def case_sweep(*, today=None) -> dict:
    """Apply the five-working-day rule and refresh every running case's SLA status.

    Each case changes in its own short transaction (locked, state re-checked), so the sweep
    never holds locks across the table and can run while staff work. Returns counts.
    """
    today = today or timezone.localdate()
    cal = working_calendar()
    counts = {"deemed_accepted": 0, "sla_changed": 0}
    # 5 working days after D are at least 5 calendar days after D: a cheap pre-filter.
    cutoff = timezone.make_aware(
        timezone.datetime.combine(today - timezone.timedelta(days=5), timezone.datetime.min.time())
    )
    candidates = Case.objects.filter(
        state=CaseState.SUBMITTED, supplement__isnull=True, submitted_at__lt=cutoff
    ).values_list("pk", "submitted_at")
    for pk, submitted_at in candidates.iterator():
        if today <= cal.add_working_days(clock.local_day(submitted_at), clock.INTAKE_DAYS):
            continue
        with transaction.atomic():
            case = Case.objects.select_for_update().filter(pk=pk, state=CaseState.SUBMITTED).first()
            if case is None or Supplement.objects.filter(case=case).exists():
                continue
            _start_clock(case, cal, deemed=True, actor=SWEEP_ACTOR)
            case.sla_status = clock.sla_status(case, today, cal)
            _step(case, StepKind.DEEMED_ACCEPTED, SWEEP_ACTOR, note=_deemed_note(case))
            _save(
                case,
                actor=SWEEP_ACTOR,
                action="case.deemed_accept",
                changes={"state": [CaseState.SUBMITTED, case.state], "due_date": case.due_date},
            )
            _publish("case.accepted", case)
            counts["deemed_accepted"] += 1
    running = Case.objects.filter(
        state__in=(CaseState.ACCEPTED, CaseState.UNDER_REVIEW), paused_since__isnull=True
    ).exclude(sla_status=SlaStatus.OVERDUE)
    for case in running.only(
        "pk",
        "state",
        "accepted_at",
        "time_limit_days",
        "extension_days",
        "paused_days",
        "paused_since",
        "due_date",
        "sla_status",
    ).iterator():
        status = clock.sla_status(case, today, cal)
        if status == case.sla_status:
            continue
        with transaction.atomic():
            locked = Case.objects.select_for_update().filter(pk=case.pk).first()
            if locked is None or locked.state not in (CaseState.ACCEPTED, CaseState.UNDER_REVIEW):
                continue
            status = clock.sla_status(locked, today, cal)
            if status == locked.sla_status:
                continue
            old = locked.sla_status
            locked.sla_status = status
            _step(locked, StepKind.SLA_CHANGED, SWEEP_ACTOR, note=SlaStatus(status).label, public=False)
            _save(locked, actor=SWEEP_ACTOR, action="case.sla", changes={"sla_status": [old, status]})
            events.publish("case.sla_changed", case_id=locked.pk, sla_status=status)
            counts["sla_changed"] += 1
    return counts


# --- life-event bundles (一件事一次办) ------------------------------------------------------
# One form and one set of materials for a life event, split into one case per member item.
# Each child case goes through ``case_submit`` (its own department, version, clock, number,
# audit and ``case.submitted`` event); the bundle only ties them together. New code here reads
# the catalog through its selectors.

BUNDLE_NUMBER_PREFIX = "YJS"


def _check_material_content(label: str, content: bytes, field: str) -> str:
    """The content type of an upload, or ``ValidationFailed`` naming the material (the same
    checks and messages as ``case_material_add``)."""
    limit = max_material_bytes()
    if not content:
        message = _("材料「%(name)s」:文件为空") % {"name": label}
        raise ValidationFailed(message, code="material_empty", fields={field: message})
    if len(content) > limit:
        message = _("材料「%(name)s」:文件超过 %(mb).0f MB 的上限") % {"name": label, "mb": limit / 1024 / 1024}
        raise ValidationFailed(message, code="material_too_large", fields={field: message})
    content_type = detect_content_type(content)
    if content_type is None:
        message = _("材料「%(name)s」:文件内容不是 PDF、JPEG、PNG 或 OFD 格式") % {"name": label}
        raise ValidationFailed(message, code="material_type", fields={field: message})
    return content_type


def _bundle_materials(guide: dict, materials) -> list[tuple[dict, str, bytes, str]]:
    """(merged material, filename, content, content type) for each upload, checked by content.

    ``materials`` maps a material name of the bundle's merged list to ``(filename, content)``.
    A name may appear twice in the merged list with different sources (uploaded vs. held by
    the government); an upload goes to the one the applicant submits.
    """
    by_name: dict[str, dict] = {}
    for merged in guide["materials"]:
        if merged["name"] not in by_name or merged["source"] == "applicant":
            by_name[merged["name"]] = merged
    checked = []
    for name, upload in (materials or {}).items():
        field = f"materials.{name}"
        merged = by_name.get(name)
        if merged is None:
            message = _("材料「%(name)s」不在本一件事的材料清单中") % {"name": name}
            raise ValidationFailed(message, code="material_unknown", fields={field: message})
        filename, content = upload
        checked.append((merged, filename or "", content, _check_material_content(name, content, field)))
    return checked


def _bundle_form_errors(guide: dict, form_data) -> dict[str, list[str]]:
    """The merged form against the merged schema, then each item's share against its own
    schema (a rule the merge cannot express, e.g. ``if``/``then``, still applies)."""
    problems = form_errors(guide["form_schema"], form_data)
    if problems or not isinstance(form_data, dict):
        return problems
    known = set(guide["form_schema"].get("properties") or {})
    for name in form_data:
        if name not in known:
            problems.setdefault(f"form_data.{name}", []).append(str(_("申请表中有未定义的字段")))
    for version in guide["items"]:
        for key, messages in form_errors(version.form_schema or {}, _form_share(version, form_data)).items():
            for message in messages:
                if message not in problems.get(key, []):
                    problems.setdefault(key, []).append(message)
    return problems


def _form_share(version, form_data: dict) -> dict:
    """The part of the merged form that the item's own schema declares."""
    declared = (version.form_schema or {}).get("properties") or {}
    return {key: value for key, value in form_data.items() if key in declared}


def _same_bundle(existing, life_event):
    if existing.life_event_version.life_event_id != life_event.pk:
        raise Conflict(
            _("该幂等键已用于一件事申请 %(number)s(另一件事),请使用新的幂等键。") % {"number": existing.number},
            code="idempotency_key_reused",
        )
    return existing


def case_bundle_submit(
    *,
    actor,
    life_event,
    form_data: dict,
    materials: dict[str, tuple[str, bytes]] | None = None,
    idempotency_key: str = "",
    channel: str = Channel.ONLINE,
    applicant: User | None = None,
    intake_department: Department | None = None,
):
    """Apply once for a life-event bundle (一件事一次办); returns ``(bundle, created)``.

    ``life_event`` is a published ``LifeEvent`` (``catalog.selectors.life_event_get_published``);
    its current version's merged form and material list apply. The form is validated against
    the merged schema (errors name ``form_data.<field>``); each upload in ``materials``
    (``{material name: (filename, content)}``) is checked by content (errors name
    ``materials.<name>``). Then, in one transaction: the ``CaseBundle`` and, through
    ``case_submit``, one case per member item, routed to the item's department on the item's
    own clock with the share of the form its schema declares; each file is stored once and
    attached to every child case whose item requires that material (same file, same SM3).
    Any problem → nothing is written, no file is left behind. The same ``idempotency_key``
    for the same applicant returns the first bundle (``created`` False). Audited as
    ``case_bundle.submit``; publishes ``case_bundle.submitted`` and each case's ``case.submitted``.
    At a window, every case records the hall that took it in (``intake_department``, as for
    ``case_submit``: one of the clerk's windows, by default his first) and waits in its queue.
    """
    from types import SimpleNamespace

    from yiwang.cases.models import CaseBundle, material_upload_to

    key, applicant = _submitter(actor=actor, applicant=applicant, channel=channel, idempotency_key=idempotency_key)
    hall = _intake_hall(actor, intake_department) if channel == Channel.WINDOW else None

    bundles = CaseBundle.objects.select_related("life_event_version")
    if key:
        existing = bundles.filter(applicant=applicant, idempotency_key=key).first()
        if existing is not None:
            return _same_bundle(existing, life_event), False

    # Re-read: only a published bundle may be applied for, under its current version.
    life_event = catalog_selectors.life_event_get_published(code=life_event.code)
    version = life_event.current_version
    guide = catalog_selectors.life_event_guide(version=version)
    if not guide["items"]:
        raise NotFound(_("该一件事未发布或已停用。"), code="life_event_not_found")
    problems = _bundle_form_errors(guide, form_data)
    if problems:
        raise ValidationFailed(_("申请表填写有误,请按提示修改。"), code="invalid_form", fields=problems)
    uploads = _bundle_materials(guide, materials)
    snapshot = _applicant_snapshot(applicant, version)

    stored: list[str] = []
    storage = CaseMaterial._meta.get_field("file").storage
    try:
        with transaction.atomic():
            now = timezone.now()
            number = _next_number(region_code=life_event.department.region_code, day=clock.local_day(now))
            bundle = CaseBundle.objects.create(
                number=BUNDLE_NUMBER_PREFIX + number,
                life_event_version=version,
                channel=channel,
                applicant=applicant,
                received_by=actor if channel == Channel.WINDOW else None,
                idempotency_key=key,
                form_data=form_data,
                submitted_at=now,
                **snapshot,
            )
            children = []
            for item_version in guide["items"]:
                case, _created = case_submit(
                    actor=actor,
                    item=item_version.item,
                    form_data=_form_share(item_version, form_data),
                    applicant=applicant if channel == Channel.WINDOW else None,
                    channel=channel,
                    intake_department=hall,
                )
                case.bundle = bundle
                Case.objects.filter(pk=case.pk).update(bundle=bundle)
                children.append(case)
            by_code = {iv.item.implementation_code: case for iv, case in zip(guide["items"], children, strict=True)}

            # Each file once, under the bundle; every child case that needs it points at it.
            files: dict[str, str] = {}
            attached = []
            for merged, filename, content, content_type in uploads:
                digest = sm3_hex(content)
                if digest not in files:
                    place = SimpleNamespace(case_id=f"bundles/{bundle.pk}", sm3=digest, content_type=content_type)
                    files[digest] = storage.save(material_upload_to(place, filename), ContentFile(content))
                    stored.append(files[digest])
                for code in merged["items"]:
                    case = by_code.get(code)
                    if case is None:
                        continue
                    material = CaseMaterial(
                        case=case,
                        requirement_id=merged["requirement_ids"][code],
                        name=merged["name"][:200],
                        original_filename=filename[:255],
                        size=len(content),
                        sm3=digest,
                        content_type=content_type,
                        uploaded_by=actor,
                    )
                    material.file.name = files[digest]
                    material.save()
                    _step(case, StepKind.MATERIAL_ADDED, actor, note=merged["name"])
                attached.append({"material": merged["name"], "sm3": digest, "cases": merged["items"]})
            audit_record(
                actor=actor,
                action="case_bundle.submit",
                obj=bundle,
                changes={
                    "life_event_version": version.pk,
                    "channel": channel,
                    "cases": [case.number for case in children],
                    "materials": attached,
                    "intake_department": hall.pk if hall else None,
                },
            )
            events.publish("case_bundle.submitted", bundle_id=bundle.pk, case_ids=[case.pk for case in children])
    except IntegrityError:
        _remove_files(stored)
        if not key:
            raise
        existing = bundles.filter(applicant=applicant, idempotency_key=key).first()
        if existing is None:
            raise
        return _same_bundle(existing, life_event), False
    except BaseException:
        _remove_files(stored)
        raise
    return bundle, True
