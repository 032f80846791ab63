"""政务公开 and 意见征集 pages: thin views over ``services`` and ``selectors``.

Portal (``/publicity/``, public): search policy documents (the catalog's Chinese search) and
read one with its interpretation and Q&A; read a consultation's draft, its published comments
and, once published, the summary of what was adopted; comment when signed in.
Workbench (``/workbench/publicity/``, department admins): publish a document with its
interpretation and Q&A; moderate comments; publish the summary.
"""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from yiwang.catalog.selectors import administered_departments
from yiwang.core.errors import NotFound, ValidationFailed, YiwangError
from yiwang.core.masking import mask_name
from yiwang.publicity import selectors, services
from yiwang.publicity.models import Consultation, ConsultationComment

LATEST = 20


def _error_text(exc: YiwangError) -> str:
    parts = [str(exc.message)]
    for field_messages in exc.fields.values():
        for message in field_messages if isinstance(field_messages, list | tuple) else [field_messages]:
            if str(message) not in parts:
                parts.append(str(message))
    return " ".join(parts)


def _lines(text: str) -> list[tuple[str, str]]:
    """``标题|内容`` per line (the workbench form's Q&A field)."""
    pairs = []
    for line in (text or "").splitlines():
        if line.strip():
            left, _sep, right = line.partition("|")
            pairs.append((left.strip(), right.strip()))
    return pairs


# --- portal ---------------------------------------------------------------------------------


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    query = (request.GET.get("q") or "").strip()[:60]
    hits = selectors.document_search(query) if query else []
    context = {
        "q": query,
        "hits": hits,
        "latest": [] if query else list(selectors.documents_published()[:LATEST]),
        "consultations": list(selectors.consultations_public()[:LATEST]),
    }
    return render(request, "publicity/index.html", context)


@require_GET
def document(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        found = selectors.document_get_published(pk=pk)
    except NotFound as exc:
        raise Http404 from exc
    return render(request, "publicity/document.html", {"document": found})


def _consultation_context(consultation: Consultation) -> dict:
    comments = [
        {"author": mask_name(c.author.real_name or c.author.username), "comment": c}
        for c in selectors.comments_published(consultation=consultation)
    ]
    return {"consultation": consultation, "comments": comments, "open": services.is_open(consultation)}


@require_GET
def consultation(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        found = selectors.consultation_get_public(pk=pk)
    except NotFound as exc:
        raise Http404 from exc
    return render(request, "publicity/consultation.html", _consultation_context(found))


@login_required
@require_POST
def comment(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        found = selectors.consultation_get_public(pk=pk)
    except NotFound as exc:
        raise Http404 from exc
    try:
        services.comment_post(actor=request.user, consultation=found, body=request.POST.get("body", ""))
    except YiwangError as exc:
        context = {**_consultation_context(found), "error": _error_text(exc), "body": request.POST.get("body", "")}
        return render(request, "publicity/consultation.html", context, status=exc.status)
    messages.success(request, _("意见已提交,审核后公开。感谢您的参与。"))
    return redirect("publicity:consultation", pk=found.pk)


# --- workbench ------------------------------------------------------------------------------


@login_required
def workbench(request: HttpRequest) -> HttpResponse:
    """The actor's departments' consultations (with comments waiting) and the publishing form."""
    departments = list(administered_departments(actor=request.user).order_by("code")[:200])
    if not departments:
        raise Http404
    context = {"departments": departments, "consultations": list(selectors.consultations_for_admin(actor=request.user))}
    if request.method == "POST":
        try:
            department = next(d for d in departments if str(d.pk) == request.POST.get("department"))
        except StopIteration:
            context["error"] = _("请选择发文机关")
            return render(request, "publicity/workbench.html", {**context, "form": request.POST}, status=422)
        try:
            published = services.document_publish(
                actor=request.user,
                department=department,
                title=request.POST.get("title", ""),
                doc_number=request.POST.get("doc_number", ""),
                summary=request.POST.get("summary", ""),
                body=request.POST.get("body", ""),
                interpretations=[(request.POST.get("interpretation_title", ""), request.POST.get("interpretation", ""))]
                if request.POST.get("interpretation", "").strip()
                else [],
                questions=_lines(request.POST.get("questions", "")),
            )
        except YiwangError as exc:
            context["error"] = _error_text(exc)
            return render(request, "publicity/workbench.html", {**context, "form": request.POST}, status=exc.status)
        messages.success(request, _("政策文件及解读已发布。"))
        return redirect("publicity:document", pk=published.pk)
    return render(request, "publicity/workbench.html", context)


CONSULTATION_FIELDS = ("department", "title", "description", "draft_text", "opens_on", "closes_on")


def _date(value: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat((value or "").strip())
    except ValueError:
        return None


@login_required
def consultation_new(request: HttpRequest) -> HttpResponse:
    """Open a consultation (意见征集) in a department the actor administers: each error under its
    field, what was typed kept; nothing stored until every field is right."""
    departments = list(administered_departments(actor=request.user).order_by("code")[:200])
    if not departments:
        raise Http404
    values = dict.fromkeys(CONSULTATION_FIELDS, "")
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        values = {name: request.POST.get(name, "") for name in CONSULTATION_FIELDS}
        department = next((d for d in departments if str(d.pk) == values["department"]), None)
        opens_on, closes_on = _date(values["opens_on"]), _date(values["closes_on"])
        if department is None:
            errors["department"] = [_("请选择征集部门")]
        for name, parsed in (("opens_on", opens_on), ("closes_on", closes_on)):
            if parsed is None:
                errors[name] = [_("请填写日期(年-月-日)")]
        if errors:  # the service is not asked: name the empty text fields too, all at once
            errors.update(_text_errors(values))
            status = 422
        else:
            try:
                created = services.consultation_open(
                    actor=request.user,
                    department=department,
                    title=values["title"],
                    description=values["description"],
                    draft_text=values["draft_text"],
                    opens_on=opens_on,
                    closes_on=closes_on,
                )
            except YiwangError as exc:
                for name, problems in exc.fields.items():
                    errors[name] = [str(p) for p in (problems if isinstance(problems, list | tuple) else [problems])]
                if not exc.fields:
                    errors["form"] = [str(exc.message)]
                status = exc.status
            else:
                messages.success(request, _("意见征集已发布。"))
                return redirect("publicity:moderation", pk=created.pk)
    context = {"departments": departments, "values": values, "errors": errors}
    return render(request, "publicity/consultation_new.html", context, status=status)


def _text_errors(values: dict) -> dict[str, list[str]]:
    """The required text fields left empty, when the dates or department stopped the service
    from being asked: every error shows at once."""
    labels = {"title": _("标题"), "draft_text": _("草案全文")}
    return {
        name: [_("请填写%(label)s") % {"label": label}] for name, label in labels.items() if not values[name].strip()
    }


@login_required
@require_GET
def moderation(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        found = selectors.consultation_get_for_admin(actor=request.user, pk=pk)
    except NotFound as exc:
        raise Http404 from exc
    comments = list(found.comments.select_related("author"))
    for c in comments:
        c.masked_author = mask_name(c.author.real_name or c.author.username)
    return render(request, "publicity/moderation.html", {"consultation": found, "comments": comments})


@login_required
@require_POST
def moderate(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        found = selectors.comment_get_for_admin(actor=request.user, pk=pk)
    except NotFound as exc:
        raise Http404 from exc
    try:
        services.comment_moderate(
            actor=request.user,
            comment=found,
            publish=request.POST.get("decision") == "publish",
            note=request.POST.get("note", ""),
        )
    except YiwangError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("已处理。"))
    return redirect("publicity:moderation", pk=found.consultation_id)


@login_required
@require_POST
def summarize(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        found = selectors.consultation_get_for_admin(actor=request.user, pk=pk)
    except NotFound as exc:
        raise Http404 from exc
    decisions = {}
    for c in found.comments.filter(status=ConsultationComment.Status.PUBLISHED):
        choice = request.POST.get(f"adopted_{c.pk}")
        adopted = {"yes": True, "no": False}.get(choice)
        decisions[c.pk] = (adopted, request.POST.get(f"response_{c.pk}", ""))
    try:
        services.consultation_summarize(
            actor=request.user, consultation=found, summary=request.POST.get("summary", ""), decisions=decisions
        )
    except ValidationFailed as exc:
        messages.error(request, _error_text(exc))
        return redirect("publicity:moderation", pk=found.pk)
    except YiwangError as exc:
        messages.error(request, _error_text(exc))
        return redirect("publicity:moderation", pk=found.pk)
    messages.success(request, _("采纳情况说明已公布。"))
    return redirect("publicity:consultation", pk=found.pk)
