"""Policy pages (thin): /policies/ (the library; for an enterprise, 政策计算器 and its benefits) and
/workbench/policies/ (the 免申即享 lists to review, confirmation, the payment batch and its answer)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from yiwang.core.errors import NotFound, YiwangError
from yiwang.policies import selectors, services


def _error_text(exc: YiwangError) -> str:
    return " ".join([str(exc.message), *[str(m) for ms in exc.fields.values() for m in ms]])


@require_GET
def library_page(request: HttpRequest) -> HttpResponse:
    lines, total, error = None, None, ""
    is_enterprise = bool(selectors.enterprise_of(request.user))
    citizen = getattr(request.user, "kind", "") == "citizen" and bool(getattr(request.user, "id_number", ""))
    if request.user.is_authenticated and (is_enterprise or citizen):
        try:
            lines, total = selectors.calculator(actor=request.user)
        except YiwangError as exc:
            error = _error_text(exc)
    return render(
        request,
        "policies/library.html",
        {
            "policies": selectors.policies_published().prefetch_related("benefits")[:100],
            "lines": lines,
            "total": total,
            "error": error,
            "awards": selectors.awards_of_enterprise(actor=request.user)[:100],
            "objections": selectors.objections_of_enterprise(actor=request.user)[:50],
            "is_enterprise": is_enterprise,
        },
    )


@login_required
@require_GET
def workbench_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "policies/workbench.html",
        {
            "awards": selectors.awards_to_review(actor=request.user).order_by("status", "benefit_id", "uscc")[:500],
            "batches": selectors.batches_for_department(actor=request.user)[:50],
            "policies": selectors.policies_for_department(actor=request.user)[:50],
            "objections": selectors.objections_for_department(actor=request.user)[:200],
        },
    )


def _act(request, get, act) -> HttpResponse:
    try:
        obj = get()
    except NotFound:
        return render(request, "404.html", status=404)
    try:
        act(obj)
        messages.success(request, _("已处理。"))
    except YiwangError as exc:
        messages.error(request, _error_text(exc))
    return redirect("policies:workbench")


@login_required
@require_POST
def award_review(request: HttpRequest, id: int) -> HttpResponse:
    return _act(
        request,
        lambda: selectors.award_get_for_review(actor=request.user, id=id),
        lambda award: services.award_review(
            actor=request.user, award=award, include=request.POST.get("decision") == "include"
        ),
    )


@login_required
@require_POST
def benefit_confirm(request: HttpRequest, id: int) -> HttpResponse:
    return _act(
        request,
        lambda: selectors.benefit_get_for_department(actor=request.user, id=id),
        lambda benefit: services.awards_confirm(actor=request.user, benefit=benefit),
    )


@login_required
@require_GET
def batch_file(request: HttpRequest, id: int) -> HttpResponse:
    try:
        batch = selectors.batch_get_for_department(actor=request.user, id=id)
    except NotFound:
        return render(request, "404.html", status=404)
    response = HttpResponse(
        bytes(batch.file), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="payment-batch-{batch.pk}.xlsx"'
    return response


@login_required
@require_POST
def batch_import(request: HttpRequest, id: int) -> HttpResponse:
    upload = request.FILES.get("file")
    return _act(
        request,
        lambda: selectors.batch_get_for_department(actor=request.user, id=id),
        lambda batch: services.payment_batch_import(
            actor=request.user, batch=batch, content=upload.read() if upload else b""
        ),
    )


# --- the rule editor (policy department) ---------------------------------------------------------


def _table_errors(exc: YiwangError) -> list[str]:
    if exc.fields:
        return [f"{path}:{message}" for path, messages in exc.fields.items() for message in messages]
    return [str(exc.message)]


@login_required
def benefit_rules(request: HttpRequest, id: int) -> HttpResponse:
    """A benefit's eligibility table as YAML, like the 秒批 table page: "check" validates every
    row (named in the error) and runs the example entities; "save" stores it in the draft policy
    (the examples must all pass again when the policy is published)."""
    import yaml

    from yiwang.core import rules as rule_language
    from yiwang.policies import rules

    try:
        benefit = selectors.benefit_get_for_department(actor=request.user, id=id)
    except NotFound:
        return render(request, "404.html", status=404)
    errors: list[str] = []
    results: list[dict] = []
    status = 200
    if request.method == "POST":
        text = request.POST.get("content", "")
        try:
            table = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            table, errors = None, [_("第 %(line)d 行:YAML 格式错误") % {"line": (mark.line + 1) if mark else 0}]
        if not errors:
            try:
                clean = rules.eligibility_check(table, run_examples=False)
            except YiwangError as exc:
                errors = _table_errors(exc)
            else:
                results = rule_language.run_examples(clean)
                errors = [
                    _("示例「%(name)s」预期 %(expect)s,实际 %(got)s")
                    % {"name": r["name"], "expect": r["expect"], "got": r["outcome"]}
                    for r in results
                    if not r["passed"]
                ]
                if not clean.get("examples"):
                    errors.append(_("请至少写一个示例企业(发布前逐一运行)"))
                if not errors and request.POST.get("action") == "save":
                    try:
                        services.benefit_rules_save(actor=request.user, benefit=benefit, table=clean)
                    except YiwangError as exc:
                        errors = _table_errors(exc)
                    else:
                        messages.success(request, _("条件已保存。"))
                        return redirect("policies:benefit_rules", id=benefit.pk)
        status = 422 if errors else 200
    else:
        table = benefit.rules
        text = yaml.safe_dump(table, allow_unicode=True, sort_keys=False, width=120)
        if isinstance(table, dict):
            results = rule_language.run_examples(table)
    return render(
        request,
        "policies/benefit_rules.html",
        {
            "benefit": benefit,
            "content": text,
            "errors": errors,
            "results": results,
            "facts": rule_language.vocabulary(sources=rules.SOURCES),
            "operators": rule_language.OP_LABELS.items(),
        },
        status=status,
    )


@login_required
@require_POST
def policy_publish(request: HttpRequest, id: int) -> HttpResponse:
    return _act(
        request,
        lambda: selectors.policy_get_for_department(actor=request.user, id=id),
        lambda policy: services.policy_publish(actor=request.user, policy=policy),
    )


@login_required
@require_POST
def objection_answer(request: HttpRequest, id: int) -> HttpResponse:
    return _act(
        request,
        lambda: selectors.objection_get_for_department(actor=request.user, id=id),
        lambda objection: services.objection_answer(
            actor=request.user,
            objection=objection,
            upheld=request.POST.get("decision") == "uphold",
            answer=request.POST.get("answer", ""),
        ),
    )


# --- the enterprise: 即申即享 and objections ------------------------------------------------------------


def _enterprise_act(request, id: int, act) -> HttpResponse:
    try:
        benefit = selectors.benefit_get_published(id=id)
    except NotFound:
        return render(request, "404.html", status=404)
    try:
        act(benefit)
    except YiwangError as exc:
        messages.error(request, _error_text(exc))
    return redirect("policies:library")


@login_required
@require_POST
def benefit_apply(request: HttpRequest, id: int) -> HttpResponse:
    def apply(benefit):
        award, reasons = services.benefit_apply(actor=request.user, benefit=benefit)
        if award is None:
            messages.error(request, _("不符合条件:") + ";".join(reasons))
        elif award.status == award.Status.REVIEWED:
            messages.success(request, _("申请成功,符合条件,待财政兑现。"))
        else:
            messages.info(request, _("已申请,需部门人工核实。"))

    return _enterprise_act(request, id, apply)


@login_required
@require_POST
def objection_raise(request: HttpRequest, id: int) -> HttpResponse:
    def raise_(benefit):
        objection = services.objection_raise(actor=request.user, benefit=benefit, text=request.POST.get("text", ""))
        messages.success(request, _("异议已提交,部门将在 %(due)s 前答复。") % {"due": objection.due_on.isoformat()})

    return _enterprise_act(request, id, raise_)
