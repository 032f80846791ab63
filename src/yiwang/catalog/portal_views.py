"""Public catalog pages: browse by theme (citizen / enterprise), department and life event;
search with suggestions as you type; the complete, printable guide of an item or a bundle.
Thin: published content only, read through the catalog selectors and the search module."""

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from yiwang.catalog import search as catalog_search
from yiwang.catalog import selectors
from yiwang.catalog.models import ItemKind, OnlineDepth, Target
from yiwang.core.errors import NotFound
from yiwang.core.pagination import MAX_PAGE
from yiwang.identity.models import Department, Role

PAGE_SIZE = 20


def _page_number(request: HttpRequest) -> int:
    try:
        return min(max(1, int(request.GET.get("page", "1"))), MAX_PAGE)
    except ValueError:
        return 1


def index(request: HttpRequest) -> HttpResponse:
    query = (request.GET.get("q") or "").strip()[:100]
    target = request.GET.get("target") if request.GET.get("target") in Target.values else ""
    kind = request.GET.get("kind") if request.GET.get("kind") in [*ItemKind.values, "life_event"] else ""
    department = None
    if request.GET.get("department"):
        department = Department.objects.filter(code=request.GET["department"], is_active=True).first()
    context = {
        "query": query,
        "target": target,
        "kind": kind,
        "department": department,
        "targets": Target.choices,
        "kinds": ItemKind.choices,
        "departments": selectors.departments_with_published_items(),
    }
    if query:
        result = catalog_search.search(
            query,
            department_id=department.pk if department else None,
            target=target or None,
            kind=kind or None,
            page=_page_number(request),
            page_size=PAGE_SIZE,
        )
        context["result"] = result
        context["has_next"] = result.page < result.pages
    elif department or target or kind:
        items = selectors.item_list_published(
            department=department, kind=kind if kind != "life_event" else None, target=target or None
        )
        context["page"] = Paginator(items, PAGE_SIZE).get_page(_page_number(request))
    else:
        context["life_events"] = selectors.life_event_list_published()
    return render(request, "catalog/portal/index.html", context)


def suggest(request: HttpRequest) -> HttpResponse:
    """Names to pick while typing (htmx partial)."""
    prefix = (request.GET.get("q") or "").strip()[:50]
    hits = catalog_search.suggest(prefix, limit=8) if prefix else []
    return render(request, "catalog/portal/_suggestions.html", {"hits": hits})


def item_guide(request: HttpRequest, code: str) -> HttpResponse:
    try:
        item = selectors.item_get_published(implementation_code=code)
    except NotFound as exc:
        raise Http404 from exc
    version = selectors.version_with_materials(version_id=item.current_version_id)
    bundles = selectors.life_event_list_published().filter(current_version__entries__item=item)
    roles = dict(Role.choices)
    return render(
        request,
        "catalog/portal/item.html",
        {
            "item": item,
            "v": version,
            "bundles": bundles,
            "depths": [OnlineDepth(d).label for d in version.online_depth if d in OnlineDepth.values],
            "target_labels": [Target(t).label for t in version.targets if t in Target.values],
            "steps": [{**step, "role_label": roles.get(step.get("role"), "")} for step in version.process],
            "certificate_free": sum(1 for m in version.materials.all() if m.is_certificate_free),
            "reduction_percent": round(version.reduction_of(version.materials.all())[1] * 100),
        },
    )


def life_event_guide(request: HttpRequest, code: str) -> HttpResponse:
    try:
        life_event = selectors.life_event_get_published(code=code)
    except NotFound as exc:
        raise Http404 from exc
    guide = selectors.life_event_guide(version=life_event.current_version)
    return render(
        request,
        "catalog/portal/life_event.html",
        {"life_event": life_event, "v": life_event.current_version, "guide": guide},
    )
