"""Workbench pages for department admins: their items and life events, preview, publish,
retire, and the all-or-nothing upload of an Excel / YAML / JSON list. Thin: selectors read,
services write; anything outside the admin's departments is a 404."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yiwang.catalog import selectors, services
from yiwang.catalog.forms import CatalogImportForm
from yiwang.catalog.importer import (
    FORMATS,
    CatalogImportFailed,
    catalog_document,
    catalog_import,
    render_document,
    template_workbook,
)
from yiwang.catalog.models import Status
from yiwang.core.errors import YiwangError
from yiwang.identity.models import User

CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "yaml": "application/yaml; charset=utf-8",
    "json": "application/json; charset=utf-8",
}


def _require_staff(request: HttpRequest) -> None:
    if request.user.kind != User.Kind.STAFF:
        raise Http404


def _download(content: bytes, *, fmt: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def item_list(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    items = []
    for item in selectors.item_list_for_admin(actor=request.user):
        draft = selectors.item_draft(item=item)
        latest = draft or item.current_version
        items.append({"item": item, "draft": draft, "name": latest.name if latest else ""})
    life_events = []
    for life_event in selectors.life_event_list_for_admin(actor=request.user):
        draft = selectors.life_event_draft(life_event=life_event)
        latest = draft or life_event.current_version
        life_events.append({"life_event": life_event, "draft": draft, "name": latest.name if latest else ""})
    departments = selectors.administered_departments(actor=request.user).order_by("path")
    return render(
        request,
        "catalog/workbench/items.html",
        {
            "items": items,
            "life_events": life_events,
            "departments": departments[:20],
            "is_admin": departments.exists(),
            "Status": Status,
        },
    )


@login_required
def import_file(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    errors: list[str] = []
    error_count = 0
    if request.method == "POST":
        form = CatalogImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                report = catalog_import(
                    actor=request.user,
                    content=upload.read(),
                    filename=upload.name,
                    publish=form.cleaned_data["publish"],
                )
            except CatalogImportFailed as exc:
                errors, error_count = exc.errors, len(exc.errors)
            else:
                messages.success(request, _("导入成功。") + report.summary())
                return redirect("catalog:items")
    else:
        form = CatalogImportForm()
    return render(
        request,
        "catalog/workbench/import.html",
        {"form": form, "errors": errors, "error_count": error_count},
        status=422 if errors else 200,
    )


@login_required
def template(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    return _download(template_workbook(), fmt="xlsx", filename="catalog-template.xlsx")


@login_required
def export(request: HttpRequest, fmt: str) -> HttpResponse:
    _require_staff(request)
    if fmt not in FORMATS:
        raise Http404
    document = catalog_document(actor=request.user)
    return _download(render_document(document, fmt=fmt), fmt=fmt, filename=f"catalog.{fmt}")


@login_required
def item_detail(request: HttpRequest, code: str) -> HttpResponse:
    """Preview: the draft (if any) beside what the public sees now."""
    _require_staff(request)
    try:
        item = selectors.item_get_for_admin(actor=request.user, implementation_code=code)
    except YiwangError as exc:
        raise Http404 from exc
    draft = selectors.item_draft(item=item)
    current = selectors.version_with_materials(version_id=item.current_version_id) if item.current_version_id else None
    shown = draft or current
    return render(
        request,
        "catalog/workbench/item.html",
        {"item": item, "draft": draft, "current": current, "version": shown, "Status": Status},
    )


def _act(request: HttpRequest, action, success: str) -> HttpResponse:
    try:
        action()
    except YiwangError as exc:
        if exc.status == 404:
            raise Http404 from exc
        messages.error(request, str(exc.message))
    else:
        messages.success(request, success)
    return redirect(request.POST.get("next") or "catalog:items")


@login_required
@require_POST
def item_publish(request: HttpRequest, code: str) -> HttpResponse:
    _require_staff(request)

    def action():
        item = selectors.item_get_for_admin(actor=request.user, implementation_code=code)
        services.item_publish(actor=request.user, item=item)

    return _act(request, action, _("事项 %(code)s 已发布。") % {"code": code})


@login_required
@require_POST
def item_retire(request: HttpRequest, code: str) -> HttpResponse:
    _require_staff(request)

    def action():
        item = selectors.item_get_for_admin(actor=request.user, implementation_code=code)
        services.item_retire(actor=request.user, item=item, reason=request.POST.get("reason", ""))

    return _act(request, action, _("事项 %(code)s 已停用。") % {"code": code})


@login_required
@require_POST
def life_event_publish(request: HttpRequest, code: str) -> HttpResponse:
    _require_staff(request)

    def action():
        life_event = selectors.life_event_get_for_admin(actor=request.user, code=code)
        services.life_event_publish(actor=request.user, life_event=life_event)

    return _act(request, action, _("一件事 %(code)s 已发布。") % {"code": code})


@login_required
@require_POST
def life_event_retire(request: HttpRequest, code: str) -> HttpResponse:
    _require_staff(request)

    def action():
        life_event = selectors.life_event_get_for_admin(actor=request.user, code=code)
        services.life_event_retire(actor=request.user, life_event=life_event, reason=request.POST.get("reason", ""))

    return _act(request, action, _("一件事 %(code)s 已停用。") % {"code": code})
