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
from yiwang.cases.models import Channel
from yiwang.cases.views import (
    WINDOW_SESSION_KEY,
    _applicant_from_token,
    _applicant_token,
    _chosen_hall,
    _error_text,
    _fields_as_lists,
    _masked_applicant,
    _posted_hall,
    _require_clerk,
    _require_staff,
    _shown_form,
    _submit_errors,
    _window_applicant,
)
from yiwang.catalog import selectors as catalog_selectors
from yiwang.core.errors import NotFound, ValidationFailed, YiwangError
from yiwang.core.masking import mask_id_number, mask_name


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


def material_key(merged: dict) -> str:
    """The form key of a merged material's file input: its requirement id in the bundle's first
    item asking it (``material_<id>``). A life event re-published between showing the page and
    posting it has new requirement ids, so a file can never land on another material."""
    return str(merged["requirement_ids"][merged["items"][0]])


def _material_rows(guide: dict, errors: dict, reselect: dict | None = None) -> list[dict]:
    rows = []
    for merged in guide["materials"]:
        key = material_key(merged)
        rows.append(
            {
                "key": key,
                "name": merged["name"],
                "required": merged["requirement"] == "required",
                "condition": merged.get("condition") or "",
                "description": merged.get("description") or "",
                "certificate_free": merged["source"] != "applicant",
                "generated": merged["source"] == "form",  # the 申请书, written from the form
                "item_count": len(merged["items"]),
                "errors": errors.get(f"materials.{merged['name']}", []),
                # A browser cannot keep a chosen file: name it, to be chosen again.
                "reselect": (reselect or {}).get(key, ""),
            }
        )
    return rows


def _posted_uploads(request: HttpRequest, guide: dict) -> tuple[dict, dict]:
    """({material name: (filename, content)}, {material key: filename}) of the files posted as
    ``material_<key>`` (``material_key``). A file under a key the current list does not have
    (the life event was re-published meanwhile) is refused, naming the file."""
    uploads, names = {}, {}
    keys = {material_key(merged): merged for merged in guide["materials"]}
    for field, upload in request.FILES.items():
        key = field.removeprefix("material_")
        merged = keys.get(key)
        if merged is None:
            message = _("材料清单已更新,请重新选择文件「%(file)s」") % {"file": upload.name or ""}
            raise ValidationFailed(message, code="material_unknown", fields={"materials": message})
        uploads[merged["name"]] = (upload.name or "", upload.read(services.max_material_bytes() + 1))
        names[key] = upload.name or ""
    return uploads, names


def _bundle_page(request: HttpRequest, code: str, *, window: dict | None = None) -> HttpResponse:
    """The merged form and materials of a life event (网上 and 一窗受理 share it); one bundle per
    idempotency key. ``window``: the clerk's submission for a walk-in applicant (``applicant``,
    its ``applicant_token``, the ``halls`` and the ``hall``)."""
    try:
        life_event = catalog_selectors.life_event_get_published(code=code)
    except NotFound as exc:
        raise Http404 from exc
    guide = catalog_selectors.life_event_guide(version=life_event.current_version)
    schema = display_schema(guide["form_schema"])
    key, data, errors, status, reselect = uuid.uuid4().hex, None, {}, 200, {}
    window = window or {}
    if request.method == "POST":
        key = (request.POST.get("idempotency_key") or "").strip()[:64] or key
        data, problems = parse_form(schema, request.POST)
        status = 422
        extra = dict(window.get("errors") or {})
        try:
            uploads, names = _posted_uploads(request, guide)
        except ValidationFailed as exc:
            uploads, names = {}, {}
            extra[""] = [str(exc.message)]
        if problems or extra:
            errors = {**_submit_errors(guide["form_schema"], data, problems), **extra}
        else:
            submission = {}
            if window:
                submission = {
                    "channel": Channel.WINDOW,
                    "applicant": window["user"],
                    "intake_department": window.get("hall"),
                }
            try:
                bundle, _created = services.case_bundle_submit(
                    actor=request.user,
                    life_event=life_event,
                    form_data=data,
                    materials=uploads,
                    idempotency_key=key,
                    **submission,
                )
            except ValidationFailed as exc:
                errors = _fields_as_lists(exc.fields)
                errors.setdefault("", [str(exc.message)])
            except YiwangError as exc:
                errors, status = {"": [_error_text(exc)]}, exc.status
            else:
                messages.success(
                    request,
                    (
                        _("已代为申报一件事,编号 %(number)s,已分送 %(n)d 个部门并联办理。")
                        if window
                        else _("一件事申请已提交,编号 %(number)s,已分送 %(n)d 个部门并联办理。")
                    )
                    % {"number": bundle.number, "n": len({v.item.department_id for v in guide["items"]})},
                )
                if window:
                    return redirect("cases_workbench:window_bundle_detail", bundle_id=bundle.pk)
                return redirect("cases:bundle_detail", bundle_id=bundle.pk)
        if errors:
            reselect = names
    hall_errors = errors.pop("intake_department", [])
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
            "materials": _material_rows(guide, errors, reselect),
            "idempotency_key": key,
            "window": bool(window),
            "applicant": window.get("applicant"),
            "applicant_token": window.get("applicant_token", ""),
            "halls": window.get("halls", []),
            "hall": window.get("hall"),
            "hall_errors": hall_errors,
        },
        status=status,
    )


@login_required
def bundle_apply(request: HttpRequest, code: str) -> HttpResponse:
    """一次申办: the bundle's merged form and materials; one bundle per idempotency key."""
    return _bundle_page(request, code)


@login_required
def window_bundle_apply(request: HttpRequest, code: str) -> HttpResponse:
    """一窗受理 of a life event (一件事): the merged form filled for the walk-in applicant, scans
    attached per merged material, the cases taken in at the clerk's hall.

    As ``views.window_apply``: the applicant is the one the form was opened for (a signed
    token in the form), a forged or expired token files for nobody, and every error stands
    next to its field with everything typed kept. Not a window clerk: 404."""
    _require_clerk(request)
    token = request.POST.get("applicant_token", "") if request.method == "POST" else ""
    applicant = _applicant_from_token(token) if token else _window_applicant(request)
    if applicant is None and request.method != "POST":
        messages.info(request, _("请先查找或登记申请人。"))
        return redirect("cases_workbench:window")
    halls = selectors.window_halls(actor=request.user)
    window: dict = {"halls": halls, "hall": _chosen_hall(request, halls), "errors": {}}
    if request.method == "POST":
        try:
            window["hall"] = _posted_hall(request, halls)
        except ValidationFailed as exc:
            window["errors"].update(_fields_as_lists(exc.fields))
    if applicant is not None:
        window["user"] = applicant
        window["applicant"] = {"name": mask_name(applicant.real_name), "id_number": mask_id_number(applicant.id_number)}
        window["applicant_token"] = token or _applicant_token(applicant)  # a form keeps its own binding
    else:
        message = _("未确定申请人,请先在“一窗受理”中查找或登记申请人,已填写的内容保留在本页。")
        window["errors"]["applicant"] = [message]
    response = _bundle_page(request, code, window=window)
    if response.status_code == 302 and request.session.get(WINDOW_SESSION_KEY) == applicant.pk:
        request.session.pop(WINDOW_SESSION_KEY, None)
    return response


@login_required
def bundle_detail(request: HttpRequest, bundle_id: int) -> HttpResponse:
    return _bundle_detail_page(request, bundle_id)


@login_required
def window_bundle_detail(request: HttpRequest, bundle_id: int) -> HttpResponse:
    """The bundle a window clerk took in (others: 404), its cases linked to the workbench."""
    _require_staff(request)
    return _bundle_detail_page(request, bundle_id, workbench=True)


def _bundle_detail_page(request: HttpRequest, bundle_id: int, *, workbench: bool = False) -> HttpResponse:
    try:
        bundle = selectors.bundle_get(actor=request.user, bundle_id=bundle_id)
    except NotFound as exc:
        raise Http404 from exc
    form_rows = [
        (f.label, f.value if f.kind != "checkbox" else (_("是") if f.value else _("否")))
        for f in schema_fields(display_schema(_bundle_schema(bundle)), _shown_form(request, bundle))
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
            "workbench": workbench,
        },
    )


def _bundle_schema(bundle) -> dict:
    """The merged schema of the versions the cases were submitted under (for labels)."""
    return catalog_selectors.merge_form_schemas([case.item_version.form_schema for case in bundle.cases.all()])
