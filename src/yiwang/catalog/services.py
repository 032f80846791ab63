"""Catalog writes: drafts, publication and retirement of service items and life events.

Every function is keyword-only, runs in one transaction, checks that the actor administers
the department (department admins of the implementing / lead department, or city admins
above it), writes an audit event and publishes a domain event on commit:
``catalog.item_draft_saved``, ``catalog.item_published``, ``catalog.item_retired`` and the
``catalog.life_event_*`` equivalents (payload: ids and codes).
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.catalog.content import Problem, check_item, check_life_event, content_digest
from yiwang.catalog.models import (
    LifeEvent,
    LifeEventItem,
    LifeEventVersion,
    MaterialRequirement,
    ServiceItem,
    ServiceItemVersion,
    Status,
)
from yiwang.catalog.selectors import may_administer
from yiwang.core import events
from yiwang.core.audit import audit_record
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.identity.models import Department

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


@dataclass(frozen=True)
class SaveResult:
    outcome: str  # created | updated | unchanged
    version: ServiceItemVersion | LifeEventVersion


def problems_as_fields(problems: list[Problem]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for problem in problems:
        key = ".".join(str(p) for p in problem.path) or "__all__"
        fields.setdefault(key, []).append(str(problem))
    return fields


def _raise_if(problems: list[Problem]) -> None:
    if problems:
        raise ValidationFailed(fields=problems_as_fields(problems))


def _department(code: str) -> Department | None:
    return Department.objects.filter(code=code, is_active=True).first() if code else None


def _require_admin(actor, department: Department) -> None:
    if not may_administer(actor=actor, department=department):
        raise Forbidden(
            _("您不是部门「%(name)s」的管理员，不能维护其事项。") % {"name": department.name},
            code="not_department_admin",
        )


def _next_number(versions) -> int:
    return (versions.aggregate(n=Max("number"))["n"] or 0) + 1


# --- service items -------------------------------------------------------------------------


def _item_version_fields(data: dict) -> dict:
    output = data.get("output") or {}
    fields = {key: data[key] for key in data if key not in ("implementation_code", "department", "materials", "output")}
    fields["output_license_type_code"] = output.get("license_type_code", "")
    fields["output_description"] = output.get("description", "")
    fields["decision_table"] = data.get("decision_table") or {}
    # Optional fields left out of the dict when empty still overwrite a draft's old value.
    fields["real_name_level"] = data.get("real_name_level") or 1
    fields["name_en"] = data.get("name_en", "")
    fields["description_en"] = data.get("description_en", "")
    fields["auto_accept"] = bool(data.get("auto_accept"))
    fields["content_digest"] = content_digest(data)
    return fields


def _write_materials(version: ServiceItemVersion, materials: list[dict]) -> None:
    version.materials.all().delete()
    MaterialRequirement.objects.bulk_create(
        [MaterialRequirement(version=version, sort=index, **material) for index, material in enumerate(materials)]
    )


def item_check(*, data: dict) -> tuple[dict, list[Problem]]:
    """Normalize and check an item dict, including that its department exists."""
    clean, problems = check_item(data)
    if clean.get("department") and _department(clean["department"]) is None:
        problems.append(
            Problem(
                ("department",),
                _("实施主体编码"),
                _("部门编码「%(code)s」不存在或已停用") % {"code": clean["department"]},
            )
        )
    return clean, problems


@transaction.atomic
def item_save_draft(*, actor, data: dict, must_exist: bool | None = None) -> SaveResult:
    """Create an item, or save a change to it as its draft version.

    Guarantees: the content passes every catalog rule (``ValidationFailed`` lists every
    problem per field otherwise); published versions are never changed — a change to a
    published item goes to a new draft version; saving content identical to the current
    draft (or, with no draft, to the published version) changes nothing and reports
    ``unchanged``. ``must_exist`` True/False turns a missing/existing item into an error.
    """
    clean, problems = item_check(data=data)
    _raise_if(problems)
    department = _department(clean["department"])
    code = clean["implementation_code"]
    item = (
        ServiceItem.objects.select_for_update(of=("self",), no_key=True)
        .filter(implementation_code=code)
        .select_related("department")
        .first()
    )
    if item is not None and not may_administer(actor=actor, department=item.department):
        # Someone else's item: it does not exist for this actor.
        if must_exist:
            raise NotFound(_("未找到该事项。"), code="item_not_found")
        raise Conflict(_("实施编码「%(code)s」已被其他部门的事项使用。") % {"code": code}, code="item_code_taken")
    if item is None and must_exist:
        raise NotFound(_("未找到该事项。"), code="item_not_found")
    if item is not None and must_exist is False:
        raise Conflict(_("实施编码「%(code)s」的事项已存在。") % {"code": code}, code="item_exists")
    _require_admin(actor, department)
    fields = _item_version_fields(clean)
    if item is None:
        item = ServiceItem.objects.create(implementation_code=code, department=department)
        version = ServiceItemVersion.objects.create(item=item, number=1, created_by=_user(actor), **fields)
        _write_materials(version, clean["materials"])
        outcome = CREATED
    else:
        if item.department_id != department.pk:
            raise ValidationFailed(
                fields={
                    "department": [_("事项的实施主体不能变更（当前为「%(name)s」）") % {"name": item.department.name}]
                }
            )
        draft = item.versions.select_for_update(no_key=True).filter(published_at__isnull=True).first()
        baseline = draft or item.current_version
        if baseline is not None and baseline.content_digest == fields["content_digest"]:
            return SaveResult(UNCHANGED, baseline)
        if draft is None:
            draft = ServiceItemVersion.objects.create(
                item=item, number=_next_number(item.versions), created_by=_user(actor), **fields
            )
        else:
            for key, value in fields.items():
                setattr(draft, key, value)
            draft.save()
        _write_materials(draft, clean["materials"])
        version = draft
        outcome = UPDATED
    audit_record(
        actor=actor,
        action="catalog.item_save_draft",
        obj=item,
        changes={"outcome": outcome, "version": version.number, "digest": version.content_digest},
    )
    events.publish("catalog.item_draft_saved", item_id=item.pk, implementation_code=code, version_id=version.pk)
    return SaveResult(outcome, version)


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def _require_table_examples_pass(version: ServiceItemVersion) -> None:
    """A decision table is published only if it passes its own example cases (秒批)."""
    from yiwang.catalog.decision import check_table

    if not version.decision_table:
        return
    _table, problems = check_table(version.decision_table, form_schema=version.form_schema, run_examples=True)
    if problems:
        raise ValidationFailed(
            _("决策表未通过检查,不能发布:%(problems)s") % {"problems": ";".join(str(p) for p in problems)},
            code="decision_table_failed",
            fields={"decision_table": [str(p) for p in problems]},
        )


@transaction.atomic
def item_publish(*, actor, item: ServiceItem) -> ServiceItemVersion:
    """Publish the item's draft as its new current version (immutable from now on).

    A retired item with no draft is published again with its last version. Raises
    ``Conflict`` when there is nothing to publish.
    """
    item = ServiceItem.objects.select_for_update(of=("self",), no_key=True).select_related("department").get(pk=item.pk)
    _require_admin(actor, item.department)
    draft = item.versions.filter(published_at__isnull=True).first()
    if draft is None:
        if item.status == Status.RETIRED and item.current_version is not None:
            version = item.current_version
        else:
            raise Conflict(_("该事项没有待发布的草稿。"), code="nothing_to_publish")
    else:
        _require_table_examples_pass(draft)
        draft.published_at = timezone.now()
        draft.published_by = _user(actor)
        draft.save(update_fields=["published_at", "published_by"])
        version = draft
    item.current_version = version
    item.status = Status.PUBLISHED
    item.save(update_fields=["current_version", "status", "updated_at"])
    audit_record(
        actor=actor,
        action="catalog.item_publish",
        obj=item,
        changes={"version": version.number, "digest": version.content_digest},
    )
    events.publish(
        "catalog.item_published",
        item_id=item.pk,
        implementation_code=item.implementation_code,
        version_id=version.pk,
        version=version.number,
    )
    return version


@transaction.atomic
def item_retire(*, actor, item: ServiceItem, reason: str = "") -> ServiceItem:
    """Withdraw a published item from the public catalog. Cases keep their versions.

    Refused (``Conflict``) while a published life event still contains the item.
    """
    item = ServiceItem.objects.select_for_update(of=("self",), no_key=True).select_related("department").get(pk=item.pk)
    _require_admin(actor, item.department)
    if item.status != Status.PUBLISHED:
        raise Conflict(_("只有已发布的事项可以停用。"), code="item_not_published")
    bundles = LifeEvent.objects.filter(status=Status.PUBLISHED, current_version__entries__item=item).select_related(
        "current_version"
    )
    names = [b.current_version.name for b in bundles]
    if names:
        raise Conflict(
            _("该事项属于已发布的一件事「%(names)s」，请先调整或停用这些一件事。") % {"names": "、".join(names)},
            code="item_in_life_event",
        )
    item.status = Status.RETIRED
    item.save(update_fields=["status", "updated_at"])
    audit_record(actor=actor, action="catalog.item_retire", obj=item, changes={"reason": reason[:500]})
    events.publish("catalog.item_retired", item_id=item.pk, implementation_code=item.implementation_code)
    return item


# --- life events -------------------------------------------------------------------------------


def life_event_check(*, data: dict, known_codes: set[str] | None = None) -> tuple[dict, list[Problem]]:
    """Normalize and check a life-event dict: department exists, its items exist."""
    clean, problems = check_life_event(data)
    if clean.get("department") and _department(clean["department"]) is None:
        problems.append(
            Problem(
                ("department",),
                _("牵头部门编码"),
                _("部门编码「%(code)s」不存在或已停用") % {"code": clean["department"]},
            )
        )
    codes = clean.get("items") or []
    existing = set(
        ServiceItem.objects.filter(implementation_code__in=codes).values_list("implementation_code", flat=True)
    )
    missing = [c for c in codes if c not in existing and c not in (known_codes or set())]
    if missing:
        problems.append(
            Problem(("items",), _("包含事项"), _("以下实施编码的事项不存在：%(codes)s") % {"codes": "、".join(missing)})
        )
    return clean, problems


@transaction.atomic
def life_event_save_draft(*, actor, data: dict, must_exist: bool | None = None) -> SaveResult:
    """Create a life event or save a change to it as its draft (same guarantees as items)."""
    clean, problems = life_event_check(data=data)
    _raise_if(problems)
    department = _department(clean["department"])
    code = clean["code"]
    life_event = (
        LifeEvent.objects.select_for_update(of=("self",), no_key=True)
        .filter(code=code)
        .select_related("department")
        .first()
    )
    if life_event is not None and not may_administer(actor=actor, department=life_event.department):
        if must_exist:
            raise NotFound(_("未找到该一件事。"), code="life_event_not_found")
        raise Conflict(_("一件事编码「%(code)s」已被使用。") % {"code": code}, code="life_event_code_taken")
    if life_event is None and must_exist:
        raise NotFound(_("未找到该一件事。"), code="life_event_not_found")
    if life_event is not None and must_exist is False:
        raise Conflict(_("一件事编码「%(code)s」已存在。") % {"code": code}, code="life_event_exists")
    _require_admin(actor, department)
    digest = content_digest(clean)
    fields = {k: clean[k] for k in ("name", "aliases", "keywords", "description", "targets")}
    fields |= {k: clean.get(k, "") for k in ("name_en", "description_en")}
    items = {i.implementation_code: i for i in ServiceItem.objects.filter(implementation_code__in=clean["items"])}
    if life_event is None:
        life_event = LifeEvent.objects.create(code=code, department=department)
        version = LifeEventVersion.objects.create(
            life_event=life_event, number=1, content_digest=digest, created_by=_user(actor), **fields
        )
        outcome = CREATED
    else:
        if life_event.department_id != department.pk:
            life_event.department = department  # the lead department may change hands; both sides are admins
            life_event.save(update_fields=["department", "updated_at"])
        draft = life_event.versions.select_for_update(no_key=True).filter(published_at__isnull=True).first()
        baseline = draft or life_event.current_version
        if baseline is not None and baseline.content_digest == digest:
            return SaveResult(UNCHANGED, baseline)
        if draft is None:
            draft = LifeEventVersion.objects.create(
                life_event=life_event,
                number=_next_number(life_event.versions),
                content_digest=digest,
                created_by=_user(actor),
                **fields,
            )
        else:
            for key, value in fields.items():
                setattr(draft, key, value)
            draft.content_digest = digest
            draft.save()
        version = draft
        outcome = UPDATED
    version.entries.all().delete()
    LifeEventItem.objects.bulk_create(
        [LifeEventItem(version=version, item=items[c], sort=i) for i, c in enumerate(clean["items"])]
    )
    audit_record(
        actor=actor,
        action="catalog.life_event_save_draft",
        obj=life_event,
        changes={"outcome": outcome, "version": version.number, "digest": digest},
    )
    events.publish("catalog.life_event_draft_saved", life_event_id=life_event.pk, code=code, version_id=version.pk)
    return SaveResult(outcome, version)


@transaction.atomic
def life_event_publish(*, actor, life_event: LifeEvent) -> LifeEventVersion:
    """Publish the bundle's draft. Every item in it must be published (``Conflict`` otherwise)."""
    life_event = (
        LifeEvent.objects.select_for_update(of=("self",), no_key=True)
        .select_related("department")
        .get(pk=life_event.pk)
    )
    _require_admin(actor, life_event.department)
    draft = life_event.versions.filter(published_at__isnull=True).first()
    version = draft or (life_event.current_version if life_event.status == Status.RETIRED else None)
    if version is None:
        raise Conflict(_("该一件事没有待发布的草稿。"), code="nothing_to_publish")
    unpublished = [
        e.item.implementation_code for e in version.entries.select_related("item") if e.item.status != Status.PUBLISHED
    ]
    if unpublished:
        raise Conflict(
            _("以下事项尚未发布，不能发布一件事：%(codes)s") % {"codes": "、".join(unpublished)},
            code="items_not_published",
        )
    if draft is not None:
        draft.published_at = timezone.now()
        draft.published_by = _user(actor)
        draft.save(update_fields=["published_at", "published_by"])
    life_event.current_version = version
    life_event.status = Status.PUBLISHED
    life_event.save(update_fields=["current_version", "status", "updated_at"])
    audit_record(
        actor=actor,
        action="catalog.life_event_publish",
        obj=life_event,
        changes={"version": version.number, "digest": version.content_digest},
    )
    events.publish(
        "catalog.life_event_published", life_event_id=life_event.pk, code=life_event.code, version_id=version.pk
    )
    return version


@transaction.atomic
def life_event_retire(*, actor, life_event: LifeEvent, reason: str = "") -> LifeEvent:
    """Withdraw a published bundle from the public catalog."""
    life_event = (
        LifeEvent.objects.select_for_update(of=("self",), no_key=True)
        .select_related("department")
        .get(pk=life_event.pk)
    )
    _require_admin(actor, life_event.department)
    if life_event.status != Status.PUBLISHED:
        raise Conflict(_("只有已发布的一件事可以停用。"), code="life_event_not_published")
    life_event.status = Status.RETIRED
    life_event.save(update_fields=["status", "updated_at"])
    audit_record(actor=actor, action="catalog.life_event_retire", obj=life_event, changes={"reason": reason[:500]})
    events.publish("catalog.life_event_retired", life_event_id=life_event.pk, code=life_event.code)
    return life_event
