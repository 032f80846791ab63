"""The CKAN Action API (v3), read side, as CKAN 2.10 answers it, so CKAN clients, harvesters
and tools (``ckanapi``, CKAN's harvest extension, data portals) work unchanged.

Served under both ``/api/3/action/<name>`` and ``/api/action/<name>``, GET (query parameters;
list/dict parameters as JSON text) or POST (a JSON body, or a form). Envelope:
``{"help", "success": true, "result"}`` or ``{"help", "success": false, "error": {"__type", "message"}}``
with CKAN's statuses: 400 Search Query Error (bad sort) or bad request, 403 Authorization Error,
404 Not Found Error, 409 Validation Error / Search Error (an ``fq`` that cannot be evaluated).

This is plain Django, not Ninja: CKAN's envelope is not the platform's ``{code, message, fields}``.
"""

from __future__ import annotations

import json
import re
import shlex
from collections import Counter
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.urls import reverse

from yiwang.core.errors import Forbidden, NotFound, ValidationFailed
from yiwang.opendata import selectors, services
from yiwang.opendata.models import Dataset, Distribution, Frequency, OpenType, Theme

CKAN_VERSION = "2.10.0"
ROWS_MAX = 1000
DATASTORE_LIMIT_MAX = 32000
INT_MAX = 2_000_000_000
LICENCES = {
    "cc-by-4.0": ("Creative Commons Attribution 4.0", "https://creativecommons.org/licenses/by/4.0/"),
    "cc-by-sa-4.0": ("Creative Commons Attribution Share-Alike 4.0", "https://creativecommons.org/licenses/by-sa/4.0/"),
    "cc-zero": ("Creative Commons CCZero", "https://creativecommons.org/publicdomain/zero/1.0/"),
    "odc-by": ("Open Data Commons Attribution License", "https://opendatacommons.org/licenses/by/"),
}


class CkanError(Exception):
    """An error in CKAN's own vocabulary: ``kind`` is its ``__type``."""

    def __init__(self, kind: str, status: int, message: str = "", extra: dict | None = None):
        self.kind, self.status, self.message, self.extra = kind, status, message, extra or {}
        super().__init__(message)

    def as_error(self) -> dict:
        error = {"__type": self.kind}
        if self.message:
            error["message"] = self.message
        error.update(self.extra)
        return error


def validation(field: str, message: str) -> CkanError:
    return CkanError("Validation Error", 409, extra={field: [message]})


def from_yiwang(exc: Exception) -> CkanError:
    if isinstance(exc, NotFound):
        return CkanError("Not Found Error", 404, "Not found")
    if isinstance(exc, Forbidden):
        return CkanError("Authorization Error", 403, f"Access denied: {exc}")
    if isinstance(exc, ValidationFailed):
        extra = {k: [str(m) for m in v] for k, v in exc.fields.items()} or {"message": [str(exc.message)]}
        return CkanError("Validation Error", 409, extra=extra)
    raise exc


# --- parameters ------------------------------------------------------------------------------------


def _int(params: dict, name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    value = params.get(name, default)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise validation(name, "Invalid integer") from None
    if number < minimum:
        raise validation(name, "Must be a natural number" if minimum == 0 else f"Must be at least {minimum}")
    # Capped within what a database integer holds: a 20-digit offset is simply past the end.
    return min(number, maximum if maximum is not None else INT_MAX)


def _json_param(params: dict, name: str, default):
    value = params.get(name, default)
    if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise validation(name, "Could not parse as valid JSON") from None
    return value


def _list_param(params: dict, name: str) -> list[str]:
    value = _json_param(params, name, [])
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise validation(name, "Must be a list of strings")
    return value


def _bool(params: dict, name: str, default: bool = False) -> bool:
    value = params.get(name, default)
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("true", "1", "yes", "on")


# --- dictization ----------------------------------------------------------------------------------


def _iso(value) -> str | None:
    if value is None:
        return None
    return value.replace(tzinfo=None).isoformat() if hasattr(value, "tzinfo") else value.isoformat()


def org_name(department) -> str:
    return department.code.lower()


def organization_dict(department, *, package_count: int | None = None) -> dict:
    result = {
        "id": str(department.pk),
        "name": org_name(department),
        "title": department.name,
        "display_name": department.name,
        "description": "",
        "image_url": "",
        "image_display_url": "",
        "created": _iso(getattr(department, "created_at", None)),
        "is_organization": True,
        "approval_status": "approved",
        "state": "active",
        "type": "organization",
    }
    if package_count is not None:
        result["package_count"] = package_count
    return result


def group_dict(theme: str, *, package_count: int | None = None) -> dict:
    label = str(Theme(theme).label)
    result = {
        "id": theme,
        "name": theme,
        "title": label,
        "display_name": label,
        "description": "",
        "image_display_url": "",
        "is_organization": False,
        "state": "active",
        "type": "group",
    }
    if package_count is not None:
        result["package_count"] = package_count
    return result


def tag_dict(name: str) -> dict:
    return {"id": name, "name": name, "display_name": name, "state": "active", "vocabulary_id": None}


def resource_url(request, dist: Distribution) -> str:
    if dist.format == Distribution.Format.API:
        path = reverse("opendata:ckan_action3", kwargs={"name": "datastore_search"}) + f"?resource_id={dist.pk}"
    else:
        path = reverse("opendata:download", kwargs={"id": dist.pk})
    return request.build_absolute_uri(path)


MIMETYPES = {
    "CSV": "text/csv",
    "XLSX": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "JSON": "application/json",
    "API": "application/json",
}


def resource_dict(request, dist: Distribution) -> dict:
    return {
        "id": str(dist.pk),
        "package_id": str(dist.dataset_id),
        "name": dist.name,
        "description": dist.description,
        "format": dist.format,
        "mimetype": MIMETYPES.get(dist.format),
        "url": resource_url(request, dist),
        "url_type": "upload" if dist.format != Distribution.Format.API else None,
        "size": len(dist.content) if dist.content else None,
        "hash": "",
        "position": dist.position,
        "created": _iso(dist.created_at),
        "last_modified": _iso(dist.updated_at),
        "metadata_modified": _iso(dist.updated_at),
        "state": "active",
        "datastore_active": True,
        "row_count": dist.row_count,
    }


def package_dict(request, dataset: Dataset, distributions: list[Distribution] | None = None) -> dict:
    dists = distributions if distributions is not None else list(dataset.distributions.all())
    licence_title, licence_url = LICENCES.get(dataset.licence, (dataset.licence, ""))
    extras = {
        "open_type": dataset.open_type,
        "open_type_label": str(OpenType(dataset.open_type).label),
        "theme": dataset.theme,
        "frequency": dataset.frequency,
        "temporal_start": _iso(dataset.temporal_start) or "",
        "temporal_end": _iso(dataset.temporal_end) or "",
        "spatial": dataset.spatial,
        "contact_phone": dataset.contact_phone,
        "source": dataset.source,
        "download_count": str(dataset.download_count),
        "api_call_count": str(dataset.api_call_count),
    }
    return {
        "id": str(dataset.pk),
        "name": dataset.name,
        "title": dataset.title,
        "notes": dataset.description,
        "type": "dataset",
        "state": "active",
        "private": False,
        "isopen": dataset.open_type == OpenType.OPEN,
        "url": request.build_absolute_uri(reverse("opendata:dataset", kwargs={"name": dataset.name})),
        "version": None,
        "author": dataset.publisher.name,
        "author_email": None,
        "maintainer": dataset.contact_name or None,
        "maintainer_email": dataset.contact_email or None,
        "license_id": dataset.licence,
        "license_title": licence_title,
        "license_url": licence_url,
        "metadata_created": _iso(dataset.created_at),
        "metadata_modified": _iso(dataset.updated_at),
        "owner_org": str(dataset.publisher_id),
        "organization": organization_dict(dataset.publisher),
        "groups": [group_dict(dataset.theme)],
        "tags": [tag_dict(k) for k in dataset.keywords],
        "num_tags": len(dataset.keywords),
        "resources": [resource_dict(request, d) for d in dists],
        "num_resources": len(dists),
        "extras": [{"key": k, "value": v} for k, v in extras.items()],
        "relationships_as_object": [],
        "relationships_as_subject": [],
    }


# --- package_search -------------------------------------------------------------------------------

# fq / facet field -> (ORM lookup for a filter, value in a row for a facet)
SEARCH_FIELDS = {
    "organization": "publisher__code__iexact",
    "groups": "theme",
    "tags": "tag_index__contains",
    "res_format": "distributions__format__iexact",
    "license_id": "licence",
    "name": "name",
    "id": "pk",
    "open_type": "open_type",
    "frequency": "frequency",
}
SORTS = {
    "metadata_modified": "updated_at",
    "metadata_created": "created_at",
    "name": "name",
    "title_string": "title",
    "title": "title",
    "views_recent": "download_count",
    "score": None,
}
_CLAUSE = re.compile(r"^([+-]?)([A-Za-z_]+):(.+)$")


class _SearchSyntax(Exception):
    pass


def _tokens(text: str) -> list[str]:
    try:
        lexer = shlex.shlex(text, posix=True)
        lexer.whitespace_split = True
        lexer.commenters = ""
        return list(lexer)
    except ValueError as exc:
        raise _SearchSyntax(str(exc)) from None


def _clause(field: str, value: str) -> Q:
    if field in ("dataset_type", "type") and value == "dataset":
        return Q()
    if field == "capacity" and value == "public":
        return Q()
    if field == "state" and value == "active":
        return Q()
    lookup = SEARCH_FIELDS.get(field)
    if lookup is None:
        raise _SearchSyntax(f"undefined field {field}")
    if any(ch in value for ch in "*?[]{}()") or value.upper() in ("OR", "AND", "NOT"):
        raise _SearchSyntax(f"unsupported value {value!r} for {field}")
    if lookup == "tag_index__contains":
        return Q(tag_index__contains=f"|{value}|")
    if lookup == "pk":
        import uuid

        try:
            return Q(pk=uuid.UUID(value))
        except ValueError:
            return Q(pk__in=[])
    return Q(**{lookup: value})


def _fq(text: str) -> Q:
    condition = Q()
    for token in _tokens(text):
        if token in ("AND", "&&"):
            continue
        match = _CLAUSE.match(token)
        if not match:
            raise _SearchSyntax(f"cannot evaluate {token!r}")
        sign, field, value = match.groups()
        part = _clause(field, value)
        condition &= ~part if sign == "-" else part
    return condition


def _q(text: str) -> Q:
    condition = Q()
    text = (text or "").strip()
    if text in ("", "*:*", "*"):
        return condition
    for token in _tokens(text):
        match = _CLAUSE.match(token)
        if match and match.group(2) in SEARCH_FIELDS:
            condition &= _fq(token)
        elif match and match.group(2) in ("text", "title", "notes"):
            condition &= Q(search_text__contains=match.group(3).lower())
        elif token in ("AND", "&&"):
            continue
        else:
            condition &= Q(search_text__contains=token.lower())
    return condition


def _sort(text: str) -> list[str]:
    order = []
    for part in (text or "score desc, metadata_modified desc").split(","):
        bits = part.split()
        if not bits:
            continue
        if len(bits) > 2 or bits[0] not in SORTS or (len(bits) == 2 and bits[1].lower() not in ("asc", "desc")):
            raise CkanError("Search Query Error", 400, "Search Query is invalid: ('Invalid \"sort\" parameter',)")
        column = SORTS[bits[0]]
        if column:
            order.append(("-" if len(bits) == 2 and bits[1].lower() == "desc" else "") + column)
    return [*order, "name"]


def _counted(rows: QuerySet[Dataset], *columns: str) -> list[tuple]:
    """(values..., count) grouped in the database: one query however many datasets match."""
    return [
        (*(r[c] for c in columns), r["n"])
        for r in rows.order_by().values(*columns).annotate(n=Count("pk", distinct=True))
    ]


def _facet_values(rows: QuerySet[Dataset], field: str, limit: int) -> list[tuple[str, str, int]]:
    """(name, display name, count) of one facet over the matching datasets."""
    if field == "organization":
        items = [(code.lower(), name, n) for code, name, n in _counted(rows, "publisher__code", "publisher__name")]
    elif field == "groups":
        items = [(t, str(Theme(t).label), n) for t, n in _counted(rows, "theme")]
    elif field == "tags":
        counted = Counter(k for ks in rows.values_list("keywords", flat=True) for k in ks)
        items = [(k, k, n) for k, n in counted.items()]
    elif field == "res_format":
        items = [(f, f, n) for f, n in _counted(rows, "distributions__format") if f]
    elif field == "license_id":
        items = [(v, LICENCES.get(v, (v,))[0], n) for v, n in _counted(rows, "licence")]
    elif field == "open_type":
        items = [(v, str(OpenType(v).label), n) for v, n in _counted(rows, "open_type")]
    elif field == "frequency":
        items = [(v, str(Frequency(v).label), n) for v, n in _counted(rows, "frequency")]
    else:
        raise CkanError("Search Error", 409, f"Search error: ('undefined facet field {field}',)")
    items.sort(key=lambda i: (-i[2], i[0]))
    return items[:limit] if limit >= 0 else items


def package_search(request, params: dict, actor) -> dict:
    rows_n = _int(params, "rows", 10, maximum=ROWS_MAX)
    start = _int(params, "start", 0)
    try:
        condition = _q(str(params.get("q") or "")) & _fq(str(params.get("fq") or ""))
        for extra in _list_param(params, "fq_list"):
            condition &= _fq(extra)
    except _SearchSyntax as exc:
        raise CkanError("Search Error", 409, f"Search error: ('Cannot evaluate the query: {exc}',)") from None
    order = _sort(str(params.get("sort") or ""))
    rows = selectors.datasets_listed().filter(condition)
    if "distributions__" in str(condition):
        rows = rows.distinct()
    facet_fields = _list_param(params, "facet.field")
    facet_limit = _int(params, "facet.limit", 50, minimum=-1)
    total = rows.count()
    page = list(rows.order_by(*order)[start : start + rows_n]) if rows_n else []
    dists: dict[Any, list[Distribution]] = {}
    for dist in Distribution.objects.filter(dataset__in=[d.pk for d in page]).order_by("position", "created_at"):
        dists.setdefault(dist.dataset_id, []).append(dist)
    search_facets, facets = {}, {}
    if _bool(params, "facet", True):
        for field in facet_fields:
            items = _facet_values(rows, field, facet_limit)
            facets[field] = {name: count for name, _d, count in items}
            search_facets[field] = {
                "title": field,
                "items": [{"name": n, "display_name": d, "count": c} for n, d, c in items],
            }
    return {
        "count": total,
        "sort": str(params.get("sort") or "score desc, metadata_modified desc"),
        "facets": facets,
        "search_facets": search_facets,
        "results": [package_dict(request, d, dists.get(d.pk, [])) for d in page],
    }


# --- the other actions -----------------------------------------------------------------------------


def _required(params: dict, name: str) -> str:
    value = params.get(name)
    if value in (None, ""):
        raise validation(name, "Missing value")
    return str(value)


def package_show(request, params, actor) -> dict:
    dataset = selectors.dataset_get(id_or_name=_required(params, "id"))
    services.usage_count(dataset_id=dataset.pk, kind="api")
    return package_dict(request, dataset)


def package_list(request, params, actor) -> list[str]:
    limit = _int(params, "limit", 0) or None
    offset = _int(params, "offset", 0)
    names = selectors.datasets_listed().order_by("name").values_list("name", flat=True)
    return list(names[offset : offset + limit] if limit else names[offset:])


def _publishers() -> dict:
    counted = Counter(selectors.datasets_listed().values_list("publisher_id", flat=True))
    departments = {d.pk: d for d in _departments(counted)}
    return {departments[pk]: n for pk, n in counted.items() if pk in departments}


def _departments(ids):
    from yiwang.identity.models import Department

    return Department.objects.filter(pk__in=list(ids))


def organization_list(request, params, actor) -> list:
    publishers = sorted(_publishers().items(), key=lambda item: org_name(item[0]))
    if _bool(params, "all_fields"):
        return [organization_dict(d, package_count=n) for d, n in publishers]
    return [org_name(d) for d, _n in publishers]


def organization_show(request, params, actor) -> dict:
    wanted = _required(params, "id").lower()
    for department, count in _publishers().items():
        if wanted in (org_name(department), str(department.pk)):
            result = organization_dict(department, package_count=count)
            if _bool(params, "include_datasets"):
                rows = selectors.datasets_listed().filter(publisher=department).order_by("name")[:1000]
                result["packages"] = [package_dict(request, d) for d in rows]
            return result
    raise CkanError("Not Found Error", 404, "Not found: Organization was not found.")


def group_list(request, params, actor) -> list:
    counted = Counter(selectors.datasets_listed().values_list("theme", flat=True))
    themes = sorted(counted)
    if _bool(params, "all_fields"):
        return [group_dict(t, package_count=counted[t]) for t in themes]
    return themes


def tag_list(request, params, actor) -> list:
    query = str(params.get("query") or "").lower()
    tags = sorted({k for ks in selectors.datasets_listed().values_list("keywords", flat=True) for k in ks})
    if query:
        tags = [t for t in tags if query in t.lower()]
    if _bool(params, "all_fields"):
        return [tag_dict(t) for t in tags]
    return tags


def resource_show(request, params, actor) -> dict:
    return resource_dict(request, selectors.distribution_get(id=_required(params, "id")))


def _datastore_sort(text) -> list[tuple[str, bool]]:
    if isinstance(text, list):
        text = ",".join(text)
    order = []
    for part in str(text or "").split(","):
        bits = part.strip().strip('"').split()
        if not bits:
            continue
        if len(bits) > 2 or (len(bits) == 2 and bits[1].lower() not in ("asc", "desc")):
            raise validation("sort", f"Cannot sort by {part.strip()!r}")
        order.append((bits[0].strip('"'), len(bits) == 2 and bits[1].lower() == "desc"))
    return order


def datastore_search(request, params, actor) -> dict:
    dist = selectors.distribution_get(id=_required(params, "resource_id"))
    selectors.require_rows(actor=actor, dataset=dist.dataset)
    limit = _int(params, "limit", 100, maximum=DATASTORE_LIMIT_MAX)
    offset = _int(params, "offset", 0)
    filters = _json_param(params, "filters", {}) or {}
    if not isinstance(filters, dict):
        raise validation("filters", "Not a json object")
    q = params.get("q") or ""
    if isinstance(q, dict):
        raise validation("q", "Full-text search on a single field is not supported; use filters")
    fields = _list_param(params, "fields")
    total, records = selectors.datastore_query(
        distribution=dist,
        filters=filters,
        q=str(q),
        limit=limit,
        offset=offset,
        fields=fields or None,
        sort=_datastore_sort(params.get("sort")),
    )
    services.usage_count(dataset_id=dist.dataset_id, kind="api")
    types = {f["id"]: f["type"] for f in dist.fields}
    shown = fields or ["_id", *types]
    base = reverse("opendata:ckan_action3", kwargs={"name": "datastore_search"})
    return {
        "resource_id": str(dist.pk),
        "fields": [{"id": f, "type": "int" if f == "_id" else types.get(f, "text")} for f in shown],
        "records": records,
        "records_format": "objects",
        "total": total,
        "total_was_estimated": False,
        "limit": limit,
        "offset": offset,
        "include_total": True,
        "_links": {
            "start": f"{base}?resource_id={dist.pk}",
            "next": f"{base}?resource_id={dist.pk}&offset={offset + limit}",
        },
    }


def status_show(request, params, actor) -> dict:
    return {
        "site_title": "一网 公共数据开放",
        "site_description": "Yiwang open data portal (CKAN Action API compatible, read side)",
        "site_url": request.build_absolute_uri("/").rstrip("/"),
        "ckan_version": CKAN_VERSION,
        "error_emails_to": None,
        "locale_default": "zh_Hans_CN",
        "extensions": ["datastore", "dcat"],
    }


ACTIONS = {
    "package_search": package_search,
    "package_show": package_show,
    "package_list": package_list,
    "organization_list": organization_list,
    "organization_show": organization_show,
    "group_list": group_list,
    "tag_list": tag_list,
    "resource_show": resource_show,
    "datastore_search": datastore_search,
    "status_show": status_show,
}
