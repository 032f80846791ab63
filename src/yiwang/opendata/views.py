"""Open-data pages and endpoints (thin: reads through selectors, writes through services).

* CKAN Action API: /api/3/action/<name> and /api/action/<name> (``ckan.py`` says what is served);
* DCAT catalogue: /opendata/catalog.jsonld | .rdf | .ttl;
* portal: /opendata/ (search with facets, ranking), /opendata/datasets/<name>/ (metadata, preview,
  application, comments), /opendata/resources/<id>/download/, /opendata/my/ (applications, keys);
* workbench: /workbench/opendata/ (applications to decide, comments to moderate).
"""

from __future__ import annotations

import json
import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from yiwang.core.errors import NotFound, YiwangError
from yiwang.opendata import ckan, dcat, selectors, services
from yiwang.opendata.models import Distribution, OpenType

log = logging.getLogger(__name__)


# --- CKAN Action API ---------------------------------------------------------------------------------


def _ckan_params(request: HttpRequest) -> dict:
    if request.method == "POST":
        content_type = request.META.get("CONTENT_TYPE", "")
        if content_type.startswith("application/json") or (request.body[:1] in (b"{",) and "form" not in content_type):
            try:
                data = json.loads(request.body or b"{}")
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise ckan.CkanError(
                    "Validation Error", 409, extra={"message": ["Could not parse as valid JSON"]}
                ) from None
            if not isinstance(data, dict):
                raise ckan.CkanError("Validation Error", 409, extra={"message": ["Request data must be a JSON object"]})
            return data
        return {k: request.POST.get(k) for k in request.POST}
    return {k: request.GET.get(k) for k in request.GET}


def _ckan_actor(request: HttpRequest):
    key = request.META.get("HTTP_AUTHORIZATION") or request.META.get("HTTP_X_CKAN_API_KEY") or ""
    if key.lower().startswith("bearer "):
        key = key[7:]
    if key:
        user = selectors.user_for_key(key)
        if user is None:
            raise ckan.CkanError("Authorization Error", 403, "Access denied: the API key is not valid")
        return user
    return request.user


def _ckan_response(help_url: str, status: int, body: dict) -> JsonResponse:
    response = JsonResponse({"help": help_url, **body}, status=status, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
def ckan_action(request: HttpRequest, name: str) -> HttpResponse:
    help_url = request.build_absolute_uri(f"/api/3/action/help_show?name={name}")
    if request.method not in ("GET", "POST"):
        return _ckan_response(help_url, 400, {"success": False, "error": {"message": "Bad request - GET or POST"}})
    action = ckan.ACTIONS.get(name)
    if action is None:
        return _ckan_response(
            help_url, 400, {"success": False, "error": {"message": f"Bad request - Action name not known: {name}"}}
        )
    try:
        params = _ckan_params(request)
        actor = _ckan_actor(request)
        try:
            result = action(request, params, actor)
        except YiwangError as exc:
            raise ckan.from_yiwang(exc) from None
    except ckan.CkanError as exc:
        return _ckan_response(help_url, exc.status, {"success": False, "error": exc.as_error()})
    return _ckan_response(help_url, 200, {"success": True, "result": result})


# --- DCAT -----------------------------------------------------------------------------------------------


@require_GET
def catalogue(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in dcat.SERIALIZERS:
        return render(request, "404.html", status=404)
    body, content_type = dcat.serialize(request, kind)
    return HttpResponse(body, content_type=f"{content_type}; charset=utf-8")


# --- portal -----------------------------------------------------------------------------------------------


FACETS = ("organization", "groups", "tags", "res_format", "open_type")


@require_GET
def search_page(request: HttpRequest) -> HttpResponse:
    params = {"q": request.GET.get("q", ""), "rows": 0, "facet.field": list(FACETS), "facet.limit": 20}
    clauses = []
    for field in FACETS:
        value = request.GET.get(field)
        if value:
            clauses.append(f'{field}:"{value}"')
    params["fq"] = " ".join(clauses)
    error = ""
    try:
        facets = ckan.package_search(request, params, request.user)["search_facets"]
        rows = selectors.datasets_listed().filter(ckan._q(params["q"]) & ckan._fq(params["fq"])).distinct()
    except (ckan.CkanError, ckan._SearchSyntax):
        facets, rows, error = {}, selectors.datasets_listed().none(), _("查询条件无法解析")
    page = Paginator(rows.order_by("-updated_at", "name"), 20).get_page(request.GET.get("page"))
    chosen = {f: request.GET.get(f, "") for f in FACETS}
    return render(
        request,
        "opendata/search.html",
        {
            "page": page,
            "facets": facets,
            "chosen": chosen,
            "q": params["q"],
            "error": error,
            "ranking": selectors.ranking(limit=10),
            "facet_titles": {
                "organization": _("发布部门"),
                "groups": _("主题"),
                "tags": _("关键词"),
                "res_format": _("格式"),
                "open_type": _("开放类型"),
            },
        },
    )


@require_GET
def dataset_page(request: HttpRequest, name: str) -> HttpResponse:
    try:
        dataset = selectors.dataset_get(id_or_name=name)
    except NotFound:
        return render(request, "404.html", status=404)
    distributions = list(dataset.distributions.all())
    may_read = selectors.may_read_rows(actor=request.user, dataset=dataset)
    preview = None
    if may_read and distributions:
        first = distributions[0]
        rows = selectors.preview_rows(distribution=first)
        preview = {
            "fields": [f["id"] for f in first.fields],
            "rows": rows,
            "chart": selectors.preview_chart(fields=first.fields, rows=rows),
            "resource": first.name,
        }
    applications = list(selectors.applications_of(actor=request.user).filter(dataset=dataset)[:5])
    return render(
        request,
        "opendata/dataset.html",
        {
            "dataset": dataset,
            "distributions": distributions,
            "may_read": may_read,
            "preview": preview,
            "applications": applications,
            "comments": selectors.comments_published(dataset=dataset)[:50],
            "rating": selectors.rating_of(dataset=dataset),
            "conditional": dataset.open_type == OpenType.CONDITIONAL,
        },
    )


@login_required
@require_POST
def apply(request: HttpRequest, name: str) -> HttpResponse:
    try:
        dataset = selectors.dataset_get(id_or_name=name)
        services.application_submit(actor=request.user, dataset=dataset, purpose=request.POST.get("purpose", ""))
        messages.success(request, _("申请已提交,发布部门审核后可使用个人密钥访问。"))
    except YiwangError as exc:
        if isinstance(exc, NotFound):
            return render(request, "404.html", status=404)
        messages.error(request, _error_text(exc))
    return redirect("opendata:dataset", name=name)


@login_required
@require_POST
def comment(request: HttpRequest, name: str) -> HttpResponse:
    try:
        dataset = selectors.dataset_get(id_or_name=name)
        services.comment_post(
            actor=request.user, dataset=dataset, rating=request.POST.get("rating"), text=request.POST.get("text", "")
        )
        messages.success(request, _("评价已提交,审核后公开。"))
    except YiwangError as exc:
        if isinstance(exc, NotFound):
            return render(request, "404.html", status=404)
        messages.error(request, _error_text(exc))
    return redirect("opendata:dataset", name=name)


@require_GET
def download(request: HttpRequest, id) -> HttpResponse:
    try:
        dist = selectors.distribution_get(id=str(id))
        actor = _ckan_actor(request)
        selectors.require_rows(actor=actor, dataset=dist.dataset)
    except NotFound:
        return render(request, "404.html", status=404)
    except (YiwangError, ckan.CkanError):
        return render(request, "403.html", status=403)
    if dist.format == Distribution.Format.API or not dist.content:
        return redirect(ckan.resource_url(request, dist))
    services.usage_count(dataset_id=dist.dataset_id, kind="download")
    extension = {"CSV": "csv", "XLSX": "xlsx", "JSON": "json"}[dist.format]
    response = HttpResponse(bytes(dist.content), content_type=ckan.MIMETYPES[dist.format])
    response["Content-Disposition"] = f'attachment; filename="{dist.dataset.name}-{dist.position + 1}.{extension}"'
    return response


@login_required
def my_page(request: HttpRequest) -> HttpResponse:
    secret = None
    if request.method == "POST":
        _key, secret = services.api_key_issue(actor=request.user)
    return render(
        request,
        "opendata/my.html",
        {"applications": selectors.applications_of(actor=request.user)[:100], "secret": secret},
    )


# --- workbench --------------------------------------------------------------------------------------------


@login_required
@require_GET
def workbench_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "opendata/workbench.html",
        {
            "applications": selectors.applications_to_decide(actor=request.user)[:100],
            "comments": selectors.comments_to_moderate(actor=request.user)[:100],
        },
    )


@login_required
@require_POST
def application_decide(request: HttpRequest, id: int) -> HttpResponse:
    try:
        application = selectors.application_get_for_decision(actor=request.user, id=id)
    except NotFound:
        return render(request, "404.html", status=404)
    try:
        services.application_decide(
            actor=request.user,
            application=application,
            approve=request.POST.get("decision") == "approve",
            reason=request.POST.get("reason", ""),
        )
        messages.success(request, _("已处理。"))
    except YiwangError as exc:
        messages.error(request, _error_text(exc))
    return redirect("opendata:workbench")


@login_required
@require_POST
def comment_moderate(request: HttpRequest, id: int) -> HttpResponse:
    try:
        item = selectors.comment_get_for_moderation(actor=request.user, id=id)
    except NotFound:
        return render(request, "404.html", status=404)
    try:
        services.comment_moderate(actor=request.user, comment=item, approve=request.POST.get("decision") == "approve")
        messages.success(request, _("已处理。"))
    except YiwangError as exc:
        messages.error(request, _error_text(exc))
    return redirect("opendata:workbench")


def _error_text(exc: YiwangError) -> str:
    return " ".join([str(exc.message), *[str(m) for ms in exc.fields.values() for m in ms]])
