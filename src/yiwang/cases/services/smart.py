"""免证可办, 减填 and 秒批: what the platform checks by itself when a case is submitted.

* 免提交 (``CaseEvidence``): a material whose catalog source is a license type or a registry item
  is read — the applicant's license (found in the license table, read through the exchange and
  its SM2 signature checked) or his registry record — and a snapshot is kept with the case. Every
  read goes through ``exchange.services.registry_read`` as the app ``cases``, so it is in the
  evidence log with the item as purpose. A revoked, expired, suspended or missing license is
  recorded with the reason the applicant is told; he may upload the material instead.
* 减填: form fields marked ``"x-prefill": "<registry>.<field>"`` in the item's JSON Schema are
  filled from the applicant's own record (``form_prefill``); at submission the same values are
  read again and the fields the applicant changed are recorded for the reviewer.
* 秒批 (``CaseAutoCheck``): the version's decision table (``catalog.decision``) is run over the
  facts. ``approve`` (or ``refuse``) is applied at once — accepted and decided by the system
  actor ``cases.auto_decision``, audited with the table version and the facts used — only when
  every fact the deciding row used came from a verified source (identity, registry, license, or
  a form field the applicant did not change from its verified value), every 免提交 material was
  verified and no required upload is missing; otherwise the case waits in the normal queue with
  the table's findings shown to the reviewer. An approval publishes ``case.approved`` as a
  human's does, so the output license is issued by the licenses app.

All of it runs in the submission's own transaction (``submission.case_create``): a failure
rolls back the case with it.
"""

from __future__ import annotations

import datetime
import json
from collections import defaultdict
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.cases.models import (
    ApplicantKind,
    AutoOutcome,
    Case,
    CaseAutoCheck,
    CaseEvidence,
    CaseState,
    CaseStep,
    Decision,
    EvidenceStatus,
    SlaStatus,
    StepKind,
)
from yiwang.cases.services.acceptance import _start_clock
from yiwang.cases.services.base import _lock, _new_step, _publish, _require, _save, remedy_notice
from yiwang.core import db
from yiwang.core.audit import audit_record
from yiwang.core.calendar import working_calendar
from yiwang.core.errors import Conflict, YiwangError

if TYPE_CHECKING:
    from yiwang.cases.services.submission import NewCase

AUTO_DECISION_ACTOR = SYSTEM_ACTOR = "cases.auto_decision"
APP = "cases"
PREFILL_MARKER = "x-prefill"
LICENSE_FIELDS = ["license_type", "status", "valid_until", "holder_name", "data"]


def system_name() -> str:
    return _("智能审批系统")


# --- 减填: pre-filling from the registries ----------------------------------------------------


def prefill_fields(schema: dict) -> dict[str, tuple[str, str]]:
    """``{property: (registry, field)}`` of the form's fields marked ``"x-prefill"``."""
    marked = {}
    for name, spec in ((schema or {}).get("properties") or {}).items():
        source = spec.get(PREFILL_MARKER) if isinstance(spec, dict) else None
        if isinstance(source, str) and source.count(".") == 1:
            registry, field = source.split(".")
            marked[name] = (registry, field)
    return marked


def _subject(snapshot: dict) -> tuple[str, str]:
    """(registry, key) of the applicant's own record: the population registry by 身份证号, the
    legal-entity registry by 统一社会信用代码."""
    if snapshot.get("applicant_kind") == ApplicantKind.LEGAL_PERSON:
        return "legal_entity", snapshot.get("applicant_id_number") or ""
    return "population", snapshot.get("applicant_id_number") or ""


def _read(*, actor, purpose: str, registry: str, key: str, fields: list[str]) -> tuple[dict, list[str], str]:
    """(values, masked field names, error code or "") of one read through the exchange."""
    from yiwang.exchange import services as exchange

    if not key or not fields:
        return {}, [], "key_missing"
    try:
        result = exchange.registry_read(
            actor=actor, app=APP, purpose=purpose[:300], registry=registry, key=key, fields=fields
        )
    except YiwangError as exc:
        return {}, [], exc.code or "unavailable"
    return dict(result.values), list(result.masked), ""


def _purpose(version, what: str) -> str:
    return f"{version.name}({version.basic_code}){what}"


def form_prefill(*, actor, applicant, version, snapshot: dict | None = None) -> tuple[dict, dict]:
    """(values, sources) to pre-fill the version's form for ``applicant``: the fields that identify
    him from his verified identity (``x-applicant``), the ``x-prefill`` fields from his own
    registry record read through the exchange. A field the exchange refuses or masks is left
    empty. ``sources``: {field: "identity" | "<registry>.<field>"}."""
    from yiwang.cases.services.submission import _applicant_snapshot, applicant_fields

    schema = version.form_schema or {}
    values, sources = {}, {}
    if snapshot is None:
        try:
            snapshot = _applicant_snapshot(applicant, version)
        except YiwangError:
            return {}, {}
    own = {
        "name": snapshot["applicant_name"],
        "id_number": snapshot["applicant_id_number"],
        "phone": snapshot["applicant_phone"],
    }
    for field, kind in applicant_fields(schema).items():
        if own.get(kind):
            values[field], sources[field] = own[kind], "identity"
    marked = prefill_fields(schema)
    subject_registry, key = _subject(snapshot)
    wanted = sorted({f for r, f in marked.values() if r == subject_registry})
    if wanted:
        read, masked, _error = _read(
            actor=actor, purpose=_purpose(version, _("办件表单预填")), registry=subject_registry, key=key, fields=wanted
        )
        for name, (registry, field) in marked.items():
            if registry == subject_registry and field in read and field not in masked and read[field] not in (None, ""):
                values[name], sources[name] = read[field], f"{registry}.{field}"
    return values, sources


# --- 免提交: licenses and registry records -------------------------------------------------------


def _license_check(*, actor, version, code: str, holder_id: str) -> dict:
    """The applicant's license of type ``code``: its status (a ``EvidenceStatus``), identifier,
    fields read through the exchange and whether its signature verified."""
    from yiwang.licenses import selectors as licenses

    held = licenses.license_identifiers_held(license_type_code=code, holder_id=holder_id)
    if not held:
        return {"status": EvidenceStatus.MISSING, "identifier": "", "values": {}, "signature_valid": False}
    identifier, _status, valid_until = held[0]
    values, _masked, error = _read(
        actor=actor,
        purpose=_purpose(version, _("免提交核验")),
        registry="license",
        key=identifier,
        fields=LICENSE_FIELDS,
    )
    if error:
        return {"status": EvidenceStatus.UNAVAILABLE, "identifier": identifier, "values": {}, "signature_valid": False}
    verification = licenses.license_verify(identifier=identifier)
    result = {
        "valid": EvidenceStatus.VERIFIED,
        "revoked": EvidenceStatus.REVOKED,
        "expired": EvidenceStatus.EXPIRED,
        "suspended": EvidenceStatus.SUSPENDED,
        "invalid_signature": EvidenceStatus.INVALID_SIGNATURE,
    }.get(verification.result, EvidenceStatus.UNAVAILABLE)
    return {
        "status": result,
        "identifier": identifier,
        "values": values,
        "signature_valid": verification.signature_valid,
        "valid_until": valid_until.isoformat() if isinstance(valid_until, datetime.date) else None,
    }


def _evidence_note(status: str, name: str) -> str:
    return {
        EvidenceStatus.VERIFIED: _("已通过电子证照/基础库核验,免提交"),
        EvidenceStatus.MISSING: _("未查到您的「%(name)s」,请上传该材料"),
        EvidenceStatus.REVOKED: _("您的「%(name)s」已注销,请上传有效的材料"),
        EvidenceStatus.EXPIRED: _("您的「%(name)s」已过有效期,请上传有效的材料"),
        EvidenceStatus.SUSPENDED: _("您的「%(name)s」已暂停使用,请上传有效的材料"),
        EvidenceStatus.INVALID_SIGNATURE: _("「%(name)s」的电子签名验证未通过,请上传该材料"),
        EvidenceStatus.UNAVAILABLE: _("「%(name)s」暂时无法核验,请上传该材料"),
    }[status] % {"name": name}


def _registry_spec_fields(registry: str) -> set[str]:
    from yiwang.registries import schema

    spec = schema.REGISTRIES.get(registry)
    return {f.name for f in spec.fields} if spec is not None else set()


def _verify_material(*, actor, version, requirement, snapshot: dict, now) -> CaseEvidence:
    holder_id = snapshot.get("applicant_id_number") or ""
    if requirement.source == "license":
        code = requirement.license_type_code
        found = _license_check(actor=actor, version=version, code=code, holder_id=holder_id)
        status = found["status"]
        body = {
            "license_id": found["identifier"],
            "license_type": code,
            "signature_valid": found["signature_valid"],
            "fields": found["values"],
            "valid_until": found.get("valid_until"),
            "checked_at": now.isoformat(),
        }
        identifier, signature_valid, source_code = found["identifier"], found["signature_valid"], code
    else:
        registry, _dot, field = (requirement.registry_field or "").partition(".")
        subject_registry, key = _subject(snapshot)
        source_code = requirement.registry_field
        identifier, signature_valid = "", False
        if registry != subject_registry or not _registry_spec_fields(registry):
            status, values = EvidenceStatus.UNAVAILABLE, {}
        else:
            # A field the registry does not have by that name: the record's existence is the evidence.
            fields = [field] if field in _registry_spec_fields(registry) else ["name"]
            values, _masked, error = _read(
                actor=actor, purpose=_purpose(version, _("免提交核验")), registry=registry, key=key, fields=fields
            )
            if error == "record_not_found":
                status = EvidenceStatus.MISSING
            elif error:
                status = EvidenceStatus.UNAVAILABLE
            else:
                status = EvidenceStatus.VERIFIED
        body = {"registry": registry, "fields": values, "checked_at": now.isoformat()}
    return CaseEvidence(
        requirement=requirement,
        name=requirement.name,
        source=requirement.source,
        source_code=source_code[:100],
        status=status,
        license_identifier=identifier,
        signature_valid=signature_valid,
        snapshot=json.dumps(body, ensure_ascii=False, default=str) if status == EvidenceStatus.VERIFIED else "",
        note=_evidence_note(status, requirement.name),
        checked_at=now,
    )


# --- 秒批: facts, the table, the decision -----------------------------------------------------------


def _age(id_number: str, today: datetime.date) -> int | None:
    text = (id_number or "").strip()
    if len(text) != 18 or not text[6:14].isdigit():
        return None
    try:
        born = datetime.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _form_value(form: dict, path: str):
    value = form
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _plain(value):
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    try:
        return float(value)  # Decimal
    except (TypeError, ValueError):
        return str(value)


def _facts(*, actor, version, snapshot: dict, form: dict, names: list[str], licenses: dict, changed: set[str]):
    """({fact: value}, {fact: why it is not verified}) for the facts the table refers to."""
    facts, unverified = {}, {}
    today = timezone.localdate()
    by_registry: dict[str, set[str]] = defaultdict(set)
    for name in names:
        source, _dot, rest = name.partition(".")
        if source == "form":
            facts[name] = _form_value(form, rest)
            if rest.split(".")[0] in changed:
                unverified[name] = _("申请人修改了预填的核验数据")
        elif source == "applicant":
            if rest == "age":
                if snapshot.get("applicant_kind") == ApplicantKind.NATURAL_PERSON:
                    facts[name] = _age(snapshot.get("applicant_id_number") or "", today)
            elif rest == "kind":
                facts[name] = snapshot.get("applicant_kind")
        elif source == "registry":
            registry, _dot, field = rest.partition(".")
            by_registry[registry].add(field)
        elif source == "license":
            code, _dot, field = rest.partition(".")
            if code not in licenses:
                licenses[code] = _license_check(
                    actor=actor, version=version, code=code, holder_id=snapshot.get("applicant_id_number") or ""
                )
            found = licenses[code]
            valid = found["status"] == EvidenceStatus.VERIFIED
            if field == "valid":
                facts[name] = valid
                if found["status"] == EvidenceStatus.UNAVAILABLE:
                    unverified[name] = _("证照暂时无法核验")
            elif valid:
                data = found["values"].get("data") or {}
                facts[name] = _plain(data.get(field) if isinstance(data, dict) else None)
    subject_registry, key = _subject(snapshot)
    for registry, fields in by_registry.items():
        names_of = {f"registry.{registry}.{f}" for f in fields}
        if registry != subject_registry:
            for n in names_of:
                unverified[n] = _("申请人没有该基础库的记录")
            continue
        values, masked, error = _read(
            actor=actor, purpose=_purpose(version, _("秒批核验")), registry=registry, key=key, fields=sorted(fields)
        )
        for field in fields:
            name = f"registry.{registry}.{field}"
            if error:
                unverified[name] = _("基础库读取未成功(%(code)s)") % {"code": error}
            elif field in masked:
                unverified[name] = _("基础库返回的是脱敏值")
            else:
                facts[name] = _plain(values.get(field))
    return {k: _plain(v) for k, v in facts.items()}, unverified


def after_create(*, actor, cases: list[Case], entries: list[NewCase], human_review: bool = False) -> None:
    """The 免提交, 减填 and 秒批 checks of freshly created cases, in the caller's transaction.
    Costs one query for items with none of them (the 免提交 materials of every version at once)."""
    from yiwang.catalog import selectors as catalog_selectors

    versions = list({entry.version.pk for entry in entries})
    free: dict[int, list] = defaultdict(list)
    for requirement in catalog_selectors.certificate_free_materials(version_ids=versions):
        free[requirement.version_id].append(requirement)
    for case, entry in zip(cases, entries, strict=True):
        version = entry.version
        table = version.decision_table or {}
        marked = prefill_fields(version.form_schema or {})
        if not free[version.pk] and not table and not marked:
            continue
        _check_case(
            actor=actor,
            case=case,
            entry=entry,
            requirements=free[version.pk],
            table=table,
            marked=marked,
            human_review=human_review,
        )


def _check_case(*, actor, case: Case, entry: NewCase, requirements, table, marked, human_review: bool) -> None:
    from yiwang.catalog import selectors as catalog_selectors

    version, snapshot, form = entry.version, entry.snapshot, entry.form_data or {}
    now = timezone.now()
    evidence = [
        _verify_material(actor=actor, version=version, requirement=r, snapshot=snapshot, now=now) for r in requirements
    ]
    steps = []
    if evidence:
        for row in evidence:
            row.case = case
        CaseEvidence.objects.bulk_create(evidence)
        free = [e.name for e in evidence if e.is_verified]
        other = [f"{e.name}({e.get_status_display()})" for e in evidence if not e.is_verified]
        note = _("免提交:%(free)s") % {"free": "、".join(free) or _("无")}
        if other:
            note += _(";需上传:%(other)s") % {"other": "、".join(other)}
        steps.append(_new_step(case, StepKind.EVIDENCE_VERIFIED, system_name(), note=note))
    changed: list[str] = []
    prefill: dict = {}
    if marked:
        values, sources = form_prefill(actor=actor, applicant=case.applicant, version=version, snapshot=snapshot)
        for name in marked:
            if name in values:
                prefill[name] = sources[name]
                if str(_form_value(form, name) or "") != str(values[name]):
                    changed.append(name)
    if not table and not changed:
        if steps:
            CaseStep.objects.bulk_create(steps)
        return
    check = CaseAutoCheck(case=case, changed_fields=changed)
    details: dict = {"prefill": prefill, "changed": changed}
    if table:
        licenses = {
            e.source_code: {
                "status": e.status,
                "values": json.loads(e.snapshot)["fields"] if e.snapshot else {},
                "identifier": e.license_identifier,
                "signature_valid": e.signature_valid,
            }
            for e in evidence
            if e.source == "license"
        }
        names = catalog_selectors.decision_table_facts(table=table)
        facts, unverified = _facts(
            actor=actor,
            version=version,
            snapshot=snapshot,
            form=form,
            names=names,
            licenses=licenses,
            changed=set(changed),
        )
        result = catalog_selectors.decision_table_evaluate(table=table, facts=facts)
        check.table_version, check.table_digest = version.number, version.content_digest
        check.outcome, check.reason, check.row = result.outcome, result.reason, result.row
        details.update(facts=facts, unverified=unverified, findings=[f.as_dict() for f in result.findings])
        check.referral = _referral(case, result, unverified, evidence, human_review)
        if result.outcome != AutoOutcome.REFER and not check.referral:
            check.applied = True
    check.details = json.dumps(details, ensure_ascii=False, default=str)
    db.insert(check)
    if table:
        if check.applied:
            note = _("依据决策表(事项版本 %(v)s)第 %(row)s 行:%(outcome)s") % {
                "v": version.number,
                "row": check.row,
                "outcome": check.get_outcome_display(),
            }
        else:
            note = _("已转人工审查:%(why)s") % {"why": check.referral or check.reason}
        steps.append(_new_step(case, StepKind.AUTO_CHECKED, system_name(), note=note))
    if check.applied:  # its steps are written with the decision's (one insert)
        _apply(case, check, facts={k: details["facts"].get(k) for k in result.facts_used}, steps=steps)
    elif steps:
        CaseStep.objects.bulk_create(steps)


def _referral(case: Case, result, unverified: dict, evidence: list[CaseEvidence], human_review: bool) -> str:
    """Why the table's verdict is not applied automatically ("" when it is)."""
    from yiwang.cases.selectors import case_missing_materials

    if result.outcome == AutoOutcome.REFER:
        return result.reason or _("决策表结论为转人工审查")
    if human_review:
        return _("申请人选择由工作人员人工审核")
    not_verified = [name for name in result.facts_used if name in unverified]
    if not_verified:
        return _("以下事实未经核验:%(facts)s") % {
            "facts": "、".join(f"{name}({unverified[name]})" for name in not_verified)
        }
    if result.outcome == AutoOutcome.REFUSE:
        return ""  # a refusal rests on the facts its row used, verified above
    failed = [e.name for e in evidence if not e.is_verified]
    if failed:
        return _("免提交材料未通过核验:%(names)s") % {"names": "、".join(failed)}
    if case.state != CaseState.SUBMITTED:
        return _("办件状态不允许自动办理")
    missing = case_missing_materials(case=case)
    if missing:
        return _("必需材料尚未上传:%(names)s") % {"names": "、".join(m.name for m in missing)}
    return ""


def _apply(case: Case, check: CaseAutoCheck, *, facts: dict, steps: list | None = None) -> None:
    """Accept and decide ``case`` as the table said, by the system actor, audited with the
    table version and the facts the deciding row used."""
    cal = working_calendar()
    old = case.state
    _start_clock(case, cal, deemed=False, actor=SYSTEM_ACTOR)
    case.decided_at = timezone.now()
    case.decided_by = None
    case.sla_status = SlaStatus.DONE
    steps = [*(steps or []), _new_step(case, StepKind.ACCEPTED, system_name(), note=_("秒批:自动受理"))]
    if check.outcome == AutoOutcome.APPROVE:
        case.decision, case.state = Decision.APPROVE, CaseState.APPROVED
        case.decision_reasons = check.reason or _("符合决策表准予条件,自动准予")
        steps.append(_new_step(case, StepKind.APPROVED, system_name(), note=case.decision_reasons))
        event = "case.approved"
    else:
        case.decision, case.state = Decision.REJECT, CaseState.REJECTED
        case.decision_reasons = check.reason
        case.remedy_notice = remedy_notice(case.department) + _("您也可以在办件详情页申请人工复核。")
        steps.append(_new_step(case, StepKind.REJECTED, system_name(), note=check.reason))
        event = "case.rejected"
    case.step_index = 0
    case.version += 1
    db.update(
        case,
        [
            "state",
            "deemed_accepted",
            "accepted_at",
            "accepted_by",
            "due_date",
            "sla_status",
            "decision",
            "decision_reasons",
            "remedy_notice",
            "decided_at",
            "decided_by",
            "step_index",
            "version",
        ],
    )
    CaseStep.objects.bulk_create(steps)
    audit_record(
        actor=SYSTEM_ACTOR,
        action="case.auto_decide",
        obj=case,
        changes={
            "state": [old, case.state],
            "decision": case.decision,
            "table_version": check.table_version,
            "table_digest": check.table_digest,
            "row": check.row,
            "facts": facts,
        },
    )
    _publish("case.accepted", case)
    _publish(event, case)


AUTO_ACCEPT_ACTOR = "cases.auto_accept"


def auto_accept(*, cases: list[Case]) -> list[Case]:
    """网上申请自动受理 (issue #14): an online application to an item marked ``auto_accept`` whose
    every required material is there is accepted by the platform at once — the legal clock starts
    now and the clerk's acceptance step is skipped. One still missing a material waits for a clerk
    (who asks for it once, 一次性告知). Window applications are accepted by the clerk who takes
    them. Returns the cases it accepted; runs in the caller's transaction."""
    from yiwang.cases.models import Channel
    from yiwang.cases.selectors import case_missing_materials

    accepted = []
    cal = None
    for case in cases:
        version = case.item_version
        if not version.auto_accept or case.channel != Channel.ONLINE or case.state != CaseState.SUBMITTED:
            continue
        if case_missing_materials(case=case):
            continue
        cal = cal or working_calendar()
        _start_clock(case, cal, deemed=False, actor=AUTO_ACCEPT_ACTOR)
        case.version += 1
        db.update(case, ["state", "deemed_accepted", "accepted_at", "accepted_by", "due_date", "sla_status", "version"])
        note = _("网上申请自动受理:材料齐全,系统即时受理")
        CaseStep.objects.bulk_create([_new_step(case, StepKind.ACCEPTED, system_name(), note=note)])
        audit_record(
            actor=AUTO_ACCEPT_ACTOR,
            action="case.auto_accept",
            obj=case,
            changes={"state": [CaseState.SUBMITTED, case.state], "due_date": case.due_date},
        )
        _publish("case.accepted", case)
        accepted.append(case)
    return accepted


@transaction.atomic
def case_request_human_review(*, actor, case_id, reason: str = "", expected_version: int | None = None) -> Case:
    """The applicant asks for a human to look again at an automatic refusal (秒批 不予): the case
    goes back to review in the department's queue, the refusal withdrawn, with the table's
    findings shown to the reviewer. Only the applicant, only once, only for an automatic refusal."""
    from yiwang.core.inputs import ensure_storable

    case = _lock(actor=actor, case_id=case_id, expected_version=expected_version)
    _require(case.applicant_id == getattr(actor, "pk", None), _("只有申请人可以申请人工复核。"), "not_applicant")
    check = CaseAutoCheck.objects.select_for_update(no_key=True).filter(case=case).first()
    if check is None or not check.applied or case.state != CaseState.REJECTED:
        raise Conflict(_("只有智能审批自动作出的不予决定可以申请人工复核。"), code="not_auto_refused")
    if check.review_requested_at is not None:
        raise Conflict(_("已申请过人工复核。"), code="review_already_requested")
    reason = (reason or "").strip()[:1000]
    ensure_storable(reason, field="reason")
    check.review_requested_at, check.review_reason = timezone.now(), reason
    check.save(update_fields=["review_requested_at", "review_reason"])
    old = case.state
    case.state = CaseState.UNDER_REVIEW
    case.decision, case.decision_reasons, case.remedy_notice = "", "", ""
    case.decided_at = None
    case.sla_status = SlaStatus.NORMAL
    db.insert(_new_step(case, StepKind.REVIEW_REQUESTED, actor, note=reason))
    _save(case, actor=actor, action="case.request_human_review", changes={"state": [old, case.state]})
    _publish("case.review_requested", case)
    return case
