"""Workbench pages for department admins: their items and life events, preview, publish,
retire, and the all-or-nothing upload of an Excel / YAML / JSON list. Thin: selectors read,
services write; anything outside the admin's departments is a 404."""

import yaml
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


NEW_ITEM_YAML = """\
# 新建事项：按 docs/catalog.md 的字段填写，保存后为草稿，发布后公众可见。
implementation_code: ""        # 实施编码，唯一
basic_code: ""                 # 基本编码
name: ""                       # 事项名称
aliases: []                    # 别名
keywords: []
# 事项类型：licensing 行政许可、benefit 行政给付、confirmation 行政确认、adjudication 行政裁决、
# reward 行政奖励、other_power 其他行政权力、public_service 公共服务
kind: licensing
department: "{department}"     # 实施主体的机构编码
exercise_level: city
legal_basis: ""
statutory_time_limit: 20       # 法定办结时限（工作日）
promised_time_limit: 5         # 承诺办结时限（工作日，不大于法定）
acceptance_conditions: ""
fees: []                       # 不收费
handling_form: both            # window / online / both
onsite_visits: 0
online_depth: [1, 2, 3, 4, 5]
targets: [natural_person]      # natural_person 自然人 / legal_person 法人
handling_place: ""
handling_hours: ""
consultation_contact: "12345"
complaint_contact: "12345"
materials:
  - {{name: 申请表， requirement: required, copies: 1, format: both, source: applicant}}
process:
  - {{name: 受理， role: window_clerk}}
  - {{name: 审查， role: reviewer}}
  - {{name: 决定， role: department_head}}
form_schema: {{type: object, properties: {{}}}}
output: null
"""


def _parse_yaml(text: str, *, what: str) -> tuple[dict | None, list[str]]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = (mark.line + 1) if mark else 0
        return None, [
            _("第 %(line)d 行：YAML 格式错误：%(error)s") % {"line": line, "error": getattr(exc, "problem", exc)}
        ]
    if not isinstance(data, dict):
        return None, [_("内容必须是一个%(what)s（键值对）") % {"what": what}]
    return data, []


def _errors_of(exc: YiwangError) -> list[str]:
    if exc.fields:
        return [f"{path}：{message}" for path, messages in exc.fields.items() for message in messages]
    return [str(exc.message)]


def _saved(request: HttpRequest, result) -> None:
    if result.outcome == "unchanged":
        messages.info(request, _("内容没有变化。"))
    else:
        messages.success(request, _("已保存为草稿 v%(n)d，发布后公众可见。") % {"n": result.version.number})


def _edit_page(request, *, title: str, content: str, errors: list[str]) -> HttpResponse:
    return render(
        request,
        "catalog/workbench/edit.html",
        {"title": title, "content": content, "errors": errors},
        status=422 if errors else 200,
    )


@login_required
def item_edit(request: HttpRequest, code: str | None = None) -> HttpResponse:
    """Edit an item as YAML (the import format); saving makes or updates its draft."""
    _require_staff(request)
    item = None
    if code is not None:
        try:
            item = selectors.item_get_for_admin(actor=request.user, implementation_code=code)
        except YiwangError as exc:
            raise Http404 from exc
    title = _("编辑事项 %(code)s") % {"code": code} if item else _("新建事项")
    if request.method == "POST":
        text = request.POST.get("content", "")
        data, errors = _parse_yaml(text, what=_("事项"))
        if not errors:
            if item is not None:
                data["implementation_code"] = item.implementation_code
            try:
                result = services.item_save_draft(actor=request.user, data=data, must_exist=item is not None)
            except YiwangError as exc:
                errors = _errors_of(exc)
            else:
                _saved(request, result)
                return redirect("catalog:item", code=result.version.item.implementation_code)
        return _edit_page(request, title=title, content=text, errors=errors)
    if item is not None:
        version = selectors.item_latest_version(item=item)
        text = yaml.safe_dump(selectors.item_version_to_data(version), allow_unicode=True, sort_keys=False, width=120)
    else:
        department = selectors.administered_departments(actor=request.user).order_by("path").first()
        text = NEW_ITEM_YAML.format(department=department.code if department else "")
    return _edit_page(request, title=title, content=text, errors=[])


NEW_LIFE_EVENT_YAML = """\
# 新建一件事：包含的事项须已在目录中（发布一件事时它们必须已发布）。
code: ""                       # 一件事编码，唯一
name: ""                       # 例如：开办企业一件事
aliases: []
keywords: []
description: ""
department: "{department}"     # 牵头部门的机构编码
targets: [legal_person]        # natural_person 自然人 / legal_person 法人
items: []                      # 包含事项的实施编码，按顺序，至少两个
"""


@login_required
def life_event_edit(request: HttpRequest, code: str | None = None) -> HttpResponse:
    """Edit a life event as YAML; saving makes or updates its draft."""
    _require_staff(request)
    life_event = None
    if code is not None:
        try:
            life_event = selectors.life_event_get_for_admin(actor=request.user, code=code)
        except YiwangError as exc:
            raise Http404 from exc
    title = _("编辑一件事 %(code)s") % {"code": code} if life_event else _("新建一件事")
    if request.method == "POST":
        text = request.POST.get("content", "")
        data, errors = _parse_yaml(text, what=_("一件事"))
        if not errors:
            if life_event is not None:
                data["code"] = life_event.code
            try:
                result = services.life_event_save_draft(
                    actor=request.user, data=data, must_exist=life_event is not None
                )
            except YiwangError as exc:
                errors = _errors_of(exc)
            else:
                _saved(request, result)
                return redirect("catalog:items")
        return _edit_page(request, title=title, content=text, errors=errors)
    if life_event is not None:
        version = selectors.life_event_draft(life_event=life_event) or life_event.current_version
        text = yaml.safe_dump(selectors.life_event_version_to_data(version), allow_unicode=True, sort_keys=False)
    else:
        department = selectors.administered_departments(actor=request.user).order_by("path").first()
        text = NEW_LIFE_EVENT_YAML.format(department=department.code if department else "")
    return _edit_page(request, title=title, content=text, errors=[])


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


NEW_TABLE_YAML = """\
# 决策表（秒批）：第一条全部条件成立的规则决定结论；都不成立时用 default（缺省为转人工）。
# 事实：form.<申请表字段>、applicant.age / applicant.kind、registry.population.<字段>、
#       registry.legal_entity.<字段>、license.<证照类型编码>.valid / license.<证照类型编码>.<字段>
# 运算符：==  !=  <  <=  >  >=  in  not in  exists      结论：approve / refuse（须写 reason）/ refer
# 说明见 docs/smart-services.md。发布事项前，下面的示例案例必须全部通过。
rules:
  - when:
      - {fact: applicant.age, op: ">=", value: 80}
    outcome: approve
    reason: 符合条件，自动准予
default: {outcome: refer, reason: 情形需人工判断}
examples:
  - {name: 八十五岁老人, facts: {applicant.age: 85}, expect: approve}
  - {name: 六十岁, facts: {applicant.age: 60}, expect: refer}
"""


@login_required
def decision_table(request: HttpRequest, code: str) -> HttpResponse:
    """The item's decision table (秒批) as YAML: "check" runs the table's rules and its own
    example cases and lists every problem; "save" puts it into the item's draft (the examples
    must pass again when the draft is published)."""
    from yiwang.catalog.decision import check_table, run_table_examples

    _require_staff(request)
    try:
        item = selectors.item_get_for_admin(actor=request.user, implementation_code=code)
    except YiwangError as exc:
        raise Http404 from exc
    version = selectors.item_latest_version(item=item)
    data = selectors.item_version_to_data(version)
    errors: list[str] = []
    results: list[dict] = []
    status = 200
    if request.method == "POST":
        text = request.POST.get("content", "")
        table, errors = _parse_yaml(text, what=_("决策表"))
        if not errors:
            clean, problems = check_table(table, form_schema=data.get("form_schema"), run_examples=False)
            errors = [str(p) for p in problems]
            if not errors:
                results = run_table_examples(clean)
                errors = [
                    _("示例「%(name)s」预期 %(expect)s,实际 %(got)s")
                    % {"name": r["name"], "expect": r["expect"], "got": r["outcome"]}
                    for r in results
                    if not r["passed"]
                ]
            if not errors and request.POST.get("action") == "save":
                try:
                    result = services.item_save_draft(
                        actor=request.user, data={**data, "decision_table": clean}, must_exist=True
                    )
                except YiwangError as exc:
                    errors = _errors_of(exc)
                else:
                    _saved(request, result)
                    return redirect("catalog:item", code=item.implementation_code)
        status = 422 if errors else 200
    else:
        table = data.get("decision_table")
        text = yaml.safe_dump(table, allow_unicode=True, sort_keys=False, width=120) if table else NEW_TABLE_YAML
        if table:
            results = run_table_examples(table)
    fields = sorted(((data.get("form_schema") or {}).get("properties") or {}).keys())
    return render(
        request,
        "catalog/workbench/decision_table.html",
        {"item": item, "version": version, "content": text, "errors": errors, "results": results, "fields": fields},
        status=status,
    )
