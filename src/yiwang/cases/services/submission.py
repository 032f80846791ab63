"""Submission: case numbers, the form against the version's schema, the applicant's snapshot, ``case_submit``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import jsonschema
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.cases import clock
from yiwang.cases.models import (
    ApplicantKind,
    Case,
    CaseNumberCounter,
    CaseState,
    CaseStep,
    Channel,
    StepKind,
)
from yiwang.cases.services.base import _intake_hall, _new_step, _publish, _require, is_window_clerk
from yiwang.cases.services.files import (
    MaterialUpload,
    _check_material,
    _remove_files,
    _requirements_of,
    _store_materials,
)
from yiwang.catalog.selectors import HandlingForm, Status
from yiwang.core.audit import audit_record
from yiwang.core.crypto import blind_index
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.identity.models import Department, User

if TYPE_CHECKING:  # annotations only: catalog rows are read through catalog.selectors
    from yiwang.catalog.models import ServiceItem, ServiceItemVersion


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
