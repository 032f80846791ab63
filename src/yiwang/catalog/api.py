"""Catalog endpoints of the JSON API, mounted at /api/v1/catalog/.

Public (no sign-in): published items and life events — list, search, detail, the guide of a
published version, the Excel template. Admin (``/catalog/admin/…``, signed in): drafts of
the departments the actor administers — anything else answers 404 like a missing object.
Item and life-event bodies use the import-file shape (docs/catalog-import.schema.json).
Thin: every read is a selector, every write a service.
"""

from pathlib import Path
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Body, Field, File, Form, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.pagination import paginate
from ninja.responses import Status as Respond

from yiwang.catalog import selectors, services
from yiwang.catalog.forms import MAX_UPLOAD_BYTES
from yiwang.catalog.importer import (
    FORMATS,
    catalog_document,
    catalog_import,
    render_document,
    template_workbook,
)
from yiwang.catalog.models import (
    HandlingForm,
    ItemKind,
    LifeEvent,
    MaterialSource,
    ServiceItem,
    ServiceItemVersion,
    Status,
    Target,
)
from yiwang.core.api_errors import ErrorOut
from yiwang.core.errors import NotFound, ValidationFailed
from yiwang.core.pagination import MAX_PAGE, PageNumberPagination
from yiwang.identity.auth import api_auth
from yiwang.identity.models import Department

router = Router(tags=["catalog"])
# Writes that meet the item or life event in the wrong state (or its code taken) answer 409.
CONFLICT = {409: ErrorOut}
SCHEMA_PATH = Path(__file__).resolve().parent / "import.schema.json"

CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "yaml": "application/yaml; charset=utf-8",
    "json": "application/json; charset=utf-8",
}


# --- schemas -----------------------------------------------------------------------------------


class DepartmentRef(Schema):
    code: str
    name: str


class ItemSummary(Schema):
    implementation_code: str
    name: str
    kind: str = Field(
        description="licensing | benefit | confirmation | adjudication | reward | other_power | public_service"
    )
    kind_label: str
    department: DepartmentRef
    targets: list[str] = Field(description="natural_person | legal_person")
    handling_form: str = Field(description="window | online | both")
    statutory_time_limit: int = Field(description="法定办结时限, working days")
    promised_time_limit: int = Field(description="承诺办结时限, working days (0 = 即办)")
    onsite_visits: int = Field(description="到现场次数")
    online_depth: list[int]
    version: int


class ItemDetail(ItemSummary):
    guide: dict[str, Any] = Field(
        description="The whole guide in the import-file shape. Each of ``guide.materials[]`` also has its ``id``: "
        "it feeds ``requirement_ids`` of ``POST /api/v1/cases/with-materials`` (and ``requirement_id`` of "
        "``POST /api/v1/cases/{id}/materials``)"
    )
    labels: dict[str, Any] = Field(description="Chinese (or current-language) labels of the coded fields")
    version_id: int = Field(description="Id of this version; a case keeps it")
    published_at: str | None
    certificate_free_materials: int = Field(description="Materials satisfied by a license or registry (免提交)")
    material_reduction_ratio: float = Field(description="材料减免比例: 免提交 materials / all materials, 0..1")
    automatic_decision: bool = Field(description="秒批: the version has a decision table")


class LifeEventSummary(Schema):
    code: str
    name: str
    aliases: list[str]
    department: DepartmentRef
    targets: list[str]
    items: list[str] = Field(description="implementation codes, in order")
    version: int


class LifeEventDetail(LifeEventSummary):
    description: str
    item_guides: list[ItemSummary]
    materials: list[dict[str, Any]] = Field(
        description="Merged: a material shared by several items is asked once. ``name`` feeds ``materials[].name`` "
        "of ``POST /api/v1/cases/bundles/``; ``requirement_ids`` maps each item's implementation code to that "
        "item's requirement id (the ``id`` in the item's ``guide.materials[]``)"
    )
    form_schema: dict[str, Any] = Field(description="Merged JSON Schema: each property asked once")
    promised_time_limit: int
    statutory_time_limit: int
    onsite_visits: int


class ItemFilters(Schema):
    department: str | None = Field(None, description="Department code (机构编码)")
    kind: ItemKind | None = None
    target: Target | None = None


class AdminItem(Schema):
    implementation_code: str
    name: str
    department: DepartmentRef
    status: str = Field(description="draft | published | retired")
    current_version: int | None
    draft_version: int | None


class AdminItemDetail(AdminItem):
    draft: dict[str, Any] | None = Field(description="The draft in the import-file shape, if any")
    published: dict[str, Any] | None = Field(description="The current published version, if any")


class AdminLifeEvent(Schema):
    code: str
    name: str
    department: DepartmentRef
    status: str
    current_version: int | None
    draft_version: int | None
    draft: dict[str, Any] | None
    published: dict[str, Any] | None


class SaveOut(Schema):
    outcome: str = Field(description="created | updated | unchanged")
    version: int


class PublishOut(Schema):
    version: int
    published_at: str


class RetireIn(Schema):
    reason: str = Field("", max_length=500)


class ImportOut(Schema):
    summary: str
    items: dict[str, int]
    life_events: dict[str, int]
    published_items: int
    published_life_events: int


class SearchHitOut(Schema):
    kind: str = Field(description="item | life_event")
    code: str
    name: str
    item_kind: str
    department_name: str
    summary: str
    promised_time_limit: int | None
    onsite_visits: int | None
    score: int


class SearchOut(Schema):
    query: str
    total: int
    page: int
    page_size: int
    hits: list[SearchHitOut]


class CatalogPagination(PageNumberPagination):
    """``?page=1&page_size=50`` (at most 200); answers ``{"items": [...], "count": N}``."""

    def __init__(self, **kwargs):
        super().__init__(page_size=50, max_page_size=200, **kwargs)


# --- shaping -------------------------------------------------------------------------------------


def _department(department: Department) -> dict:
    return {"code": department.code, "name": department.name}


def _summary(item: ServiceItem, version: ServiceItemVersion) -> dict:
    return {
        "implementation_code": item.implementation_code,
        "name": version.name,
        "kind": version.kind,
        "kind_label": str(version.get_kind_display()),
        "department": _department(item.department),
        "targets": version.targets,
        "handling_form": version.handling_form,
        "statutory_time_limit": version.statutory_time_limit,
        "promised_time_limit": version.promised_time_limit,
        "onsite_visits": version.onsite_visits,
        "online_depth": version.online_depth,
        "version": version.number,
    }


def _labels(version: ServiceItemVersion) -> dict:
    targets = dict(Target.choices)
    sources = dict(MaterialSource.choices)
    return {
        "kind": str(version.get_kind_display()),
        "exercise_level": str(version.get_exercise_level_display()) if version.exercise_level else "",
        "handling_form": str(dict(HandlingForm.choices)[version.handling_form]),
        "targets": [str(targets[t]) for t in version.targets if t in targets],
        "material_sources": {k: str(v) for k, v in sources.items()},
    }


def _detail(item: ServiceItem, version: ServiceItemVersion) -> dict:
    guide = selectors.item_version_to_data(version)
    for data, material in zip(guide["materials"], version.materials.all(), strict=True):
        data["id"] = material.pk  # what a client passes as requirement_ids when it submits files
    return {
        **_summary(item, version),
        "guide": guide,
        "labels": _labels(version),
        "version_id": version.pk,
        "published_at": version.published_at.isoformat() if version.published_at else None,
        "certificate_free_materials": sum(1 for m in guide["materials"] if m["source"] != MaterialSource.APPLICANT),
        "material_reduction_ratio": ServiceItemVersion.reduction_of(guide["materials"])[1],
        "automatic_decision": bool(version.decision_table),
    }


def _life_event_summary(life_event: LifeEvent, version) -> dict:
    return {
        "code": life_event.code,
        "name": version.name,
        "aliases": version.aliases,
        "department": _department(life_event.department),
        "targets": version.targets,
        "items": [e.item.implementation_code for e in version.entries.select_related("item")],
        "version": version.number,
    }


def _admin_item(item: ServiceItem) -> dict:
    draft = selectors.item_draft(item=item)
    latest = draft or item.current_version
    return {
        "implementation_code": item.implementation_code,
        "name": latest.name if latest else "",
        "department": _department(item.department),
        "status": item.status,
        "current_version": item.current_version.number if item.current_version else None,
        "draft_version": draft.number if draft else None,
        "_draft": draft,
    }


# --- public --------------------------------------------------------------------------------------


@router.get("/items", response=list[ItemSummary], auth=None, summary="Published service items")
@paginate(CatalogPagination)
def item_list(request: HttpRequest, filters: Query[ItemFilters]):
    """Published items, by department tree then code; filter by department code, kind, target."""
    department = None
    if filters.department:
        department = Department.objects.filter(code=filters.department, is_active=True).first()
        if department is None:
            raise ValidationFailed(
                fields={"department": [_("部门编码「%(code)s」不存在") % {"code": filters.department}]}
            )
    items = selectors.item_list_published(department=department, kind=filters.kind, target=filters.target)
    return [_summary(item, item.current_version) for item in items]


@router.get("/search", response=SearchOut, auth=None, summary="Search items and life events")
def search(
    request: HttpRequest,
    q: str = Query(..., max_length=100, description="What the citizen typed: 开饭店要办什么, 换身份证, gtgsh"),
    department: str | None = Query(None, description="Department code"),
    target: Target | None = None,
    kind: str | None = Query(None, description="An item kind, or life_event"),
    page: int = Query(1, ge=1, le=MAX_PAGE),
    page_size: int = Query(20, ge=1, le=50),
):
    """Ranked published items and bundles (names, aliases, keywords, materials, department,
    synonyms, pinyin and pinyin initials)."""
    from yiwang.catalog.search import search as run_search

    department_id = None
    if department:
        found = Department.objects.filter(code=department, is_active=True).first()
        if found is None:
            raise ValidationFailed(fields={"department": [_("部门编码「%(code)s」不存在") % {"code": department}]})
        department_id = found.pk
    result = run_search(q, department_id=department_id, target=target, kind=kind, page=page, page_size=page_size)
    return {
        "query": result.query,
        "total": result.total,
        "page": result.page,
        "page_size": result.page_size,
        "hits": [hit.__dict__ for hit in result.hits],
    }


@router.get("/items/{implementation_code}", response=ItemDetail, auth=None, summary="A published item's guide")
def item_detail(request: HttpRequest, implementation_code: str):
    """The current published guide (办事指南). ``404 item_not_found`` for drafts, retired or unknown items."""
    item = selectors.item_get_published(implementation_code=implementation_code)
    version = selectors.version_with_materials(version_id=item.current_version_id)
    return _detail(item, version)


@router.get(
    "/items/{implementation_code}/versions/{number}",
    response=ItemDetail,
    auth=None,
    summary="A published version of an item's guide",
)
def item_version_detail(request: HttpRequest, implementation_code: str, number: int):
    """Any published version (what a case submitted under it was told). Drafts are not public."""
    version = (
        ServiceItemVersion.objects.filter(
            item__implementation_code=implementation_code, number=number, published_at__isnull=False
        )
        .select_related("item", "item__department")
        .first()
    )
    if version is None:
        raise NotFound(_("未找到该事项版本。"), code="item_version_not_found")
    return _detail(version.item, selectors.version_with_materials(version_id=version.pk))


@router.get("/life-events", response=list[LifeEventSummary], auth=None, summary="Published life events (一件事)")
@paginate(CatalogPagination)
def life_event_list(request: HttpRequest):
    return [_life_event_summary(le, le.current_version) for le in selectors.life_event_list_published()]


@router.get("/life-events/{code}", response=LifeEventDetail, auth=None, summary="A life event's merged guide")
def life_event_detail(request: HttpRequest, code: str):
    """The bundle with its items' guides, one merged material list and one merged form."""
    life_event = selectors.life_event_get_published(code=code)
    version = life_event.current_version
    guide = selectors.life_event_guide(version=version)
    return {
        **_life_event_summary(life_event, version),
        "description": version.description,
        "item_guides": [_summary(v.item, v) for v in guide["items"]],
        "materials": guide["materials"],
        "form_schema": guide["form_schema"],
        "promised_time_limit": guide["promised_time_limit"],
        "statutory_time_limit": guide["statutory_time_limit"],
        "onsite_visits": guide["onsite_visits"],
    }


@router.get("/import-schema.json", auth=None, summary="JSON Schema of the catalog import file")
def import_schema(request: HttpRequest):
    """The Draft 2020-12 JSON Schema of the YAML/JSON import and export format (the same as
    docs/catalog-import.schema.json)."""
    return HttpResponse(SCHEMA_PATH.read_bytes(), content_type="application/schema+json")


@router.get("/template.xlsx", auth=None, summary="The blank Excel import template")
def template(request: HttpRequest):
    """Sheets 事项 / 材料 / 一件事 with Chinese headers, help comments and drop-down lists."""
    response = HttpResponse(template_workbook(), content_type=CONTENT_TYPES["xlsx"])
    response["Content-Disposition"] = 'attachment; filename="catalog-template.xlsx"'
    return response


# --- admin ---------------------------------------------------------------------------------------


@router.get("/admin/items", response=list[AdminItem], auth=api_auth, summary="Items of my departments")
@paginate(CatalogPagination)
def admin_item_list(request: HttpRequest, status: Status | None = None):
    """Every item (draft, published, retired) of the departments the actor administers."""
    items = selectors.item_list_for_admin(actor=request.auth)
    if status:
        items = items.filter(status=status)
    return [_admin_item(item) for item in items]


def _admin_item_detail(item: ServiceItem) -> dict:
    out = _admin_item(item)
    draft = out.pop("_draft")
    out["draft"] = selectors.item_version_to_data(draft) if draft else None
    current = item.current_version
    out["published"] = (
        selectors.item_version_to_data(selectors.version_with_materials(version_id=current.pk)) if current else None
    )
    return out


@router.get("/admin/items/{implementation_code}", response=AdminItemDetail, auth=api_auth, summary="An item of mine")
def admin_item_detail(request: HttpRequest, implementation_code: str):
    return _admin_item_detail(selectors.item_get_for_admin(actor=request.auth, implementation_code=implementation_code))


@router.post("/admin/items", response={201: SaveOut, **CONFLICT}, auth=api_auth, summary="Create an item (draft)")
def admin_item_create(request: HttpRequest, payload: Body[dict[str, Any]]):
    """Creates the item as a draft. ``409 item_exists`` if the implementation code is taken;
    ``422 invalid`` with every problem per field (``materials.2.condition``…)."""
    result = services.item_save_draft(actor=request.auth, data=payload, must_exist=False)
    return Respond(201, {"outcome": result.outcome, "version": result.version.number})


@router.put(
    "/admin/items/{implementation_code}",
    response={200: SaveOut, **CONFLICT},
    auth=api_auth,
    summary="Save an item's draft",
)
def admin_item_update(request: HttpRequest, implementation_code: str, payload: Body[dict[str, Any]]):
    """Saves the whole item as its draft (a published version is never changed)."""
    selectors.item_get_for_admin(actor=request.auth, implementation_code=implementation_code)
    data = {**payload, "implementation_code": implementation_code}
    result = services.item_save_draft(actor=request.auth, data=data, must_exist=True)
    return {"outcome": result.outcome, "version": result.version.number}


@router.post(
    "/admin/items/{implementation_code}/publish",
    response={200: PublishOut, **CONFLICT},
    auth=api_auth,
    summary="Publish",
)
def admin_item_publish(request: HttpRequest, implementation_code: str):
    item = selectors.item_get_for_admin(actor=request.auth, implementation_code=implementation_code)
    version = services.item_publish(actor=request.auth, item=item)
    return {"version": version.number, "published_at": version.published_at.isoformat()}


@router.post(
    "/admin/items/{implementation_code}/retire", response={200: AdminItem, **CONFLICT}, auth=api_auth, summary="Retire"
)
def admin_item_retire(request: HttpRequest, implementation_code: str, payload: RetireIn):
    item = selectors.item_get_for_admin(actor=request.auth, implementation_code=implementation_code)
    services.item_retire(actor=request.auth, item=item, reason=payload.reason)
    item.refresh_from_db()
    out = _admin_item(item)
    out.pop("_draft")
    return out


def _admin_life_event(life_event: LifeEvent) -> dict:
    draft = selectors.life_event_draft(life_event=life_event)
    current = life_event.current_version
    latest = draft or current
    return {
        "code": life_event.code,
        "name": latest.name if latest else "",
        "department": _department(life_event.department),
        "status": life_event.status,
        "current_version": current.number if current else None,
        "draft_version": draft.number if draft else None,
        "draft": selectors.life_event_version_to_data(draft) if draft else None,
        "published": selectors.life_event_version_to_data(current) if current else None,
    }


@router.get("/admin/life-events", response=list[AdminLifeEvent], auth=api_auth, summary="Life events of mine")
@paginate(CatalogPagination)
def admin_life_event_list(request: HttpRequest):
    return [_admin_life_event(le) for le in selectors.life_event_list_for_admin(actor=request.auth)]


@router.get("/admin/life-events/{code}", response=AdminLifeEvent, auth=api_auth, summary="A life event of mine")
def admin_life_event_detail(request: HttpRequest, code: str):
    return _admin_life_event(selectors.life_event_get_for_admin(actor=request.auth, code=code))


@router.post(
    "/admin/life-events", response={201: SaveOut, **CONFLICT}, auth=api_auth, summary="Create a life event (draft)"
)
def admin_life_event_create(request: HttpRequest, payload: Body[dict[str, Any]]):
    result = services.life_event_save_draft(actor=request.auth, data=payload, must_exist=False)
    return Respond(201, {"outcome": result.outcome, "version": result.version.number})


@router.put(
    "/admin/life-events/{code}", response={200: SaveOut, **CONFLICT}, auth=api_auth, summary="Save a life event's draft"
)
def admin_life_event_update(request: HttpRequest, code: str, payload: Body[dict[str, Any]]):
    selectors.life_event_get_for_admin(actor=request.auth, code=code)
    result = services.life_event_save_draft(actor=request.auth, data={**payload, "code": code}, must_exist=True)
    return {"outcome": result.outcome, "version": result.version.number}


@router.post(
    "/admin/life-events/{code}/publish", response={200: PublishOut, **CONFLICT}, auth=api_auth, summary="Publish"
)
def admin_life_event_publish(request: HttpRequest, code: str):
    life_event = selectors.life_event_get_for_admin(actor=request.auth, code=code)
    version = services.life_event_publish(actor=request.auth, life_event=life_event)
    return {"version": version.number, "published_at": version.published_at.isoformat()}


@router.post(
    "/admin/life-events/{code}/retire", response={200: AdminLifeEvent, **CONFLICT}, auth=api_auth, summary="Retire"
)
def admin_life_event_retire(request: HttpRequest, code: str, payload: RetireIn):
    life_event = selectors.life_event_get_for_admin(actor=request.auth, code=code)
    services.life_event_retire(actor=request.auth, life_event=life_event, reason=payload.reason)
    life_event.refresh_from_db()
    return _admin_life_event(life_event)


@router.post(
    "/admin/import",
    response={200: ImportOut, **CONFLICT},
    auth=api_auth,
    summary="Import a catalog file (all-or-nothing)",
)
def admin_import(request: HttpRequest, file: File[UploadedFile], publish: Form[bool] = False):
    """Multipart upload of a .xlsx/.yaml/.yml/.json file. On any error: ``422
    catalog_import_invalid`` with ``fields.file`` listing every bad row and column, and
    nothing written."""
    if file.size > MAX_UPLOAD_BYTES:
        raise ValidationFailed(fields={"file": [_("文件不能超过 10 MB。")]})
    report = catalog_import(actor=request.auth, content=file.read(), filename=file.name or "", publish=publish)
    return {
        "summary": report.summary(),
        "items": report.items,
        "life_events": report.life_events,
        "published_items": report.published_items,
        "published_life_events": report.published_life_events,
    }


@router.get("/admin/export", auth=api_auth, summary="Export my departments' catalog")
def admin_export(request: HttpRequest, format: str = Query("xlsx", description="xlsx | yaml | json")):
    if format not in FORMATS:
        raise ValidationFailed(fields={"format": [_("格式必须是 xlsx、yaml 或 json")]})
    document = catalog_document(actor=request.auth)
    response = HttpResponse(render_document(document, fmt=format), content_type=CONTENT_TYPES[format])
    response["Content-Disposition"] = f'attachment; filename="catalog.{format}"'
    return response
