"""Pages of supervision. Public (一公开, mounted at /supervision/): item lists, plans with their
published files, the verification page, published results, the scoring rule and measures.
Workbench (mounted at /workbench/supervision/): an inspector's tasks, phone-friendly. Credit
(signed in): an entity's grade with the explanation of every point."""

import datetime
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from yiwang.core.errors import NotFound, ValidationFailed, YiwangError
from yiwang.supervision import drawing, exports, grading, mu, selectors, services
from yiwang.supervision.models import Inspection


def index(request: HttpRequest) -> HttpResponse:
    items = list(selectors.item_list())
    departments: dict[str, list] = {}
    for item in items:
        departments.setdefault(item.department.name, []).append(item)
    return render(
        request,
        "supervision/index.html",
        {
            "departments": departments,
            "plans": selectors.plan_list()[:50],
            "results": selectors.results_published()[:20],
        },
    )


def _plan_or_404(code: str):
    try:
        return selectors.plan_get(code=code)
    except NotFound:
        raise Http404 from None


def plan_detail(request: HttpRequest, code: str) -> HttpResponse:
    plan = _plan_or_404(code)
    tasks = plan.inspections.order_by("order").prefetch_related("inspectors") if plan.result_document else []
    check = None
    if plan.result_document:
        check = verify_documents(plan.plan_document.encode(), plan.result_document.encode())
    can_draw = (
        plan.status == "published"
        and request.user.is_authenticated
        and plan.lead_department_id in {d.pk for d in _managed(request)}
    )
    return render(
        request, "supervision/plan.html", {"plan": plan, "tasks": tasks, "check": check, "can_draw": can_draw}
    )


def plan_file(request: HttpRequest, code: str, which: str) -> HttpResponse:
    plan = _plan_or_404(code)
    body = plan.plan_document if which == "plan" else plan.result_document
    if not body:
        raise Http404
    response = HttpResponse(body.encode(), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{plan.code}-{which}.json"'
    return response


def verify_documents(plan_bytes: bytes, result_bytes: bytes) -> dict:
    """The checks of scripts/verify_draw.py, on any two files (uploaded or published)."""
    try:
        plan, result = json.loads(plan_bytes), json.loads(result_bytes)
        if result.get("plan_digest") != drawing.sm3(plan_bytes).hex():
            return {"ok": False, "message": _("结果文件所指的计划摘要与该计划文件的 SM3 不符")}
        expected = drawing.draw(plan, result.get("seed", ""), result.get("public_entropy", ""))
        drawing.check_openings(expected, result.get("openings", {}))
    except drawing.DrawInputError as exc:
        return {"ok": False, "message": str(services.DRAW_ERRORS.get(exc.code, exc.code))}
    except (ValueError, KeyError, TypeError, AttributeError):
        return {"ok": False, "message": _("文件格式不正确")}
    if expected != result.get("selected"):
        return {"ok": False, "message": _("公示的抽取结果与按公示输入重新计算的结果不一致")}
    return {"ok": True, "message": _("一致:共 %(n)d 户,与按公示输入重新计算的结果完全相同") % {"n": len(expected)}}


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    check = None
    if request.method == "POST":
        plan_file, result_file = request.FILES.get("plan"), request.FILES.get("result")
        if not plan_file or not result_file or plan_file.size > 200_000_000 or result_file.size > 50_000_000:
            check = {"ok": False, "message": _("请上传计划文件和结果文件")}
        else:
            check = verify_documents(plan_file.read(), result_file.read())
    return render(request, "supervision/verify.html", {"check": check})


def results(request: HttpRequest) -> HttpResponse:
    return render(request, "supervision/results.html", {"results": selectors.results_published()[:500]})


def rule(request: HttpRequest) -> HttpResponse:
    version, rule = selectors.rule_current()
    caps = rule.get("caps") or {}
    points = [
        {"key": key, "label": grading.REASONS.get(key, key), "points": value, "cap": caps.get(key)}
        for key, value in rule["points"].items()
    ]
    return render(
        request,
        "supervision/rule.html",
        {
            "version": version,
            "rule": rule,
            "points": points,
            "measures": selectors.measure_list(),
            "versions": selectors.rule_versions(),
        },
    )


@login_required
def grade(request: HttpRequest, uscc: str) -> HttpResponse:
    try:
        row = selectors.grade_get_for_actor(actor=request.user, uscc=uscc)
    except NotFound:
        raise Http404 from None
    measures = selectors.credit_measures_for(entity_code=row.uscc)
    own = request.user.enterprise_uscc == row.uscc
    repairs = selectors.repairs_for_actor(actor=request.user).filter(uscc=row.uscc)
    context = {"grade": row, "measures": measures, "own": own, "repairs": repairs}
    return render(request, "supervision/grade.html", context)


# ------------------------------------------------------------------------------------ workbench


@login_required
def tasks(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "supervision/tasks.html",
        {
            "me": selectors.inspector_of(actor=request.user),
            "tasks": selectors.inspection_list_for_actor(actor=request.user),
            "manages_inspectors": request.user.is_superuser or _managed(request).exists(),
        },
    )


def _date(value: str):
    try:
        return datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@login_required
@require_http_methods(["GET", "POST"])
def task(request: HttpRequest, inspection_id: int) -> HttpResponse:
    try:
        row = selectors.inspection_get_for_actor(actor=request.user, id=inspection_id)
    except NotFound:
        raise Http404 from None
    errors = None
    items = [c for i in row.plan.items.all() for c in i.checklist]
    if request.method == "POST":
        action = request.POST.get("action", "record")
        try:
            if action == "record":
                checklist = [
                    {"item": c, "ok": request.POST.get(f"ok_{n}") == "1", "note": request.POST.get(f"note_{n}", "")}
                    for n, c in enumerate(items)
                ]
                services.inspection_record(
                    actor=request.user,
                    inspection_id=row.pk,
                    result=request.POST.get("result", ""),
                    findings=request.POST.get("findings", ""),
                    checklist=checklist,
                    inspected_on=_date(request.POST.get("inspected_on", "")),
                    rectify_by=_date(request.POST.get("rectify_by", "")),
                )
            elif action == "photo" and request.FILES.get("photo"):
                services.inspection_photo_add(
                    actor=request.user, inspection_id=row.pk, content=request.FILES["photo"].read(11 * 1024 * 1024)
                )
            elif action == "publish":
                services.inspection_publish(actor=request.user, inspection_id=row.pk)
            elif action == "follow_up":
                services.inspection_follow_up(
                    actor=request.user,
                    inspection_id=row.pk,
                    rectified_on=_date(request.POST.get("rectified_on", "")) or timezone.localdate(),
                    note=request.POST.get("follow_up", ""),
                )
            return redirect("supervision_workbench:task", inspection_id=row.pk)
        except YiwangError as exc:
            errors = exc
    done = {c["item"]: c for c in row.checklist}
    return render(
        request,
        "supervision/task.html",
        {
            "task": row,
            "items": [(n, c, done.get(c)) for n, c in enumerate(items)],
            "results": Inspection.Result.choices,
            "errors": errors,
            "photos": row.photos.all(),
        },
    )


def mu_list(request: HttpRequest, year: int) -> HttpResponse:
    try:
        evaluation = selectors.mu_evaluation_get_published(year=year)
    except NotFound:
        raise Http404 from None
    return render(
        request,
        "supervision/mu.html",
        {"evaluation": evaluation, "results": evaluation.results.all(), "indicators": mu.INDICATORS},
    )


def mu_xlsx(request: HttpRequest, year: int) -> HttpResponse:
    try:
        evaluation = selectors.mu_evaluation_get_published(year=year)
    except NotFound:
        raise Http404 from None
    response = HttpResponse(
        exports.mu_evaluation_xlsx(evaluation),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="mu-{year}.xlsx"'
    return response


# ------------------------------------------------------------------------- plans (managers)


def _managed(request: HttpRequest):
    from yiwang.identity.models import Role
    from yiwang.identity.selectors import departments_for_actor

    heads = departments_for_actor(actor=request.user, role=Role.DEPARTMENT_HEAD)
    admins = departments_for_actor(actor=request.user, role=Role.DEPARTMENT_ADMIN)
    return (heads | admins).distinct().order_by("code")


def _int(value: str):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@login_required
@require_http_methods(["GET", "POST"])
def plan_new(request: HttpRequest) -> HttpResponse:
    """Publish a plan (head or admin of the lead department); the seed is shown ONCE."""
    managed = list(_managed(request))
    if not managed:
        raise Http404
    items = list(selectors.item_list())
    errors, made = None, None
    if request.method == "POST":
        lead = next((d for d in managed if str(d.pk) == request.POST.get("lead_department")), None)
        chosen = [i for i in items if str(i.pk) in request.POST.getlist("items")]
        others = {i.department for i in chosen if lead is None or i.department_id != lead.pk}
        ratios = {g: _int(request.POST.get(f"ratio_{g}", "")) for g in drawing.GRADES}
        try:
            if lead is None:
                raise ValidationFailed(fields={"lead_department": [_("请选择牵头部门")]})
            made = services.plan_publish(
                actor=request.user,
                code=request.POST.get("code", "").strip(),
                title=request.POST.get("title", "").strip(),
                lead_department=lead,
                departments=sorted(others, key=lambda d: d.code),
                items=chosen,
                ratios_bp=ratios,
                period=request.POST.get("period", "").strip(),
            )
        except YiwangError as exc:
            errors = exc
    return render(
        request,
        "supervision/plan_new.html",
        {
            "managed": managed,
            "items": items,
            "errors": errors,
            "made": made,
            "ratios": services.DEFAULT_RATIOS_BP,
            "grades": drawing.GRADES,
        },
    )


@login_required
@require_POST
def plan_draw(request: HttpRequest, code: str) -> HttpResponse:
    plan = _plan_or_404(code)
    if plan.lead_department_id not in {d.pk for d in _managed(request)}:
        raise Http404
    try:
        services.plan_draw(
            actor=request.user,
            plan_id=plan.pk,
            seed=request.POST.get("seed", ""),
            public_entropy=request.POST.get("public_entropy", "").strip(),
        )
    except YiwangError as exc:
        return render(
            request, "supervision/plan.html", {"plan": plan, "tasks": [], "check": None, "draw_error": exc}, status=422
        )
    return redirect("supervision:plan", code=plan.code)


@login_required
@require_POST
def repair_apply(request: HttpRequest, uscc: str) -> HttpResponse:
    """The enterprise's agent applies for 信用修复 of one record from its grade page."""
    try:
        row = selectors.grade_get_for_actor(actor=request.user, uscc=uscc)
    except NotFound:
        raise Http404 from None
    try:
        services.credit_repair_apply(
            actor=request.user,
            uscc=row.uscc,
            record_number=request.POST.get("record_number", ""),
            reason=request.POST.get("reason", ""),
        )
    except NotFound:
        raise Http404 from None
    except YiwangError as exc:
        measures = selectors.credit_measures_for(entity_code=row.uscc)
        context = {"grade": row, "measures": measures, "repair_error": exc, "own": True}
        return render(request, "supervision/grade.html", context, status=422)
    return redirect("supervision:grade", uscc=row.uscc)


# ------------------------------------------------------------- 执法资格 (the bureau's admin)

QUALIFICATION_FIELDS = ("kind", "certificate_number", "issued_by", "valid_from", "valid_to")


def _field_errors(exc: YiwangError) -> dict[str, list]:
    return {k: v if isinstance(v, list | tuple) else [v] for k, v in exc.fields.items()}


def _require_inspector_manager(request: HttpRequest) -> None:
    """The page is the heads' and administrators' of departments; for anyone else it is missing."""
    if not (request.user.is_superuser or _managed(request).exists()):
        raise Http404


@login_required
@require_http_methods(["GET"])
def inspectors(request: HttpRequest) -> HttpResponse:
    """执法检查人员 of my departments with their 执法资格; those ending within 30 days marked."""
    _require_inspector_manager(request)
    today = timezone.localdate()
    rows = []
    for inspector in selectors.inspectors_managed_by(actor=request.user).order_by(
        "department__code", "certificate_number"
    )[:2000]:
        qualifications = [
            {"q": q, "status": selectors.qualification_status(q, today), "days_left": (q.valid_to - today).days}
            for q in inspector.qualifications.all()
        ]
        rows.append({"inspector": inspector, "qualifications": qualifications})
    expiring = sum(1 for r in rows for q in r["qualifications"] if q["status"] == "expiring")
    return render(
        request,
        "supervision/inspectors.html",
        {"rows": rows, "expiring": expiring, "days": selectors.EXPIRING_DAYS, "today": today},
    )


def _qualification_form(request, *, inspector, qualification=None, values=None, errors=None, status=200, end=None):
    from yiwang.supervision.models import QualificationKind

    if values is None:
        values = {f: str(getattr(qualification, f)) for f in QUALIFICATION_FIELDS} if qualification else {"kind": ""}
    return render(
        request,
        "supervision/qualification_form.html",
        {
            "inspector": inspector,
            "qualification": qualification,
            "values": values,
            "errors": errors or {},
            "kinds": QualificationKind.choices,
            "end": end or {"reason": "", "errors": {}},
            "status": (selectors.qualification_status(qualification, timezone.localdate()) if qualification else ""),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def qualification_new(request: HttpRequest, certificate_number: str) -> HttpResponse:
    """Register a 执法资格 for one inspector of my departments."""
    try:
        inspector = selectors.inspector_get_managed(actor=request.user, certificate_number=certificate_number)
    except NotFound:
        raise Http404 from None
    if request.method == "GET":
        return _qualification_form(request, inspector=inspector)
    values = {f: request.POST.get(f, "").strip() for f in QUALIFICATION_FIELDS}
    try:
        services.qualification_add(actor=request.user, inspector=inspector, **values)
    except NotFound:
        raise Http404 from None
    except YiwangError as exc:
        return _qualification_form(
            request, inspector=inspector, values=values, errors=_field_errors(exc), status=exc.status
        )
    messages.success(request, _("已登记执法资格。"))
    return redirect("supervision_workbench:inspectors")


@login_required
@require_http_methods(["GET", "POST"])
def qualification_edit(request: HttpRequest, qualification_id: int) -> HttpResponse:
    """Correct or renew a 执法资格; the page also carries the form that ends it (注销)."""
    try:
        row = selectors.qualification_get_managed(actor=request.user, qualification_id=qualification_id)
    except NotFound:
        raise Http404 from None
    if request.method == "GET":
        return _qualification_form(request, inspector=row.inspector, qualification=row)
    values = {f: request.POST.get(f, "").strip() for f in QUALIFICATION_FIELDS}
    try:
        services.qualification_update(actor=request.user, qualification_id=row.pk, **values)
    except NotFound:
        raise Http404 from None
    except YiwangError as exc:
        errors = _field_errors(exc) or {"form": [str(exc.message)]}
        return _qualification_form(
            request, inspector=row.inspector, qualification=row, values=values, errors=errors, status=exc.status
        )
    messages.success(request, _("已保存执法资格。"))
    return redirect("supervision_workbench:inspectors")


@login_required
@require_POST
def qualification_end(request: HttpRequest, qualification_id: int) -> HttpResponse:
    """注销 a 执法资格 with a reason: from now on it does not qualify for a draw."""
    try:
        row = selectors.qualification_get_managed(actor=request.user, qualification_id=qualification_id)
    except NotFound:
        raise Http404 from None
    reason = request.POST.get("reason", "").strip()
    try:
        services.qualification_revoke(actor=request.user, qualification_id=row.pk, reason=reason)
    except NotFound:
        raise Http404 from None
    except YiwangError as exc:
        end = {"reason": reason, "errors": _field_errors(exc) or {"reason": [str(exc.message)]}}
        return _qualification_form(request, inspector=row.inspector, qualification=row, end=end, status=exc.status)
    messages.success(request, _("已注销执法资格。"))
    return redirect("supervision_workbench:inspectors")
