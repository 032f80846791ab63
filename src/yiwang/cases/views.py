"""Case pages. Every rule lives in ``cases.services`` / ``cases.selectors``; these views only
turn posts into service calls and service errors into messages next to the fields.

Portal (``/cases/``, the applicant): apply online to a published item (form rendered from
the version's JSON Schema, one upload per material requirement, idempotency key in a hidden
field), my cases, the case with its timeline, the supplement answer, withdrawal, notices.

Workbench (``/workbench/cases/``, staff): the front office (一窗受理: find or register the
applicant by ID number, fill the form for them, attach scans, accept / supplement / refuse),
the back-office queue (claim, opinion per process step, decide, extend) and delivery. A case
the actor may not see is a 404, exactly like a missing one.
"""

import secrets
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from yiwang.cases import selectors, services
from yiwang.cases.forms import (
    PREFIX,
    form_level_errors,
    parse_form,
    posted_materials,
    schema_fields,
    supplement_items_from_text,
)
from yiwang.cases.models import ApplicantKind, Case, CaseState, Channel, Decision
from yiwang.cases.notices import available_notices, notice_pdf
from yiwang.cases.tracker import case_tracker
from yiwang.catalog import selectors as catalog_selectors
from yiwang.core.codes import validate_id_number
from yiwang.core.errors import Conflict, NotFound, ValidationFailed, YiwangError
from yiwang.core.masking import mask_id_number, mask_name, mask_phone
from yiwang.core.ratelimit import client_ip, consume, failure_limit
from yiwang.identity.models import User
from yiwang.identity.selectors import actor_grants, user_activation_pending, user_get_by_id_number
from yiwang.identity.services import (
    activation_code_issue,
    format_activation_code,
    user_create,
    user_real_name_level_raise,
)
from yiwang.supervision import selectors as supervision_selectors

NOTICE_LABELS = {
    "application": gettext_lazy("申请书"),
    "acceptance": gettext_lazy("受理通知书"),
    "refusal": gettext_lazy("不予受理通知书"),
    "supplement": gettext_lazy("补正告知书"),
    "decision": gettext_lazy("决定书"),
}
LIST_LIMIT = 100
WINDOW_SESSION_KEY = "cases_window_applicant"
WINDOW_APPLICANT_SALT = "yiwang.cases.window.applicant"
WINDOW_HALL_SESSION_KEY = "cases_window_hall"


# --- helpers ---------------------------------------------------------------------------------


def _error_text(exc: YiwangError) -> str:
    """The service's message, plus the per-field messages when they say more."""
    parts = [str(exc.message)]
    for messages_ in exc.fields.values():
        for message in messages_ if isinstance(messages_, list | tuple) else [messages_]:
            if str(message) not in parts:
                parts.append(str(message))
    return " ".join(parts)


def _fields_as_lists(fields: dict) -> dict[str, list[str]]:
    return {k: [str(m) for m in (v if isinstance(v, list | tuple) else [v])] for k, v in fields.items()}


def _case_or_404(request: HttpRequest, case_id: int) -> Case:
    try:
        return selectors.case_get(actor=request.user, case_id=case_id)
    except NotFound as exc:
        raise Http404 from exc


def _require_staff(request: HttpRequest) -> None:
    """Staff only (else 404); the staff member's role grants are read once for the whole request
    (every later role check and scope of this request reuses them)."""
    if request.user.kind != User.Kind.STAFF:
        raise Http404
    actor_grants(actor=request.user, remember=True)


def _version_of(request: HttpRequest) -> int | None:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return None


def _masked_applicant(case: Case) -> dict:
    person = case.applicant_kind == ApplicantKind.NATURAL_PERSON
    return {
        "name": mask_name(case.applicant_name) if person else case.applicant_name,
        "id_number": mask_id_number(case.applicant_id_number) if person else case.applicant_id_number,
        "phone": mask_phone(case.applicant_phone) if case.applicant_phone else "",
    }


def _posted_materials(request: HttpRequest, requirements) -> list:
    return posted_materials(request, [r.pk for r in requirements])


def _upload_all(request: HttpRequest, case: Case, requirements) -> list[str]:
    """Attach every posted file to an existing case (answering a supplement); returns the
    service's messages for the files it refused (each names the material)."""
    failures = []
    for upload in _posted_materials(request, requirements):
        try:
            services.case_material_add(
                actor=request.user,
                case_id=case.pk,
                requirement_id=upload.requirement_id,
                filename=upload.filename,
                content=upload.content,
                name=upload.name,
            )
        except YiwangError as exc:
            failures.append(_error_text(exc))
    return failures


def _requirements(case: Case) -> list:
    return list(catalog_selectors.version_with_materials(version_id=case.item_version_id).materials.all())


def _schema_form(version, data=None, errors=None) -> dict:
    schema = version.form_schema or {}
    errors = errors or {}
    return {"fields": schema_fields(schema, data, errors), "form_errors": form_level_errors(errors, schema)}


def _published_item(code: str):
    """The published item of ``code``, its current version and that version's materials; 404 if none."""
    try:
        item = catalog_selectors.item_get_published(implementation_code=code)
    except NotFound as exc:
        raise Http404 from exc
    version = catalog_selectors.version_with_materials(version_id=item.current_version_id)
    return item, version, list(version.materials.all())


def _apply_page(request, context: dict, version, key: str, data=None, errors=None, status: int = 200) -> HttpResponse:
    """The application form (网上申报 and 一窗受理 share it), with the idempotency key of this attempt.

    When the page comes back with errors, every file the browser had sent is named next to its
    input: a browser cannot keep a chosen file, so the user must choose it again."""
    if request.method == "POST" and "draft" not in context:  # a draft keeps the files it was sent
        for requirement in context.get("requirements") or []:
            upload = request.FILES.get(f"material_{requirement.pk}")
            requirement.reselect = upload.name if upload is not None and errors else ""
        other = request.FILES.get("material_other")
        context = {**context, "other_reselect": other.name if other is not None and errors else ""}
    return render(
        request,
        "cases/apply.html",
        {**context, **_schema_form(version, data, errors), "idempotency_key": key},
        status=status,
    )


def _submit_errors(schema: dict, data: dict, problems: dict) -> dict[str, list[str]]:
    """Type problems found while reading the post, plus the service's validation of the rest."""
    errors = {f"form_data.{k}": v for k, v in problems.items()}
    for key, msgs in services.form_errors(schema, data).items():
        if key.removeprefix("form_data.") not in problems:
            errors[key] = msgs
    return errors


def _shown_form(request: HttpRequest, owner) -> dict:
    """The form of a case or bundle as pages show it (identifiers masked, see ``selectors.shown_form``)."""
    own = owner.applicant_id == request.user.pk and request.user.kind != User.Kind.STAFF
    return selectors.shown_form(owner.form_data, owner=owner, full_name=own)


def _case_context(request: HttpRequest, case: Case) -> dict:
    supplement = selectors.case_supplement(case=case)
    staff = request.user.kind == User.Kind.STAFF
    return {
        "smart": selectors.case_smart_view(case=case, staff=staff),
        "case": case,
        "applicant": _masked_applicant(case),
        "steps": selectors.case_timeline(actor=request.user, case=case),
        "supplement": supplement,
        "materials": selectors.case_materials(case=case),
        "notices": [(kind, NOTICE_LABELS[kind]) for kind in available_notices(case, supplement=supplement)],
        "requirements": _requirements(case),
        "bundle_note": selectors.case_bundle_note(case=case),
        "form_rows": [
            (f.label, f.value if f.kind != "checkbox" else (_("是") if f.value else _("否")))
            for f in schema_fields(case.item_version.form_schema or {}, _shown_form(request, case))
            if f.value not in ("", None)
        ],
    }


# --- portal: the applicant -------------------------------------------------------------------


def _acting_for(request: HttpRequest, code: str):
    """(the delegation or 帮办 consent, the applicant, a banner) when the page applies for someone
    else: ``?for=<delegation>`` (an agent, 授权代办) or ``?assist=<consent>`` (a window clerk's
    帮办); 404 unless identity finds it in force for this actor and item."""
    from yiwang.identity import selectors as identity_selectors

    try:
        if request.GET.get("for"):
            found = identity_selectors.delegation_for_agent(actor=request.user, id=request.GET["for"], item_code=code)
            principal = found.principal
            name = principal.enterprise_name or mask_name(principal.real_name)
            return found, principal, _("您正在代 %(name)s 申报(授权代办),办件属于授权人。") % {"name": name}
        if request.GET.get("assist"):
            found = identity_selectors.assist_consent_for_acting(actor=request.user, id=request.GET["assist"])
            name = mask_name(found.citizen.real_name)
            return (
                found,
                found.citizen,
                _("您正在为 %(name)s 帮办(申请人已用同意码确认),办件属于申请人。") % {"name": name},
            )
    except NotFound as exc:
        raise Http404 from exc
    return None, request.user, ""


@login_required
def apply(request: HttpRequest, code: str) -> HttpResponse:
    """网上申报: the item's form and materials; one case per idempotency key. With ``?for=`` or
    ``?assist=`` an agent or a window clerk applies for someone else (``_acting_for``)."""
    item, version, requirements = _published_item(code)
    acting_for, applicant, acting_label = _acting_for(request, code)
    schema = version.form_schema or {}
    context = {
        "item": item,
        "v": version,
        "requirements": requirements,
        "level_needed": selectors.real_name_level_shortfall(version=version, applicant=applicant),
        "acting_label": acting_label,
    }
    if request.method != "POST" and acting_for is not None:
        return _apply_page(request, context, version, uuid.uuid4().hex)
    if request.method != "POST":
        # 减填: what the platform knows is filled in; the applicant confirms instead of typing.
        data, sources = selectors.case_form_prefill(actor=request.user, version=version)
        if data:
            defaults = {k: s["default"] for k, s in (schema.get("properties") or {}).items() if "default" in s}
            data = {**defaults, **data}
        context["prefilled"] = [f.label for f in schema_fields(schema, data, {}) if f.key in sources]
        return _apply_page(request, context, version, uuid.uuid4().hex, data or None)

    key = (request.POST.get("idempotency_key") or "").strip()[:64] or uuid.uuid4().hex
    if request.POST.get("action") == "draft" and acting_for is None:  # a draft is the applicant's own
        try:
            draft = services.case_draft_save(actor=request.user, item=item, form_data=_draft_data(schema, request.POST))
        except YiwangError as exc:
            errors = _fields_as_lists(exc.fields)
            errors.setdefault("", [str(exc.message)])
            return _apply_page(request, context, version, key, parse_form(schema, request.POST)[0], errors, 422)
        _draft_saved(request, draft, requirements)
        return redirect("cases:draft", draft_id=draft.pk)
    data, problems = parse_form(schema, request.POST)
    status = 422
    materials = _posted_materials(request, requirements)
    if problems:
        errors = _submit_errors(schema, data, problems)
    else:
        try:
            case, created = services.case_submit(
                actor=request.user,
                item=item,
                form_data=data,
                idempotency_key=key,
                materials=materials,
                human_review=request.POST.get("human_review") == "1",
                acting_for=acting_for,
            )
        except ValidationFailed as exc:
            errors = _fields_as_lists(exc.fields) or {"": [str(exc.message)]}
            if "form_data" in errors or not any(k.startswith("form_data.") for k in errors):
                errors.setdefault("", [str(exc.message)])
        except YiwangError as exc:
            errors, status = {"": [_error_text(exc)]}, exc.status
        else:
            if created:
                messages.success(request, _("申请已提交,办件编号 %(number)s。") % {"number": case.number})
            if request.GET.get("for"):  # the agent follows it through the delegation
                return redirect("identity:delegation_case", delegation_id=acting_for.pk, case_id=case.pk)
            if request.GET.get("assist"):
                return redirect("identity_workbench:assist")
            return redirect("cases:detail", case_id=case.pk)
    if materials and status == 422:
        kept = _keep_files_in_draft(request, item, schema, materials)
        if kept is not None:
            draft, failures = kept
            errors = {**errors, "": [*errors.get("", []), *failures]}
            return _draft_page(request, draft, key, data, errors, status=status)
    return _apply_page(request, context, version, key, data, errors, status=status)


def _keep_files_in_draft(request: HttpRequest, item, schema: dict, materials: list) -> tuple[Case, list[str]] | None:
    """Issue #14: after a form error the chosen files must not have to be chosen again. The
    application is kept as a draft (what was typed, as typed) with the files attached, and the
    page is shown again as that draft, each file named under its material. Returns the draft and
    the messages for files the service refused (each names the material), or None if the draft
    cannot be saved (the page is then shown as before)."""
    try:
        draft = services.case_draft_save(actor=request.user, item=item, form_data=_draft_data(schema, request.POST))
    except YiwangError:
        return None
    failures = []
    for upload in materials:
        try:
            services.case_material_add(
                actor=request.user,
                case_id=draft.pk,
                requirement_id=upload.requirement_id,
                filename=upload.filename,
                content=upload.content,
                name=upload.name,
            )
        except YiwangError as exc:
            failures.append(_error_text(exc))
    kept = len(materials) - len(failures)
    if kept:
        messages.info(
            request,
            _("已选择的 %(n)d 个文件已保存在草稿中,改正后直接提交即可,无需重新选择。") % {"n": kept},
        )
    return selectors.case_draft_get(actor=request.user, draft_id=draft.pk), failures


@login_required
@require_POST
def human_review(request: HttpRequest, case_id: int) -> HttpResponse:
    """The applicant asks a person to look again at an automatic refusal (秒批)."""
    try:
        services.case_request_human_review(
            actor=request.user, case_id=case_id, reason=request.POST.get("reason", ""), expected_version=None
        )
    except NotFound as exc:
        raise Http404 from exc
    except YiwangError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("已申请人工复核,工作人员将重新审查。"))
    return redirect("cases:detail", case_id=case_id)


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    cases = list(selectors.case_list_for_applicant(actor=request.user)[: LIST_LIMIT + 1])
    drafts = list(selectors.case_draft_list(actor=request.user)[:LIST_LIMIT])
    bundles = [
        (b, selectors.bundle_status(bundle=b))
        for b in selectors.bundle_list_for_applicant(actor=request.user)[:LIST_LIMIT]
    ]
    context = {"cases": cases[:LIST_LIMIT], "more": len(cases) > LIST_LIMIT, "bundles": bundles, "drafts": drafts}
    return render(request, "cases/mine.html", context)


# --- portal: drafts --------------------------------------------------------------------------


def _draft_data(schema: dict, post) -> dict:
    """What was typed, for a draft: typed values where they read as their type, the raw text
    where they do not (a draft is not validated; nothing typed is lost)."""
    data, problems = parse_form(schema, post)
    for key in problems:
        data[key] = (post.get(PREFIX + key) or "").strip()
    return data


def _draft_saved(request: HttpRequest, draft: Case, requirements) -> list[str]:
    """Attach the posted files to the draft and say so; returns the refused files' messages."""
    failures = _upload_all(request, draft, requirements)
    for failure in failures:
        messages.error(request, failure)
    messages.success(request, _("草稿已保存,可在“我的办件”中继续填写。"))
    return failures


def _draft_page(request: HttpRequest, draft: Case, key: str = "", data=None, errors=None, status: int = 200):
    version = catalog_selectors.version_with_materials(version_id=draft.item_version_id)
    requirements = list(version.materials.all())
    files = list(selectors.case_materials(case=draft))
    by_requirement = {}
    for material in files:
        by_requirement.setdefault(material.requirement_id, []).append(material)
    for requirement in requirements:
        requirement.uploaded = by_requirement.get(requirement.pk, [])
    item = draft.item_version.item
    context = {
        "item": item,
        "v": version,
        "requirements": requirements,
        "draft": draft,
        "other_files": by_requirement.get(None, []),
        "guide_changed": item.current_version_id not in (None, draft.item_version_id),
    }
    data = draft.form_data if data is None else data
    return _apply_page(request, context, version, key or uuid.uuid4().hex, data, errors, status=status)


@login_required
def draft(request: HttpRequest, draft_id: int) -> HttpResponse:
    """Continue a draft: save it again (``action=draft``) or submit it (the draft's form and files
    become the case; if the guide changed meanwhile the page says so and shows the new version)."""
    key = (request.POST.get("idempotency_key") or "").strip()[:64]
    try:
        found = selectors.case_draft_get(actor=request.user, draft_id=draft_id)
    except NotFound as exc:
        # Submitted already (a double click, the back button): the case it became.
        case = _case_or_404(request, draft_id)
        if request.method == "POST" and case.applicant_id == request.user.pk:
            return redirect("cases:detail", case_id=case.pk)
        raise Http404 from exc
    if request.method != "POST":
        return _draft_page(request, found)
    schema = found.item_version.form_schema or {}
    data = _draft_data(schema, request.POST)
    try:
        found = services.case_draft_save(
            actor=request.user, draft_id=found.pk, form_data=data, expected_version=_version_of(request)
        )
    except YiwangError as exc:
        errors = _fields_as_lists(exc.fields)
        errors.setdefault("", [str(exc.message)])
        return _draft_page(request, found, key, data, errors, status=exc.status)
    requirements = list(catalog_selectors.version_with_materials(version_id=found.item_version_id).materials.all())
    if request.POST.get("action") == "draft":
        _draft_saved(request, found, requirements)
        return redirect("cases:draft", draft_id=found.pk)
    failures = _upload_all(request, found, requirements)
    found = selectors.case_draft_get(actor=request.user, draft_id=found.pk)  # uploads moved its version on
    if failures:
        return _draft_page(request, found, key, data, {"": failures}, status=422)
    typed, problems = parse_form(schema, request.POST)
    if problems:
        return _draft_page(request, found, key, data, _submit_errors(schema, typed, problems), status=422)
    try:
        case, _created = services.case_draft_submit(actor=request.user, draft_id=found.pk, idempotency_key=key)
    except Conflict as exc:
        if exc.code != "guide_changed":
            return _draft_page(request, found, key, data, {"": [str(exc.message)]}, status=exc.status)
        messages.info(request, str(exc.message))
        found = selectors.case_draft_get(actor=request.user, draft_id=found.pk)
        return _draft_page(request, found, key, None, _fields_as_lists(exc.fields), status=409)
    except ValidationFailed as exc:
        errors = _fields_as_lists(exc.fields) or {"": [str(exc.message)]}
        if not any(k.startswith("form_data.") for k in errors):
            errors.setdefault("", [str(exc.message)])
        return _draft_page(request, found, key, data, errors, status=422)
    except YiwangError as exc:
        return _draft_page(request, found, key, data, {"": [_error_text(exc)]}, status=exc.status)
    messages.success(request, _("申请已提交,办件编号 %(number)s。") % {"number": case.number})
    return redirect("cases:detail", case_id=case.pk)


@login_required
@require_POST
def draft_delete(request: HttpRequest, draft_id: int) -> HttpResponse:
    try:
        services.case_draft_delete(actor=request.user, draft_id=draft_id)
    except NotFound as exc:
        raise Http404 from exc
    messages.success(request, _("草稿已删除。"))
    return redirect("cases:mine")


@login_required
def detail(request: HttpRequest, case_id: int) -> HttpResponse:
    try:
        case = selectors.case_get(actor=request.user, case_id=case_id)
    except NotFound as exc:
        try:  # one's own draft has its own page
            return redirect("cases:draft", draft_id=selectors.case_draft_get(actor=request.user, draft_id=case_id).pk)
        except NotFound:
            raise Http404 from exc
    context = _case_context(request, case)
    context["is_applicant"] = case.applicant_id == request.user.pk
    context["tracker"] = case_tracker(case)
    if context["is_applicant"] and case.state in (CaseState.APPROVED, CaseState.DELIVERED):
        from yiwang.licenses.selectors import licenses_for_holder  # the license this case produced, if any

        context["produced_license"] = (
            licenses_for_holder(actor=request.user)
            .filter(source_case_id=case.pk)
            .select_related("license_type")
            .first()
        )
    return render(request, "cases/detail.html", context)


@login_required
@require_POST
def upload(request: HttpRequest, case_id: int) -> HttpResponse:
    """Add material files (the applicant, or a window clerk for scans)."""
    case = _case_or_404(request, case_id)
    failures = _upload_all(request, case, _requirements(case))
    for failure in failures:
        messages.error(request, failure)
    if not failures:
        messages.success(request, _("材料已上传。"))
    target = "cases_workbench:detail" if request.POST.get("from") == "workbench" else "cases:detail"
    return redirect(target, case_id=case.pk)


@login_required
def material(request: HttpRequest, case_id: int, material_id: int) -> FileResponse:
    try:
        found = selectors.case_material_get(actor=request.user, case_id=case_id, material_id=material_id)
    except NotFound as exc:
        raise Http404 from exc
    extension = found.file.name.rsplit(".", 1)[-1]
    response = FileResponse(
        found.file.open("rb"), content_type=found.content_type, filename=f"{found.name}.{extension}"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def notice(request: HttpRequest, case_id: int, kind: str) -> HttpResponse:
    case = _case_or_404(request, case_id)
    try:
        pdf = notice_pdf(case, kind)
    except NotFound as exc:
        raise Http404 from exc
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{case.number}-{kind}.pdf"'
    return response


@login_required
@require_POST
def supplement_answer(request: HttpRequest, case_id: int) -> HttpResponse:
    """补正: upload what was asked, then hand it in (the clock resumes)."""
    case = _case_or_404(request, case_id)
    failures = _upload_all(request, case, _requirements(case))
    for failure in failures:
        messages.error(request, failure)
    if not failures:
        try:
            services.case_supplement_answer(
                actor=request.user,
                case_id=case.pk,
                note=request.POST.get("note", ""),
                expected_version=None,
            )
        except YiwangError as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, _("补正材料已提交。"))
    target = "cases_workbench:detail" if request.POST.get("from") == "workbench" else "cases:detail"
    return redirect(target, case_id=case.pk)


@login_required
@require_POST
def withdraw(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case_or_404(request, case_id)
    try:
        services.case_withdraw(
            actor=request.user,
            case_id=case.pk,
            reason=request.POST.get("reason", ""),
            expected_version=_version_of(request),
        )
    except YiwangError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("申请已撤回。"))
    return redirect("cases:detail", case_id=case.pk)


# --- workbench: front office, back office, delivery ------------------------------------------


@login_required
def workbench_index(request: HttpRequest) -> HttpResponse:
    """The three lists a member of staff works from: waiting at the window, the department
    queue (most urgent first) and waiting for delivery."""
    _require_staff(request)
    actor = request.user
    sla = request.GET.get("sla") or None
    queue = selectors.case_queue(actor=actor, sla_status=sla, mine=request.GET.get("mine") == "1")
    query = (request.GET.get("q") or "").strip()[:64]
    if query:  # search by case number, applicant name or ID number (issue #14)
        lists = [("results", _("搜索结果"), selectors.case_search(actor=actor, query=query))]
    else:
        lists = [
            ("intake", _("待受理(窗口)"), selectors.case_intake_queue(actor=actor, stage="intake")),
            ("queue", _("待审查(本部门)"), queue),
            ("delivery", _("待送达(窗口)"), selectors.case_intake_queue(actor=actor, stage="delivery")),
            ("handled", _("我经办过的办件"), selectors.case_handled_by(actor=actor)),
        ]
    sections = []
    for key, title, cases in lists:
        rows = list(cases[: LIST_LIMIT + 1])
        sections.append(
            {
                "key": key,
                "title": title,
                "cases": [(c, _masked_applicant(c)) for c in rows[:LIST_LIMIT]],
                "more": len(rows) > LIST_LIMIT,
            }
        )
    return render(
        request,
        "cases/workbench_index.html",
        {
            "sections": sections,
            "clerk": services.is_window_clerk(actor),
            "sla": sla or "",
            "query": query,
            "figures": None if query else selectors.department_figures(actor=actor),
        },
    )


def _require_clerk(request: HttpRequest) -> None:
    _require_staff(request)
    if not services.is_window_clerk(request.user):
        raise Http404


def _window_applicant(request: HttpRequest) -> User | None:
    pk = request.session.get(WINDOW_SESSION_KEY)
    return User.objects.filter(pk=pk, is_active=True).first() if pk else None


def _id_number_problem(id_number: str) -> list[str]:
    if not id_number:
        return [_("请输入申请人的身份证号")]
    try:
        validate_id_number(id_number)
    except DjangoValidationError as exc:
        return [str(m) for m in exc.messages]
    return []


def _chosen_hall(request: HttpRequest, halls: list):
    """The hall the clerk works at now: his choice remembered in the session, else his first."""
    pk = request.session.get(WINDOW_HALL_SESSION_KEY)
    return next((hall for hall in halls if hall.pk == pk), halls[0] if halls else None)


def _posted_hall(request: HttpRequest, halls: list):
    """The hall posted as ``intake_department`` (the chooser, a walk-in form), remembered for the
    next forms; none posted: the chosen one. ``ValidationFailed`` naming the field if it is not
    one of the clerk's halls."""
    raw = (request.POST.get("intake_department") or "").strip()
    if not raw:
        return _chosen_hall(request, halls)
    hall = next((hall for hall in halls if str(hall.pk) == raw), None)
    if hall is None:
        message = _("请选择您所在的政务服务大厅")
        raise ValidationFailed(message, code="intake_department", fields={"intake_department": message})
    request.session[WINDOW_HALL_SESSION_KEY] = hall.pk
    return hall


def _hall_context(request: HttpRequest, halls: list, hall=None) -> dict:
    """What the hall chooser renders (a select only for a clerk with several halls)."""
    return {"halls": halls, "hall": hall or _chosen_hall(request, halls)}


def _window_context(request: HttpRequest, context: dict) -> dict:
    """The 一窗受理 page around ``context``: the hall chooser and, once the applicant is
    known, the items and life events (一件事) to apply for."""
    context.update(_hall_context(request, selectors.window_halls(actor=request.user)))
    applicant = _window_applicant(request)
    if applicant is not None:
        context["applicant"] = {
            "name": mask_name(applicant.real_name),
            "id_number": mask_id_number(applicant.id_number),
            "phone": mask_phone(applicant.phone) if applicant.phone else "",
            "activation_pending": user_activation_pending(user=applicant),
            "real_name_level": applicant.real_name_level,
        }
        q = (request.GET.get("q") or "").strip()
        items = catalog_selectors.item_list_published()
        life_events = catalog_selectors.life_event_list_published()
        if q:
            items = items.filter(Q(current_version__name__icontains=q) | Q(implementation_code=q))
            life_events = life_events.filter(Q(current_version__name__icontains=q) | Q(code=q))
        context["q"] = q
        context["items"] = list(items[:LIST_LIMIT])
        context["life_events"] = list(life_events[:LIST_LIMIT])
    return context


@login_required
def window(request: HttpRequest) -> HttpResponse:
    """一窗受理, step 1: find the applicant by ID number (or register them), then pick an item
    or a life event (一件事)."""
    _require_clerk(request)
    context: dict = {"errors": {}, "id_number": "", "found": None, "register": False}
    if "id_number" in request.GET:
        id_number = (request.GET.get("id_number") or "").strip().upper()
        context["id_number"] = id_number
        problem = _id_number_problem(id_number)
        found = user_get_by_id_number(id_number=id_number) if not problem else None
        if problem:
            context["errors"]["id_number"] = problem  # the applicant found before stays
        elif found is None or not found.is_active or found.kind == User.Kind.STAFF:
            # Serving somebody new: the previous applicant must not stay selected.
            request.session.pop(WINDOW_SESSION_KEY, None)
            context["register"] = True
        else:
            request.session[WINDOW_SESSION_KEY] = found.pk
            return redirect("cases_workbench:window")
    return render(request, "cases/window.html", _window_context(request, context))


@login_required
@require_POST
def window_hall(request: HttpRequest) -> HttpResponse:
    """The hall chooser: the clerk with several windows says which hall he works at now; the
    walk-in forms record it (``intake_department``) until he chooses another."""
    _require_clerk(request)
    try:
        hall = _posted_hall(request, selectors.window_halls(actor=request.user))
    except ValidationFailed as exc:
        context = {"errors": _fields_as_lists(exc.fields), "id_number": "", "found": None, "register": False}
        return render(request, "cases/window.html", _window_context(request, context), status=422)
    if hall is not None:
        messages.success(request, _("当前受理大厅:%(hall)s") % {"hall": hall.name})
    return redirect("cases_workbench:window")


@login_required
@require_POST
def window_register(request: HttpRequest) -> HttpResponse:
    """Register a walk-in applicant who has no account yet (they can set a password later)."""
    _require_clerk(request)
    data = {k: (request.POST.get(k) or "").strip() for k in ("id_number", "real_name", "phone")}
    errors: dict[str, list[str]] = {}
    if not data["real_name"]:
        errors["real_name"] = [_("请填写申请人姓名")]
    if not errors:
        try:
            user = user_create(
                actor=request.user,
                username=f"walkin_{uuid.uuid4().hex[:12]}",
                password=secrets.token_urlsafe(18) + "aA1-",
                kind=User.Kind.CITIZEN,
                real_name=data["real_name"],
                id_number=data["id_number"],
                phone=data["phone"],
            )
        except YiwangError as exc:
            errors = _fields_as_lists(exc.fields)
            errors.setdefault("", [str(exc.message)])
        else:
            request.session[WINDOW_SESSION_KEY] = user.pk
            messages.success(request, _("已为申请人建立账号。"))
            return _activation_notice(request, user)
    context = {"errors": errors, "register": True, "found": None, **data}
    return render(request, "cases/window.html", context, status=422)


def _activation_notice(request: HttpRequest, user: User) -> HttpResponse:
    """Issue an activation code and show the 账号激活告知单 to print. The code exists only in
    this response (only its digest is stored): a lost notice means a re-issue."""
    row, code = activation_code_issue(actor=request.user, user=user)
    context = {
        "name": user.real_name,
        "id_number": mask_id_number(user.id_number),
        "code": format_activation_code(code),
        "expires_at": row.expires_at,
        "issued_at": row.issued_at,
        "activate_url": request.build_absolute_uri(reverse("identity:activate")),
        "clerk": request.user.real_name or request.user.username,
    }
    return render(request, "cases/activation_notice.html", context)


@login_required
@require_POST
def window_activation(request: HttpRequest) -> HttpResponse:
    """Re-issue the activation code of the applicant at the window (who lost the notice); the
    earlier code stops working."""
    _require_clerk(request)
    applicant = _window_applicant(request)
    if applicant is None:
        messages.info(request, _("请先查找或登记申请人。"))
        return redirect("cases_workbench:window")
    try:
        return _activation_notice(request, applicant)
    except YiwangError as exc:
        messages.error(request, _error_text(exc))
        return redirect("cases_workbench:window")


@login_required
@require_POST
def window_real_name(request: HttpRequest) -> HttpResponse:
    """当面核验: the clerk has checked the applicant at the window against his 居民身份证 and
    raises the account to L3 (``identity.services.user_real_name_level_raise``, audited)."""
    _require_clerk(request)
    applicant = _window_applicant(request)
    if applicant is None:
        messages.info(request, _("请先查找或登记申请人。"))
        return redirect("cases_workbench:window")
    if request.POST.get("checked_in_person") != "1":
        messages.error(request, _("请先当面核对申请人本人与其居民身份证原件,并勾选确认。"))
        return redirect("cases_workbench:window")
    try:
        user_real_name_level_raise(actor=request.user, user=applicant, level=3, method="in_person")
    except YiwangError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("已完成当面核验,申请人实名等级为 L3。"))
    return redirect("cases_workbench:window")


def progress(request: HttpRequest) -> HttpResponse:
    """办件进度查询 (public): case number + the last four characters of the applicant's ID number
    or phone. Rate limited per client IP and, after failed lookups, per case number."""
    number = (request.GET.get("number") or "").strip()[:32]
    last4 = (request.GET.get("last4") or "").strip()[:4]
    context: dict = {"number": number, "last4": last4, "result": None, "error": ""}
    status = 200
    if "number" in request.GET:
        consume("case_progress_ip", client_ip(request))
        try:
            with failure_limit("case_progress_number", number):
                context["result"] = selectors.case_public_progress(number=number, last4=last4)
        except NotFound as exc:
            context["error"], status = exc.message, 404
    return render(request, "cases/progress.html", context, status=status)


def _applicant_token(applicant: User) -> str:
    """Binds the walk-in form to the applicant it was opened for (signed; not a bare id), so a
    lookup of the next applicant in another tab never re-targets a form already on screen."""
    return signing.dumps(applicant.pk, salt=WINDOW_APPLICANT_SALT)


def _applicant_from_token(token: str) -> User | None:
    try:
        pk = signing.loads(token or "", salt=WINDOW_APPLICANT_SALT, max_age=60 * 60 * 12)
    except signing.BadSignature:
        return None
    return User.objects.filter(pk=pk, is_active=True).exclude(kind=User.Kind.STAFF).first()


@login_required
def window_apply(request: HttpRequest, code: str) -> HttpResponse:
    """一窗受理, step 2: the item's form filled for the applicant, scans attached.

    The applicant is the one the form was opened for (a signed token in the form), not
    whoever the session holds when it is posted. On any error the page comes back with
    everything typed, the applicant, and each error next to its field."""
    _require_clerk(request)
    token = request.POST.get("applicant_token", "") if request.method == "POST" else ""
    # A form bound to an applicant files for that applicant or (token forged or expired) for
    # nobody; only a post without a token falls back to the applicant selected in the session.
    applicant = _applicant_from_token(token) if token else _window_applicant(request)
    if applicant is None and request.method != "POST":
        messages.info(request, _("请先查找或登记申请人。"))
        return redirect("cases_workbench:window")
    item, version, requirements = _published_item(code)
    schema = version.form_schema or {}
    halls = selectors.window_halls(actor=request.user)
    context = {"item": item, "v": version, "requirements": requirements, "window": True}
    context.update(_hall_context(request, halls))
    if applicant is not None:
        context["applicant"] = {
            "name": mask_name(applicant.real_name),
            "id_number": mask_id_number(applicant.id_number),
        }
        context["applicant_token"] = token or _applicant_token(applicant)  # a form keeps its own binding
    if request.method != "POST":
        return _apply_page(request, context, version, uuid.uuid4().hex)
    key = (request.POST.get("idempotency_key") or "").strip()[:64] or uuid.uuid4().hex
    data, problems = parse_form(schema, request.POST)
    status = 422
    hall, hall_errors = None, {}
    try:
        hall = _posted_hall(request, halls)
    except ValidationFailed as exc:
        hall_errors = _fields_as_lists(exc.fields)
    if applicant is None:
        message = _("未确定申请人,请先在“一窗受理”中查找或登记申请人,已填写的内容保留在本页。")
        errors = {**_submit_errors(schema, data, problems), **hall_errors, "applicant": [message]}
    elif problems or hall_errors:
        errors = {**_submit_errors(schema, data, problems), **hall_errors}
    else:
        try:
            case, created = services.case_submit(
                actor=request.user,
                applicant=applicant,
                channel=Channel.WINDOW,
                item=item,
                form_data=data,
                idempotency_key=key,
                materials=_posted_materials(request, requirements),
                intake_department=hall,
            )
        except ValidationFailed as exc:
            errors = _fields_as_lists(exc.fields)
            errors.setdefault("", [str(exc.message)])
        except YiwangError as exc:
            errors, status = {"": [_error_text(exc)]}, exc.status
        else:
            if created:
                messages.success(request, _("已代为申报,办件编号 %(number)s。") % {"number": case.number})
            if request.session.get(WINDOW_SESSION_KEY) == applicant.pk:
                request.session.pop(WINDOW_SESSION_KEY, None)
            return redirect("cases_workbench:detail", case_id=case.pk)
    context["hall_errors"] = errors.pop("intake_department", [])
    if hall is not None:
        context["hall"] = hall
    return _apply_page(request, context, version, key, data, errors, status=status)


@login_required
def workbench_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    _require_staff(request)
    case = _case_or_404(request, case_id)
    context = _case_context(request, case)
    steps = services.review_steps(case.item_version)
    context["current_step"] = steps[case.step_index]["name"] if case.step_index < len(steps) else ""
    context["delivery_methods"] = list(services.DELIVERY_METHODS.items())
    context["decisions"] = Decision.choices
    context["S"] = CaseState
    context["id_mismatches"] = selectors.case_id_mismatches(case=case)
    context["can"] = services.case_review_actions(request.user, case)
    if case.applicant_kind == ApplicantKind.LEGAL_PERSON:  # 联合奖惩: show the reviewer the measures and why
        context["credit"] = supervision_selectors.credit_measures_for(entity_code=case.applicant_id_number)
    if case.state == CaseState.SUBMITTED:
        context["missing_materials"] = selectors.case_missing_materials(case=case)
    return render(request, "cases/workbench_detail.html", context)


def _act(action: str, request: HttpRequest, case_id: int, version: int | None):
    post, actor = request.POST, request.user
    common = {"actor": actor, "case_id": case_id, "expected_version": version}
    if action == "accept":
        return services.case_accept(**common), _("已受理。")
    if action == "refuse":
        return services.case_refuse(**common, reason=post.get("reason", "")), _("已作出不予受理决定。")
    if action == "supplement":
        items = supplement_items_from_text(post.get("items", ""))
        services.case_request_supplement(**common, items=items, note=post.get("note", ""))
        return None, _("已出具补正告知书。")
    if action == "claim":
        return services.case_claim(**common), _("已认领。")
    if action == "opinion":
        services.case_record_opinion(**common, opinion=post.get("opinion", ""), outcome=post.get("outcome", "agree"))
        return None, _("审查意见已记录。")
    if action == "decide":
        services.case_decide(**common, decision=post.get("decision", ""), reasons=post.get("reasons", ""))
        return None, _("已作出决定。")
    if action == "extend":
        try:
            days = int(post.get("days", ""))
        except ValueError:
            raise ValidationFailed(_("请填写延长的工作日数"), fields={"days": _("请填写延长的工作日数")}) from None
        services.case_extend(**common, days=days, reason=post.get("reason", ""))
        return None, _("已延长办理期限。")
    if action == "deliver":
        services.case_deliver(**common, method=post.get("method", "window"))
        return None, _("已送达。")
    raise Http404


@login_required
@require_POST
def workbench_action(request: HttpRequest, case_id: int, action: str) -> HttpResponse:
    _require_staff(request)
    # The service finds the case with the actor's visibility (a case they may not see is a 404),
    # and tells a clerk who saw it at the window that a colleague moved it on (a conflict).
    try:
        _result, done = _act(action, request, case_id, _version_of(request))
    except NotFound as exc:
        raise Http404 from exc
    except YiwangError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, done)
    try:
        selectors.case_get(actor=request.user, case_id=case_id)
    except NotFound:  # e.g. delivered, or moved on to the back office: back to the lists
        return redirect("cases_workbench:index")
    return redirect("cases_workbench:detail", case_id=case_id)
