"""Life-event bundles (一件事一次办): one form and one set of materials, one case per member item."""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.cases import clock
from yiwang.cases.models import (
    Case,
    CaseMaterial,
    Channel,
    StepKind,
)
from yiwang.cases.services.base import _intake_hall, _step
from yiwang.cases.services.files import _remove_files, detect_content_type, max_material_bytes
from yiwang.cases.services.submission import _applicant_snapshot, _next_number, _submitter, case_submit, form_errors
from yiwang.catalog import selectors as catalog_selectors
from yiwang.core import events
from yiwang.core.audit import audit_record
from yiwang.core.crypto import sm3_hex
from yiwang.core.errors import Conflict, NotFound, ValidationFailed
from yiwang.identity.models import Department, User

# One form and one set of materials for a life event, split into one case per member item.
# Each child case goes through ``case_submit`` (its own department, version, clock, number,
# audit and ``case.submitted`` event); the bundle only ties them together. New code here reads
# the catalog through its selectors.

BUNDLE_NUMBER_PREFIX = "YJS"


def _check_material_content(label: str, content: bytes, field: str) -> str:
    """The content type of an upload, or ``ValidationFailed`` naming the material (the same
    checks and messages as ``case_material_add``)."""
    limit = max_material_bytes()
    if not content:
        message = _("材料「%(name)s」:文件为空") % {"name": label}
        raise ValidationFailed(message, code="material_empty", fields={field: message})
    if len(content) > limit:
        message = _("材料「%(name)s」:文件超过 %(mb).0f MB 的上限") % {"name": label, "mb": limit / 1024 / 1024}
        raise ValidationFailed(message, code="material_too_large", fields={field: message})
    content_type = detect_content_type(content)
    if content_type is None:
        message = _("材料「%(name)s」:文件内容不是 PDF、JPEG、PNG 或 OFD 格式") % {"name": label}
        raise ValidationFailed(message, code="material_type", fields={field: message})
    return content_type


def _bundle_materials(guide: dict, materials) -> list[tuple[dict, str, bytes, str]]:
    """(merged material, filename, content, content type) for each upload, checked by content.

    ``materials`` maps a material name of the bundle's merged list to ``(filename, content)``.
    A name may appear twice in the merged list with different sources (uploaded vs. held by
    the government); an upload goes to the one the applicant submits.
    """
    by_name: dict[str, dict] = {}
    for merged in guide["materials"]:
        if merged["name"] not in by_name or merged["source"] == "applicant":
            by_name[merged["name"]] = merged
    checked = []
    for name, upload in (materials or {}).items():
        field = f"materials.{name}"
        merged = by_name.get(name)
        if merged is None:
            message = _("材料「%(name)s」不在本一件事的材料清单中") % {"name": name}
            raise ValidationFailed(message, code="material_unknown", fields={field: message})
        filename, content = upload
        checked.append((merged, filename or "", content, _check_material_content(name, content, field)))
    return checked


def _bundle_form_errors(guide: dict, form_data) -> dict[str, list[str]]:
    """The merged form against the merged schema, then each item's share against its own
    schema (a rule the merge cannot express, e.g. ``if``/``then``, still applies)."""
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
    the merged schema (errors name ``form_data.<field>``); each upload in ``materials``
    (``{material name: (filename, content)}``) is checked by content (errors name
    ``materials.<name>``). Then, in one transaction: the ``CaseBundle`` and, through
    ``case_submit``, one case per member item, routed to the item's department on the item's
    own clock with the share of the form its schema declares; each file is stored once and
    attached to every child case whose item requires that material (same file, same SM3).
    Any problem → nothing is written, no file is left behind. The same ``idempotency_key``
    for the same applicant returns the first bundle (``created`` False). Audited as
    ``case_bundle.submit``; publishes ``case_bundle.submitted`` and each case's ``case.submitted``.
    At a window, every case records the hall that took it in (``intake_department``, as for
    ``case_submit``: one of the clerk's windows, by default his first) and waits in its queue.
    """
    from types import SimpleNamespace

    from yiwang.cases.models import CaseBundle, material_upload_to

    key, applicant = _submitter(actor=actor, applicant=applicant, channel=channel, idempotency_key=idempotency_key)
    hall = _intake_hall(actor, intake_department) if channel == Channel.WINDOW else None

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
    problems = _bundle_form_errors(guide, form_data)
    if problems:
        raise ValidationFailed(_("申请表填写有误,请按提示修改。"), code="invalid_form", fields=problems)
    uploads = _bundle_materials(guide, materials)
    snapshot = _applicant_snapshot(applicant, version)

    stored: list[str] = []
    storage = CaseMaterial._meta.get_field("file").storage
    try:
        with transaction.atomic():
            now = timezone.now()
            number = _next_number(region_code=life_event.department.region_code, day=clock.local_day(now))
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
            children = []
            for item_version in guide["items"]:
                case, _created = case_submit(
                    actor=actor,
                    item=item_version.item,
                    form_data=_form_share(item_version, form_data),
                    applicant=applicant if channel == Channel.WINDOW else None,
                    channel=channel,
                    intake_department=hall,
                )
                case.bundle = bundle
                Case.objects.filter(pk=case.pk).update(bundle=bundle)
                children.append(case)
            by_code = {iv.item.implementation_code: case for iv, case in zip(guide["items"], children, strict=True)}

            # Each file once, under the bundle; every child case that needs it points at it.
            files: dict[str, str] = {}
            attached = []
            for merged, filename, content, content_type in uploads:
                digest = sm3_hex(content)
                if digest not in files:
                    place = SimpleNamespace(case_id=f"bundles/{bundle.pk}", sm3=digest, content_type=content_type)
                    files[digest] = storage.save(material_upload_to(place, filename), ContentFile(content))
                    stored.append(files[digest])
                for code in merged["items"]:
                    case = by_code.get(code)
                    if case is None:
                        continue
                    material = CaseMaterial(
                        case=case,
                        requirement_id=merged["requirement_ids"][code],
                        name=merged["name"][:200],
                        original_filename=filename[:255],
                        size=len(content),
                        sm3=digest,
                        content_type=content_type,
                        uploaded_by=actor,
                    )
                    material.file.name = files[digest]
                    material.save()
                    _step(case, StepKind.MATERIAL_ADDED, actor, note=merged["name"])
                attached.append({"material": merged["name"], "sm3": digest, "cases": merged["items"]})
            audit_record(
                actor=actor,
                action="case_bundle.submit",
                obj=bundle,
                changes={
                    "life_event_version": version.pk,
                    "channel": channel,
                    "cases": [case.number for case in children],
                    "materials": attached,
                    "intake_department": hall.pk if hall else None,
                },
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
