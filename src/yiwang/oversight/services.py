"""Every write of key-task oversight (督查督办): creating a task and its milestones, a department's
progress report with its evidence, the office's review, urging (催办) and rating, the membership
of the office, and the daily sweep that reminds before deadlines and escalates red tasks.

Each function runs in one transaction, checks who may act (a task the actor may not see is
``NotFound``, like a missing one), appends a ``TaskEvent`` to the task's timeline and writes
``core.audit.audit_record``. Files are written only after every check passed and are removed
again if the transaction fails, so nothing is half-saved.
"""

from __future__ import annotations

import contextlib
import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.core.audit import audit_record
from yiwang.core.calendar import working_calendar
from yiwang.core.crypto import sm3_hex
from yiwang.core.errors import Conflict, Forbidden, ValidationFailed
from yiwang.core.filetypes import detect_content_type
from yiwang.core.inputs import clean_text
from yiwang.identity.models import Department
from yiwang.identity.selectors import actor_has_role, users_with_role
from yiwang.oversight.models import KeyTask, Member, Milestone, ProgressReport, ReportAttachment, TaskEvent

# Department staff who see a task their department leads or co-handles; of them, who may report.
DEPARTMENT_ROLES = ("window_clerk", "reviewer", "department_head", "department_admin")
REPORT_ROLES = ("reviewer", "department_head", "department_admin")
SYSTEM_ACTOR = "task:oversight_sweep"
DEFAULT_YELLOW_WORKING_DAYS = 3
DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_EVIDENCE = 10
MAX_MILESTONES = 30


def yellow_working_days() -> int:
    """How many working days before a deadline a task turns yellow (``YIWANG_OVERSIGHT_YELLOW_DAYS``)."""
    return int(getattr(settings, "YIWANG_OVERSIGHT_YELLOW_DAYS", DEFAULT_YELLOW_WORKING_DAYS))


def max_attachment_bytes() -> int:
    return int(getattr(settings, "YIWANG_OVERSIGHT_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_ATTACHMENT_BYTES))


# --- who is who --------------------------------------------------------------------------------


def _signed_in(actor) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and getattr(actor, "is_active", False)


def member_roles(actor) -> frozenset[str]:
    """The actor's oversight roles (remembered on the actor object for one request)."""
    if not _signed_in(actor):
        return frozenset()
    cached = getattr(actor, "_oversight_roles", None)
    if cached is None:
        cached = frozenset(Member.objects.filter(user=actor).values_list("role", flat=True))
        actor._oversight_roles = cached
    return cached


def is_office(actor) -> bool:
    """The oversight office (督查室) — and the superuser."""
    if _signed_in(actor) and actor.is_superuser:
        return True
    return Member.Role.OFFICE in member_roles(actor)


def sees_all(actor) -> bool:
    """The office, city leaders and the superuser see every task."""
    return is_office(actor) or Member.Role.LEADER in member_roles(actor)


def _department_ids(task: KeyTask) -> list[int]:
    ids = getattr(task, "_department_ids", None)
    if ids is None:
        ids = [task.lead_department_id, *task.co_departments.values_list("pk", flat=True)]
        task._department_ids = ids
    return ids


def reporting_department(actor, task: KeyTask) -> Department | None:
    """The department in which ``actor`` may report on ``task``: the lead one first, else a
    co-handling one where the actor holds a reporting role; ``None`` when there is none."""
    if not _signed_in(actor) or getattr(actor, "kind", "") != "staff":
        return None
    candidates = [task.lead_department, *task.co_departments.order_by("pk")]
    for department in candidates:
        if actor_has_role(actor, roles=REPORT_ROLES, department=department) and not actor.is_superuser:
            return department
    return None


def _require_office(actor) -> None:
    if not is_office(actor):
        raise Forbidden(_("只有督查室可以执行此操作"), code="oversight_office_only")


def _event(task: KeyTask, kind: str, *, actor=None, note: str = "") -> TaskEvent:
    return TaskEvent.objects.create(
        task=task, kind=kind, actor=actor if _signed_in(actor) else None, note=note[:1000], created_at=timezone.now()
    )


def _audit(actor, action: str, task: KeyTask, **changes) -> None:
    audit_record(actor=actor, action=f"oversight.{action}", obj=task, object_repr=task.number, changes=changes)


def _locked(task: KeyTask) -> KeyTask:
    return KeyTask.objects.select_for_update(no_key=True, of=("self",)).get(pk=task.pk)


_text = clean_text  # core.inputs: stripped, storable, required, bounded


def _date(value, *, field: str) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise ValidationFailed(fields={field: [_("请填写有效的日期(如 2026-06-30)")]}) from None


def _department(value, *, field: str) -> Department:
    department = None
    if isinstance(value, Department):
        department = value
    elif value not in (None, ""):
        key = str(value).strip()
        query = Department.objects.filter(is_active=True)
        department = (query.filter(pk=int(key)).first() if key.isdigit() and len(key) < 18 else None) or query.filter(
            code=key
        ).first()
    if department is None or not department.is_active:
        raise ValidationFailed(
            _("部门不存在或已停用"), code="department_unknown", fields={field: [_("部门不存在或已停用")]}
        )
    return department


def _evidence_names(value, *, field: str) -> list[str]:
    if value in (None, ""):
        return []
    items = value.splitlines() if isinstance(value, str) else list(value)
    names: list[str] = []
    for item in items:
        name = _text(item, field=field, max_length=100)
        if name and name not in names:
            names.append(name)
    if len(names) > MAX_EVIDENCE:
        raise ValidationFailed(fields={field: [_("佐证材料最多 %(n)d 项") % {"n": MAX_EVIDENCE}]})
    return names


@dataclass(frozen=True)
class MilestoneSpec:
    title: str
    due_date: datetime.date | str
    evidence: list[str] | str = ()


def _check_milestone(spec, *, deadline: datetime.date, prefix: str) -> dict:
    title = _text(getattr(spec, "title", None), field=f"{prefix}title", required=True, max_length=200)
    due = _date(getattr(spec, "due_date", None), field=f"{prefix}due_date")
    if due > deadline:
        message = _("节点时限 %(due)s 晚于任务的办结时限 %(deadline)s") % {"due": due, "deadline": deadline}
        raise ValidationFailed(message, code="milestone_after_deadline", fields={f"{prefix}due_date": [message]})
    evidence = _evidence_names(getattr(spec, "evidence", ()), field=f"{prefix}evidence")
    return {"title": title, "due_date": due, "evidence": evidence}


# --- membership --------------------------------------------------------------------------------


def _check_member_keeper(actor) -> None:
    from yiwang.identity.selectors import actor_admin_reaches

    if isinstance(actor, str):
        return
    if not _signed_in(actor):
        raise Forbidden()
    if not (actor.is_superuser or actor_admin_reaches(actor, app_label="oversight", model_name="member")):
        raise Forbidden()


@transaction.atomic
def member_set(*, actor, user, role: str) -> Member:
    """Make ``user`` a member of the office or a city leader. The superuser, the system admin
    (三员分立: whose admin pages list the members) or the platform itself (a string actor such as
    the demo loader) only. Idempotent."""
    _check_member_keeper(actor)
    if role not in Member.Role.values:
        raise ValidationFailed(fields={"role": [_("角色无效")]})
    if getattr(user, "kind", "") != "staff":
        raise ValidationFailed(fields={"user": [_("只有工作人员可以成为督查人员")]})
    member, created = Member.objects.get_or_create(user=user, role=role)
    if created:
        audit_record(actor=actor, action="oversight.member_set", obj=member, changes={"user": user.pk, "role": role})
    return member


@transaction.atomic
def member_remove(*, actor, member: Member) -> None:
    """Take a member out of the office or the city leaders (as ``member_set``). Audited."""
    _check_member_keeper(actor)
    audit_record(
        actor=actor, action="oversight.member_remove", obj=member, changes={"user": member.user_id, "role": member.role}
    )
    Member.objects.filter(pk=member.pk).delete()


# --- tasks and milestones ----------------------------------------------------------------------


def _next_number(today: datetime.date) -> str:
    prefix = f"DB{today:%Y}"
    last = (
        KeyTask.objects.filter(number__startswith=prefix).order_by("-number").values_list("number", flat=True).first()
    )
    sequence = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{sequence:04d}"


@transaction.atomic
def key_task_create(
    *,
    actor,
    title: str,
    source_kind: str,
    lead_department,
    deadline,
    source_ref: str = "",
    source_text: str = "",
    co_departments=(),
    milestones=(),
) -> KeyTask:
    """The office turns an instruction, a meeting decision or a key project into a task with its
    milestones (each no later than the task's deadline). All or nothing; audited."""
    _require_office(actor)
    errors: dict[str, list[str]] = {}
    title = _text(title, field="title", required=True, max_length=200)
    if source_kind not in KeyTask.SourceKind.values:
        errors["source_kind"] = [_("任务来源须为批示件、会议议定事项或重点项目")]
    source_ref = _text(source_ref, field="source_ref", max_length=100)
    source_text = _text(source_text, field="source_text", max_length=4000)
    if source_kind == KeyTask.SourceKind.INSTRUCTION and not (source_ref or source_text):
        errors["source_text"] = [_("批示件须写明批示文号或批示内容")]
    deadline = _date(deadline, field="deadline")
    today = timezone.localdate()
    if deadline < today:
        errors["deadline"] = [_("办结时限不能早于今天")]
    if errors:
        raise ValidationFailed(fields=errors)
    lead = _department(lead_department, field="lead_department")
    co = []
    for value in co_departments or ():
        department = _department(value, field="co_departments")
        if department.pk != lead.pk and department not in co:
            co.append(department)
    checked = [_check_milestone(m, deadline=deadline, prefix=f"milestones.{i}.") for i, m in enumerate(milestones)]
    if len(checked) > MAX_MILESTONES:
        raise ValidationFailed(fields={"milestones": [_("节点最多 %(n)d 个") % {"n": MAX_MILESTONES}]})
    task = KeyTask.objects.create(
        number=_next_number(today),
        title=title,
        source_kind=source_kind,
        source_ref=source_ref,
        source_text=source_text,
        lead_department=lead,
        deadline=deadline,
        created_by=actor,
        created_at=timezone.now(),
    )
    task.co_departments.set(co)
    Milestone.objects.bulk_create([Milestone(task=task, **m) for m in checked])
    _event(task, TaskEvent.Kind.CREATED, actor=actor, note=f"{task.get_source_kind_display()} {source_ref}".strip())
    _audit(
        actor,
        "task_create",
        task,
        source_kind=source_kind,
        lead_department=lead.code,
        co_departments=[d.code for d in co],
        deadline=deadline.isoformat(),
        milestones=len(checked),
    )
    _notify_departments(task, template="oversight.assigned", actor=actor, dedupe="assigned")
    return task


@transaction.atomic
def milestone_add(*, actor, task: KeyTask, title: str, due_date, evidence=()) -> Milestone:
    """A milestone for an active task, no later than its deadline. Office only; audited."""
    _require_office(actor)
    task = _locked(task)
    if task.status != KeyTask.Status.ACTIVE:
        raise Conflict(_("任务已办结,不能再增加节点"), code="task_completed")
    values = _check_milestone(
        MilestoneSpec(title=title, due_date=due_date, evidence=evidence), deadline=task.deadline, prefix=""
    )
    milestone = Milestone.objects.create(task=task, **values)
    _event(task, TaskEvent.Kind.MILESTONE_ADDED, actor=actor, note=f"{milestone.title}({milestone.due_date})")
    _audit(actor, "milestone_add", task, milestone=milestone.pk, due_date=milestone.due_date.isoformat())
    return milestone


# --- reports -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceFile:
    """One posted file and the evidence it answers (a name of the milestone's list, or any label)."""

    evidence: str
    filename: str
    content: bytes


def evidence_field(index: int) -> str:
    """The form and API field that names a milestone's ``index``-th required evidence."""
    return f"evidence_{index}"


def _check_files(files, milestone: Milestone | None) -> list[tuple[EvidenceFile, str]]:
    required = list(milestone.evidence) if milestone else []
    errors: dict[str, list[str]] = {}
    checked = []
    limit = max_attachment_bytes()
    for upload in files:
        label = (upload.evidence or "").strip()[:100] or _("其他材料")
        field = evidence_field(required.index(label)) if label in required else "files"
        content = upload.content or b""
        if not content:
            errors.setdefault(field, []).append(_("「%(name)s」:文件为空") % {"name": label})
            continue
        if len(content) > limit:
            message = _("「%(name)s」:文件超过 %(mb).0f MB 的上限") % {"name": label, "mb": limit / 1024 / 1024}
            errors.setdefault(field, []).append(message)
            continue
        content_type = detect_content_type(content)
        if content_type is None:
            message = _("「%(name)s」:文件内容不是 PDF、JPEG、PNG 或 OFD 格式") % {"name": label}
            errors.setdefault(field, []).append(message)
            continue
        checked.append(
            (EvidenceFile(evidence=label, filename=(upload.filename or "")[:255], content=content), content_type)
        )
    present = {f.evidence for f, _type in checked}
    for index, name in enumerate(required):
        if name not in present and evidence_field(index) not in errors:
            errors[evidence_field(index)] = [_("缺少佐证材料「%(name)s」") % {"name": name}]
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(first, code="evidence_missing", fields=errors)
    return checked


def report_submit(*, actor, task: KeyTask, summary: str, milestone_id: int | None = None, files=()) -> ProgressReport:
    """A department's report of progress (晒进度): by a reviewer, head or admin of the lead or a
    co-handling department; on a milestone, it must carry a file for every evidence the
    milestone names. Files are checked by content (PDF, JPEG, PNG, OFD) and stored by digest.
    ``NotFound`` for a task the actor may not see; nothing is kept when any check fails: the
    rows roll back and the files already written are removed."""
    stored: list[str] = []
    try:
        with transaction.atomic():
            return _report_submit(
                actor=actor, task=task, summary=summary, milestone_id=milestone_id, files=files, stored=stored
            )
    except BaseException:
        _delete_files(stored)
        raise


def _report_submit(*, actor, task, summary, milestone_id, files, stored: list[str]) -> ProgressReport:
    from yiwang.oversight import selectors

    task = selectors.task_get(actor=actor, id=task.pk)
    department = reporting_department(actor, task)
    if department is None:
        raise Forbidden(_("只有牵头或配合部门的审核人员、负责人或管理员可以报送进度"), code="oversight_report_role")
    task = _locked(task)
    if task.status != KeyTask.Status.ACTIVE:
        raise Conflict(_("任务已办结,不能再报送"), code="task_completed")
    summary = _text(summary, field="summary", required=True, max_length=4000)
    milestone = None
    if milestone_id not in (None, ""):
        milestone = task.milestones.filter(pk=int(milestone_id) if str(milestone_id).isdigit() else 0).first()
        if milestone is None:
            raise ValidationFailed(fields={"milestone_id": [_("该节点不属于本任务")]})
        if milestone.status == Milestone.Status.ACCEPTED:
            message = _("该节点已完成,无需再报送")
            raise ValidationFailed(message, code="milestone_done", fields={"milestone_id": [message]})
    checked = _check_files(list(files), milestone)
    report = ProgressReport.objects.create(
        task=task,
        milestone=milestone,
        department=department,
        summary=summary,
        submitted_by=actor,
        submitted_at=timezone.now(),
    )
    for upload, content_type in checked:
        attachment = ReportAttachment(
            report=report,
            evidence=upload.evidence,
            original_filename=upload.filename,
            size=len(upload.content),
            sm3=sm3_hex(upload.content),
            content_type=content_type,
        )
        attachment.file.save(upload.filename or "evidence", ContentFile(upload.content), save=False)
        stored.append(attachment.file.name)
        attachment.save()
    if milestone is not None:
        milestone.status = Milestone.Status.SUBMITTED
        milestone.save(update_fields=["status"])
    note = f"{department.short_name or department.name}:{summary[:200]}"
    _event(task, TaskEvent.Kind.REPORTED, actor=actor, note=note)
    _audit(
        actor,
        "report_submit",
        task,
        report=report.pk,
        milestone=milestone.pk if milestone else None,
        department=department.code,
        files=[{"evidence": f.evidence, "sm3": sm3_hex(f.content)} for f, _t in checked],
    )
    return report


def _delete_files(names: list[str]) -> None:
    from django.core.files.storage import default_storage

    for name in names:
        with contextlib.suppress(OSError):
            default_storage.delete(name)


@transaction.atomic
def report_review(
    *, actor, report: ProgressReport, accept: bool, note: str = "", score: int | None = None
) -> ProgressReport:
    """The office accepts a report (its milestone is done; the task is done when every milestone
    is) or returns it with a reason (the milestone is open again). ``score`` (0–100) rates the
    milestone. Audited; the department is told."""
    _require_office(actor)
    task = _locked(report.task)
    report = ProgressReport.objects.select_for_update(no_key=True, of=("self",)).get(pk=report.pk)
    if report.status != ProgressReport.Status.SUBMITTED:
        raise Conflict(_("该报送已审核"), code="report_reviewed")
    note = _text(note, field="note", max_length=1000)
    if not accept and not note:
        message = _("退回须写明理由")
        raise ValidationFailed(message, code="reason_required", fields={"note": [message]})
    if score is not None and not (0 <= int(score) <= 100):
        raise ValidationFailed(fields={"score": [_("评分须在 0 到 100 之间")]})
    now = timezone.now()
    report.status = ProgressReport.Status.ACCEPTED if accept else ProgressReport.Status.RETURNED
    report.review_note, report.reviewed_by, report.reviewed_at = note, actor, now
    report.save(update_fields=["status", "review_note", "reviewed_by", "reviewed_at"])
    milestone = report.milestone
    if milestone is not None:
        if accept:
            milestone.status = Milestone.Status.ACCEPTED
            milestone.completed_at = report.submitted_at
            if score is not None:
                milestone.score = int(score)
        else:
            milestone.status = Milestone.Status.OPEN
        milestone.save(update_fields=["status", "completed_at", "score"])
    kind = TaskEvent.Kind.ACCEPTED if accept else TaskEvent.Kind.RETURNED
    what = milestone.title if milestone else _("进度报送")
    _event(task, kind, actor=actor, note=f"{what}{(':' + note) if note else ''}")
    _audit(actor, "report_review", task, report=report.pk, accepted=bool(accept), score=score)
    if accept and milestone is not None:
        milestones = list(task.milestones.values_list("status", flat=True))
        if milestones and all(s == Milestone.Status.ACCEPTED for s in milestones):
            task.status, task.completed_at = KeyTask.Status.COMPLETED, now
            task.save(update_fields=["status", "completed_at"])
            _event(task, TaskEvent.Kind.COMPLETED, actor=actor)
            _audit(actor, "task_complete", task, on_time=now.date() <= task.deadline)
    template = "oversight.report_accepted" if accept else "oversight.report_returned"
    _notify_people(
        task,
        [report.submitted_by],
        template=template,
        actor=actor,
        dedupe=f"review:{report.pk}",
        milestone=what,
        note=note,
    )
    return report


@transaction.atomic
def key_task_urge(*, actor, task: KeyTask, note: str = "") -> KeyTask:
    """催办: the office sends a message to the lead department's people (and the co-handlers'
    heads), counted on the task and kept in its timeline. Office only; audited."""
    _require_office(actor)
    task = _locked(task)
    if task.status != KeyTask.Status.ACTIVE:
        raise Conflict(_("任务已办结,无需催办"), code="task_completed")
    note = _text(note, field="note", max_length=1000)
    task.urge_count += 1
    task.save(update_fields=["urge_count"])
    _event(task, TaskEvent.Kind.URGED, actor=actor, note=note)
    _audit(actor, "task_urge", task, count=task.urge_count)
    _notify_departments(
        task,
        template="oversight.urged",
        actor=actor,
        dedupe=f"urge:{task.urge_count}",
        note=note or _("请加快推进并及时报送进度。"),
    )
    return task


@transaction.atomic
def key_task_rate(*, actor, task: KeyTask, score: int, note: str = "") -> KeyTask:
    """The office's rating of the task (0–100), which feeds the monthly ranking. Audited."""
    _require_office(actor)
    task = _locked(task)
    try:
        score = int(score)
    except (TypeError, ValueError):
        score = -1
    if not 0 <= score <= 100:
        raise ValidationFailed(fields={"score": [_("评分须在 0 到 100 之间")]})
    note = _text(note, field="note", max_length=500)
    before = task.score
    task.score, task.score_note = score, note
    task.save(update_fields=["score", "score_note"])
    _event(task, TaskEvent.Kind.RATED, actor=actor, note=f"{score} {note}".strip())
    _audit(actor, "task_rate", task, before=before, after=score)
    return task


# --- notifications and the daily sweep ---------------------------------------------------------


def _department_people(department: Department, roles=REPORT_ROLES) -> list:
    people = {}
    for role in roles:
        for user in users_with_role(role=role, department=department):
            people[user.pk] = user
    return list(people.values())


def _leaders() -> list:
    return [m.user for m in Member.objects.filter(role=Member.Role.LEADER, user__is_active=True).select_related("user")]


def _notify_people(task: KeyTask, people, *, template: str, actor, dedupe: str, **context) -> None:
    from yiwang.messaging.services import Ref, message_send_many

    people = [p for p in people if p is not None]
    if not people:
        return
    message_send_many(
        actor=actor,
        recipients=people,
        template_code=template,
        context={
            "number": task.number,
            "title": task.title,
            "deadline": task.deadline.isoformat(),
            "department_name": task.lead_department.name,
            **context,
        },
        ref=Ref("oversight.task", task.pk, f"/workbench/oversight/tasks/{task.pk}/"),
        dedupe_key=f"{template}:{task.pk}:{dedupe}",
    )


def _notify_departments(task: KeyTask, *, template: str, actor, dedupe: str, **context) -> None:
    people = {u.pk: u for u in _department_people(task.lead_department)}
    for department in task.co_departments.all():
        people.update({u.pk: u for u in _department_people(department, roles=("department_head",))})
    _notify_people(task, people.values(), template=template, actor=actor, dedupe=dedupe, **context)


def oversight_sweep(*, today: datetime.date | None = None) -> dict:
    """The daily job: for each open milestone of an active task, a reminder to the lead
    department when its deadline is within the yellow window (once per milestone), and an
    escalation to the department head and the city leaders once it is overdue (once per
    milestone); a task past its own deadline is escalated once too. Idempotent for a day."""
    today = today or timezone.localdate()
    calendar = working_calendar()
    horizon = calendar.add_working_days(today, yellow_working_days())
    reminded = escalated = 0
    tasks = KeyTask.objects.filter(status=KeyTask.Status.ACTIVE).select_related("lead_department")
    for task in tasks.prefetch_related("milestones"):
        with transaction.atomic():
            for milestone in task.milestones.all():
                if milestone.status == Milestone.Status.ACCEPTED:
                    continue
                if milestone.due_date < today:
                    escalated += _escalate(task, key=f"ms{milestone.pk}", what=milestone.title, due=milestone.due_date)
                elif milestone.due_date <= horizon and milestone.status == Milestone.Status.OPEN:
                    reminded += _remind(task, milestone)
            if task.deadline < today:
                escalated += _escalate(task, key="task", what=task.title, due=task.deadline)
    return {"reminded": reminded, "escalated": escalated}


def _already(task: KeyTask, kind: str, key: str) -> bool:
    return TaskEvent.objects.filter(task=task, kind=kind, note__startswith=f"[{key}]").exists()


def _remind(task: KeyTask, milestone: Milestone) -> int:
    key = f"ms{milestone.pk}"
    if _already(task, TaskEvent.Kind.REMINDED, key):
        return 0
    _event(task, TaskEvent.Kind.REMINDED, note=f"[{key}] {milestone.title}({milestone.due_date})")
    _audit(SYSTEM_ACTOR, "task_remind", task, milestone=milestone.pk)
    _notify_people(
        task,
        _department_people(task.lead_department),
        template="oversight.reminder",
        actor=SYSTEM_ACTOR,
        dedupe=key,
        milestone=milestone.title,
        due_date=milestone.due_date.isoformat(),
    )
    return 1


def _escalate(task: KeyTask, *, key: str, what: str, due: datetime.date) -> int:
    if _already(task, TaskEvent.Kind.ESCALATED, key):
        return 0
    _event(task, TaskEvent.Kind.ESCALATED, note=f"[{key}] {what}({due})")
    _audit(SYSTEM_ACTOR, "task_escalate", task, what=key)
    people = {u.pk: u for u in _department_people(task.lead_department, roles=("department_head",))}
    people.update({u.pk: u for u in _leaders()})
    _notify_people(
        task,
        people.values(),
        template="oversight.escalated",
        actor=SYSTEM_ACTOR,
        dedupe=f"escalate:{key}",
        milestone=what,
        due_date=due.isoformat(),
    )
    return 1
