"""Materials: checking an upload by its content, storing it, adding one to a case, purging orphans."""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.cases.models import (
    Case,
    CaseMaterial,
    CaseState,
    StepKind,
    material_upload_to,
)
from yiwang.cases.services.base import (
    _lock,
    _lock_for_agent,
    _require,
    _require_state,
    _save,
    _step,
    is_window_clerk,
)
from yiwang.catalog import selectors as catalog_selectors
from yiwang.core.audit import audit_record
from yiwang.core.crypto import sm3_hex
from yiwang.core.errors import ValidationFailed
from yiwang.core.filetypes import detect_content_type

if TYPE_CHECKING:  # annotations only: catalog rows are read through catalog.selectors
    from yiwang.catalog.models import MaterialRequirement


DEFAULT_MAX_MATERIAL_BYTES = 10 * 1024 * 1024


# --- materials -------------------------------------------------------------------------------

ALLOWED_TYPES = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "application/ofd": "OFD",
}


def max_material_bytes() -> int:
    return int(getattr(settings, "YIWANG_CASE_MATERIAL_MAX_BYTES", DEFAULT_MAX_MATERIAL_BYTES))


@dataclass(frozen=True)
class MaterialUpload:
    """One file as posted: for a requirement of the item's material list, or ``None`` for
    「其他材料」 (then ``name`` says what it is)."""

    requirement_id: int | None
    filename: str
    content: bytes
    name: str = ""


@dataclass(frozen=True)
class _CheckedMaterial:
    requirement: MaterialRequirement | None
    label: str
    filename: str
    content: bytes
    content_type: str
    sm3: str


def _requirements_of(version_id: int) -> dict[int, MaterialRequirement]:
    return {r.pk: r for r in catalog_selectors.requirements_of_version(version_id=version_id)}


def _check_material(upload: MaterialUpload, requirements: dict[int, MaterialRequirement]) -> _CheckedMaterial:
    """The upload, checked by content and size; ``ValidationFailed`` naming the material and
    the form field (``material_<requirement id>`` or ``material_other``) otherwise."""
    field = f"material_{upload.requirement_id}" if upload.requirement_id is not None else "material_other"
    requirement = None
    if upload.requirement_id is not None:
        requirement = requirements.get(upload.requirement_id)
        if requirement is None:
            message = _("该材料不属于本事项的材料清单")
            raise ValidationFailed(message, fields={"requirement_id": message, field: message})
    label = requirement.name if requirement else (upload.name or "").strip() or _("其他材料")
    return _check_upload(
        label=label, filename=upload.filename, content=upload.content, fields=("file", field), requirement=requirement
    )


def _check_upload(
    *, label: str, filename: str, content: bytes, fields: tuple[str, ...], requirement: MaterialRequirement | None
) -> _CheckedMaterial:
    """One file checked by size and content (never its name): PDF, JPEG, PNG or OFD up to
    ``max_material_bytes``; else ``ValidationFailed`` naming the material ``label`` under each
    of ``fields``. The one check of every upload (a case's, a draft's, a bundle's)."""
    limit = max_material_bytes()
    content_type = None
    if not content:
        code, message = "material_empty", _("材料「%(name)s」:文件为空") % {"name": label}
    elif len(content) > limit:
        code = "material_too_large"
        message = _("材料「%(name)s」:文件超过 %(mb).0f MB 的上限") % {"name": label, "mb": limit / 1024 / 1024}
    else:
        content_type = detect_content_type(content)
        code, message = "material_type", _("材料「%(name)s」:文件内容不是 PDF、JPEG、PNG 或 OFD 格式") % {"name": label}
    if content_type is None:
        raise ValidationFailed(message, code=code, fields=dict.fromkeys(fields, message))
    return _CheckedMaterial(
        requirement=requirement,
        label=label[:200],
        filename=(filename or "")[:255],
        content=content,
        content_type=content_type,
        sm3=sm3_hex(content),
    )


def _store_materials(
    attach: list[tuple[Case, _CheckedMaterial]], *, actor, stored: list[str], folder: str = ""
) -> list[CaseMaterial]:
    """Write the files (named by digest, never by the uploader) and the rows of every case in
    one insert. Each file is written once per folder: ``cases/<case id>/`` by default, or the
    shared ``folder`` (a bundle's, ``bundles/<id>``) whose cases all point at the same file.

    Each stored name is appended to ``stored`` at once, so that the caller can remove the
    files if its transaction fails; files of a transaction rolled back further out are
    removed by ``case_material_orphans_purge``.
    """
    storage = CaseMaterial._meta.get_field("file").storage
    written: dict[tuple, str] = {}
    rows = []
    for case, item in attach:
        material = CaseMaterial(
            case=case,
            requirement=item.requirement,
            name=item.label,
            original_filename=item.filename,
            size=len(item.content),
            sm3=item.sm3,
            content_type=item.content_type,
            uploaded_by=actor,
        )
        place = (folder or case.pk, item.sm3)
        if place not in written:
            target = SimpleNamespace(case_id=place[0], sm3=item.sm3, content_type=item.content_type)
            written[place] = storage.save(material_upload_to(target, item.filename), ContentFile(item.content))
            stored.append(written[place])
        material.file.name = written[place]
        rows.append(material)
    return CaseMaterial.objects.bulk_create(rows)


def _remove_files(names: list[str]) -> None:
    storage = CaseMaterial._meta.get_field("file").storage
    for name in names:
        with contextlib.suppress(OSError):  # already gone, or the disk refuses: the purge retries later
            storage.delete(name)


def case_material_add(
    *,
    actor,
    case_id,
    requirement_id: int | None,
    filename: str,
    content: bytes,
    name: str = "",
    acting_for=None,
) -> CaseMaterial:
    """Attach one file to a case before acceptance or while a supplement is outstanding.

    The applicant or a window clerk may upload; so may an agent through ``acting_for``, an
    ``identity`` delegation in force that covers the item, for a case he submitted for its
    principal (``base._lock_for_agent``: anything else is ``NotFound``) — the step and the
    audit event then say who acted for whom. The type is detected from the content; the file
    is stored under its SM3 digest, never under the uploaded name.
    """
    stored: list[str] = []
    try:
        with transaction.atomic():
            on_behalf = None
            if acting_for is not None:
                case, on_behalf = _lock_for_agent(
                    actor=actor, delegation=acting_for, case_id=case_id, expected_version=None, doing="material"
                )
            else:
                case = _lock(actor=actor, case_id=case_id, expected_version=None)
                _require(
                    case.applicant_id == getattr(actor, "pk", None) or is_window_clerk(actor, case),
                    _("只有申请人或窗口受理人员可以上传材料。"),
                )
            _require_state(case, CaseState.DRAFT, CaseState.SUBMITTED, CaseState.SUPPLEMENT_REQUESTED)
            requirements = _requirements_of(case.item_version_id) if requirement_id is not None else {}
            upload = MaterialUpload(requirement_id=requirement_id, filename=filename, content=content, name=name)
            checked = _check_material(upload, requirements)
            (material,) = _store_materials([(case, checked)], actor=actor, stored=stored)
            note = checked.label if on_behalf is None else f"{checked.label} · {on_behalf['note']}"
            _step(case, StepKind.MATERIAL_ADDED, actor, note=note)
            changes = {
                "material": checked.label,
                "sm3": material.sm3,
                "content_type": material.content_type,
                "size": material.size,
            }
            if on_behalf is not None:
                changes["on_behalf_of"] = on_behalf["record"]
            _save(case, actor=actor, action="case.material_add", changes=changes)
    except BaseException:
        _remove_files(stored)
        raise
    return material


ORPHAN_GRACE = timedelta(hours=6)
ORPHAN_BATCH = 500


def case_material_orphans_purge(*, older_than: timedelta = ORPHAN_GRACE, now=None) -> dict:
    """Remove material files that no row refers to (left by a transaction rolled back after
    the file was written), once they are older than ``older_than`` so that a submission still
    in flight is never touched. Returns ``{"scanned": n, "removed": [names]}``; audited when
    something is removed."""
    storage = CaseMaterial._meta.get_field("file").storage
    now = now or timezone.now()
    removed, scanned = [], 0
    try:
        folders, _files = storage.listdir("cases")
    except (FileNotFoundError, NotADirectoryError):
        return {"scanned": 0, "removed": []}
    # A case's files lie in cases/<case id>/, a bundle's (shared by its cases) in cases/bundles/<bundle id>/.
    folders = [f"cases/{folder}" for folder in folders if folder != "bundles"]
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        folders += [f"cases/bundles/{folder}" for folder in storage.listdir("cases/bundles")[0]]

    def names():
        for folder in folders:
            try:
                _sub, files = storage.listdir(folder)
            except (FileNotFoundError, NotADirectoryError):
                continue
            yield from (f"{folder}/{name}" for name in files)

    # One query per batch of files, not per folder: a million cases are a million folders.
    batch: list[str] = []
    for name in itertools.chain(names(), [None]):  # None: the end, check the last batch
        if name is not None:
            batch.append(name)
            scanned += 1
            if len(batch) < ORPHAN_BATCH:
                continue
        known = set(CaseMaterial.objects.filter(file__in=batch).values_list("file", flat=True))
        for candidate in batch:
            if candidate in known:
                continue
            try:
                modified = storage.get_modified_time(candidate)
            except OSError:
                continue
            if now - modified >= older_than:
                storage.delete(candidate)
                removed.append(candidate)
        batch = []
    if removed:
        audit_record(
            actor="task:case_material_orphans_purge",
            action="case.material_orphans_purge",
            object_type="cases.casematerial",
            changes={"removed": len(removed), "files": removed[:100]},
        )
    return {"scanned": scanned, "removed": removed}
