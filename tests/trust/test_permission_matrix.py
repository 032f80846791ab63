"""The permission matrix: every URL pattern (API operations, pages, the admin site) × every
method it answers × every actor of ``world.ACTORS`` gets exactly the outcome written in
``tests/trust/permissions.py``.

* ``test_every_url_has_a_row``: a URL (or an API method) without a row fails the build, naming it.
* ``test_matrix[<area>]``: asks every (URL, method, actor) once, in the demo city, and lists every
  answer that differs from the table (a leak, or a row to correct). One test per area (an API
  router, ``api-cases``; a page namespace, ``cases``; the admin site), so that the areas run side
  by side under pytest-xdist (``make test`` runs ``-n 2``) and a failure names its area.

API operations are asked with a schema-valid body and the required query parameters (drawn
from the OpenAPI document), so that the answer is the gate's and not the input validation's.
``YIWANG_MATRIX_DUMP=path`` writes what was observed (JSON, merged over the areas; run it with
``-n 0``) for reviewing a new row;
``YIWANG_MATRIX_ONLY='cases:*,api:case*'`` (globs on the key; ``!admin*`` for all but) asks only those.
"""

from __future__ import annotations

import datetime
import fnmatch
import json
import os
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from oauth2_provider.models import get_application_model

from tests.trust import matrix
from tests.trust.permissions import TABLE
from tests.trust.world import ROLES, World
from yiwang.api import api
from yiwang.exchange.models import ConsumerSystem, DataDispute, Grant, ShareRequest
from yiwang.registries.models import LegalEntity


def parameters(world: World) -> dict[str, object]:
    """The path values a row's ``kwargs`` can name; the defaults are the keys themselves."""
    entity = LegalEntity.objects.order_by("pk").first()
    dispute = DataDispute.objects.order_by("pk").first()
    return {
        "case_id": world.case.pk,
        "case_in_review": world.case_in_review.pk,
        "case_waiting": world.case_waiting.pk,
        "material_id": world.material.pk,
        "kind": world.notice_kind,
        "code_check": "id_number",  # portal:check_code
        "draft_id": world.draft.pk,
        "bundle_id": world.bundle.pk,
        "license_id": world.license.pk,
        "presentation_id": world.presentation.pk,
        "presentation_code": world.presentation.code,
        "message_id": world.message.pk,
        "implementation_code": world.item_code,
        "code": world.item_code,
        "life_event_code": world.life_event_code,
        "license_type_code": world.license_type_code,
        "identifier": world.license.identifier,
        "citizen_id_number": world.users["citizen01"].id_number,
        "department_id": world.case.department_id,
        "number": 1,
        "fmt": "xlsx",
        "action": "accept",
        "license_action": "suspend",
        # registries and exchange: the 法人库 (sourced by the 市场监管局, where the staff actors are)
        "registry": "legal_entity",
        "record_id": entity.pk if entity else 1,
        "key": entity.uscc if entity else "91110000000000000X",
        "field": "name",
        "request_id": ShareRequest.objects.order_by("pk").values_list("pk", flat=True).first() or 1,
        "grant_id": Grant.objects.order_by("pk").values_list("pk", flat=True).first() or 1,
        "system_id": ConsumerSystem.objects.order_by("pk").values_list("pk", flat=True).first() or 1,
        "dispute_id": dispute.pk if dispute else 1,
        # evaluation: citizen01's rating of his case; the demo's 差评 rectification; a window QR token
        "rating_id": _rating_id(world),
        "rectification_id": _rectification_id(),
        "token": _qr_token(world),
        "rating_action": "invalid",
        "url": "no-such-page/",
        # sso: the demo city's sample relying party
        "client_id": get_application_model().objects.order_by("pk").values_list("pk", flat=True).first() or 1,
        "object_id": 1,  # the admin's old-style object URLs (a redirect to …/change/)
        # opendata and policies (their demo data)
        "ckan_action": "package_list",
        "catalogue_kind": "ttl",
        "dataset_name": "bus-lines",
        "distribution_id": _first("opendata.Distribution", dataset__name="bus-lines"),
        "od_application_id": _first("opendata.AccessApplication"),
        "od_comment_id": _first("opendata.Comment"),
        "award_id": _first("policies.Award"),
        "policy_benefit_id": _first("policies.Benefit"),
        "policy_id": _first("policies.Policy"),
        "ticket_id": world.objects["hotline_ticket"].pk,  # citizen01's hotline ticket, sent to 市场监管局
        "which": "department",
        "name": "reply",
        "rule_id": _first("hotline.DispatchRule"),  # hotline: the demo's first rule, entry, patrol
        "entry_id": _first("hotline.KnowledgeEntry"),
        "patrol_id": _first("hotline.Patrol"),
        # supervision: the demo's drawn joint plan, a task of scjg_reviewer1's, ent01's grade
        **_supervision_values(world),
        **_documents_values(),
        # channels: citizen04's postal delivery, the demo's first cross-region forward
        "delivery_id": _first("channels.PostalDelivery"),
        "forward_id": _first("channels.CrossRegionForward"),
        "courier": "simulator",
        **_oversight_values(),
        # messaging: the 市场监管局's department group, its agenda file, the demo's work instruction
        **_staff_messaging_values(world),
        **_payments_values(world),
        # appointments: the demo hall (市场监管局), citizen01's booking, the queue's call button
        "hall_id": _first("appointments.Hall"),
        "first_slot_id": _first("appointments.Slot"),
        "appointment_number": _appointment_number(world),
        "queue_action": "call_next",
        "panel_code": "cases_volume",  # analytics
        # publicity: the demo's first document; the 市场监管局's open consultation and its pending comment
        "publicity_document_id": _first("publicity.PolicyDocument"),
        "publicity_consultation_id": _first("publicity.Consultation", department__code="SFS-SCJG"),
        "publicity_comment_id": _first("publicity.ConsultationComment", status="pending"),
        # identity: the demo's enterprise delegation (ent01 → citizen01, all items); no 帮办 consent
        "delegation_id": _first("identity.Delegation", principal__username="ent01"),
        "consent_id": 1,
    }


def _documents_values() -> dict[str, object]:
    """documents: the demo's issued notice, the routing one's pending step (the 大数据局 head's),
    scjg_reviewer1's first shift and the swap he asked scjg_clerk for."""
    from yiwang.documents.demo_data import ISSUED_TITLE, ROUTING_TITLE
    from yiwang.documents.models import Circulation, DutyShift, DutySwap
    from yiwang.identity.models import User

    swap = DutySwap.objects.filter(state="requested").order_by("pk").first()
    shift = DutyShift.objects.filter(person__username="scjg_reviewer1").exclude(swaps__isnull=False).order_by("pk")
    return {
        "documents_document": _first("documents.Document", title=ISSUED_TITLE),
        "documents_step": Circulation.objects.filter(document__title=ROUTING_TITLE, state="pending")
        .values_list("pk", flat=True)
        .first()
        or 1,
        "documents_shift": shift.values_list("pk", flat=True).first() or 1,
        "documents_swap": swap.pk if swap else 1,
        "documents_action": "remind",
        "documents_person": User.objects.filter(username="scjg_reviewer1").values_list("pk", flat=True).first() or 1,
        "documents_to_user": User.objects.filter(username="scjg_clerk").values_list("pk", flat=True).first() or 1,
    }


def _staff_messaging_values(world: World) -> dict[str, object]:
    from yiwang.messaging.models import ChatGroup, ChatMessage, WorkInstruction

    group = ChatGroup.objects.filter(kind="department", department__code="SFS-SCJG").first()
    files = ChatMessage.objects.filter(group=group).exclude(attachment="")
    instruction = WorkInstruction.objects.filter(request_key="demo-instruction-gas-safety").first()
    return {
        "group_id": group.pk if group else 1,
        "chat_message_id": files.values_list("pk", flat=True).first() or 1,
        "instruction_id": instruction.pk if instruction else 1,
        "user_id": world.users["scjg_reviewer1"].pk,
    }


def _payments_values(world: World) -> dict[str, object]:
    """payments: citizen01's paid demo bill and its payment; the simulator channel."""
    from yiwang.payments.models import Bill, Payment

    bill = Bill.objects.filter(payer=world.users["citizen01"], state="paid").order_by("pk").first()
    payment = Payment.objects.filter(bill=bill).order_by("pk").first() if bill else None
    return {
        "bill_id": bill.pk if bill else 1,
        "payment_id": payment.pk if payment else 1,
        "reconciliation_report_id": 1,  # no report in the demo: the row's 404 for all
        "channel": "paysim",
    }


def _appointment_number(world: World) -> str:
    from yiwang.appointments.models import Booking

    return Booking.objects.filter(citizen=world.users["citizen01"]).values_list("number", flat=True).first() or "none"


def _supervision_values(world: World) -> dict[str, object]:
    from yiwang.supervision.models import DrawPlan, Inspection

    plan = DrawPlan.objects.filter(status="drawn").order_by("pk").first()
    task = (
        Inspection.objects.filter(status="assigned", inspectors__user__username="scjg_reviewer1")
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    return {
        "plan_code": plan.code if plan else "none",
        "inspection_id": task or 1,
        "uscc": world.users["ent01"].enterprise_uscc,
        "year": datetime.date.today().year - 1,
        "repair_id": 1,
        "supervision_inspector": "61SCJG0001",
        "supervision_qualification": _first(
            "supervision.InspectorQualification", inspector__certificate_number="61SCJG0001"
        ),
    }


def _oversight_values() -> dict[str, object]:
    """The demo's 市场监管局-led task that has a submitted report with evidence."""
    from yiwang.oversight.models import ProgressReport, ReportAttachment

    report = ProgressReport.objects.filter(status="submitted", department__code="SFS-SCJG").order_by("pk").first()
    attachment = ReportAttachment.objects.filter(report=report).order_by("pk").first() if report else None
    return {
        "task_id": report.task_id if report else 1,
        "report_id": report.pk if report else 1,
        "attachment_id": attachment.pk if attachment else 1,
    }


def _rating_id(world: World) -> int:
    from yiwang.evaluation.models import Rating

    return Rating.objects.filter(case=world.case).values_list("pk", flat=True).first() or 1


def _rectification_id() -> int:
    from yiwang.evaluation.models import Rectification

    return Rectification.objects.order_by("pk").values_list("pk", flat=True).first() or 1


def _qr_token(world: World) -> str:
    from yiwang.evaluation.services import rating_qr_token

    return rating_qr_token(case_id=world.case.pk)


def _first(model: str, **filters):
    from django.apps import apps

    return apps.get_model(model).objects.filter(**filters).order_by("pk").values_list("pk", flat=True).first() or 1


# --- bodies from the OpenAPI document -----------------------------------------------------------


def _openapi_path(route: str) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def _sample(schema: dict, components: dict, depth: int = 0):
    """The smallest value the schema accepts (required properties only)."""
    if "$ref" in schema:
        return _sample(components[schema["$ref"].rsplit("/", 1)[1]], components, depth)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return _sample(options[0], components, depth)
    if "default" in schema:
        return schema["default"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 4:
            return {}
        props = schema.get("properties", {})
        required = [name for name in schema.get("required", []) if name in props]
        return {name: _sample(props[name], components, depth + 1) for name in required}
    if kind == "array":
        return [_sample(schema.get("items", {}), components, depth + 1) for _ in range(schema.get("minItems", 0))]
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1
    if kind == "boolean":
        return False
    fmt = schema.get("format")
    if fmt == "date":
        return "2030-01-01"
    if fmt == "date-time":
        return "2030-01-01T00:00:00+08:00"
    return "试" * max(1, schema.get("minLength", 1))


def request_shape(endpoint: matrix.Endpoint, method: str, spec: dict, overrides: dict) -> dict:
    """``{"query": str, "body": str | None, "form": dict | None}`` for one API operation."""
    operation = spec["paths"].get(_openapi_path(endpoint.route), {}).get(method.lower())
    if operation is None:
        return {"query": "", "body": None, "form": None}
    components = spec.get("components", {}).get("schemas", {})
    query = {
        p["name"]: _sample(p.get("schema", {}), components)
        for p in operation.get("parameters", [])
        if p.get("in") == "query" and p.get("required")
    }
    body = form = None
    content = (operation.get("requestBody") or {}).get("content", {})
    if "application/json" in content:
        sample = _sample(content["application/json"]["schema"], components)
        body = json.dumps({**sample, **overrides} if isinstance(sample, dict) else sample, ensure_ascii=False)
    else:
        for kind in ("multipart/form-data", "application/x-www-form-urlencoded"):
            if kind in content:
                schema = content[kind]["schema"]
                form = {}
                for name, prop in schema.get("properties", {}).items():
                    if prop.get("format") == "binary" or prop.get("items", {}).get("format") == "binary":
                        form[name] = SimpleUploadedFile("matrix.txt", b"matrix", content_type="text/plain")
                    elif name in overrides:
                        form[name] = overrides[name]
                    elif name in schema.get("required", []):
                        value = _sample(prop, components)
                        form[name] = json.dumps(value) if isinstance(value, (dict, list)) else value
    return {"query": "&".join(f"{k}={v}" for k, v in query.items()), "body": body, "form": form}


def _fresh(value):
    return SimpleUploadedFile(value.name, b"matrix", value.content_type) if hasattr(value, "read") else value


# --- the tests ----------------------------------------------------------------------------------


def _rows():
    return [(endpoint, matrix.row_for(TABLE, endpoint.key)) for endpoint in matrix.endpoints()]


def test_every_url_has_a_row():
    missing, methods_missing, stale = [], [], []
    for endpoint, row in _rows():
        if row is None:
            missing.append(f"{endpoint.key}  ({endpoint.route})")
            continue
        if endpoint.methods and set(endpoint.methods) - set(row.methods):
            methods_missing.append(f"{endpoint.key}: {sorted(set(endpoint.methods) - set(row.methods))}")
    keys = {endpoint.key for endpoint in matrix.endpoints()}
    for key in TABLE:
        if not any(ch in key for ch in "*?[") and key not in keys:
            stale.append(key)
    problems = (
        [f"no row in tests/trust/permissions.py for: {m}" for m in missing]
        + [f"methods without a row: {m}" for m in methods_missing]
        + [f"row for a URL that no longer exists: {s}" for s in stale]
    )
    assert not problems, "\n".join(problems)


def test_rows_name_every_actor():
    for key, row in TABLE.items():
        for method, expected in row.expected.items():
            assert set(expected) == set(ROLES), f"{key} {method}: actors {sorted(set(ROLES) ^ set(expected))}"
            assert set(expected.values()) <= set(matrix.OUTCOMES), f"{key} {method}: {set(expected.values())}"


def _selected(key: str) -> bool:
    """``YIWANG_MATRIX_ONLY``: comma-separated globs on the key; ``!glob`` leaves those out."""
    globs = [g for g in os.environ.get("YIWANG_MATRIX_ONLY", "").split(",") if g]
    wanted = [g for g in globs if not g.startswith("!")]
    if any(fnmatch.fnmatchcase(key, g[1:]) for g in globs if g.startswith("!")):
        return False
    return not wanted or any(fnmatch.fnmatchcase(key, g) for g in wanted)


def area(endpoint: matrix.Endpoint) -> str:
    """The part of the matrix an endpoint belongs to: ``api-<router>`` (``api/v1/<router>/…``),
    ``admin-<app>`` (``admin/<app>/…``), else the URL namespace (``cases``), else ``other``."""
    segments = [s for s in endpoint.route.replace("^", "").split("/") if re.fullmatch(r"[\w.-]+", s)]
    if endpoint.is_api:
        return f"api-{segments[2]}" if len(segments) > 2 and endpoint.route.startswith("api/v1/") else "api"
    if endpoint.route.startswith("admin/"):
        return f"admin-{segments[1]}" if len(segments) > 1 else "admin"
    if endpoint.key != endpoint.route and ":" in endpoint.key:
        return endpoint.key.split(":", 1)[0]
    return "other"


def areas() -> list[str]:
    return sorted({area(endpoint) for endpoint in matrix.endpoints()})


def observe(world: World, only_area: str | None = None) -> dict:
    """``{key: {"path": …, method: {actor: outcome}}}`` for every URL, method and actor
    (of one area, when ``only_area`` is given)."""
    spec = api.get_openapi_schema()
    values = parameters(world)
    clients = {role: matrix.client_for(None if role == "anonymous" else world.actor(role)) for role in ROLES}
    anonymous = clients["anonymous"]
    observed: dict[str, dict] = {}
    for endpoint, row in _rows():
        if row is None or not _selected(endpoint.key):
            continue
        if only_area is not None and area(endpoint) != only_area:
            continue
        kwargs = {**values, **{name: values[source] for name, source in row.kwargs.items()}}
        if endpoint.key.startswith("admin:") or endpoint.route.startswith("admin/"):
            kwargs = {**kwargs, **matrix.admin_object_values(endpoint.key)}
        path = matrix.fill(endpoint.route, kwargs)
        statuses: dict[str, int] = {}
        seen: dict[str, object] = {"path": path, "status": statuses}
        for method in row.expected:
            overrides = {k: values[v[1:]] if str(v).startswith("$") else v for k, v in row.json.items()}
            shape = request_shape(endpoint, method, spec, overrides) if endpoint.is_api else {"query": "", "body": None}
            url = f"{path}?{shape['query']}" if shape["query"] else path
            got = {}
            for role in ROLES:
                if endpoint.is_api:
                    form = shape.get("form")
                    if form:  # uploads are read once: a fresh copy per request
                        form = {k: _fresh(v) for k, v in form.items()}
                    response = matrix.ask(
                        anonymous, method, url, headers=world.bearer(role), body=shape["body"], form=form
                    )
                else:
                    response = matrix.ask(clients[role], method, url)
                got[role] = matrix.classify(response, is_api=endpoint.is_api)
                statuses[f"{method} {role}"] = response.status_code
                if response.status_code == 422 and role == "citizen":
                    statuses[f"{method} 422"] = response.content.decode()[:300]
            seen[method] = got
        observed[endpoint.key] = seen
    return observed


def test_areas_cover_every_url():
    """The areas the matrix is split into (collected once) still cover every URL: a URL in a new
    area would otherwise be asked by no test until the next collection."""
    assert {area(endpoint) for endpoint in matrix.endpoints()} <= set(AREAS)


AREAS = areas()


@pytest.mark.parametrize("matrix_area", AREAS)
def test_matrix(world, matrix_area):
    observed = observe(world, matrix_area)
    dump = os.environ.get("YIWANG_MATRIX_DUMP")
    if dump:
        merged = {}
        if os.path.exists(dump):
            with open(dump, encoding="utf-8") as existing:
                merged = json.load(existing)
        merged.update(observed)
        with open(dump, "w", encoding="utf-8") as out:
            json.dump(merged, out, ensure_ascii=False, indent=1)
    differences = []
    for key, seen in observed.items():
        row = matrix.row_for(TABLE, key)
        for method, expected in row.expected.items():
            for role in ROLES:
                if seen[method][role] != expected[role]:
                    got, path = seen[method][role], seen["path"]
                    differences.append(f"{key} {method} {path} as {role}: got {got}, table says {expected[role]}")
    assert not differences, f"{len(differences)} answers differ from tests/trust/permissions.py:\n" + "\n".join(
        differences
    )
