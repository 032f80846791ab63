"""Workbench pages for staff of issuing departments: the licenses their departments issued,
each with its history, and suspend / reinstate / revoke with a reason. Anything outside the
actor's departments is a 404. Issuance itself: API, Excel import, or automatic on approval."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yiwang.core.codes import validate_license_identifier
from yiwang.core.errors import YiwangError
from yiwang.core.masking import mask_id_number, mask_name
from yiwang.identity.models import User
from yiwang.licenses import selectors, services
from yiwang.licenses.models import HolderKind, License

ACTIONS = {
    "suspend": services.license_suspend,
    "reinstate": services.license_reinstate,
    "revoke": services.license_revoke,
}


def _staff_license(request: HttpRequest, license_id: int) -> License:
    if request.user.kind != User.Kind.STAFF:
        raise Http404
    try:
        return selectors.license_get_for_staff(actor=request.user, id=license_id)
    except YiwangError as exc:
        raise Http404 from exc


def _masked(lic: License) -> License:
    person = lic.holder_kind == HolderKind.PERSON
    lic.masked_name = mask_name(lic.holder_name) if person else lic.holder_name
    lic.masked_id = mask_id_number(lic.holder_id) if person else lic.holder_id
    return lic


@login_required
def license_list(request: HttpRequest) -> HttpResponse:
    if request.user.kind != User.Kind.STAFF:
        raise Http404
    licenses = selectors.licenses_for_staff(actor=request.user)
    q = (request.GET.get("q") or "").strip()
    status = request.GET.get("status") or ""
    error = ""
    if q:
        try:
            licenses = licenses.filter(identifier=validate_license_identifier(q).identifier)
        except ValidationError as exc:
            error = " ".join(exc.messages)
            licenses = licenses.none()
    if status in License.Status.values:
        licenses = licenses.filter(status=status)
    page = [_masked(lic) for lic in licenses[:100]]
    return render(
        request,
        "licenses/workbench_list.html",
        {"licenses": page, "q": q, "status": status, "statuses": License.Status.choices, "error": error},
    )


@login_required
def license_detail(request: HttpRequest, license_id: int) -> HttpResponse:
    lic = _masked(_staff_license(request, license_id))
    verification = selectors.license_verify(identifier=lic.identifier)
    history = lic.history.select_related("actor")
    return render(
        request, "licenses/workbench_detail.html", {"lic": lic, "v": verification.as_dict(), "history": history}
    )


@login_required
@require_POST
def license_action(request: HttpRequest, license_id: int, action: str) -> HttpResponse:
    lic = _staff_license(request, license_id)
    service = ACTIONS.get(action)
    if service is None:
        raise Http404
    try:
        service(actor=request.user, license=lic, reason=request.POST.get("reason", ""))
    except YiwangError as exc:
        messages.error(request, " ".join([str(exc.message), *[str(m) for ms in exc.fields.values() for m in ms]]))
    else:
        messages.success(request, _("已更新证照状态"))
    return redirect("licenses_workbench:detail", license_id=lic.pk)


def _issuer_departments(actor):
    from yiwang.identity.selectors import departments_for_actor

    allowed = set()
    for role in services.ISSUER_ROLES:
        allowed.update(departments_for_actor(actor=actor, role=role).exclude(uscc="").values_list("pk", flat=True))
    from yiwang.identity.models import Department

    return Department.objects.filter(pk__in=allowed).order_by("path")


@login_required
def license_import_page(request: HttpRequest) -> HttpResponse:
    """存量证照导入: an Excel file for one type and one issuing department, all-or-nothing."""
    from yiwang.licenses.importer import license_import
    from yiwang.licenses.models import LicenseType

    if request.user.kind != User.Kind.STAFF:
        raise Http404
    departments = _issuer_departments(request.user)
    types = LicenseType.objects.filter(is_active=True).order_by("name")
    context = {"departments": departments, "types": types, "errors": None, "result": None}
    if request.method == "POST":
        lt = types.filter(code=request.POST.get("license_type", "")).first()
        dept = departments.filter(pk=request.POST.get("department") or 0).first()
        upload = request.FILES.get("file")
        problems = {}
        if lt is None:
            problems[_("证照类型")] = [_("请选择证照类型")]
        if dept is None:
            problems[_("颁发部门")] = [_("请选择颁发部门")]
        if upload is None:
            problems[_("文件")] = [_("请选择要上传的 Excel 文件")]
        if problems:
            context["errors"] = problems
        else:
            try:
                context["result"] = license_import(
                    actor=request.user, license_type=lt, issuer_department=dept, content=upload.read()
                )
            except YiwangError as exc:
                context["errors"] = {str(k): [str(m) for m in v] for k, v in exc.fields.items()} or {
                    "": [str(exc.message)]
                }
        status = 422 if context["errors"] else 200
        return render(request, "licenses/workbench_import.html", context, status=status)
    return render(request, "licenses/workbench_import.html", context)


@login_required
def license_template(request: HttpRequest, code: str) -> HttpResponse:
    from yiwang.licenses.importer import template_workbook
    from yiwang.licenses.models import LicenseType

    if request.user.kind != User.Kind.STAFF:
        raise Http404
    lt = LicenseType.objects.filter(code=code, is_active=True).first()
    if lt is None:
        raise Http404
    response = HttpResponse(
        template_workbook(lt), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{lt.code}-template.xlsx"'
    return response
