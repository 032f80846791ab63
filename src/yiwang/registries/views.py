"""Workbench pages for staff of source departments (mounted at /workbench/registries/): their
registries with masked lists and lookup, a record's history, Excel/CSV import, quality reports.
A registry the actor's department does not source is a 404, exactly like a missing one."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from yiwang.core.errors import NotFound, YiwangError
from yiwang.identity.models import User
from yiwang.registries import importer, presenters, schema, selectors

LIST_SIZE = 50


def _staff(request: HttpRequest) -> None:
    if request.user.kind != User.Kind.STAFF:
        raise Http404


def _spec(request: HttpRequest, registry: str) -> schema.RegistrySpec:
    _staff(request)
    if registry not in selectors.registries_for_actor(actor=request.user):
        raise Http404
    return schema.REGISTRIES[registry]


@login_required
def index(request: HttpRequest) -> HttpResponse:
    _staff(request)
    names = selectors.registries_for_actor(actor=request.user)
    fields = [f for f in selectors.registry_fields() if f.registry in names]
    from yiwang.identity.models import Department

    departments = Department.objects.in_bulk({f.source_department_id for f in fields} - {None})
    registries = [
        {
            "name": name,
            "label": schema.REGISTRIES[name].label,
            "count": selectors.MODELS[name].objects.count(),
            "fields": [
                {
                    "label": f.label,
                    "field": f.field,
                    "personal": f.personal,
                    "key": f.key,
                    "source": departments.get(f.source_department_id),
                }
                for f in fields
                if f.registry == name
            ],
        }
        for name in names
    ]
    return render(request, "registries/index.html", {"registries": registries})


@login_required
@require_http_methods(["GET", "POST"])
def record_list(request: HttpRequest, registry: str) -> HttpResponse:
    spec = _spec(request, registry)
    error = ""
    if request.method == "POST":  # lookup by key: POST keeps the 身份证号 out of URLs and logs
        key = (request.POST.get("key") or "").strip()
        try:
            record = selectors.record_get(actor=request.user, registry=registry, key=key)
        except NotFound:
            error = _("没有该记录。")
        except YiwangError as exc:
            error = " ".join([str(m) for ms in exc.fields.values() for m in ms] or [str(exc.message)])
        else:
            return redirect("registries:detail", registry=registry, record_id=record.pk)
    records = selectors.record_list(actor=request.user, registry=registry)[:LIST_SIZE]
    rows = [presenters.masked_record(registry, r) for r in records]
    columns = list(spec.fields[:6])
    for row in rows:
        row["cells"] = [row["values"][f.name] for f in columns]
    return render(
        request,
        "registries/list.html",
        {"spec": spec, "rows": rows, "columns": columns, "error": error, "list_size": LIST_SIZE},
        status=422 if error else 200,
    )


@login_required
def record_detail(request: HttpRequest, registry: str, record_id: int) -> HttpResponse:
    spec = _spec(request, registry)
    try:
        record = selectors.record_get(actor=request.user, registry=registry, id=record_id)
        history = selectors.record_history(actor=request.user, registry=registry, id=record_id)
    except NotFound as exc:
        raise Http404 from exc
    shown = presenters.masked_record(registry, record)
    values = [(f.label, shown["values"][f.name], f.personal) for f in spec.fields]
    return render(
        request,
        "registries/detail.html",
        {"spec": spec, "record": shown, "values": values, "history": [presenters.masked_change(c) for c in history]},
    )


@login_required
@require_http_methods(["GET", "POST"])
def record_import(request: HttpRequest, registry: str) -> HttpResponse:
    spec = _spec(request, registry)
    context = {"spec": spec, "errors": None, "result": None, "summary": ""}
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            context["errors"] = {_("文件"): [_("请选择要上传的 Excel 或 CSV 文件")]}
        else:
            try:
                context["result"] = importer.records_import(
                    actor=request.user, registry=registry, content=upload.read(), filename=upload.name or ""
                )
            except YiwangError as exc:
                context["errors"] = {str(k): [str(m) for m in v] for k, v in exc.fields.items()} or {
                    "": [str(exc.message)]
                }
                context["summary"] = str(exc.message)
        return render(request, "registries/import.html", context, status=422 if context["errors"] else 200)
    return render(request, "registries/import.html", context)


@login_required
def template(request: HttpRequest, registry: str) -> HttpResponse:
    _spec(request, registry)
    response = HttpResponse(importer.template_workbook(registry), content_type=importer.XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{registry}-template.xlsx"'
    return response


@login_required
def quality(request: HttpRequest) -> HttpResponse:
    _staff(request)
    reports = [
        {"report": r, "label": schema.REGISTRIES[r.registry].label, "failures": r.failures[:20]}
        for r in selectors.quality_reports(actor=request.user).order_by("registry", "department__path")
    ]
    return render(request, "registries/quality.html", {"reports": reports})
