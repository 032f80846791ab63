"""Life-event bundles (一件事一次办): one form and one set of materials, one case per member item."""

from __future__ import annotations

from dataclasses import replace

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.cases import clock
from yiwang.cases.models import (
    Channel,
)
from yiwang.cases.services.files import _check_upload, _CheckedMaterial, _remove_files
from yiwang.cases.services.submission import (
    NewCase,
    _applicant_snapshot,
    _draw_numbers,
    _published_version,
    _submitter,
    _with_applicant_fields,
    case_create,
    form_errors,
)
from yiwang.catalog import selectors as catalog_selectors
from yiwang.core import events
from yiwang.core.errors import Conflict, NotFound, ValidationFailed
from yiwang.identity.models import Department, User

# One form and one set of materials for a life event, split into one case per member item.
# Each child case goes through ``case_submit`` (its own department, version, clock, number,
# audit and ``case.submitted`` event); the bundle only ties them together. New code here reads
# the catalog through its selectors.

BUNDLE_NUMBER_PREFIX = "YJS"


def _bundle_materials(guide: dict, materials) -> list[tuple[dict, _CheckedMaterial]]:
    """(merged material, checked file) for each upload, checked by content like any upload.

    ``materials`` maps a material name of the bundle's merged list to ``(filename, content)``.
    A name may appear twice in the merged list with different sources (uploaded vs. held by
    the government); an upload goes to the one the applicant submits.
    """
    by_name: dict[str, dict] = {}
    for merged in guide["materials"]:
        if merged["name"] not in by_name or merged["source"] == "applicant":
            by_name[merged["name"]] = merged
    checked = []
    for name, (filename, content) in (materials or {}).items():
        field = f"materials.{name}"
        merged = by_name.get(name)
        if merged is None:
            message = _("材料「%(name)s」不在本一件事的材料清单中") % {"name": name}
            raise ValidationFailed(message, code="material_unknown", fields={field: message})
        upload = _check_upload(label=name, filename=filename, content=content, fields=(field,), requirement=None)
        checked.append((merged, upload))
    return checked


def _bundle_form_errors(guide: dict, form_data) -> dict[str, list[str]]:
    """The merged form against the merged schema (which, built from the items' schemas, does
    not close the form: a field no item asks for is named here), then each item's share
    against its own schema (a rule the merge cannot express, e.g. ``if``/``then``, still applies)."""
    problems = form_errors(guide["form_schema"], form_data)
    if problems or not isinstance(form_data, dict):
        return problems
    known = set(guide["form_schema"].get("properties") or {})
    for name in form_data:
        if name not in known:
            problems.setdefault(f"form_data.{name}", []).append(str(_("申请表中有未定义的字段")))
    for version in guide["items"]:
        for key, messages in form_errors(version.form_schema or {}, _form_share(version, form_data)).items():
            for message in messages:
                if message not in problems.get(key, []):
                    problems.setdefault(key, []).append(message)
    return problems


def _form_share(version, form_data: dict) -> dict:
    """The part of the merged form that the item's own schema declares."""
    declared = (version.form_schema or {}).get("properties") or {}
    return {key: value for key, value in form_data.items() if key in declared}


def _same_bundle(existing, life_event):
    if existing.life_event_version.life_event_id != life_event.pk:
        raise Conflict(
            _("该幂等键已用于一件事申请 %(number)s(另一件事),请使用新的幂等键。") % {"number": existing.number},
            code="idempotency_key_reused",
        )
    return existing


def _bundle_entries(guide: dict, *, channel: str, applicant: User, form_data: dict, uploads) -> list[NewCase]:
    """One checked ``NewCase`` per member item: published for the channel, serving the
    applicant's kind, its share of the form, and the files of the materials it requires (each
    attached to the item's own requirement). Reads nothing: the guide holds it all."""
    requirements = {m.pk: m for version in guide["items"] for m in version.materials.all()}
    entries = []
    for version in guide["items"]:
        item = version.item
        _published_version(item, version, channel)
        code = item.implementation_code
        materials = [
            replace(upload, requirement=requirements[merged["requirement_ids"][code]])
            for merged, upload in uploads
            if code in merged["items"]
        ]
        entries.append(
            NewCase(
                item=item,
                version=version,
                form_data=_form_share(version, form_data),
                snapshot=_applicant_snapshot(applicant, version),
                materials=materials,
            )
        )
    return entries


def case_bundle_submit(
    *,
    actor,
    life_event,
    form_data: dict,
    materials: dict[str, tuple[str, bytes]] | None = None,
    idempotency_key: str = "",
    channel: str = Channel.ONLINE,
    applicant: User | None = None,
    intake_department: Department | None = None,
):
    """Apply once for a life-event bundle (一件事一次办); returns ``(bundle, created)``.

    ``life_event`` is a published ``LifeEvent`` (``catalog.selectors.life_event_get_published``);
    its current version's merged form and material list apply. The form is validated against
    the merged schema (errors name ``form_data.<field>``; its fields that identify the
    applicant are filled from his identity); each upload in ``materials``
    (``{material name: (filename, content)}``) is checked by content (errors name
    ``materials.<name>``). Then, in one transaction: the ``CaseBundle`` and, through
    ``case_create``, one case per member item, routed to the item's department on the item's
    own clock with the share of the form its schema declares; each file is stored once and
    attached to every child case whose item requires that material (same file, same SM3).
    The statements do not grow with the items. Any problem → nothing is written, no file is
    left behind. The same ``idempotency_key`` for the same applicant returns the first bundle
    (``created`` False). Audited as ``case_bundle.submit``; publishes ``case_bundle.submitted``
    and each case's ``case.submitted``. At a window, every case records the hall that took it
    in (``intake_department``, as for ``case_submit``) and waits in its queue.
    """
    from yiwang.cases.models import CaseBundle

    key, applicant, hall = _submitter(
        actor=actor,
        applicant=applicant,
        channel=channel,
        idempotency_key=idempotency_key,
        intake_department=intake_department,
    )
    bundles = CaseBundle.objects.select_related("life_event_version")
    if key:
        existing = bundles.filter(applicant=applicant, idempotency_key=key).first()
        if existing is not None:
            return _same_bundle(existing, life_event), False

    # Re-read: only a published bundle may be applied for, under its current version.
    life_event = catalog_selectors.life_event_get_published(code=life_event.code)
    version = life_event.current_version
    guide = catalog_selectors.life_event_guide(version=version)
    if not guide["items"]:
        raise NotFound(_("该一件事未发布或已停用。"), code="life_event_not_found")
    snapshot = _applicant_snapshot(applicant, version)
    form_data = _with_applicant_fields(guide["form_schema"], form_data, snapshot)
    problems = _bundle_form_errors(guide, form_data)
    if problems:
        raise ValidationFailed(_("申请表填写有误,请按提示修改。"), code="invalid_form", fields=problems)
    uploads = _bundle_materials(guide, materials)
    entries = _bundle_entries(guide, channel=channel, applicant=applicant, form_data=form_data, uploads=uploads)

    stored: list[str] = []
    try:
        with transaction.atomic():
            now = timezone.now()
            regions = [life_event.department.region_code, *(e.item.department.region_code for e in entries)]
            number, *numbers = _draw_numbers(regions, day=clock.local_day(now))
            bundle = CaseBundle.objects.create(
                number=BUNDLE_NUMBER_PREFIX + number,
                life_event_version=version,
                channel=channel,
                applicant=applicant,
                received_by=actor if channel == Channel.WINDOW else None,
                idempotency_key=key,
                form_data=form_data,
                submitted_at=now,
                **snapshot,
            )
            changes = {
                "life_event_version": version.pk,
                "channel": channel,
                "cases": numbers,
                "materials": [
                    {"material": merged["name"], "sm3": upload.sm3, "cases": merged["items"]}
                    for merged, upload in uploads
                ],
                "intake_department": hall.pk if hall else None,
            }
            children = case_create(
                actor=actor,
                applicant=applicant,
                channel=channel,
                entries=entries,
                stored=stored,
                hall=hall,
                numbers=numbers,
                bundle=bundle,
                folder=f"bundles/{bundle.pk}",
                audit_also=[{"actor": actor, "action": "case_bundle.submit", "obj": bundle, "changes": changes}],
            )
            events.publish("case_bundle.submitted", bundle_id=bundle.pk, case_ids=[case.pk for case in children])
    except IntegrityError:
        _remove_files(stored)
        if not key:
            raise
        existing = bundles.filter(applicant=applicant, idempotency_key=key).first()
        if existing is None:
            raise
        return _same_bundle(existing, life_event), False
    except BaseException:
        _remove_files(stored)
        raise
    return bundle, True
