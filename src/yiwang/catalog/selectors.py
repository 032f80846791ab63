"""Catalog reads. Public reads return published content only; admin reads are scoped to the
departments the actor administers, and anything outside that scope raises ``NotFound``
exactly like a missing object.

This module (with ``services``) is the catalog's whole public surface: other apps read
items, versions and material lists through it and never import ``catalog.models``
(ARCHITECTURE.md; ``tests/test_architecture.py`` keeps it so). The choices they compare
catalog rows with (``Status``, ``HandlingForm``, ...) are re-exported here for that reason.
"""

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from yiwang.catalog.content import ITEM_FIELDS, LIFE_EVENT_FIELDS, MATERIAL_FIELDS
from yiwang.catalog.models import HandlingForm as HandlingForm  # re-exported (see above)
from yiwang.catalog.models import (
    LifeEvent,
    LifeEventItem,
    LifeEventVersion,
    MaterialRequirement,
    MaterialRequirementKind,
    MaterialSource,
    ServiceItem,
    ServiceItemVersion,
    Status,
)
from yiwang.core.errors import NotFound
from yiwang.core.replica import lag_tolerant
from yiwang.identity.models import Department, Role
from yiwang.identity.selectors import actor_has_role, departments_for_actor

CATALOG_ADMIN_ROLES = (Role.DEPARTMENT_ADMIN, Role.CITY_ADMIN)


# --- who may administer what -----------------------------------------------------------------


def may_administer(*, actor, department: Department) -> bool:
    """Department admins of the implementing (or lead) department, and city admins above it.

    ``actor=None`` is the platform itself (an operator's management command, the demo
    loader): it may. Web requests always pass a user, anonymous or not.
    """
    if actor is None:
        return True
    return actor_has_role(actor, roles=CATALOG_ADMIN_ROLES, department=department)


def administered_departments(*, actor) -> QuerySet[Department]:
    """Departments whose catalog the actor maintains (one lazy queryset)."""
    scope = departments_for_actor(actor=actor, role=Role.DEPARTMENT_ADMIN) | departments_for_actor(
        actor=actor, role=Role.CITY_ADMIN
    )
    return Department.objects.filter(pk__in=scope.values("pk"))


# --- shapes ------------------------------------------------------------------------------------


def _materials_prefetch() -> Prefetch:
    return Prefetch("materials", queryset=MaterialRequirement.objects.order_by("sort", "id"))


def material_to_data(material: MaterialRequirement) -> dict:
    return {field: getattr(material, field) for field in MATERIAL_FIELDS if field != "name_en" or material.name_en}


def item_version_to_data(version: ServiceItemVersion, *, item: ServiceItem | None = None) -> dict:
    """A version in the import-file shape (the one format of the catalog). Pass ``item`` when
    it is at hand (with its department) to save the queries for it."""
    item = item or version.item
    data = {field: getattr(version, field) for field in ITEM_FIELDS if hasattr(ServiceItemVersion, field)}
    data["implementation_code"] = item.implementation_code
    data["department"] = item.department.code
    data["materials"] = [material_to_data(m) for m in version.materials.all()]
    if version.output_license_type_code or version.output_description:
        data["output"] = {
            "license_type_code": version.output_license_type_code,
            "description": version.output_description,
        }
    else:
        data["output"] = None
    if not data.get("decision_table"):
        data.pop("decision_table", None)
    if data.get("real_name_level", 1) <= 1:
        data.pop("real_name_level", None)
    for field in ("name_en", "description_en", "auto_accept"):
        if not data.get(field):
            data.pop(field, None)
    return {field: data[field] for field in ITEM_FIELDS if field in data}


def life_event_version_to_data(version: LifeEventVersion) -> dict:
    fields = ("name", "aliases", "keywords", "description", "targets", "name_en", "description_en")
    data = {field: getattr(version, field) for field in fields}
    data["code"] = version.life_event.code
    data["department"] = version.life_event.department.code
    data["items"] = [entry.item.implementation_code for entry in version.entries.all()]
    return {
        field: data[field]
        for field in LIFE_EVENT_FIELDS
        if field in data and (data[field] or not field.endswith("_en"))
    }


# --- service items -------------------------------------------------------------------------


def with_versions_prefetch() -> tuple[Prefetch, Prefetch]:
    """Drafts (as ``draft_versions``) and current versions with their materials, in two queries."""
    return (
        Prefetch(
            "versions",
            queryset=ServiceItemVersion.objects.filter(published_at__isnull=True).prefetch_related(
                _materials_prefetch()
            ),
            to_attr="draft_versions",
        ),
        Prefetch("current_version__materials", queryset=MaterialRequirement.objects.order_by("sort", "id")),
    )


def item_draft(*, item: ServiceItem) -> ServiceItemVersion | None:
    prefetched = getattr(item, "draft_versions", None)  # see item_list_for_admin
    if prefetched is not None:
        return prefetched[0] if prefetched else None
    return item.versions.filter(published_at__isnull=True).prefetch_related(_materials_prefetch()).first()


def item_latest_version(*, item: ServiceItem) -> ServiceItemVersion | None:
    """The draft if there is one, else the current published version."""
    return item_draft(item=item) or item.current_version


@lag_tolerant  # public browsing: a second behind the primary is fine (core.replica)
def item_list_published(
    *, department: Department | None = None, kind: str | None = None, target: str | None = None
) -> QuerySet[ServiceItem]:
    """Published items for everyone, with their current versions and departments."""
    items = ServiceItem.objects.filter(status=Status.PUBLISHED, current_version__isnull=False).select_related(
        "current_version", "department"
    )
    if department is not None:
        items = items.filter(department=department)
    if kind:
        items = items.filter(current_version__kind=kind)
    if target:
        # JSON containment is not portable to SQLite; targets are a short list of codes.
        items = items.filter(current_version__targets__icontains=f'"{target}"')
    return items.order_by("department__path", "implementation_code")


def item_get_published(*, implementation_code: str) -> ServiceItem:
    """The published item of ``implementation_code`` with its current version and department
    (one query); ``NotFound`` if there is none."""
    found = (
        ServiceItem.objects.filter(implementation_code=implementation_code, status=Status.PUBLISHED)
        .select_related("current_version", "department")
        .order_by()[:1]  # unique code: no ORDER BY for the compiler to place (a case submission's hot path)
    )
    item = next(iter(found), None)
    if item is None or item.current_version is None:
        raise NotFound(_("未找到该事项。"), code="item_not_found")
    return item


def item_get(*, item_id: int) -> ServiceItem:
    """An item by id in any status, with its current version and department (one query): what a
    case kept a version of reads, to see whether that item is still published and current.
    The caller checks ``status``; ``NotFound`` only if there is no such item."""
    found = (
        ServiceItem.objects.filter(pk=item_id)
        .select_related("current_version", "department")
        .order_by()[:1]  # primary key: no ORDER BY
    )
    item = next(iter(found), None)
    if item is None:
        raise NotFound(_("未找到该事项。"), code="item_not_found")
    return item


def requirements_of_version(*, version_id: int) -> QuerySet[MaterialRequirement]:
    """The material list of a version, in its order (a lazy queryset, one query)."""
    return MaterialRequirement.objects.filter(version_id=version_id)


def required_applicant_materials(*, version_id: int) -> QuerySet[MaterialRequirement]:
    """The materials of a version the applicant must upload himself: required ones from the
    applicant, never those the government holds (a license, registry data). A lazy queryset in
    list order, so that the caller can narrow it in the same query (cases leaves out those
    already uploaded)."""
    return MaterialRequirement.objects.filter(
        version_id=version_id,
        source=MaterialSource.APPLICANT,
        requirement=MaterialRequirementKind.REQUIRED,
    ).order_by("sort", "id")


def certificate_free_materials(*, version_ids: list[int]) -> list[MaterialRequirement]:
    """The 免提交 materials the government holds (source a license type or a registry item) of
    these versions, in list order: what ``cases`` verifies at submission instead of asking for an
    upload. The 申请书 generated from the form (source ``form``) has nothing to verify. One query."""
    if not version_ids:
        return []
    return list(
        MaterialRequirement.objects.filter(
            version_id__in=version_ids, source__in=(MaterialSource.LICENSE, MaterialSource.REGISTRY)
        ).order_by("version_id", "sort", "id")
    )


def version_with_materials(*, version_id: int) -> ServiceItemVersion:
    """A version by id, with materials — what a case that kept the version reads."""
    version = (
        ServiceItemVersion.objects.filter(pk=version_id)
        .select_related("item", "item__department")
        .prefetch_related(_materials_prefetch())
        .first()
    )
    if version is None:
        raise NotFound(_("未找到该事项版本。"), code="item_version_not_found")
    return version


def item_list_for_admin(*, actor) -> QuerySet[ServiceItem]:
    """Every item (any status) of the departments the actor administers."""
    return (
        ServiceItem.objects.filter(department__in=administered_departments(actor=actor))
        .select_related("current_version", "department")
        .prefetch_related(*with_versions_prefetch())
        .order_by("department__path", "implementation_code")
    )


def item_get_for_admin(*, actor, implementation_code: str) -> ServiceItem:
    """An item the actor administers; outside their departments it does not exist."""
    item = item_list_for_admin(actor=actor).filter(implementation_code=implementation_code).first()
    if item is None:
        raise NotFound(_("未找到该事项。"), code="item_not_found")
    return item


# --- life events -------------------------------------------------------------------------------


def life_event_draft(*, life_event: LifeEvent) -> LifeEventVersion | None:
    return life_event.versions.filter(published_at__isnull=True).first()


@lag_tolerant  # public browsing: a second behind the primary is fine (core.replica)
def life_event_list_published() -> QuerySet[LifeEvent]:
    return (
        LifeEvent.objects.filter(status=Status.PUBLISHED, current_version__isnull=False)
        .select_related("current_version", "department")
        .order_by("code")
    )


def life_event_get_published(*, code: str) -> LifeEvent:
    life_event = life_event_list_published().filter(code=code).first()
    if life_event is None:
        raise NotFound(_("未找到该一件事。"), code="life_event_not_found")
    return life_event


def life_event_list_for_admin(*, actor) -> QuerySet[LifeEvent]:
    return (
        LifeEvent.objects.filter(department__in=administered_departments(actor=actor))
        .select_related("current_version", "department")
        .order_by("code")
    )


def life_event_get_for_admin(*, actor, code: str) -> LifeEvent:
    life_event = life_event_list_for_admin(actor=actor).filter(code=code).first()
    if life_event is None:
        raise NotFound(_("未找到该一件事。"), code="life_event_not_found")
    return life_event


def life_event_guide(*, version: LifeEventVersion) -> dict:
    """The merged guide of a bundle: its items' current guides, one form, one material list.

    Materials with the same name and source are asked once (required if any item requires
    them); form properties with the same name are asked once (their schemas combined with
    ``allOf`` if they differ); the time limit is the longest of the items'.
    """
    entries = (
        LifeEventItem.objects.filter(version=version)
        .select_related("item", "item__department", "item__current_version")
        .prefetch_related(
            Prefetch("item__current_version__materials", queryset=MaterialRequirement.objects.order_by("sort", "id"))
        )
        .order_by("sort")
    )
    versions = []
    for entry in entries:
        version = entry.item.current_version
        if version is not None:
            version.item = entry.item  # already read, with its department: no query per use
            versions.append(version)
    materials: list[dict] = []
    by_key: dict[tuple, dict] = {}
    for item_version in versions:
        for material in item_version.materials.all():
            key = (material.name, material.source, material.license_type_code, material.registry_field)
            merged = by_key.get(key)
            if merged is None:
                merged = {**material_to_data(material), "items": []}
                by_key[key] = merged
                materials.append(merged)
            elif material.requirement == MaterialRequirementKind.REQUIRED:
                merged["requirement"] = MaterialRequirementKind.REQUIRED
                merged["condition"] = ""
            merged["items"].append(item_version.item.implementation_code)
            # Which requirement of each item this is: a bundle application attaches the file to it.
            merged.setdefault("requirement_ids", {})[item_version.item.implementation_code] = material.pk
    return {
        "items": versions,
        "materials": materials,
        "form_schema": merge_form_schemas([v.form_schema for v in versions]),
        "promised_time_limit": max((v.promised_time_limit for v in versions), default=0),
        "statutory_time_limit": max((v.statutory_time_limit for v in versions), default=0),
        "onsite_visits": max((v.onsite_visits for v in versions), default=0),
        "departments": list(dict.fromkeys(v.item.department for v in versions)),
    }


def merge_form_schemas(schemas: list[dict]) -> dict:
    """One object schema asking each property once; required is the union."""
    properties: dict = {}
    required: list[str] = []
    for schema in schemas:
        for name, definition in (schema or {}).get("properties", {}).items():
            if name not in properties:
                properties[name] = definition
            elif properties[name] != definition:
                existing = properties[name]
                parts = existing["allOf"] if set(existing) == {"allOf"} else [existing]
                if definition not in parts:
                    properties[name] = {"allOf": [*parts, definition]}
        for name in (schema or {}).get("required", []):
            if name not in required:
                required.append(name)
    merged: dict = {"type": "object", "properties": properties}
    if required:
        merged["required"] = required
    return merged


# --- portal browsing ---------------------------------------------------------------------------


@lag_tolerant  # public browsing: a second behind the primary is fine (core.replica)
def departments_with_published_items() -> list[tuple[Department, int]]:
    """Departments that implement at least one published item, with the count, in tree order."""
    from django.db.models import Count, Q

    departments = (
        Department.objects.filter(is_active=True, service_items__status=Status.PUBLISHED)
        .annotate(published=Count("service_items", filter=Q(service_items__status=Status.PUBLISHED)))
        .order_by("path")
    )
    return [(d, d.published) for d in departments]


# --- decision tables (秒批): the pure evaluation, for cases ---------------------------------------


def decision_table_evaluate(*, table: dict, facts: dict):
    """``catalog.decision.evaluate``: the first row of ``table`` whose conditions hold over
    ``facts`` decides (a ``Result`` with outcome, reason, row, findings, facts used)."""
    from yiwang.catalog.decision import evaluate

    return evaluate(table, facts)


def decision_table_facts(*, table: dict) -> list[str]:
    """The fact names the table's rows refer to, in order of first use."""
    from yiwang.catalog.decision import referenced_facts

    return referenced_facts(table)


def item_search(*, query: str, page_size: int = 5) -> list:
    """Published items and life events matching ``query`` by the catalog's Chinese search (jieba,
    pinyin, synonyms), best first: for other apps (the hotline's knowledge search) that may not
    import ``catalog.search`` directly. Public data: no actor needed."""
    from yiwang.catalog.search import search

    return search(query, page_size=page_size).hits


def text_words(text: str) -> list[str]:
    """jieba search-mode words of ``text`` with the catalog's segmenter (one per process, its
    domain words loaded): other apps reuse it instead of loading a second jieba dictionary."""
    from yiwang.catalog.search import normalize, words

    return words(normalize(text))


# --- the catalog's Chinese search, for other apps' own indexes (publicity: 政务公开) -----------------


def search_postings(fields: list[tuple[str, str]]) -> dict[str, int]:
    """``{term: weight}`` for ``(field, text)`` pairs, exactly as the catalog indexes an item
    (jieba words, bigrams, pinyin; fields as in ``catalog.search.FIELD_WEIGHTS``)."""
    from yiwang.catalog import search

    return search.terms_for(fields)


def search_query_weights(query: str) -> dict[str, int]:
    """``{term: weight}`` of a query, as the catalog reads one (filler dropped, synonyms added)."""
    from yiwang.catalog import search

    return search.query_terms(query)


def search_min_relative_score() -> int:
    """Results under this percentage of the best score are noise (the catalog's cut-off)."""
    from yiwang.catalog import search

    return search.MIN_RELATIVE_SCORE
