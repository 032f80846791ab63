"""Pages of delegation (授权代办) and 帮办: the portal's 我的授权 (the principal gives and revokes;
the agent's switcher), the agent's view of a principal's cases, the citizen's 帮办授权 (agree and
see the consent code once), and the window clerk's 帮办 page on the workbench. Thin: identity's
selectors and services decide; applying goes through the cases' apply page (``?for=`` / ``?assist=``)."""

from datetime import datetime, time

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from yiwang.core.errors import NotFound, ValidationFailed, YiwangError
from yiwang.core.masking import mask_name
from yiwang.identity import selectors, services
from yiwang.identity.models import Delegation, User


class DelegationForm(forms.Form):
    agent_name = forms.CharField(label=gettext_lazy("被授权人姓名"), max_length=50)
    agent_id_number = forms.CharField(label=gettext_lazy("被授权人居民身份证号码"), max_length=18)
    relation = forms.ChoiceField(label=gettext_lazy("与授权人关系"), choices=Delegation.Relation.choices)
    all_items = forms.BooleanField(label=gettext_lazy("授权办理全部事项"), required=False)
    item_codes = forms.CharField(
        label=gettext_lazy("授权事项的实施编码(每行一个;授权全部事项时不填)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    valid_until = forms.DateField(
        label=gettext_lazy("授权截止日期(含当日)"), widget=forms.DateInput(attrs={"type": "date"})
    )


def _form_errors(form: forms.Form, exc: ValidationFailed) -> None:
    for field, problems in (exc.fields or {}).items():
        for problem in problems if isinstance(problems, list | tuple) else [problems]:
            form.add_error(field if field in form.fields else None, str(problem))


def _principal_name(delegation: Delegation) -> str:
    principal = delegation.principal
    return principal.enterprise_name or mask_name(principal.real_name)


@login_required
def delegations_view(request: HttpRequest) -> HttpResponse:
    """我的授权: the delegations I gave (revocable) and a form to give one; those I hold (the switcher)."""
    user = request.user
    may_give = user.kind in (User.Kind.CITIZEN, User.Kind.ENTERPRISE_AGENT)
    form = DelegationForm(request.POST or None) if may_give else None
    if form is not None:
        allowed = (
            services.ENTERPRISE_RELATIONS if user.kind == User.Kind.ENTERPRISE_AGENT else services.FAMILY_RELATIONS
        )
        form.fields["relation"].choices = [c for c in Delegation.Relation.choices if c[0] in allowed]
    if request.method == "POST":
        if form is None:
            raise Http404
        if form.is_valid():
            data = form.cleaned_data
            until = timezone.make_aware(datetime.combine(data["valid_until"], time.max))
            try:
                services.delegation_create(
                    actor=user,
                    agent_id_number=data["agent_id_number"],
                    agent_name=data["agent_name"],
                    relation=data["relation"],
                    all_items=data["all_items"],
                    item_codes=data["item_codes"].split(),
                    valid_until=until,
                )
            except ValidationFailed as exc:
                _form_errors(form, exc)
            except YiwangError as exc:
                form.add_error(None, str(exc.message))
            else:
                messages.success(request, _("授权已生效。您可以随时撤销。"))
                return redirect("identity:delegations")
    now = timezone.now()
    given = [(d, d.is_live(now), mask_name(d.agent.real_name)) for d in selectors.delegations_given(actor=user)[:100]]
    held = [(d, d.is_live(now), _principal_name(d)) for d in selectors.delegations_held(actor=user)[:100]]
    return render(
        request,
        "identity/delegations.html",
        {"form": form, "given": given, "held": held},
        status=422 if form is not None and form.errors else 200,
    )


@login_required
@require_POST
def delegation_revoke_view(request: HttpRequest, delegation_id: int) -> HttpResponse:
    try:
        delegation = selectors.delegation_get(actor=request.user, id=delegation_id)
        services.delegation_revoke(actor=request.user, delegation=delegation)
    except NotFound as exc:
        raise Http404 from exc
    messages.success(request, _("授权已撤销,被授权人不能再代为办理。"))
    return redirect("identity:delegations")


@login_required
def delegation_agent_view(request: HttpRequest, delegation_id: int) -> HttpResponse:
    """The agent acting for the principal (the switcher's target): what may be applied for, and
    the principal's cases in scope. 404 unless the delegation is the actor's and in force."""
    from yiwang.cases import selectors as case_selectors
    from yiwang.catalog import selectors as catalog_selectors

    try:
        delegation = selectors.delegation_for_agent(actor=request.user, id=delegation_id)
    except NotFound as exc:
        raise Http404 from exc
    if request.GET.get("item"):  # all items: the agent names the item's code
        code = request.GET["item"].strip()
        if delegation.covers(code):
            return redirect(f"/cases/apply/{code}/?for={delegation.pk}")
        messages.error(request, _("该事项不在授权范围内。"))
    items = []
    for code in delegation.item_codes or []:
        try:
            item = catalog_selectors.item_get_published(implementation_code=code)
        except NotFound:
            continue
        items.append((code, item.current_version.name if item.current_version else code))
    cases = case_selectors.cases_for_delegation(delegation=delegation)[:50]
    return render(
        request,
        "identity/delegation_agent.html",
        {"delegation": delegation, "principal_name": _principal_name(delegation), "items": items, "cases": cases},
    )


def _delegated_case(request: HttpRequest, delegation_id: int, case_id: int, *, acting: bool = False):
    """(delegation, case) for the agent: the delegation his and in force, the case the principal's
    in its scope (``acting``: one he submitted himself); else 404."""
    from yiwang.cases import selectors as case_selectors

    try:
        delegation = selectors.delegation_for_agent(actor=request.user, id=delegation_id)
        case = case_selectors.case_get_for_delegation(delegation=delegation, case_id=case_id, acting=acting)
    except NotFound as exc:
        raise Http404 from exc
    return delegation, case


def _delegation_case_page(request: HttpRequest, delegation, case, *, errors=(), status: int = 200) -> HttpResponse:
    from yiwang.cases import selectors as case_selectors
    from yiwang.cases.models import OPEN_STATES, CaseState
    from yiwang.catalog import selectors as catalog_selectors

    may_act = case_selectors.cases_submitted_by_agent(delegation=delegation).filter(pk=case.pk).exists()
    supplement = case_selectors.case_supplement(case=case)
    answering = may_act and case.state == CaseState.SUPPLEMENT_REQUESTED
    requirements = (
        list(catalog_selectors.version_with_materials(version_id=case.item_version_id).materials.all())
        if answering
        else []
    )
    steps = case.steps.filter(public=True).order_by("id")
    return render(
        request,
        "identity/delegation_case.html",
        {
            "delegation": delegation,
            "principal_name": _principal_name(delegation),
            "case": case,
            "steps": steps,
            "supplement": supplement,
            "answering": answering,
            "may_withdraw": may_act and case.state in OPEN_STATES,
            "requirements": requirements,
            "errors": errors,
        },
        status=status,
    )


@login_required
def delegation_case_view(request: HttpRequest, delegation_id: int, case_id: int) -> HttpResponse:
    """One of the principal's cases, as the agent follows it (its public timeline); for a case the
    agent submitted himself, the forms to answer a supplement request and to withdraw."""
    delegation, case = _delegated_case(request, delegation_id, case_id)
    return _delegation_case_page(request, delegation, case)


def _error_lines(exc: YiwangError) -> list[str]:
    lines = [str(exc.message)]
    for problems in (exc.fields or {}).values():
        for problem in problems if isinstance(problems, list | tuple) else [problems]:
            if str(problem) not in lines:
                lines.append(str(problem))
    return lines


@login_required
@require_POST
def delegation_case_supplement_view(request: HttpRequest, delegation_id: int, case_id: int) -> HttpResponse:
    """补正 by the agent: the asked-for files and a note, handed in at once (nothing is kept when
    one file is refused: the page says which, 422). 404 unless the agent submitted the case."""
    from yiwang.cases import services as case_services
    from yiwang.cases.forms import posted_materials
    from yiwang.catalog import selectors as catalog_selectors

    delegation, case = _delegated_case(request, delegation_id, case_id, acting=True)
    version = catalog_selectors.version_with_materials(version_id=case.item_version_id)
    materials = posted_materials(request, [m.pk for m in version.materials.all()])
    try:
        case_services.case_supplement_answer(
            actor=request.user,
            case_id=case.pk,
            note=request.POST.get("note", ""),
            expected_version=None,
            acting_for=delegation,
            materials=materials,
        )
    except NotFound as exc:
        raise Http404 from exc
    except YiwangError as exc:
        return _delegation_case_page(request, delegation, case, errors=_error_lines(exc), status=exc.status)
    messages.success(request, _("补正材料已代为提交。"))
    return redirect("identity:delegation_case", delegation_id=delegation.pk, case_id=case.pk)


@login_required
@require_POST
def delegation_case_withdraw_view(request: HttpRequest, delegation_id: int, case_id: int) -> HttpResponse:
    """撤回 by the agent, before a decision. 404 unless the agent submitted the case."""
    from yiwang.cases import services as case_services

    delegation, case = _delegated_case(request, delegation_id, case_id, acting=True)
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = None
    try:
        case_services.case_withdraw(
            actor=request.user,
            case_id=case.pk,
            reason=request.POST.get("reason", ""),
            expected_version=version,
            acting_for=delegation,
        )
    except NotFound as exc:
        raise Http404 from exc
    except YiwangError as exc:
        return _delegation_case_page(request, delegation, case, errors=_error_lines(exc), status=exc.status)
    messages.success(request, _("申请已代为撤回。"))
    return redirect("identity:delegation_case", delegation_id=delegation.pk, case_id=case.pk)


@login_required
def assist_citizen_view(request: HttpRequest) -> HttpResponse:
    """帮办授权 on the citizen's phone: a window clerk's requests; agree (the code is shown once) or refuse."""
    code = None
    if request.method == "POST":
        try:
            consent = selectors.assist_consent_get(actor=request.user, id=request.POST.get("consent"), as_clerk=False)
            if request.POST.get("action") == "decline":
                services.assist_decline(actor=request.user, consent=consent)
                messages.success(request, _("已拒绝帮办申请。"))
                return redirect("identity:assist")
            code = services.assist_code_issue(actor=request.user, consent=consent)
        except NotFound as exc:
            raise Http404 from exc
    consents = selectors.assist_consents_for_citizen(actor=request.user)[:20]
    return render(request, "identity/assist.html", {"consents": consents, "code": code, "now": timezone.now()})


# --- workbench: the window clerk's 帮办 ------------------------------------------------------------


class AssistRequestForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("申请人姓名"), max_length=50)
    id_number = forms.CharField(label=gettext_lazy("申请人居民身份证号码"), max_length=18)


def _require_clerk(request: HttpRequest) -> None:
    from yiwang.identity.models import Role

    if not any(g.role == Role.WINDOW_CLERK for g in selectors.actor_grants(actor=request.user, remember=True)):
        raise Http404


@login_required
def assist_window_view(request: HttpRequest) -> HttpResponse:
    """帮办 at the window: ask the citizen's consent, type the code the citizen's phone shows, then
    apply on the citizen's own account (the cases' apply page with ``?assist=``)."""
    _require_clerk(request)
    form = AssistRequestForm(request.POST if request.POST.get("action") == "request" else None)
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "request" and form.is_valid():
            try:
                services.assist_request(actor=request.user, **form.cleaned_data)
            except ValidationFailed as exc:
                _form_errors(form, exc)
            except YiwangError as exc:
                form.add_error(None, str(exc.message))
            else:
                messages.success(request, _("已通知申请人。请申请人在手机上打开“帮办授权”,同意后把同意码告诉您。"))
                return redirect("identity_workbench:assist")
        elif action == "verify":
            try:
                consent = selectors.assist_consent_get(
                    actor=request.user, id=request.POST.get("consent"), as_clerk=True
                )
                services.assist_verify(actor=request.user, consent=consent, code=request.POST.get("code", ""))
            except NotFound as exc:
                raise Http404 from exc
            except ValidationFailed as exc:
                messages.error(request, "; ".join(str(m) for msgs in exc.fields.values() for m in msgs))
            except YiwangError as exc:
                messages.error(request, str(exc.message))
            else:
                messages.success(request, _("同意码核验通过,可以开始帮办。"))
            return redirect("identity_workbench:assist")
        elif action == "apply":
            try:
                consent = selectors.assist_consent_for_acting(actor=request.user, id=request.POST.get("consent"))
            except NotFound as exc:
                raise Http404 from exc
            code = (request.POST.get("item") or "").strip()
            return redirect(f"/cases/apply/{code}/?assist={consent.pk}")
    consents = [
        (c, mask_name(c.citizen.real_name)) for c in selectors.assist_consents_of_clerk(actor=request.user)[:20]
    ]
    now = timezone.now()
    return render(request, "identity/assist_window.html", {"form": form, "consents": consents, "now": now})
