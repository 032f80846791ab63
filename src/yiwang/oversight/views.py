"""Pages of key-task oversight (staff only): the task list with its lights and filters, a task
with its Gantt-like timeline (inline SVG), the report form, the office's actions (new task,
milestone, review, urge, rate) and the monthly ranking with its Excel export. Thin: every step
calls a service; a task the viewer may not see is a 404."""

from __future__ import annotations

import io

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yiwang.core.errors import NotFound, YiwangError
from yiwang.identity.models import Department
from yiwang.oversight import selectors, services
from yiwang.oversight.models import KeyTask, ProgressReport


def _staff(request: HttpRequest) -> None:
    if getattr(request.user, "kind", "") != "staff" and not request.user.is_superuser:
        raise Http404


def _task(request: HttpRequest, task_id: int) -> KeyTask:
    _staff(request)
    try:
        return selectors.task_get(actor=request.user, id=task_id)
    except NotFound as exc:
        raise Http404 from exc


def _errors(exc: YiwangError) -> dict[str, list[str]]:
    fields = {name: [str(m) for m in msgs] for name, msgs in exc.fields.items()}
    return fields or {"form": [str(exc.message)]}


@login_required
def task_list(request: HttpRequest) -> HttpResponse:
    _staff(request)
    filters = {
        "light": request.GET.get("light", "")[:10],
        "source_kind": request.GET.get("source_kind", "")[:12],
        "department": request.GET.get("department", "")[:12],
        "q": request.GET.get("q", "")[:100],
    }
    tasks = selectors.task_list(
        actor=request.user,
        light=filters["light"] or None,
        source_kind=filters["source_kind"] or None,
        department=filters["department"] or None,
        search=filters["q"],
    )
    context = {
        "tasks": tasks[:200],
        "filters": filters,
        "counts": selectors.task_light_counts(actor=request.user),
        "lights": selectors.LIGHT_LABELS,
        "source_kinds": KeyTask.SourceKind.choices,
        "is_office": services.is_office(request.user),
    }
    if request.htmx:
        return render(request, "oversight/_task_table.html", context)
    return render(request, "oversight/list.html", context)


def _departments():
    return Department.objects.filter(is_active=True, level__lte=Department.Level.COUNTY).order_by("path")


@login_required
def task_new(request: HttpRequest) -> HttpResponse:
    _staff(request)
    if not services.is_office(request.user):
        raise Http404
    errors: dict = {}
    data = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        milestones = []
        titles, dues, evidences = (request.POST.getlist(k) for k in ("m_title", "m_due_date", "m_evidence"))
        for i, title in enumerate(titles):
            if title.strip():
                due = dues[i] if i < len(dues) else ""
                evidence = evidences[i].replace(",", ",").split(",") if i < len(evidences) else []
                milestones.append(services.MilestoneSpec(title, due, [e for e in evidence if e.strip()]))
        try:
            task = services.key_task_create(
                actor=request.user,
                title=request.POST.get("title", ""),
                source_kind=request.POST.get("source_kind", ""),
                source_ref=request.POST.get("source_ref", ""),
                source_text=request.POST.get("source_text", ""),
                lead_department=request.POST.get("lead_department", ""),
                co_departments=[v for v in request.POST.getlist("co_departments") if v],
                deadline=request.POST.get("deadline", ""),
                milestones=milestones,
            )
        except YiwangError as exc:
            errors = _errors(exc)
        else:
            return redirect("oversight:detail", task_id=task.pk)
    context = {
        "data": data,
        "errors": errors,
        "rows": range(4),
        "departments": _departments(),
        "source_kinds": KeyTask.SourceKind.choices,
    }
    return render(request, "oversight/new.html", context, status=422 if errors else 200)


def _detail_context(request: HttpRequest, task: KeyTask, **extra) -> dict:
    today = timezone.localdate()
    horizon = selectors.yellow_horizon(today)
    milestones = list(task.milestones.all())
    for m in milestones:
        m.light = selectors.milestone_light(m, today=today, horizon=horizon)
    return {
        "task": task,
        "milestones": milestones,
        "open_milestones": [m for m in milestones if m.status == "open"],
        "co_departments": list(task.co_departments.order_by("pk")),
        "reports": task.reports.select_related("department", "milestone", "submitted_by").prefetch_related(
            "attachments"
        ),
        "events": task.events.select_related("actor").order_by("-created_at", "-pk")[:50],
        "timeline": selectors.task_timeline(task=task, today=today),
        "is_office": services.is_office(request.user),
        "can_report": task.status == "active" and services.reporting_department(request.user, task) is not None,
        "lights": selectors.LIGHT_LABELS,
        "errors": {},
        **extra,
    }


@login_required
def task_detail(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _task(request, task_id)
    return render(request, "oversight/detail.html", _detail_context(request, task))


@login_required
def report(request: HttpRequest, task_id: int) -> HttpResponse:
    """The report form (晒进度): one file input per evidence the chosen milestone requires."""
    task = _task(request, task_id)
    if services.reporting_department(request.user, task) is None:
        return render(request, "403.html", status=403)
    milestones = [m for m in task.milestones.all() if m.status == "open"]
    chosen = request.POST.get("milestone_id") or request.GET.get("milestone_id") or ""
    milestone = next((m for m in milestones if str(m.pk) == chosen), None)
    errors: dict = {}
    if request.method == "POST" and not request.POST.get("refresh"):
        uploads = []
        required = list(milestone.evidence) if milestone else []
        for index, name in enumerate(required):
            for f in request.FILES.getlist(services.evidence_field(index)):
                uploads.append(services.EvidenceFile(name, f.name or "", f.read(services.max_attachment_bytes() + 1)))
        for f in request.FILES.getlist("files"):
            uploads.append(services.EvidenceFile("", f.name or "", f.read(services.max_attachment_bytes() + 1)))
        try:
            services.report_submit(
                actor=request.user,
                task=task,
                summary=request.POST.get("summary", ""),
                milestone_id=milestone.pk if milestone else (chosen or None),
                files=uploads,
            )
        except NotFound as exc:
            raise Http404 from exc
        except YiwangError as exc:
            errors = _errors(exc)
        else:
            return redirect("oversight:detail", task_id=task.pk)
    evidence = [(services.evidence_field(i), name) for i, name in enumerate(milestone.evidence if milestone else [])]
    context = {
        "task": task,
        "milestones": milestones,
        "milestone": milestone,
        "evidence": evidence,
        "summary": request.POST.get("summary", ""),
        "errors": errors,
    }
    template = "oversight/_report_form.html" if request.htmx else "oversight/report.html"
    return render(request, template, context, status=422 if errors else 200)


def _office_action(request: HttpRequest, task: KeyTask, run) -> HttpResponse:
    try:
        run()
    except YiwangError as exc:
        context = _detail_context(request, selectors.task_get(actor=request.user, id=task.pk), errors=_errors(exc))
        return render(request, "oversight/detail.html", context, status=exc.status)
    return redirect("oversight:detail", task_id=task.pk)


@login_required
@require_POST
def milestone_add(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _task(request, task_id)
    evidence = request.POST.get("evidence", "").replace(",", ",").split(",")
    return _office_action(
        request,
        task,
        lambda: services.milestone_add(
            actor=request.user,
            task=task,
            title=request.POST.get("title", ""),
            due_date=request.POST.get("due_date", ""),
            evidence=[e for e in evidence if e.strip()],
        ),
    )


@login_required
@require_POST
def urge(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _task(request, task_id)
    return _office_action(
        request, task, lambda: services.key_task_urge(actor=request.user, task=task, note=request.POST.get("note", ""))
    )


@login_required
@require_POST
def rate(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _task(request, task_id)
    return _office_action(
        request,
        task,
        lambda: services.key_task_rate(
            actor=request.user, task=task, score=request.POST.get("score", ""), note=request.POST.get("note", "")
        ),
    )


@login_required
@require_POST
def review(request: HttpRequest, report_id: int) -> HttpResponse:
    _staff(request)
    try:
        found: ProgressReport = selectors.report_get(actor=request.user, id=report_id)
    except NotFound as exc:
        raise Http404 from exc
    raw_score = request.POST.get("score", "").strip()
    score = int(raw_score) if raw_score.isdigit() and len(raw_score) < 4 else (None if not raw_score else -1)
    return _office_action(
        request,
        found.task,
        lambda: services.report_review(
            actor=request.user,
            report=found,
            accept=request.POST.get("decision") == "accept",
            note=request.POST.get("note", ""),
            score=score,
        ),
    )


@login_required
def attachment(request: HttpRequest, attachment_id: int) -> HttpResponse:
    _staff(request)
    try:
        found = selectors.attachment_get(actor=request.user, id=attachment_id)
    except NotFound as exc:
        raise Http404 from exc
    extension = found.file.name.rsplit(".", 1)[-1]
    response = FileResponse(
        found.file.open("rb"), content_type=found.content_type, filename=f"{found.evidence}.{extension}"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def ranking(request: HttpRequest) -> HttpResponse:
    _staff(request)
    month, rows = selectors.department_ranking(actor=request.user, month=request.GET.get("month"))
    return render(request, "oversight/ranking.html", {"month": month, "rows": rows})


@login_required
def ranking_xlsx(request: HttpRequest) -> HttpResponse:
    _staff(request)
    from openpyxl import Workbook

    month, rows = selectors.department_ranking(actor=request.user, month=request.GET.get("month"))
    book = Workbook()
    sheet = book.active
    sheet.title = month
    sheet.append(
        [
            _("排名"),
            _("牵头部门"),
            _("任务数"),
            _("当月到期节点"),
            _("按时完成"),
            _("按时完成率"),
            _("绿灯"),
            _("黄灯"),
            _("红灯"),
            _("已办结"),
            _("平均评分"),
            _("综合得分"),
        ]
    )
    for r in rows:
        sheet.append(
            [
                r.rank,
                r.department,
                r.tasks,
                r.due,
                r.on_time,
                r.on_time_rate,
                r.lights["green"],
                r.lights["yellow"],
                r.lights["red"],
                r.lights["done"],
                r.average_score,
                r.points,
            ]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="oversight-ranking-{month}.xlsx"'
    return response
