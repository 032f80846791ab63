"""Drafts: saved, followed to a new guide version, submitted, deleted."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from yiwang.cases.models import (
    ApplicantKind,
    Case,
    CaseMaterial,
    CaseState,
    Channel,
)
from yiwang.cases.services.base import _save
from yiwang.cases.services.files import _remove_files
from yiwang.cases.services.submission import NewCase, _published_version, _submission_checks, case_create, form_errors
from yiwang.catalog import selectors as catalog_selectors
from yiwang.catalog.selectors import Status
from yiwang.core.audit import audit_record
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.inputs import ensure_storable
from yiwang.identity.models import User

if TYPE_CHECKING:  # annotations only: catalog rows are read through catalog.selectors
    from yiwang.catalog.models import ServiceItem


#
# A draft is a ``Case`` in state ``draft``: its applicant's alone (see ``selectors``), without
# an official number, a submission time or a clock, pinned to the item version it was started
# on. It gets its number and enters the normal flow only through ``case_draft_submit``. No
# domain event is published for a draft until it is submitted: nothing outside the
# applicant's own pages may see or count it.

MAX_DRAFT_BYTES = 64 * 1024
MAX_DRAFTS_PER_APPLICANT = 50


def _clean_draft_data(form_data) -> dict:
    """A draft's form is any JSON object up to ``MAX_DRAFT_BYTES``; the schema is checked on submission."""
    if not isinstance(form_data, dict):
        message = _("申请表必须是对象")
        raise ValidationFailed(message, code="invalid_form", fields={"form_data": message})
    ensure_storable(form_data, field="form_data")
    try:
        size = len(json.dumps(form_data, ensure_ascii=False).encode())
    except (TypeError, ValueError):
        message = _("申请表含有无法保存的内容")
        raise ValidationFailed(message, code="invalid_form", fields={"form_data": message}) from None
    if size > MAX_DRAFT_BYTES:
        message = _("申请表草稿超过 %(kb)d KB 的上限") % {"kb": MAX_DRAFT_BYTES // 1024}
        raise ValidationFailed(message, code="draft_too_large", fields={"form_data": message})
    return form_data


def _draft_owner(actor) -> User:
    if actor is None or isinstance(actor, str) or not getattr(actor, "is_authenticated", False):
        raise Forbidden(_("请先登录。"), code="not_authenticated")
    if not actor.is_active:
        raise Forbidden(_("请先登录。"), code="not_authenticated")
    return actor


def _lock_draft(*, actor, draft_id, expected_version: int | None = None) -> Case:
    """The actor's own draft, locked until commit; anything else is ``NotFound``."""
    try:
        pk = int(draft_id)
    except (TypeError, ValueError):
        raise NotFound(_("未找到该草稿。"), code="draft_not_found") from None
    # No ORDER BY (``.first()`` would add one, and placing it costs the compiler a hash of
    # every selected column): the key is unique.
    found = (
        Case.objects.select_related("item_version__item", "department")
        .select_for_update(of=("self",), no_key=True)
        .filter(pk=pk, applicant_id=getattr(actor, "pk", None), state=CaseState.DRAFT)
        .order_by()[:1]
    )
    draft = next(iter(found), None)
    if draft is None:
        raise NotFound(_("未找到该草稿。"), code="draft_not_found")
    if expected_version is not None and draft.version != expected_version:
        raise Conflict(_("草稿已在别处修改,请刷新后再操作。"), code="draft_changed")
    # What was read, so that ``_save`` writes only the columns that change.
    draft._loaded = {f.attname: getattr(draft, f.attname) for f in Case._meta.concrete_fields}
    return draft


def case_draft_save(
    *,
    actor,
    form_data: dict,
    item: ServiceItem | None = None,
    draft_id: int | None = None,
    expected_version: int | None = None,
) -> Case:
    """Save an application as a draft: a new one for ``item`` (its current published version,
    which the draft stays pinned to), or the actor's draft ``draft_id`` with new form data.

    Only the JSON shape and size are checked (the schema, the applicant's real-name data and
    the materials are checked on submission). The draft gets no number and no clock, and is
    visible to its applicant only. At most ``MAX_DRAFTS_PER_APPLICANT`` drafts per applicant.
    """
    data = _clean_draft_data(form_data)
    applicant = _draft_owner(actor)
    if (item is None) == (draft_id is None):
        message = _("请指定事项或草稿")
        raise ValidationFailed(message, code="draft_target", fields={"item": message})
    with transaction.atomic():
        if draft_id is not None:
            draft = _lock_draft(actor=applicant, draft_id=draft_id, expected_version=expected_version)
            draft.form_data = data
            _save(draft, actor=applicant, action="case.draft_save", changes={"fields": sorted(map(str, data))})
            return draft
        version = item.current_version
        _published_version(item, version, Channel.ONLINE)
        if Case.objects.filter(applicant=applicant, state=CaseState.DRAFT).count() >= MAX_DRAFTS_PER_APPLICANT:
            message = _("草稿最多保存 %(n)d 份,请先提交或删除不需要的草稿。") % {"n": MAX_DRAFTS_PER_APPLICANT}
            raise ValidationFailed(message, code="drafts_limit", fields={"item": message})
        legal = applicant.kind == User.Kind.ENTERPRISE_AGENT
        draft = Case.objects.create(
            number=None,
            item_version=version,
            department=item.department,
            state=CaseState.DRAFT,
            channel=Channel.ONLINE,
            applicant=applicant,
            applicant_kind=ApplicantKind.LEGAL_PERSON if legal else ApplicantKind.NATURAL_PERSON,
            applicant_name="",  # the real-name snapshot is taken on submission
            applicant_id_number="",
            applicant_id_index="",
            form_data=data,
            submitted_at=None,
            time_limit_days=version.promised_time_limit,
        )
        audit_record(
            actor=applicant,
            action="case.draft_create",
            obj=draft,
            changes={"state": [None, CaseState.DRAFT], "item_version": version.pk},
        )
    return draft


def _draft_follow_guide(draft: Case, item: ServiceItem, *, actor) -> Conflict:
    """Move a draft from its pinned version to the item's new current version: the form data
    comes along (fields the new schema forbids are dropped), uploaded files stay attached to
    the material of the same name in the new list (else they become 其他材料). Returns the
    ``Conflict`` telling the applicant, with the form's problems under the new schema."""
    old, new = draft.item_version, item.current_version
    schema = new.form_schema or {}
    data = dict(draft.form_data or {})
    if schema.get("additionalProperties") is False:
        known = set(schema.get("properties") or {})
        data = {key: value for key, value in data.items() if key in known}
    by_name = {requirement.name: requirement for requirement in new.materials.all()}
    for material in CaseMaterial.objects.filter(case=draft, requirement__isnull=False).select_related("requirement"):
        material.requirement = by_name.get(material.requirement.name)
        material.save(update_fields=["requirement"])
    draft.item_version = new
    draft.department_id = item.department_id
    draft.time_limit_days = new.promised_time_limit
    draft.form_data = data
    _save(draft, actor=actor, action="case.draft_follow_guide", changes={"item_version": [old.pk, new.pk]})
    return Conflict(
        _(
            "事项「%(item)s」的办事指南已更新(第 %(old)d 版 → 第 %(new)d 版),草稿已转到新版本并保留了已填内容,"
            "请按新的申请表和材料清单核对后再提交。"
        )
        % {"item": new.name, "old": old.number, "new": new.number},
        code="guide_changed",
        fields=form_errors(schema, data),
    )


def case_draft_submit(*, actor, draft_id, idempotency_key: str = "") -> tuple[Case, bool]:
    """Submit one of the actor's drafts: checked exactly like ``case_submit`` (published item
    offered online, the form against the version's schema, the applicant's real-name data);
    then it gets its official number, the submission time and the ``submitted`` state, and
    the normal flow starts (``case.submitted``). Returns (case, submitted now).

    A draft is submitted once: submitting it again, or with an idempotency key already used
    for it, returns the case (``False``); a key used for another case is a ``Conflict``.

    If the item has a newer published version than the draft's, nothing is submitted: the
    draft moves to the new version (committed) and ``Conflict`` ``guide_changed`` tells the
    applicant, with the form's problems under the new schema in ``fields``.
    """
    key = (idempotency_key or "").strip()
    if len(key) > 64:
        raise ValidationFailed(_("幂等键最长 64 个字符"), fields={"idempotency_key": _("幂等键过长")})
    applicant = _draft_owner(actor)
    try:
        pk = int(draft_id)
    except (TypeError, ValueError):
        raise NotFound(_("未找到该草稿。"), code="draft_not_found") from None
    if key:
        existing = Case.objects.filter(applicant=applicant, idempotency_key=key).first()
        if existing is not None and existing.pk != pk:
            raise Conflict(
                _("该幂等键已用于办件 %(number)s,请使用新的幂等键。") % {"number": existing.number},
                code="idempotency_key_reused",
            )
    changed = None
    try:
        with transaction.atomic():
            draft = (
                Case.objects.select_related("item_version", "department")
                .select_for_update(of=("self",), no_key=True)
                .filter(pk=pk, applicant=applicant)
                .first()
            )
            if draft is None:
                raise NotFound(_("未找到该草稿。"), code="draft_not_found")
            if draft.state != CaseState.DRAFT:  # submitted already (a double click, a retry)
                return draft, False
            item = catalog_selectors.item_get(item_id=draft.item_version.item_id)
            if item.status == Status.PUBLISHED and item.current_version_id not in (None, draft.item_version_id):
                changed = _draft_follow_guide(draft, item, actor=applicant)
            else:
                _submit_draft(draft, item=item, actor=applicant, key=key)
    except IntegrityError:
        if not key:
            raise
        existing = Case.objects.filter(applicant=applicant, idempotency_key=key).first()
        if existing is None or existing.pk != pk:
            raise
        return existing, False
    if changed is not None:
        raise changed
    return draft, True


def _submit_draft(draft: Case, *, item: ServiceItem, actor: User, key: str) -> None:
    """The draft becomes a submitted case through ``case_create``, checked as ``case_submit``;
    its uploaded files stay attached."""
    version = draft.item_version
    snapshot, form_data = _submission_checks(
        item=item, version=version, channel=Channel.ONLINE, applicant=actor, form_data=draft.form_data
    )
    draft.item_version.item = item
    entry = NewCase(item=item, version=version, form_data=form_data, snapshot=snapshot)
    case_create(actor=actor, applicant=actor, channel=Channel.ONLINE, entries=[entry], stored=[], key=key, draft=draft)


@transaction.atomic
def case_draft_delete(*, actor, draft_id, expected_version: int | None = None) -> None:
    """Delete one of the actor's drafts with its uploaded files (removed from storage once the
    transaction commits). A submitted case can never be deleted this way."""
    applicant = _draft_owner(actor)
    draft = _lock_draft(actor=applicant, draft_id=draft_id, expected_version=expected_version)
    names = [material.file.name for material in CaseMaterial.objects.filter(case=draft)]
    audit_record(
        actor=applicant,
        action="case.draft_delete",
        obj=draft,
        changes={"state": [CaseState.DRAFT, None], "materials": len(names)},
    )
    draft.delete()
    transaction.on_commit(lambda: _remove_files(names))  # a file the disk refuses is left to the purge
