"""Submission: case numbers, the form against the version's schema, the applicant's snapshot, ``case_submit``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
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
from yiwang.cases.selectors import real_name_level_shortfall
from yiwang.cases.services import smart
from yiwang.cases.services.base import _intake_hall, _new_step, _publish, _require, delegation_mark
from yiwang.cases.services.files import (
    MaterialUpload,
    _check_material,
    _CheckedMaterial,
    _remove_files,
    _requirements_of,
    _store_materials,
)
from yiwang.catalog.selectors import HandlingForm, Status
from yiwang.core import db
from yiwang.core.audit import audit_record_many
from yiwang.core.crypto import blind_index
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.inputs import ensure_storable
from yiwang.core.masking import mask_id_number, mask_name
from yiwang.identity.models import Department, Role, User
from yiwang.identity.selectors import actor_grants, actor_has_role
from yiwang.supervision import services as supervision_services

if TYPE_CHECKING:  # annotations only: catalog rows are read through catalog.selectors
    from yiwang.catalog.models import ServiceItem, ServiceItemVersion


def _region6(region_code: str) -> str:
    return (region_code or "000000")[:6].ljust(6, "0")


def _draw_numbers(region_codes: list[str], *, day) -> list[str]:
    """One number ``<6-digit region><YYYYMMDD><6-digit sequence>`` per entry of
    ``region_codes``, in order, unique under concurrency: one statement draws them all (an
    upsert of the (region, day) counter rows, which stay locked until the submitting
    transaction commits; rows locked in region order, so that two bundles never deadlock)."""
    wanted: dict[str, int] = {}
    for code in region_codes:
        region = _region6(code)
        wanted[region] = wanted.get(region, 0) + 1
    regions = sorted(wanted)
    qn = connection.ops.quote_name
    table = qn(CaseNumberCounter._meta.db_table)
    rows = ", ".join(["(%s, %s, %s)"] * len(regions))
    # SQLite >= 3.35 and PostgreSQL both support an upsert with RETURNING.
    sql = (
        f"INSERT INTO {table} (region_code, day, last) VALUES {rows} "  # noqa: S608
        f"ON CONFLICT (region_code, day) DO UPDATE SET last = {table}.last + excluded.last "
        "RETURNING region_code, last"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for region in regions for value in (region, day, wanted[region])])
        last = dict(cursor.fetchall())
    next_of = {region: last[region] - wanted[region] + 1 for region in regions}
    numbers = []
    for code in region_codes:
        region = _region6(code)
        numbers.append(f"{region}{day:%Y%m%d}{next_of[region]:06d}")
        next_of[region] += 1
    return numbers


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
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            # Named per unknown field (``form_data.<name>``), not on the form as a whole.
            declared = set((error.schema or {}).get("properties") or {})
            for extra in sorted(set(error.instance) - declared):
                key = ".".join(["form_data", *path, str(extra)])
                fields.setdefault(key, []).append(str(_FORM_MESSAGES["additionalProperties"]))
            continue
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


# The fields of an item's form that identify the applicant carry ``"x-applicant"`` in the
# item's JSON Schema, with what they hold: the applicant's name, certificate number (身份证号,
# or 统一社会信用代码 for a legal person) or phone.
APPLICANT_MARKER = "x-applicant"
APPLICANT_FIELD_KINDS = ("name", "id_number", "phone")


def applicant_fields(schema: dict) -> dict[str, str]:
    """``{property: "name" | "id_number" | "phone"}``: the form's fields that identify the
    applicant, as marked in the schema (also inside a merged ``allOf``)."""
    marked = {}
    for name, spec in ((schema or {}).get("properties") or {}).items():
        parts = spec.get("allOf", [spec]) if isinstance(spec, dict) else []
        kinds = {part.get(APPLICANT_MARKER) for part in parts if isinstance(part, dict)} & set(APPLICANT_FIELD_KINDS)
        if kinds:
            marked[name] = min(kinds)
    return marked


def _with_applicant_fields(schema: dict, form_data, snapshot: dict):
    """The form with the fields that identify the applicant filled from the signed-in identity
    (at a window: the applicant's record), never from what was typed: an empty field (or its
    masked value, as shown on a page) is filled; another person's name or number is refused,
    naming the field. A phone is filled only when empty (a contact number may differ)."""
    marked = applicant_fields(schema)
    if not marked or not isinstance(form_data, dict):
        return form_data
    own = {
        "name": snapshot["applicant_name"],
        "id_number": snapshot["applicant_id_number"],
        "phone": snapshot["applicant_phone"],
    }
    masked = {"name": mask_name(own["name"]), "id_number": mask_id_number(own["id_number"])}
    data, problems = dict(form_data), {}
    for field, kind in marked.items():
        given = data.get(field)
        given = given.strip() if isinstance(given, str) else given
        if given in (None, ""):
            if own[kind]:
                data[field] = own[kind]
        elif kind != "phone" and str(given).upper() not in (own[kind].upper(), masked[kind].upper()):
            problems[f"form_data.{field}"] = [str(_("须与申请人的实名信息一致,不能填写他人的信息"))]
        elif kind != "phone":
            data[field] = own[kind]
    if problems:
        raise ValidationFailed(_("申请表中的申请人信息须与实名信息一致。"), code="applicant_mismatch", fields=problems)
    return data


def _submission_checks(
    *, item: ServiceItem, version: ServiceItemVersion | None, channel: str, applicant: User, form_data
) -> tuple[dict, dict]:
    """Everything one item's submission must pass before it gets a number (a case, a draft, each
    item of a bundle): the item is published for this channel, the applicant's real-name data
    is complete and the item serves his kind, the form (its applicant fields filled from the
    identity) is valid against the version's schema. Returns (applicant snapshot, form)."""
    _published_version(item, version, channel)
    _require_real_name_level(version, applicant, channel)
    ensure_storable(form_data, field="form_data")  # lone surrogates, NUL, depth: refused before any write
    snapshot = _applicant_snapshot(applicant, version)
    schema = version.form_schema or {}
    form_data = _with_applicant_fields(schema, form_data, snapshot)
    problems = form_errors(schema, form_data)
    if problems:
        raise ValidationFailed(_("申请表填写有误,请按提示修改。"), code="invalid_form", fields=problems)
    return snapshot, form_data


def _require_real_name_level(version: ServiceItemVersion, applicant: User, channel: str) -> None:
    """Refuse an application whose applicant's 实名等级 is below the item's, saying how to raise it:
    L2 online (人口库核验 on the account page), L3 at any window (当面核验)."""
    needed = real_name_level_shortfall(version=version, applicant=applicant)
    if not needed:
        return
    have = applicant.real_name_level or 1
    if channel == Channel.WINDOW:
        message = _(
            "本事项要求申请人实名等级不低于 L%(needed)d，申请人当前为 L%(have)d。"
            "请先核对申请人本人及其居民身份证，在“实名核验”中为其完成当面核验，再受理。"
        ) % {"needed": needed, "have": have}
    elif needed == 2:
        message = _(
            "本事项要求实名等级不低于 L2，您当前为 L1。请在“我的账户—实名等级”中完成人口库核验"
            "（姓名与身份证号比对，即时完成），或携带居民身份证到任一政务服务窗口当面核验后再申请。"
        )
    else:
        message = _(
            "本事项要求实名等级 L3，您当前为 L%(have)d。请携带居民身份证到任一政务服务窗口当面核验后再申请。"
        ) % {"have": have}
    raise Forbidden(message, code="real_name_level_too_low")


def _submitter(
    *, actor, applicant: User | None, channel: str, idempotency_key: str, intake_department: Department | None = None
) -> tuple[str, User, Department | None]:
    """(the clean idempotency key, the applicant, the intake hall) of a submission: online the
    actor applies for himself; at a window a window clerk applies for ``applicant`` at one of
    his halls (``intake_department``, by default his first). The actor's grants are read once."""
    key = (idempotency_key or "").strip()
    if len(key) > 64:
        raise ValidationFailed(_("幂等键最长 64 个字符"), fields={"idempotency_key": _("幂等键过长")})
    hall = None
    if channel == Channel.WINDOW:
        grants = actor_grants(actor=actor)
        _require(
            actor_has_role(actor, roles=Role.WINDOW_CLERK, grants=grants),
            _("只有窗口受理人员可以代为申报。"),
            "not_window_clerk",
        )
        if applicant is None:
            raise ValidationFailed(_("请指定申请人"), fields={"applicant": _("请指定申请人")})
        hall = _intake_hall(actor, intake_department, grants=grants)
    elif channel == Channel.ONLINE:
        if applicant is not None and applicant.pk != getattr(actor, "pk", None):
            raise Forbidden(_("网上申报只能以本人名义提交。"), code="not_applicant")
        applicant = actor
    else:
        raise ValidationFailed(_("申报渠道无效"), fields={"channel": _("申报渠道无效")})
    if applicant is None or not getattr(applicant, "is_authenticated", False):
        raise Forbidden(_("请先登录。"), code="not_authenticated")
    return key, applicant, hall


def acting_for_check(*, actor, acting_for, item: ServiceItem, channel: str) -> tuple[User, dict]:
    """(the applicant, the mark for the case) when ``actor`` applies online for someone else:
    through a delegation (授权代办) the actor holds as agent — in force now, covering this item,
    its principal active — or a 帮办 consent the actor (the clerk) holds, confirmed by the
    citizen's code and not yet expired. Anything else is ``NotFound``, as for any caller the
    principal never authorized."""
    from yiwang.identity.models import AssistConsent, Delegation

    now = timezone.now()
    if channel != Channel.ONLINE:
        raise ValidationFailed(_("代办、帮办只能以网上申报提交"), fields={"channel": _("代办、帮办只能以网上申报提交")})
    if isinstance(acting_for, Delegation):
        principal = acting_for.principal
        if not (
            acting_for.agent_id == getattr(actor, "pk", None)
            and acting_for.is_live(now)
            and acting_for.covers(item.implementation_code)
            and principal.is_active
        ):
            raise NotFound(_("未找到该授权。"), code="delegation_not_found")
        return principal, delegation_mark(actor=actor, delegation=acting_for, doing="submit")
    if isinstance(acting_for, AssistConsent):
        if not (
            acting_for.clerk_id == getattr(actor, "pk", None)
            and acting_for.confirmed_at is not None
            and acting_for.closed_at is None
            and acting_for.act_until is not None
            and acting_for.act_until > now
            and acting_for.citizen.is_active
        ):
            raise NotFound(_("未找到该帮办申请。"), code="assist_not_found")
        note = _("窗口帮办:工作人员 %(clerk)s 经申请人同意(同意码核验)代为填报") % {
            "clerk": getattr(actor, "real_name", "") or actor.username
        }
        record = {"kind": "assist", "consent": acting_for.pk, "clerk": actor.pk, "citizen": acting_for.citizen_id}
        return acting_for.citizen, {"note": note, "record": record}
    raise NotFound(_("未找到该授权。"), code="delegation_not_found")


@dataclass
class NewCase:
    """One case of a checked submission: the item, its version, the form (the share of a
    bundle's form for a bundle's case), the applicant snapshot and the checked files."""

    item: ServiceItem
    version: ServiceItemVersion
    form_data: dict
    snapshot: dict
    materials: list[_CheckedMaterial] = dataclass_field(default_factory=list)


def case_create(
    *,
    actor,
    applicant: User,
    channel: str,
    entries: list[NewCase],
    stored: list[str],
    key: str = "",
    hall: Department | None = None,
    numbers: list[str] | None = None,
    bundle=None,
    folder: str = "",
    draft: Case | None = None,
    audit_also: Sequence[dict] = (),
    human_review: bool = False,
    on_behalf: dict | None = None,
) -> list[Case]:
    """Write the cases of one checked submission, in the caller's transaction: one case (the
    online form, the window, the API, a draft) or a bundle's cases. The one place a case comes
    into being, in a number of statements that does not grow with the cases: the numbers drawn
    at once (``numbers`` if the caller drew them with its own), the rows, the files and their
    rows, the timeline steps and the audit events (``case.submit`` each, then ``audit_also``)
    each written at once; ``case.submitted`` published for each.

    ``draft``: the single entry is that draft, which becomes the case (its row updated, the
    files uploaded to it kept). ``folder``: the files are stored once there and shared by the
    cases (a bundle's); else under each case. Stored file names go to ``stored`` at once, for
    the caller to remove if its transaction fails.

    ``on_behalf`` (``acting_for_check``): the actor applies for the applicant as an authorized
    agent or a window clerk's 帮办; the submission step says so and the audit event records it.
    """
    now = timezone.now()
    if numbers is None:
        numbers = _draw_numbers([entry.item.department.region_code for entry in entries], day=clock.local_day(now))
    old_state = draft.state if draft is not None else None
    cases = []
    for entry, number in zip(entries, numbers, strict=True):
        department = entry.item.department
        fields = dict(
            number=number,
            item_version=entry.version,
            department=department,
            state=CaseState.SUBMITTED,
            channel=channel,
            applicant=applicant,
            received_by=actor if channel == Channel.WINDOW else None,
            intake_department=hall,
            intake_region=(hall or department).region_code,
            idempotency_key=key,
            form_data=entry.form_data,
            submitted_at=now,
            time_limit_days=entry.version.promised_time_limit,
            bundle=bundle,
            **entry.snapshot,
        )
        if draft is None:
            cases.append(Case(**fields))
            continue
        for name, value in fields.items():
            setattr(draft, name, value)
        draft.version += 1
        db.update(draft, [*fields, "version"])
        cases.append(draft)
    if draft is None:
        cases = Case.objects.bulk_create(cases)
    attached = _store_materials(
        [(case, material) for case, entry in zip(cases, entries, strict=True) for material in entry.materials],
        actor=actor,
        stored=stored,
        folder=folder,
    )
    steps, audits = [], []
    for case in cases:
        mine = [material for material in attached if material.case is case]
        note = Channel(channel).label if on_behalf is None else f"{Channel(channel).label} · {on_behalf['note']}"
        steps.append(_new_step(case, StepKind.SUBMITTED, actor, note=note))
        steps += [_new_step(case, StepKind.MATERIAL_ADDED, actor, note=m.name) for m in mine]
        case._fresh = {"materials": mine}
        changes = {
            "state": [old_state, case.state],
            "channel": channel,
            "item_version": case.item_version_id,
            "materials": [{"name": m.name, "sm3": m.sm3, "size": m.size} for m in mine],
            "intake_department": hall.pk if hall else None,
        }
        if on_behalf is not None:
            changes["on_behalf_of"] = on_behalf["record"]
        audits.append({"actor": actor, "action": "case.submit", "obj": case, "changes": changes})
    for step in CaseStep.objects.bulk_create(steps):
        step.case._fresh.setdefault("steps", []).append(step)
    audit_record_many([*audits, *audit_also])
    for case in cases:
        _publish("case.submitted", case)
    # 免提交, 减填 and 秒批 (``services.smart``): may accept and decide a case at once.
    smart.after_create(actor=actor, cases=cases, entries=entries, human_review=human_review)
    # 网上申请自动受理 where the item promises it (``catalog`` ``auto_accept``).
    smart.auto_accept(cases=cases)
    return cases


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
    human_review: bool = False,
    acting_for=None,
) -> tuple[Case, bool]:
    """Submit an application for the item's current published version; returns (case, created).

    Online, the actor is the applicant. At a window, the actor is a window clerk (any
    department's item) and ``applicant`` the person served; the case records the hall that
    took it in (``intake_department``: one of the clerk's windows, by default his first) and
    that hall's region is where it waits for acceptance and delivery. ``materials`` are stored
    with the case in the same transaction: one bad file (named in the error) and nothing is
    submitted. The same ``idempotency_key`` for the same applicant returns the first case
    unchanged (``created`` False): a double click or a retried request never makes two cases.
    The form's fields that identify the applicant are filled from his identity (``applicant_fields``).
    ``human_review``: the applicant asks that a person decide, not the item's decision table (秒批).
    ``acting_for``: online, an ``identity`` delegation the actor holds as agent, or a 帮办 consent
    the actor (a window clerk) holds; the applicant is then its principal/citizen
    (``acting_for_check``), and the case's timeline and audit say who acted for whom.
    """
    on_behalf = None
    if acting_for is not None:
        applicant, on_behalf = acting_for_check(actor=actor, acting_for=acting_for, item=item, channel=channel)
        actor_for_submitter = applicant
    else:
        actor_for_submitter = actor
    key, applicant, hall = _submitter(
        actor=actor_for_submitter,
        applicant=applicant,
        channel=channel,
        idempotency_key=idempotency_key,
        intake_department=intake_department,
    )
    version = item.current_version
    snapshot, form_data = _submission_checks(
        item=item, version=version, channel=channel, applicant=applicant, form_data=form_data
    )
    checked = []
    if materials:
        requirements = _requirements_of(version.pk)
        checked = [_check_material(upload, requirements) for upload in materials]
    entry = NewCase(item=item, version=version, form_data=form_data, snapshot=snapshot, materials=checked)

    # No read before the insert: the unique (applicant, idempotency key) constraint finds a
    # repeated submission, and the whole transaction (number, files included) rolls back.
    stored: list[str] = []
    try:
        with transaction.atomic():
            (case,) = case_create(
                actor=actor,
                applicant=applicant,
                channel=channel,
                entries=[entry],
                stored=stored,
                key=key,
                hall=hall,
                human_review=human_review,
                on_behalf=on_behalf,
            )
            if case.applicant_kind == ApplicantKind.LEGAL_PERSON:  # 联合奖惩: record the measures applied
                supervision_services.credit_measure_apply(
                    actor=actor, entity_code=case.applicant_id_number, context="cases.case", context_id=str(case.pk)
                )
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
