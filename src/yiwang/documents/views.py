"""Workbench pages of document circulation and duty rosters, mounted at /workbench/documents/.

Staff only (anyone else: 404). A document is shown to the people on its route and its
recipients; to anyone else it is a 404. Thin: reads are selectors, writes are services.
"""

import datetime

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from yiwang.core.errors import ValidationFailed, YiwangError
from yiwang.core.masking import mask_phone
from yiwang.documents import selectors, services
from yiwang.documents.models import Document, DutyShift, DutySwap, StepKind
from yiwang.identity.models import Department, User


def _staff(request: HttpRequest) -> None:
    if not (request.user.is_superuser or request.user.kind == User.Kind.STAFF):
        raise Http404


def _document(request: HttpRequest, document_id: int) -> Document:
    _staff(request)
    try:
        return selectors.document_get(actor=request.user, id=document_id)
    except YiwangError as exc:
        raise Http404 from exc


def _error_text(exc: YiwangError) -> str:
    details = [str(m) for ms in exc.fields.values() for m in ms if str(m) != str(exc.message)]
    return " ".join([str(exc.message), *details])


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """我的待办, my drafts, documents received (签收), and the duty on now."""
    _staff(request)
    received = list(selectors.document_list(actor=request.user, box="received")[:50])
    for document in received:
        mine = services.receipts_of_actor(request.user, document)
        document.to_acknowledge = any(r.acknowledged_at is None for r in mine)
    context = {
        "todo": selectors.steps_todo(actor=request.user)[:100],
        "drafts": selectors.document_list(actor=request.user, box="drafts")[:50],
        "received": received,
        "issued": selectors.document_list(actor=request.user, box="issued").filter(drafter=request.user)[:50],
        "swaps": selectors.swaps_for(actor=request.user),
    }
    return render(request, "documents/index.html", context)


class DraftForm(forms.Form):
    document_type = forms.ModelChoiceField(queryset=None, label=gettext_lazy("公文类型"), empty_label=None)
    department = forms.ModelChoiceField(queryset=None, label=gettext_lazy("发文部门"), empty_label=None)
    title = forms.CharField(label=gettext_lazy("标题"), max_length=200)
    body = forms.CharField(label=gettext_lazy("正文"), widget=forms.Textarea(attrs={"rows": 10}))
    recipient_departments = forms.ModelMultipleChoiceField(
        queryset=None, label=gettext_lazy("主送部门"), required=False, widget=forms.SelectMultiple(attrs={"size": 8})
    )

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = selectors.drafting_departments(actor=actor)
        self.fields["document_type"].queryset = selectors.document_types(actor=actor)
        self.fields["recipient_departments"].queryset = Department.objects.filter(
            is_active=True, level__lte=Department.Level.COUNTY
        ).order_by("path")


def _form_errors(form: forms.Form, exc: YiwangError) -> None:
    placed = False
    for name, msgs in exc.fields.items():
        for msg in msgs:
            form.add_error(name if name in form.fields else None, str(msg))
            placed = True
    if not placed:
        form.add_error(None, str(exc.message))


@login_required
def new(request: HttpRequest) -> HttpResponse:
    """拟稿: a new draft, then submitted from its page."""
    _staff(request)
    form = DraftForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            document = services.document_create(
                actor=request.user,
                document_type=data["document_type"],
                department=data["department"],
                title=data["title"],
                body=data["body"],
                recipient_department_ids=[d.pk for d in data["recipient_departments"]],
            )
        except YiwangError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("已保存草稿,请核对后送审"))
            return redirect("documents:detail", document_id=document.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "documents/new.html", {"form": form}, status=status)


@login_required
def detail(request: HttpRequest, document_id: int) -> HttpResponse:
    document = _document(request, document_id)
    route = selectors.document_route(document=document)
    receipts = selectors.document_receipts(document=document)
    mine = services.receipts_of_actor(request.user, document)
    from yiwang.identity.selectors import actor_has_role

    actionable = [
        s
        for s in route
        if s.state == "pending" and actor_has_role(request.user, roles=(s.role,), department=s.department)
    ]
    context = {
        "document": document,
        "route": route,
        "receipts": receipts,
        "acknowledged_count": sum(1 for r in receipts if r.acknowledged_at),
        "actionable": actionable,
        "may_edit": document.drafter_id == request.user.pk and document.state in ("draft", "returned"),
        "may_acknowledge": any(r.acknowledged_at is None for r in mine),
        "may_remind": document.state == "issued" and services.may_remind(request.user, document),
        "recipients": document.recipient_departments.all(),
    }
    return render(request, "documents/detail.html", context)


@login_required
def pdf(request: HttpRequest, document_id: int) -> HttpResponse:
    document = _document(request, document_id)
    if document.state != Document.State.ISSUED:
        raise Http404
    response = HttpResponse(bytes(document.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="document-{document.pk}.pdf"'
    return response


ACTIONS = {"submit", "approve", "return", "acknowledge", "remind"}


@login_required
@require_POST
def action(request: HttpRequest, document_id: int, action: str) -> HttpResponse:
    document = _document(request, document_id)
    if action not in ACTIONS:
        raise Http404
    try:
        step_id = int(request.POST.get("step") or 0)
        if action == "submit":
            services.document_submit(actor=request.user, document=document)
            done = _("已送审")
        elif action == "approve":
            services.step_approve(actor=request.user, step_id=step_id, comment=request.POST.get("comment", ""))
            done = _("已办理")
        elif action == "return":
            services.step_return(actor=request.user, step_id=step_id, reason=request.POST.get("comment", ""))
            done = _("已退回拟稿人")
        elif action == "acknowledge":
            services.document_acknowledge(actor=request.user, document_id=document.pk)
            done = _("已签收")
        else:
            count = services.document_remind(actor=request.user, document_id=document.pk)
            done = _("已催签 %(n)d 个收文方") % {"n": count}
    except YiwangError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, done)
    return redirect("documents:detail", document_id=document.pk)


# =============================================================================================
# Duty rosters
# =============================================================================================


def _monday(value: str | None) -> datetime.date:
    try:
        day = datetime.date.fromisoformat(value) if value else timezone.localdate()
    except ValueError:
        day = timezone.localdate()
    if not 2000 <= day.year <= 2100:
        day = timezone.localdate()
    return day - datetime.timedelta(days=day.weekday())


@login_required
def duty(request: HttpRequest) -> HttpResponse:
    """The week's roster of one department (a column per day), who is on duty now, my swaps."""
    _staff(request)
    departments = Department.objects.filter(is_active=True, level__lte=Department.Level.COUNTY).order_by("path")
    mine = selectors.drafting_departments(actor=request.user)
    department = departments.filter(pk=request.GET.get("department") or 0).first() or mine.first()
    if department is None:
        department = departments.first()
    monday = _monday(request.GET.get("week"))
    start = timezone.make_aware(datetime.datetime.combine(monday, datetime.time()))
    shifts = list(
        selectors.duty_shifts(
            actor=request.user, department=department, start=start, end=start + datetime.timedelta(days=7)
        )
    )
    days = []
    for offset in range(7):
        day = monday + datetime.timedelta(days=offset)
        day_start = start + datetime.timedelta(days=offset)
        day_end = day_start + datetime.timedelta(days=1)
        entries = [s for s in shifts if s.starts_at < day_end and s.ends_at > day_start]
        for s in entries:
            s.masked_phone = mask_phone(s.phone)
        days.append({"date": day, "shifts": entries, "today": day == timezone.localdate()})
    on_now = list(selectors.duty_on_now(department=department))
    for s in on_now:
        s.masked_phone = mask_phone(s.phone)
    from yiwang.identity.selectors import actor_has_role

    context = {
        "department": department,
        "departments": departments,
        "monday": monday,
        "previous": monday - datetime.timedelta(days=7),
        "next": monday + datetime.timedelta(days=7),
        "days": days,
        "on_now": on_now,
        "may_schedule": department is not None
        and actor_has_role(request.user, roles=services.ROSTER_ROLES, department=department),
        "staff": selectors.department_staff(department=department) if department else [],
        "swaps": selectors.swaps_for(actor=request.user),
        "now": timezone.now(),
        "errors": {},
    }
    if request.htmx and request.GET.get("part") == "now":
        return render(request, "documents/_duty_now.html", context)
    return render(request, "documents/duty.html", context)


def _duty_redirect(department_id, week: str = "") -> HttpResponse:
    url = f"{redirect('documents:duty').url}?department={department_id}"
    return redirect(url + (f"&week={week}" if week else ""))


@login_required
@require_POST
def shift_new(request: HttpRequest) -> HttpResponse:
    _staff(request)
    department = Department.objects.filter(pk=request.POST.get("department") or 0, is_active=True).first()
    if department is None:
        messages.error(request, _("请选择部门"))
        return redirect("documents:duty")
    person = User.objects.filter(pk=request.POST.get("person") or 0).first()
    try:
        starts_at = datetime.datetime.fromisoformat(request.POST.get("starts_at", ""))
        ends_at = datetime.datetime.fromisoformat(request.POST.get("ends_at", ""))
    except ValueError:
        messages.error(request, _("请填写有效的开始和结束时间"))
        return _duty_redirect(department.pk)
    if person is None:
        messages.error(request, _("请选择值班人员"))
        return _duty_redirect(department.pk)
    try:
        services.shift_create(
            actor=request.user,
            department=department,
            person=person,
            starts_at=starts_at,
            ends_at=ends_at,
            phone=request.POST.get("phone", ""),
            note=request.POST.get("note", ""),
        )
    except YiwangError as exc:
        if exc.status == 404:
            raise Http404 from exc
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("已排班"))
    return _duty_redirect(department.pk, starts_at.date().isoformat())


@login_required
@require_POST
def swap(request: HttpRequest, shift_id: int) -> HttpResponse:
    _staff(request)
    shift = DutyShift.objects.filter(pk=shift_id).first()
    if shift is None:
        raise Http404
    to_user = User.objects.filter(pk=request.POST.get("to_user") or 0).first()
    try:
        if to_user is None:
            raise ValidationFailed(_("请选择接班人"))
        services.swap_request(
            actor=request.user, shift_id=shift.pk, to_user=to_user, reason=request.POST.get("reason", "")
        )
    except YiwangError as exc:
        if exc.status == 404:
            raise Http404 from exc
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("已发出换班申请"))
    return _duty_redirect(shift.department_id)


@login_required
@require_POST
def swap_decide(request: HttpRequest, swap_id: int) -> HttpResponse:
    _staff(request)
    swap_request = DutySwap.objects.select_related("shift").filter(pk=swap_id).first()
    if swap_request is None:
        raise Http404
    accept = request.POST.get("accept") == "1"
    try:
        services.swap_decide(
            actor=request.user, swap_id=swap_request.pk, accept=accept, phone=request.POST.get("phone", "")
        )
    except YiwangError as exc:
        if exc.status == 404:
            raise Http404 from exc
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("已换班") if accept else _("已拒绝换班"))
    return _duty_redirect(swap_request.shift.department_id)


# --- document types: their routes --------------------------------------------------------------

TYPE_FORM_BLANK_STEPS = 3  # empty step rows offered below the route's steps


def _steps_from_post(post) -> list[dict]:
    """The route rows of the form (``step-<n>-kind``, ``-role``, ``-departments``), in order;
    a row with neither a step kind nor a role is left out (the blank rows)."""
    import re

    steps = []
    indexes = sorted({int(m.group(1)) for key in post for m in [re.fullmatch(r"step-(\d{1,2})-kind", key)] if m})
    for n in indexes:
        kind = post.get(f"step-{n}-kind", "").strip()
        role = post.get(f"step-{n}-role", "").strip()
        codes = [c for c in re.split(r"[\s,，、;；]+", post.get(f"step-{n}-departments", "")) if c]
        if kind or role or codes:
            steps.append({"kind": kind, "role": role, "departments": codes})
    return steps


def _route_rows(steps: list[dict]) -> list[dict]:
    rows = [
        {
            "n": n,
            "kind": s.get("kind", ""),
            "role": s.get("role", ""),
            "departments": " ".join(s.get("departments", [])),
        }
        for n, s in enumerate(steps)
    ]
    start = len(rows)
    rows += [{"n": start + i, "kind": "", "role": "", "departments": ""} for i in range(TYPE_FORM_BLANK_STEPS)]
    return rows


@login_required
def types(request: HttpRequest) -> HttpResponse:
    """公文类型: every type and its route (环节 · 角色 · 部门), for staff; who may define types
    gets the links to change them."""
    from yiwang.identity.models import Role

    _staff(request)
    city_wide, departments = selectors.type_admin_scope(actor=request.user)
    manageable = set(departments.values_list("pk", flat=True))
    names = dict(Department.objects.filter(is_active=True).values_list("code", "name"))
    roles = dict(Role.choices)
    rows = []
    for doc_type in selectors.document_types_all(actor=request.user):
        route = [
            {
                "kind": StepKind(s["kind"]).label if s.get("kind") in StepKind.values else s.get("kind"),
                "role": roles.get(s.get("role", ""), s.get("role", "")),
                "departments": [names.get(code, code) for code in s.get("departments", [])],
            }
            for s in doc_type.steps
        ]
        may_edit = city_wide if doc_type.department_id is None else doc_type.department_id in manageable
        rows.append({"type": doc_type, "route": route, "may_edit": may_edit})
    return render(request, "documents/types.html", {"rows": rows, "may_define": city_wide or bool(manageable)})


@login_required
def type_edit(request: HttpRequest) -> HttpResponse:
    """Define a type or change its route (``?code=``): a city admin the city-wide ones, a
    department admin his department's. Errors next to the fields, the route's naming the step."""
    from yiwang.identity.models import Role

    _staff(request)
    city_wide, departments = selectors.type_admin_scope(actor=request.user)
    if not city_wide and not departments.exists():
        raise Http404
    existing = None
    code = (request.POST.get("code") if request.method == "POST" else request.GET.get("code")) or ""
    if code:
        existing = selectors.document_types_all(actor=request.user).filter(code=code).first()
        if existing is not None and not (
            city_wide if existing.department_id is None else departments.filter(pk=existing.department_id).exists()
        ):
            raise Http404  # another department's type: not his to change
    errors: dict = {}
    if request.method == "POST":
        department = None
        if request.POST.get("department"):
            department = departments.filter(code=request.POST["department"]).first()
            if department is None:
                errors["department"] = [_("请选择您可以管理的部门")]
        elif not city_wide:
            errors["department"] = [_("请选择部门;全市通用的类型由市级管理员定义")]
        steps = _steps_from_post(request.POST)
        if not errors:
            try:
                saved = services.document_type_save(
                    actor=request.user,
                    code=code,
                    name=request.POST.get("name", ""),
                    number_prefix=request.POST.get("number_prefix", ""),
                    department=department,
                    steps=steps,
                    is_active=request.POST.get("is_active") == "on",
                )
            except ValidationFailed as exc:
                errors = {k: [str(m) for m in v] for k, v in exc.fields.items()} or {"form": [str(exc.message)]}
            except YiwangError as exc:
                errors = {"form": [str(exc.message)]}
            else:
                messages.success(request, _("公文类型“%(name)s”已保存。") % {"name": saved.name})
                return redirect("documents:types")
        values = {
            "code": code,
            "name": request.POST.get("name", ""),
            "number_prefix": request.POST.get("number_prefix", ""),
            "department": request.POST.get("department", ""),
            "is_active": request.POST.get("is_active") == "on",
        }
        route = _route_rows(steps)
    elif existing is not None:
        values = {
            "code": existing.code,
            "name": existing.name,
            "number_prefix": existing.number_prefix,
            "department": existing.department.code if existing.department else "",
            "is_active": existing.is_active,
        }
        route = _route_rows(existing.steps)
    else:
        values = {"code": "", "name": "", "number_prefix": "", "department": "", "is_active": True}
        route = _route_rows([])
    return render(
        request,
        "documents/type_edit.html",
        {
            "existing": existing,
            "values": values,
            "route": route,
            "errors": errors,
            "city_wide": city_wide,
            "departments": departments,
            "kinds": StepKind.choices,
            "roles": Role.choices,
        },
        status=422 if errors else 200,
    )
