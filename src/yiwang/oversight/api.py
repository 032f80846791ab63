"""Key-task oversight endpoints of the JSON API, mounted at /api/v1/oversight/: the tasks the
caller may see with their computed light, one task with its milestones and reports, and the
office's and departments' steps (create, add a milestone, report progress with evidence files,
review, urge, rate). A task the caller may not see answers 404, exactly like a missing one."""

from datetime import date, datetime

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Router, Schema
from ninja.decorators import decorate_view
from ninja.files import UploadedFile
from ninja.responses import Status as Respond

from yiwang.core.api_errors import ErrorOut
from yiwang.core.errors import ValidationFailed
from yiwang.identity.auth import api_auth, check_before_body
from yiwang.oversight import selectors, services
from yiwang.oversight.models import KeyTask

router = Router(tags=["oversight"], auth=api_auth)
READ = {401: ErrorOut, 404: ErrorOut}
WRITE = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class MilestoneIn(Schema):
    title: str = Field(max_length=200)
    due_date: date = Field(description="No later than the task's deadline")
    evidence: list[str] = Field([], max_length=10, description="Names of the attachments a report must carry")


class TaskIn(Schema):
    title: str = Field(max_length=200)
    source_kind: str = Field(description="instruction 批示件 | meeting 会议议定事项 | project 重点项目")
    source_ref: str = Field("", max_length=100, description="文号, e.g. 市领导批示〔2026〕12号")
    source_text: str = Field("", max_length=4000)
    lead_department: str = Field(max_length=40, description="Department id or code")
    co_departments: list[str] = Field([], max_length=20, description="Department ids or codes")
    deadline: date
    milestones: list[MilestoneIn] = Field([], max_length=30)


class MilestoneOut(Schema):
    id: int
    title: str
    due_date: date
    evidence: list[str]
    status: str
    light: str = Field(description="green | yellow | red | done")
    score: int | None
    completed_at: datetime | None


class AttachmentOut(Schema):
    id: int
    evidence: str
    content_type: str
    size: int
    sm3: str


class ReportOut(Schema):
    id: int
    task_id: int
    milestone_id: int | None
    department: str
    summary: str
    status: str = Field(description="submitted | accepted | returned")
    review_note: str
    submitted_at: datetime
    reviewed_at: datetime | None
    attachments: list[AttachmentOut]


class KeyTaskOut(Schema):
    id: int
    number: str
    title: str
    source_kind: str
    source_ref: str
    lead_department: str
    deadline: date
    status: str
    light: str = Field(description="green | yellow | red | done (computed, never stored)")
    score: int | None
    urge_count: int


class TaskDetailOut(KeyTaskOut):
    source_text: str
    co_departments: list[str]
    milestones: list[MilestoneOut]
    reports: list[ReportOut]


class ReviewIn(Schema):
    accept: bool
    note: str = Field("", max_length=1000, description="Required when returning")
    score: int | None = Field(None, ge=0, le=100, description="Rating of the milestone")


class UrgeIn(Schema):
    note: str = Field("", max_length=1000)


class RateIn(Schema):
    score: int = Field(ge=0, le=100)
    note: str = Field("", max_length=500)


class LightCountsOut(Schema):
    green: int
    yellow: int
    red: int
    done: int


def _task_out(task: KeyTask) -> dict:
    return {
        "id": task.pk,
        "number": task.number,
        "title": task.title,
        "source_kind": task.source_kind,
        "source_ref": task.source_ref,
        "lead_department": task.lead_department.code,
        "deadline": task.deadline,
        "status": task.status,
        "light": task.light,
        "score": task.score,
        "urge_count": task.urge_count,
    }


def _report_out(report) -> dict:
    return {
        "id": report.pk,
        "task_id": report.task_id,
        "milestone_id": report.milestone_id,
        "department": report.department.code,
        "summary": report.summary,
        "status": report.status,
        "review_note": report.review_note,
        "submitted_at": report.submitted_at,
        "reviewed_at": report.reviewed_at,
        "attachments": [
            {"id": a.pk, "evidence": a.evidence, "content_type": a.content_type, "size": a.size, "sm3": a.sm3}
            for a in report.attachments.all()
        ],
    }


def _detail(request, task_id: int) -> dict:
    from django.utils import timezone

    task = selectors.task_get(actor=request.auth, id=task_id)
    today = timezone.localdate()
    horizon = selectors.yellow_horizon(today)
    return {
        **_task_out(task),
        "source_text": task.source_text,
        "co_departments": [d.code for d in task.co_departments.order_by("pk")],
        "milestones": [
            {
                "id": m.pk,
                "title": m.title,
                "due_date": m.due_date,
                "evidence": m.evidence,
                "status": m.status,
                "light": selectors.milestone_light(m, today=today, horizon=horizon),
                "score": m.score,
                "completed_at": m.completed_at,
            }
            for m in task.milestones.all()
        ],
        "reports": [
            _report_out(r)
            for r in task.reports.select_related("department").prefetch_related("attachments").order_by("-pk")[:100]
        ],
    }


@router.get("/tasks", response={200: list[KeyTaskOut], **READ}, summary="Key tasks I may see, nearest deadline first")
def oversight_tasks(request: HttpRequest, light: str = "", source_kind: str = ""):
    query = selectors.task_list(actor=request.auth, light=light[:10] or None, source_kind=source_kind[:12] or None)
    return [_task_out(t) for t in query[:200]]


@router.get("/lights", response={200: LightCountsOut, 401: ErrorOut}, summary="Counts of my tasks per light")
def oversight_light_counts(request: HttpRequest):
    return selectors.task_light_counts(actor=request.auth)


@router.get(
    "/tasks/{int:task_id}", response={200: TaskDetailOut, **READ}, summary="One task with milestones and reports"
)
def oversight_task(request: HttpRequest, task_id: int):
    return _detail(request, task_id)


@router.post("/tasks", response={201: TaskDetailOut, **WRITE}, summary="Create a key task (督查室)")
def oversight_task_create(request: HttpRequest, payload: TaskIn):
    task = services.key_task_create(
        actor=request.auth,
        title=payload.title,
        source_kind=payload.source_kind,
        source_ref=payload.source_ref,
        source_text=payload.source_text,
        lead_department=payload.lead_department,
        co_departments=payload.co_departments,
        deadline=payload.deadline,
        milestones=[services.MilestoneSpec(m.title, m.due_date, m.evidence) for m in payload.milestones],
    )
    return Respond(201, _detail(request, task.pk))


@router.post(
    "/tasks/{int:task_id}/milestones", response={201: MilestoneOut, **WRITE}, summary="Add a milestone (督查室)"
)
def oversight_milestone_add(request: HttpRequest, task_id: int, payload: MilestoneIn):
    from django.utils import timezone

    task = selectors.task_get(actor=request.auth, id=task_id)
    m = services.milestone_add(
        actor=request.auth, task=task, title=payload.title, due_date=payload.due_date, evidence=payload.evidence
    )
    today = timezone.localdate()
    light = selectors.milestone_light(m, today=today, horizon=selectors.yellow_horizon(today))
    out = {"id": m.pk, "title": m.title, "due_date": m.due_date, "evidence": m.evidence, "status": m.status}
    return Respond(201, {**out, "light": light, "score": m.score, "completed_at": m.completed_at})


def _task_known(request: HttpRequest, user, task_id: int, **_path) -> None:
    """Before the files are read: the caller can see the task."""
    selectors.task_get(actor=user, id=task_id)


@router.post(
    "/tasks/{int:task_id}/reports", response={201: ReportOut, **WRITE}, summary="Report progress (晒进度, multipart)"
)
@decorate_view(check_before_body(_task_known))
def oversight_report_submit(
    request: HttpRequest,
    task_id: int,
    summary: Form[str],
    milestone_id: Form[int | None] = None,
    files: File[list[UploadedFile]] = None,
    evidence: Form[list[str]] = None,
):
    """``files`` with, in the same order, ``evidence``: the name of the milestone's required
    evidence each file answers (``GET /tasks/{id}`` lists them). Every required evidence needs a
    file; an error names it under ``fields.evidence_<index>``. PDF, JPEG, PNG or OFD by content."""
    task = selectors.task_get(actor=request.auth, id=task_id)
    files, evidence = files or [], evidence or []
    if len(evidence) not in (0, len(files)):
        message = _("evidence 的个数须与文件个数一致")
        raise ValidationFailed(message, code="invalid_evidence", fields={"evidence": [message]})
    limit = services.max_attachment_bytes()
    uploads = [
        services.EvidenceFile(
            evidence=evidence[i] if evidence else "", filename=f.name or "", content=f.read(limit + 1)
        )
        for i, f in enumerate(files)
    ]
    report = services.report_submit(
        actor=request.auth, task=task, summary=summary, milestone_id=milestone_id, files=uploads
    )
    return Respond(201, _report_out(report))


@router.post(
    "/reports/{int:report_id}/review", response={200: ReportOut, **WRITE}, summary="Accept or return a report (督查室)"
)
def oversight_report_review(request: HttpRequest, report_id: int, payload: ReviewIn):
    report = selectors.report_get(actor=request.auth, id=report_id)
    report = services.report_review(
        actor=request.auth, report=report, accept=payload.accept, note=payload.note, score=payload.score
    )
    return _report_out(report)


@router.post(
    "/tasks/{int:task_id}/urge", response={200: KeyTaskOut, **WRITE}, summary="Urge the lead department (催办)"
)
def oversight_task_urge(request: HttpRequest, task_id: int, payload: UrgeIn):
    task = services.key_task_urge(
        actor=request.auth, task=selectors.task_get(actor=request.auth, id=task_id), note=payload.note
    )
    return _task_out(selectors.task_get(actor=request.auth, id=task.pk))


@router.post("/tasks/{int:task_id}/rate", response={200: KeyTaskOut, **WRITE}, summary="Rate the task 0–100 (督查室)")
def oversight_task_rate(request: HttpRequest, task_id: int, payload: RateIn):
    task = selectors.task_get(actor=request.auth, id=task_id)
    services.key_task_rate(actor=request.auth, task=task, score=payload.score, note=payload.note)
    return _task_out(selectors.task_get(actor=request.auth, id=task_id))
