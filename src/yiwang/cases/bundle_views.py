"""Portal pages for life-event bundles (一件事一次办), under /cases/bundles/: apply once (the
merged form rendered from the merged JSON Schema, one upload per material of the merged
list) and follow the application (aggregate status, the cases, one merged timeline).
Thin: ``services.case_bundle_submit`` and ``cases.selectors`` hold every rule."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from yiwang.cases import selectors, services
from yiwang.cases.forms import form_level_errors, parse_form, schema_fields
from yiwang.cases.views import _error_text, _fields_as_lists, _masked_applicant, _submit_errors
from yiwang.catalog import selectors as catalog_selectors
from yiwang.core.errors import NotFound, ValidationFailed, YiwangError


def display_schema(schema: dict) -> dict:
    """The merged schema for rendering and reading the post: a property asked by several items
    with different definitions (merged as ``allOf``) is shown as one input, with the first
    item's title. Validation still uses the merged schema itself."""
    properties = {}
    for name, spec in (schema.get("properties") or {}).items():
        if isinstance(spec, dict) and set(spec) == {"allOf"}:
            flat: dict = {}
            for part in reversed(spec["allOf"]):
                flat.update(part if isinstance(part, dict) else {})
            spec = flat
        properties[name] = spec
    return {**schema, "properties": properties}


def _material_rows(guide: dict, errors: dict) -> list[dict]:
    rows = []
    for index, merged in enumerate(guide["materials"]):
        rows.append(
            {
                "index": index,
                "name": merged["name"],
                "required": merged["requirement"] == "required",
                "condition": merged.get("condition") or "",
                "description": merged.get("description") or "",
                "certificate_free": merged["source"] != "applicant",
                "item_count": len(merged["items"]),
                "errors": errors.get(f"materials.{merged['name']}", []),
            }
        )
    return rows


@login_required
def bundle_apply(request: HttpRequest, code: str) -> HttpResponse:
    """一次申办: the bundle's merged form and materials; one bundle per idempotency key."""
    try:
        life_event = catalog_selectors.life_event_get_published(code=code)
    except NotFound as exc:
        raise Http404 from exc
    guide = catalog_selectors.life_event_guide(version=life_event.current_version)
    schema = display_schema(guide["form_schema"])
    key, data, errors, status = uuid.uuid4().hex, None, {}, 200
    if request.method == "POST":
        key = (request.POST.get("idempotency_key") or "").strip()[:64] or key
        data, problems = parse_form(schema, request.POST)
        status = 422
        uploads = {}
        for index, merged in enumerate(guide["materials"]):
            upload = request.FILES.get(f"material_{index}")
            if upload is not None:
                uploads[merged["name"]] = (upload.name or "", upload.read(services.max_material_bytes() + 1))
        if problems:
            errors = _submit_errors(guide["form_schema"], data, problems)
        else:
            try:
                bundle, _created = services.case_bundle_submit(
                    actor=request.user, life_event=life_event, form_data=data, materials=uploads, idempotency_key=key
                )
            except ValidationFailed as exc:
                errors = _fields_as_lists(exc.fields)
                errors.setdefault("", [str(exc.message)])
            except YiwangError as exc:
                errors, status = {"": [_error_text(exc)]}, exc.status
            else:
                messages.success(
                    request,
                    _("一件事申请已提交,编号 %(number)s,已分送 %(n)d 个部门并联办理。")
                    % {"number": bundle.number, "n": len({v.item.department_id for v in guide["items"]})},
                )
                return redirect("cases:bundle_detail", bundle_id=bundle.pk)
    material_errors = {k for k in errors if k.startswith("materials.")}
    return render(
        request,
        "cases/bundle_apply.html",
        {
            "life_event": life_event,
            "v": life_event.current_version,
            "guide": guide,
            "fields": schema_fields(schema, data, errors),
            "form_errors": form_level_errors({k: v for k, v in errors.items() if k not in material_errors}, schema),
            "materials": _material_rows(guide, errors),
            "idempotency_key": key,
        },
        status=status,
    )


@login_required
def bundle_detail(request: HttpRequest, bundle_id: int) -> HttpResponse:
    try:
        bundle = selectors.bundle_get(actor=request.user, bundle_id=bundle_id)
    except NotFound as exc:
        raise Http404 from exc
    form_rows = [
        (f.label, f.value if f.kind != "checkbox" else (_("是") if f.value else _("否")))
        for f in schema_fields(display_schema(_bundle_schema(bundle)), bundle.form_data)
        if f.value not in ("", None)
    ]
    return render(
        request,
        "cases/bundle_detail.html",
        {
            "bundle": bundle,
            "progress": selectors.bundle_status(bundle=bundle),
            "cases": list(bundle.cases.all()),
            "steps": selectors.bundle_timeline(bundle=bundle),
            "applicant": _masked_applicant(bundle),
            "form_rows": form_rows,
        },
    )


def _bundle_schema(bundle) -> dict:
    """The merged schema of the versions the cases were submitted under (for labels)."""
    return catalog_selectors.merge_form_schemas([case.item_version.form_schema for case in bundle.cases.all()])
