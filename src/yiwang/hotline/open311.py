"""Open311 GeoReport v2 at /open311/v2/ (http://wiki.open311.org/GeoReport_v2/).

Responses are exactly the spec's: bare JSON arrays (or the XML documents ``<services>``,
``<service_definition>``, ``<service_requests>``), errors as ``[{"code": 400, "description":
"..."}]`` / ``<errors><error>…</error></errors>`` with the same HTTP status. Services are the
hotline's categories (``service_code`` = category code). Reading requests is public and shows
no personal data: 举报 and 咨询 tickets are never listed, and the description is the ticket's
title. Posting needs ``api_key``: an API token of the platform (``yw_…``). Each posted request
becomes a ticket through ``services.ticket_create`` (channel ``open311``), audited as any other.
"""

from __future__ import annotations

import datetime
from xml.sax.saxutils import escape

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from yiwang.core.errors import ValidationFailed, YiwangError
from yiwang.core.inputs import text_problem
from yiwang.hotline.models import Category, Ticket
from yiwang.hotline.services import ticket_create
from yiwang.identity.services import api_token_authenticate

FORMATS = ("json", "xml")
MAX_RESULTS = 1000
MAX_SPAN = datetime.timedelta(days=90)
PUBLIC_KINDS = (Ticket.Kind.COMPLAINT, Ticket.Kind.HELP, Ticket.Kind.SUGGESTION)


class Open311Error(Exception):
    def __init__(self, status: int, description: str):
        self.status, self.description = status, description
        super().__init__(description)


def _xml_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def _xml_element(name: str, value) -> str:
    if isinstance(value, dict):
        return f"<{name}>" + "".join(_xml_element(k, v) for k, v in value.items()) + f"</{name}>"
    if isinstance(value, list):
        child = {"attributes": "attribute", "values": "value", "keywords": None}.get(name)
        if child is None:  # keywords: comma-separated text in XML
            return f"<{name}>{escape(','.join(str(v) for v in value))}</{name}>"
        return f"<{name}>" + "".join(_xml_element(child, v) for v in value) + f"</{name}>"
    return f"<{name}>{_xml_value(value)}</{name}>"


def _render(fmt: str, data, *, root: str, item: str | None = None, status: int = 200) -> HttpResponse:
    if fmt == "xml":
        if item is None:
            body = _xml_element(root, data)
        else:
            body = f"<{root}>" + "".join(_xml_element(item, d) for d in data) + f"</{root}>"
        return HttpResponse(
            '<?xml version="1.0" encoding="utf-8"?>' + body, status=status, content_type="text/xml; charset=utf-8"
        )
    return JsonResponse(data, safe=False, status=status, json_dumps_params={"ensure_ascii": False})


def _error(fmt: str, status: int, description: str) -> HttpResponse:
    errors = [{"code": status, "description": description}]
    return _render(fmt if fmt in FORMATS else "json", errors, root="errors", item="error", status=status)


def _guard(view):
    def wrapped(request: HttpRequest, fmt: str, **kwargs):
        if fmt not in FORMATS:
            return _error("json", 400, "format must be json or xml")
        try:
            jurisdiction = request.GET.get("jurisdiction_id") or request.POST.get("jurisdiction_id") or ""
            if jurisdiction and jurisdiction != jurisdiction_id():
                raise Open311Error(404, f"jurisdiction_id not found: {jurisdiction[:60]}")
            return view(request, fmt, **kwargs)
        except Open311Error as exc:
            return _error(fmt, exc.status, exc.description)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def jurisdiction_id() -> str:
    return getattr(settings, "YIWANG_OPEN311_JURISDICTION", "") or settings.SITE_URL.split("//")[-1].split("/")[0]


def _when(value: datetime.datetime | None) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else ""


def service_to_data(category: Category) -> dict:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.description or category.name,
        "metadata": bool(category.attributes),
        "type": "realtime",
        "keywords": category.keywords.replace(" ", ","),
        "group": category.group,
    }


def request_to_data(ticket: Ticket) -> dict:
    closed = ticket.status == Ticket.Status.CLOSED
    return {
        "service_request_id": ticket.number,
        "status": "closed" if closed else "open",
        "status_notes": ticket.reply if closed and ticket.close_reason != Ticket.CloseReason.DUPLICATE else "",
        "service_name": ticket.category.name if ticket.category_id else "",
        "service_code": ticket.category.code if ticket.category_id else "",
        "description": ticket.title,
        "agency_responsible": ticket.department.name if ticket.department_id else "",
        "service_notice": "",
        "requested_datetime": _when(ticket.created_at),
        "updated_datetime": _when(ticket.updated_at),
        "expected_datetime": _when(ticket.resolve_due_at),
        "address": ticket.address,
        "address_id": "",
        "zipcode": "",
        "lat": float(ticket.latitude) if ticket.latitude is not None else None,
        "long": float(ticket.longitude) if ticket.longitude is not None else None,
        "media_url": "",
    }


def _public_requests():
    return Ticket.objects.select_related("category", "department").filter(kind__in=PUBLIC_KINDS, category__isnull=False)


@require_GET
@_guard
def services_list(request: HttpRequest, fmt: str) -> HttpResponse:
    """GET Service List."""
    data = [service_to_data(c) for c in Category.objects.filter(active=True)]
    return _render(fmt, data, root="services", item="service")


@require_GET
@_guard
def service_definition(request: HttpRequest, fmt: str, code: str) -> HttpResponse:
    """GET Service Definition."""
    category = Category.objects.filter(code=code[:40], active=True).first()
    if category is None:
        raise Open311Error(404, f"service_code not found: {code[:40]}")
    attributes = [
        {
            "variable": bool(a.get("variable", True)),
            "code": a.get("code", ""),
            "datatype": a.get("datatype", "string"),
            "required": bool(a.get("required", False)),
            "datatype_description": a.get("datatype_description", ""),
            "order": a.get("order", i + 1),
            "description": a.get("description", ""),
            **({"values": a["values"]} if a.get("values") else {}),
        }
        for i, a in enumerate(category.attributes or [])
    ]
    return _render(fmt, {"service_code": category.code, "attributes": attributes}, root="service_definition")


def _parse_date(name: str, value: str) -> datetime.datetime | None:
    if not value:
        return None
    parsed = parse_datetime(value.strip().replace(" ", "+"))
    if parsed is None:
        raise Open311Error(400, f"{name} must be a W3C date-time such as 2026-01-01T00:00:00Z")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


@csrf_exempt
@require_http_methods(["GET", "POST"])
@_guard
def requests_view(request: HttpRequest, fmt: str) -> HttpResponse:
    """GET Service Requests (filters) and POST Service Request."""
    if request.method == "POST":
        return _post_request(request, fmt)
    params = request.GET
    for key, value in params.items():
        if text_problem(key) or text_problem(value):
            raise Open311Error(400, "parameters must be valid text")
    query = _public_requests()
    ids = [i.strip() for i in params.get("service_request_id", "").split(",") if i.strip()]
    if ids:
        query = query.filter(number__in=ids[:MAX_RESULTS])
    else:
        codes = [c.strip() for c in params.get("service_code", "").split(",") if c.strip()]
        if codes:
            query = query.filter(category__code__in=codes)
        start = _parse_date("start_date", params.get("start_date", ""))
        end = _parse_date("end_date", params.get("end_date", ""))
        if start and end and end < start:
            raise Open311Error(400, "end_date is before start_date")
        if start and end and end - start > MAX_SPAN:
            raise Open311Error(400, "the date range may not span more than 90 days")
        if end is None:
            end = start + MAX_SPAN if start else timezone.now()
        if start is None:
            start = end - MAX_SPAN
        query = query.filter(created_at__gte=start, created_at__lte=end)
        statuses = {s.strip().lower() for s in params.get("status", "").split(",") if s.strip()}
        if statuses - {"open", "closed"}:
            raise Open311Error(400, "status must be open or closed")
        if statuses == {"open"}:
            query = query.exclude(status=Ticket.Status.CLOSED)
        elif statuses == {"closed"}:
            query = query.filter(status=Ticket.Status.CLOSED)
    data = [request_to_data(t) for t in query.order_by("-created_at")[:MAX_RESULTS]]
    return _render(fmt, data, root="service_requests", item="request")


@require_GET
@_guard
def request_detail(request: HttpRequest, fmt: str, request_id: str) -> HttpResponse:
    """GET Service Request: a one-element array."""
    ticket = _public_requests().filter(number=request_id[:24]).first()
    if ticket is None:
        raise Open311Error(404, f"service_request_id not found: {request_id[:40]}")
    return _render(fmt, [request_to_data(ticket)], root="service_requests", item="request")


def _post_request(request: HttpRequest, fmt: str) -> HttpResponse:
    data = request.POST
    for key, value in data.items():
        if text_problem(key) or text_problem(value):
            raise Open311Error(400, "parameters must be valid text")
    api_key = data.get("api_key") or request.GET.get("api_key") or ""
    if not api_key:
        raise Open311Error(400, "api_key was not provided")
    token = api_token_authenticate(api_key)
    if token is None:
        raise Open311Error(403, "api_key is invalid")
    code = (data.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, "service_code was not provided")
    category = Category.objects.filter(code=code[:40], active=True).first()
    if category is None:
        raise Open311Error(404, f"service_code not found: {code[:40]}")
    lat, lon = data.get("lat", ""), data.get("long", "")
    address = (data.get("address_string") or data.get("address_id") or "").strip()
    if not ((lat and lon) or address):
        raise Open311Error(400, "a location is required: lat and long, address_string or address_id")
    attributes = []
    for attribute in category.attributes or []:
        value = data.get(f"attribute[{attribute.get('code')}]", "")
        allowed = {v.get("key") for v in attribute.get("values") or []}
        if attribute.get("required") and not value:
            raise Open311Error(400, f"attribute[{attribute.get('code')}] is required")
        if value and allowed and value not in allowed:
            raise Open311Error(400, f"attribute[{attribute.get('code')}] must be one of {', '.join(sorted(allowed))}")
        if value:
            attributes.append(f"{attribute.get('description') or attribute.get('code')}:{value}")
    description = (data.get("description") or "").strip()
    if attributes:
        description = f"{description}\n" + ";".join(attributes)
    if data.get("media_url"):
        description += f"\nmedia_url: {data['media_url'][:300]}"
    name = f"{data.get('last_name', '')}{data.get('first_name', '')}".strip()
    try:
        ticket = ticket_create(
            actor=token.user,
            channel=Ticket.Channel.OPEN311,
            kind=Ticket.Kind.HELP,
            title=(data.get("description") or category.name).strip()[:60],
            content=description.strip() or category.name,
            category_code=category.code,
            caller_name=name[:50],
            caller_phone=data.get("phone", ""),
            address=address[:200],
            latitude=lat or None,
            longitude=lon or None,
            external_id=(data.get("device_id") or data.get("account_id") or "")[:100],
        )
    except ValidationFailed as exc:
        detail = "; ".join(f"{field}: {' '.join(str(m) for m in msgs)}" for field, msgs in exc.fields.items())
        raise Open311Error(400, detail or str(exc.message)) from None
    except YiwangError as exc:
        raise Open311Error(exc.status if exc.status in (400, 403, 404) else 400, str(exc.message)) from None
    result = [{"service_request_id": ticket.number, "service_notice": "", "account_id": ""}]
    return _render(fmt, result, root="service_requests", item="request")


@require_GET
def discovery(request: HttpRequest) -> HttpResponse:
    """Service discovery (the endpoints of this server)."""
    base = request.build_absolute_uri("/open311/v2/")
    return JsonResponse(
        {
            "changeset": "2026-12-01T00:00:00Z",
            "contact": "12345",
            "key_service": "API tokens from /accounts/",
            "endpoints": [
                {
                    "specification": "http://wiki.open311.org/GeoReport_v2",
                    "url": base,
                    "changeset": "2026-12-01T00:00:00Z",
                    "type": "production",
                    "formats": ["application/json", "text/xml"],
                }
            ],
        }
    )
