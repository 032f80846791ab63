"""Document circulation (公文流转) and duty rosters (政务值班): every write of the documents app.

Keyword-only, one transaction each, audited through ``core.audit.audit_record``; notifications
go through ``messaging.services`` (created in the same transaction, delivered after it). The
seal and its signatures are the licenses app's (``licenses.services.document_seal_sign`` and
``document_seal_pdf``). A document nobody may see raises ``NotFound``, like a missing one.
"""

import datetime
import re

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.core import events
from yiwang.core.audit import audit_record, canonical_json
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.masking import mask_phone
from yiwang.documents import render
from yiwang.documents.models import (
    Circulation,
    Document,
    DocumentType,
    DutyShift,
    DutySwap,
    Receipt,
    StepKind,
)
from yiwang.identity.models import Department, Role, RoleGrant, User
from yiwang.identity.selectors import actor_has_role, users_with_role
from yiwang.licenses import services as license_services
from yiwang.messaging import services as messaging

TYPE_ADMIN_ROLES = (Role.DEPARTMENT_ADMIN, Role.CITY_ADMIN)
ROSTER_ROLES = (Role.DEPARTMENT_HEAD, Role.DEPARTMENT_ADMIN, Role.CITY_ADMIN)
# Who is told that a department has a document to sign for (its office: heads and admins).
RECEIVING_ROLES = (Role.DEPARTMENT_HEAD, Role.DEPARTMENT_ADMIN)
MAX_SHIFT_HOURS = 72
PHONE_RE = re.compile(r"^\+?[0-9][0-9-]{5,19}$")


def _is_system(actor) -> bool:
    return actor is None or isinstance(actor, str)


def _is_staff(actor) -> bool:
    return (
        not _is_system(actor)
        and actor.is_authenticated
        and actor.is_active
        and (actor.is_superuser or actor.kind == User.Kind.STAFF)
    )


def is_member(user, department: Department) -> bool:
    """Whether ``user`` holds any role granted in ``department`` itself (not only above it):
    who may draft for it and sign for what it receives."""
    if _is_system(user) or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return RoleGrant.objects.filter(user=user, department=department, department__is_active=True).exists()


def _role_label(role: str) -> str:
    try:
        return str(Role(role).label)
    except ValueError:
        return role


def _invalid(field: str, message) -> ValidationFailed:
    return ValidationFailed(message, fields={field: [message]})


# =============================================================================================
# Document types: the route as data
# =============================================================================================


def _clean_steps(steps) -> list[dict]:
    """Validate a route: ``[{"kind", "role", "departments": [codes]}]``, ending with one ``issue``."""
    if not isinstance(steps, list) or not steps:
        raise _invalid("steps", _("请至少定义一个流转步骤(最后一步须为印发)"))
    if len(steps) > 20:
        raise _invalid("steps", _("流转步骤不能超过 20 步"))
    cleaned = []
    errors = []
    for index, step in enumerate(steps, start=1):
        if not isinstance(step, dict):
            errors.append(_("第 %(n)d 步格式无效") % {"n": index})
            continue
        kind, role = step.get("kind"), step.get("role")
        codes = step.get("departments") or []
        if kind not in StepKind.values:
            errors.append(_("第 %(n)d 步的环节无效") % {"n": index})
        if role not in Role.values:
            errors.append(_("第 %(n)d 步的角色无效") % {"n": index})
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            errors.append(_("第 %(n)d 步的部门须为部门编码列表") % {"n": index})
            continue
        codes = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
        if len(codes) > 1 and kind != StepKind.COUNTERSIGN:
            errors.append(_("第 %(n)d 步:只有会签可以有多个部门") % {"n": index})
        found = set(Department.objects.filter(code__in=codes, is_active=True).values_list("code", flat=True))
        missing = [c for c in codes if c not in found]
        if missing:
            errors.append(_("第 %(n)d 步:部门编码不存在:%(codes)s") % {"n": index, "codes": ", ".join(missing)})
        cleaned.append({"kind": kind, "role": role, "departments": codes})
    if not errors:
        kinds = [s["kind"] for s in cleaned]
        if kinds[-1] != StepKind.ISSUE or kinds.count(StepKind.ISSUE) != 1:
            errors.append(_("最后一步须为印发,且只能有一个印发步骤"))
    if errors:
        raise ValidationFailed(errors[0], fields={"steps": errors})
    return cleaned


@transaction.atomic
def document_type_save(
    *,
    actor,
    code: str,
    name: str,
    steps: list[dict],
    number_prefix: str = "",
    department: Department | None = None,
    is_active: bool = True,
) -> DocumentType:
    """Create the type ``code`` or change it (its route applies to documents routed from now on)."""
    allowed = (
        actor_has_role(actor, roles=TYPE_ADMIN_ROLES, department=department)
        if department is not None
        else actor_has_role(actor, roles=(Role.CITY_ADMIN,))
    )
    if not (_is_system(actor) or allowed):
        raise Forbidden()
    code, name, number_prefix = (code or "").strip(), (name or "").strip(), (number_prefix or "").strip()
    errors = {}
    if not re.fullmatch(r"[-a-zA-Z0-9_]{1,64}", code):
        errors["code"] = [_("类型编码只能由字母、数字、- 和 _ 组成")]
    if not name or len(name) > 100:
        errors["name"] = [_("请填写名称(不超过 100 字)")]
    if len(number_prefix) > 20:
        errors["number_prefix"] = [_("发文字号前缀不超过 20 字")]
    if errors:
        raise ValidationFailed(fields=errors)
    cleaned = _clean_steps(steps)
    existing = DocumentType.objects.select_for_update().filter(code=code).first()
    if existing is not None:
        if existing.department_id != (department.pk if department else None):
            raise Conflict(_("该类型编码已被其他部门使用"), code="type_code_taken")
        before = {"name": existing.name, "steps": existing.steps, "is_active": existing.is_active}
        existing.name, existing.steps, existing.number_prefix, existing.is_active = (
            name,
            cleaned,
            number_prefix,
            is_active,
        )
        existing.save()
        audit_record(
            actor=actor,
            action="documents.type_changed",
            obj=existing,
            changes={"before": before, "after": {"name": name, "steps": cleaned, "is_active": is_active}},
        )
        return existing
    doc_type = DocumentType.objects.create(
        code=code, name=name, steps=cleaned, number_prefix=number_prefix, department=department, is_active=is_active
    )
    audit_record(actor=actor, action="documents.type_created", obj=doc_type, changes={"name": name, "steps": cleaned})
    return doc_type


# =============================================================================================
# Drafting and routing
# =============================================================================================


def _clean_content(title: str, body: str) -> tuple[str, str]:
    title, body = (title or "").strip(), (body or "").replace("\r\n", "\n").strip()
    errors = {}
    if not title or len(title) > 200:
        errors["title"] = [_("请填写标题(不超过 200 字)")]
    if not body:
        errors["body"] = [_("请填写正文")]
    elif len(body) > 20000:
        errors["body"] = [_("正文不超过 20000 字")]
    if errors:
        raise ValidationFailed(fields=errors)
    return title, body


def _clean_recipients(department_ids, user_ids) -> tuple[list[Department], list[User]]:
    department_ids = list(dict.fromkeys(int(i) for i in department_ids or ()))
    user_ids = list(dict.fromkeys(int(i) for i in user_ids or ()))
    departments = list(Department.objects.filter(pk__in=department_ids, is_active=True))
    users = list(User.objects.filter(pk__in=user_ids, is_active=True, kind=User.Kind.STAFF))
    errors = {}
    if len(departments) != len(department_ids):
        errors["recipient_departments"] = [_("主送部门不存在或已停用")]
    if len(users) != len(user_ids):
        errors["recipient_users"] = [_("抄送人员须为在岗工作人员")]
    if errors:
        raise ValidationFailed(fields=errors)
    return departments, users


def _editable(actor, document: Document) -> Document:
    document = Document.objects.select_for_update(of=("self",)).select_related("department").get(pk=document.pk)
    if _is_system(actor) or document.drafter_id != actor.pk:
        if not document_visible_to(actor, document):
            raise NotFound()
        raise Forbidden(_("只有拟稿人可以修改或送审"))
    if document.state not in (Document.State.DRAFT, Document.State.RETURNED):
        raise Conflict(_("公文已送审或已印发,不能修改"), code="document_not_editable")
    return document


@transaction.atomic
def document_create(
    *,
    actor,
    document_type: DocumentType,
    department: Department,
    title: str,
    body: str,
    recipient_department_ids=(),
    recipient_user_ids=(),
) -> Document:
    """A draft (拟稿) in ``department``, where the actor works."""
    if not _is_staff(actor) or not is_member(actor, department):
        raise NotFound(_("未找到该部门。"))
    if not document_type.is_active or document_type.department_id not in (None, department.pk):
        raise _invalid("document_type", _("该公文类型不适用于本部门"))
    title, body = _clean_content(title, body)
    departments, users = _clean_recipients(recipient_department_ids, recipient_user_ids)
    document = Document.objects.create(
        document_type=document_type, department=department, drafter=actor, title=title, body=body
    )
    document.recipient_departments.set(departments)
    document.recipient_users.set(users)
    audit_record(
        actor=actor,
        action="documents.drafted",
        obj=document,
        changes={"type": document_type.code, "department": department.code, "title": title},
    )
    return document


@transaction.atomic
def document_update(
    *, actor, document: Document, title: str, body: str, recipient_department_ids=(), recipient_user_ids=()
) -> Document:
    document = _editable(actor, document)
    title, body = _clean_content(title, body)
    departments, users = _clean_recipients(recipient_department_ids, recipient_user_ids)
    document.title, document.body = title, body
    document.save(update_fields=["title", "body", "updated_at"])
    document.recipient_departments.set(departments)
    document.recipient_users.set(users)
    audit_record(actor=actor, action="documents.edited", obj=document, changes={"title": title})
    return document


def _route_rows(document: Document) -> list[tuple[int, dict, Department]]:
    """(position, step, department) of the type's route for this document."""
    rows = []
    by_code = {}
    codes = {c for step in document.document_type.steps for c in step.get("departments") or []}
    if codes:
        by_code = {d.code: d for d in Department.objects.filter(code__in=codes)}
    for position, step in enumerate(document.document_type.steps, start=1):
        for code in step.get("departments") or [None]:
            department = document.department if code is None else by_code.get(code)
            if department is None or not department.is_active:
                raise _invalid("steps", _("第 %(n)d 步的办理部门 %(code)s 已不存在") % {"n": position, "code": code})
            rows.append((position, step, department))
    return rows


def _notify(template_code: str, recipients, *, document: Document, context: dict | None = None, dedupe: str = ""):
    people = [u for u in recipients if u is not None]
    if not people:
        return
    messaging.message_send_many(
        actor=None,
        recipients=people,
        template_code=template_code,
        context={"title": document.title, "number": document.number, **(context or {})},
        ref=messaging.Ref("document", document.pk, f"/workbench/documents/{document.pk}/"),
        dedupe_key=dedupe,
    )


def _step_holders(step: Circulation):
    return users_with_role(role=step.role, department=step.department)


@transaction.atomic
def document_submit(*, actor, document: Document) -> Document:
    """Send the draft (or a returned document) along its type's route, from the first step.

    Every step must have someone to do it: a step whose role has no holder in its department
    is refused here, before anything is saved, with the step named."""
    document = _editable(actor, document)
    if not document.document_type.is_active:
        raise _invalid("document_type", _("该公文类型已停用"))
    rows = _route_rows(document)
    missing = [
        _("第 %(n)d 步(%(kind)s):%(department)s 没有“%(role)s”角色的在岗人员")
        % {
            "n": position,
            "kind": StepKind(step["kind"]).label,
            "department": department.name,
            "role": _role_label(step["role"]),
        }
        for position, step, department in rows
        if not users_with_role(role=step["role"], department=department).exists()
    ]
    if missing:
        raise ValidationFailed(missing[0], code="step_without_holder", fields={"steps": missing})
    now = timezone.now()
    document.round += 1
    document.position = 1
    document.state = Document.State.ROUTING
    document.submitted_at = now
    document.save(update_fields=["round", "position", "state", "submitted_at", "updated_at"])
    Circulation.objects.bulk_create(
        Circulation(
            document=document,
            round=document.round,
            position=position,
            kind=step["kind"],
            role=step["role"],
            department=department,
            state=Circulation.State.PENDING if position == 1 else Circulation.State.WAITING,
            arrived_at=now if position == 1 else None,
        )
        for position, step, department in rows
    )
    audit_record(actor=actor, action="documents.submitted", obj=document, changes={"round": document.round})
    _notify_pending(document)
    return document


def _notify_pending(document: Document) -> None:
    pending = document.steps.filter(round=document.round, position=document.position).select_related("department")
    for step in pending:
        _notify(
            "documents.step_pending",
            _step_holders(step),
            document=document,
            context={"step": step.get_kind_display(), "department": document.department.name},
            dedupe=f"documents.step:{step.pk}",
        )


def _locked_step(actor, step_id) -> Circulation:
    step = (
        Circulation.objects.select_for_update(of=("self",))
        .select_related("document", "document__department", "document__document_type", "department")
        .filter(pk=step_id)
        .first()
    )
    if step is None or not document_visible_to(actor, step.document):
        raise NotFound()
    if step.state != Circulation.State.PENDING or step.document.state != Document.State.ROUTING:
        raise Conflict(_("该步骤不在待办状态"), code="step_not_pending")
    if _is_system(actor) or not actor_has_role(actor, roles=(step.role,), department=step.department):
        raise Forbidden(
            _("该步骤须由%(department)s的“%(role)s”办理")
            % {"department": step.department.name, "role": _role_label(step.role)}
        )
    return step


@transaction.atomic
def step_approve(*, actor, step_id: int, comment: str = "") -> Circulation:
    """Agree at a pending step (with an optional comment). When every department of the step has
    agreed the document moves on; agreeing at the issue step issues it."""
    step = _locked_step(actor, step_id)
    comment = (comment or "").strip()
    if len(comment) > 2000:
        raise _invalid("comment", _("意见不超过 2000 字"))
    document = Document.objects.select_for_update(of=("self",)).get(pk=step.document_id)
    now = timezone.now()
    step.state, step.actor, step.comment, step.acted_at = Circulation.State.APPROVED, actor, comment, now
    step.save(update_fields=["state", "actor", "comment", "acted_at"])
    audit_record(
        actor=actor,
        action="documents.step_approved",
        obj=document,
        changes={"step": step.pk, "kind": step.kind, "department": step.department.code, "comment": comment[:200]},
    )
    same_round = document.steps.filter(round=document.round)
    if same_round.filter(position=document.position).exclude(state=Circulation.State.APPROVED).exists():
        return step  # a countersign still waits for other departments
    if step.kind == StepKind.ISSUE:
        _issue(actor=actor, document=document, now=now)
        return step
    document.position += 1
    document.save(update_fields=["position", "updated_at"])
    same_round.filter(position=document.position).update(state=Circulation.State.PENDING, arrived_at=now)
    _notify_pending(document)
    return step


@transaction.atomic
def step_return(*, actor, step_id: int, reason: str) -> Circulation:
    """Return the document to its drafter with a reason; the rest of this round is cancelled."""
    reason = (reason or "").strip()
    if not reason:
        raise _invalid("reason", _("退回须写明理由"))
    if len(reason) > 2000:
        raise _invalid("reason", _("理由不超过 2000 字"))
    step = _locked_step(actor, step_id)
    document = Document.objects.select_for_update(of=("self",)).select_related("drafter").get(pk=step.document_id)
    now = timezone.now()
    step.state, step.actor, step.comment, step.acted_at = Circulation.State.RETURNED, actor, reason, now
    step.save(update_fields=["state", "actor", "comment", "acted_at"])
    document.steps.filter(
        round=document.round, state__in=(Circulation.State.PENDING, Circulation.State.WAITING)
    ).update(state=Circulation.State.CANCELLED)
    document.state = Document.State.RETURNED
    document.save(update_fields=["state", "updated_at"])
    audit_record(
        actor=actor,
        action="documents.step_returned",
        obj=document,
        changes={"step": step.pk, "kind": step.kind, "department": step.department.code, "reason": reason[:200]},
    )
    _notify(
        "documents.returned",
        [document.drafter],
        document=document,
        context={"reason": reason, "step": step.get_kind_display()},
        dedupe=f"documents.returned:{step.pk}",
    )
    return step


# =============================================================================================
# Issue: number, SM2 signature, sealed PDF, distribution
# =============================================================================================


def signed_content(document: Document) -> dict:
    """What the SM2 signature covers (and a verifier recomputes)."""
    return {
        "number": document.number,
        "title": document.title,
        "body": document.body,
        "department": document.department.code,
        "issued_at": document.issued_at.isoformat(),
        "recipients": sorted(d.code for d in document.recipient_departments.all()),
    }


def _next_number(document: Document, year: int) -> str:
    doc_type = DocumentType.objects.select_for_update().get(pk=document.document_type_id)
    prefix = doc_type.number_prefix or f"{document.department.short_name or document.department.name}发"
    issued = Document.objects.filter(
        document_type=doc_type, department=document.department, issued_at__year=year, state=Document.State.ISSUED
    ).count()
    return f"{prefix}〔{year}〕{issued + 1}号"


def _issue(*, actor, document: Document, now) -> None:
    document.issued_at = now
    local = timezone.localtime(now)
    document.number = _next_number(document, local.year)
    sealed = license_services.document_seal_sign(
        department=document.department, message=canonical_json(signed_content(document)).encode()
    )
    recipients = list(document.recipient_departments.all())
    cc = [u.real_name or u.username for u in document.recipient_users.all()]
    document.pdf = license_services.document_seal_pdf(
        department=document.department,
        build=lambda seal_png: render.document_pdf(
            issuer_name=document.department.name,
            number=document.number,
            title=document.title,
            body=document.body,
            recipients=[d.name for d in recipients],
            cc=cc,
            issue_date=f"{local:%Y年%m月%d日}",
            seal_image=seal_png,
        ),
        reason=f"{document.department.name} {document.number}",
    )
    document.signature, document.seal_key_version = sealed["signature"], sealed["version"]
    document.state = Document.State.ISSUED
    document.save()
    Receipt.objects.bulk_create(
        [Receipt(document=document, department=d) for d in recipients]
        + [Receipt(document=document, user=u) for u in document.recipient_users.all()]
    )
    audit_record(
        actor=actor,
        action="documents.issued",
        obj=document,
        changes={
            "number": document.number,
            "seal_key_version": sealed["version"],
            "recipients": [d.code for d in recipients],
            "recipient_users": list(document.recipient_users.values_list("pk", flat=True)),
        },
    )
    events.publish("document.issued", document_id=document.pk, department_id=document.department_id)
    for receipt in document.receipts.select_related("department", "user"):
        _notify(
            "documents.received",
            _receipt_people(receipt),
            document=document,
            context={"department": document.department.name},
            dedupe=f"documents.received:{receipt.pk}",
        )


def _receipt_people(receipt: Receipt) -> list[User]:
    if receipt.user_id:
        return [receipt.user]
    people = []
    for role in RECEIVING_ROLES:
        people += [u for u in users_with_role(role=role, department=receipt.department) if u not in people]
    return people


# =============================================================================================
# Acknowledgement (签收) and reminders (催签)
# =============================================================================================


def receipts_of_actor(actor, document: Document) -> list[Receipt]:
    """The receipts of ``document`` this actor may sign for: his own, and his departments'."""
    if _is_system(actor) or not actor.is_authenticated:
        return []
    receipts = list(document.receipts.select_related("department"))
    member_of = set(
        RoleGrant.objects.filter(user=actor, department__is_active=True).values_list("department_id", flat=True)
    )
    return [r for r in receipts if r.user_id == actor.pk or (r.department_id and r.department_id in member_of)]


@transaction.atomic
def document_acknowledge(*, actor, document_id: int) -> list[Receipt]:
    """Sign for an issued document (签收) for oneself and the departments one works in."""
    document = Document.objects.filter(pk=document_id).first()
    if document is None or not document_visible_to(actor, document):
        raise NotFound()
    mine = [r for r in receipts_of_actor(actor, document) if r.acknowledged_at is None]
    if not receipts_of_actor(actor, document):
        raise Forbidden(_("您不是该公文的收文人"))
    if not mine:
        raise Conflict(_("已签收"), code="already_acknowledged")
    now = timezone.now()
    Receipt.objects.filter(pk__in=[r.pk for r in mine], acknowledged_at__isnull=True).update(
        acknowledged_at=now, acknowledged_by=actor
    )
    audit_record(
        actor=actor,
        action="documents.acknowledged",
        obj=document,
        changes={"receipts": [r.pk for r in mine], "departments": [r.department.code for r in mine if r.department]},
    )
    return mine


def may_remind(actor, document: Document) -> bool:
    """The sender side: the drafter, and the heads and admins of the issuing department."""
    if _is_system(actor):
        return True
    return document.drafter_id == actor.pk or actor_has_role(
        actor, roles=RECEIVING_ROLES, department=document.department
    )


def _remind(receipts, *, document: Document, now) -> int:
    sent = 0
    for receipt in receipts:
        receipt.reminder_count += 1
        receipt.reminded_at = now
        receipt.save(update_fields=["reminder_count", "reminded_at"])
        _notify(
            "documents.ack_reminder",
            _receipt_people(receipt),
            document=document,
            context={
                "department": document.department.name,
                "issued": f"{timezone.localtime(document.issued_at):%Y-%m-%d}",
            },
            dedupe=f"documents.ack:{receipt.pk}:{receipt.reminder_count}",
        )
        sent += 1
    return sent


@transaction.atomic
def document_remind(*, actor, document_id: int) -> int:
    """Remind every recipient that has not signed for the issued document yet (催签)."""
    document = Document.objects.select_for_update(of=("self",)).filter(pk=document_id).first()
    if document is None or not document_visible_to(actor, document):
        raise NotFound()
    if not may_remind(actor, document):
        raise Forbidden(_("只有发文方可以催签"))
    if document.state != Document.State.ISSUED:
        raise Conflict(_("公文尚未印发"), code="document_not_issued")
    receipts = list(document.receipts.filter(acknowledged_at__isnull=True).select_related("department", "user"))
    sent = _remind(receipts, document=document, now=timezone.now())
    audit_record(actor=actor, action="documents.reminded", obj=document, changes={"receipts": [r.pk for r in receipts]})
    return sent


def receipts_remind_due(*, now: datetime.datetime | None = None) -> int:
    """The scheduled 催签: receipts still unsigned ``YIWANG_DOCUMENTS_ACK_HOURS`` (24) after the
    issue, or after the last reminder, are reminded again (at most 5 times)."""
    now = now or timezone.now()
    hours = int(getattr(settings, "YIWANG_DOCUMENTS_ACK_HOURS", 24))
    cutoff = now - datetime.timedelta(hours=hours)
    due = (
        Receipt.objects.filter(
            acknowledged_at__isnull=True, document__state=Document.State.ISSUED, document__issued_at__lte=cutoff
        )
        .filter(reminder_count__lt=5)
        .exclude(reminded_at__gt=cutoff)
        .select_related("document", "document__department", "department", "user")
    )
    sent = 0
    for receipt in due[:500]:
        with transaction.atomic():
            locked = Receipt.objects.select_for_update().filter(pk=receipt.pk, acknowledged_at__isnull=True).first()
            if locked is None or (locked.reminded_at and locked.reminded_at > cutoff):
                continue
            locked.document, locked.department, locked.user = receipt.document, receipt.department, receipt.user
            sent += _remind([locked], document=receipt.document, now=now)
            audit_record(
                actor="task:documents.remind",
                action="documents.reminded",
                obj=receipt.document,
                changes={"receipts": [receipt.pk]},
            )
    return sent


def document_visible_to(actor, document: Document) -> bool:
    from yiwang.documents.selectors import documents_visible

    return documents_visible(actor=actor).filter(pk=document.pk).exists()


# =============================================================================================
# Duty rosters (政务值班)
# =============================================================================================


def _clean_phone(phone: str) -> str:
    phone = re.sub(r"[\s()()]", "", phone or "")
    if not PHONE_RE.fullmatch(phone):
        raise _invalid("phone", _("请填写有效的值班电话(手机或座机)"))
    return phone


def _works_in(user: User, department: Department) -> bool:
    """A member of staff with a role in ``department`` (superusers are on no roster)."""
    return (
        user.is_active
        and user.kind == User.Kind.STAFF
        and not user.is_superuser
        and actor_has_role(user, roles=Role.values, department=department)
    )


@transaction.atomic
def shift_create(
    *,
    actor,
    department: Department,
    person: User,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    phone: str,
    note: str = "",
) -> DutyShift:
    """Put ``person`` on duty for ``department`` (排班): by its head or admin."""
    if not _is_system(actor) and not actor_has_role(actor, roles=ROSTER_ROLES, department=department):
        if not _is_staff(actor):
            raise NotFound()
        raise Forbidden(_("只有部门负责人或管理员可以排班"))
    errors = {}
    if timezone.is_naive(starts_at):
        starts_at = timezone.make_aware(starts_at)
    if timezone.is_naive(ends_at):
        ends_at = timezone.make_aware(ends_at)
    if not (2000 <= starts_at.year <= 2100 and 2000 <= ends_at.year <= 2100):
        errors["starts_at"] = [_("请填写有效的开始和结束时间")]
    elif ends_at <= starts_at:
        errors["ends_at"] = [_("结束时间须晚于开始时间")]
    elif ends_at - starts_at > datetime.timedelta(hours=MAX_SHIFT_HOURS):
        errors["ends_at"] = [_("一个班次不超过 %(h)d 小时") % {"h": MAX_SHIFT_HOURS}]
    if not _works_in(person, department):
        errors["person"] = [_("值班人员须为本部门在岗工作人员")]
    note = (note or "").strip()
    if len(note) > 200:
        errors["note"] = [_("备注不超过 200 字")]
    try:
        phone = _clean_phone(phone)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed(fields=errors)
    overlap = DutyShift.objects.filter(person=person, starts_at__lt=ends_at, ends_at__gt=starts_at).exists()
    if overlap:
        raise _invalid("starts_at", _("该人员在这段时间已有值班安排"))
    shift = DutyShift.objects.create(
        department=department,
        person=person,
        starts_at=starts_at,
        ends_at=ends_at,
        phone=phone,
        note=note,
        created_by=None if _is_system(actor) else actor,
    )
    audit_record(
        actor=actor,
        action="documents.shift_created",
        obj=shift,
        changes={
            "department": department.code,
            "person": person.pk,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            "phone": mask_phone(phone),
        },
    )
    return shift


@transaction.atomic
def swap_request(*, actor, shift_id: int, to_user: User, reason: str = "") -> DutySwap:
    """The person on a shift asks a colleague of the same department to take it."""
    shift = DutyShift.objects.select_for_update(of=("self",)).select_related("department").filter(pk=shift_id).first()
    if shift is None or not _is_staff(actor):
        raise NotFound()
    if shift.person_id != actor.pk:
        raise Forbidden(_("只有本班次的值班人员可以申请换班"))
    if shift.ends_at <= timezone.now():
        raise Conflict(_("该班次已结束"), code="shift_over")
    if to_user.pk == actor.pk or not _works_in(to_user, shift.department):
        raise _invalid("to_user", _("接班人须为本部门的其他在岗工作人员"))
    if shift.swaps.filter(state=DutySwap.State.REQUESTED).exists():
        raise Conflict(_("该班次已有待确认的换班申请"), code="swap_pending")
    reason = (reason or "").strip()[:200]
    swap = DutySwap.objects.create(shift=shift, from_user=actor, to_user=to_user, reason=reason)
    audit_record(
        actor=actor,
        action="documents.swap_requested",
        obj=shift,
        changes={"swap": swap.pk, "to_user": to_user.pk, "reason": reason},
    )
    messaging.message_send(
        actor=None,
        recipient=to_user,
        template_code="documents.swap_requested",
        context={
            "from_name": actor.real_name or actor.username,
            "department": shift.department.name,
            "starts": f"{timezone.localtime(shift.starts_at):%Y-%m-%d %H:%M}",
            "ends": f"{timezone.localtime(shift.ends_at):%Y-%m-%d %H:%M}",
        },
        ref=messaging.Ref("duty_swap", swap.pk, f"/workbench/documents/duty/?department={shift.department_id}"),
        dedupe_key=f"documents.swap:{swap.pk}",
    )
    return swap


@transaction.atomic
def swap_decide(*, actor, swap_id: int, accept: bool, phone: str = "") -> DutySwap:
    """The colleague accepts (the shift becomes his, with his contact phone) or declines."""
    swap = DutySwap.objects.select_for_update(of=("self",)).select_related("shift").filter(pk=swap_id).first()
    if swap is None or not _is_staff(actor) or actor.pk not in (swap.to_user_id, swap.from_user_id):
        raise NotFound()
    if swap.to_user_id != actor.pk:
        raise Forbidden(_("只有接班人可以确认换班"))
    if swap.state != DutySwap.State.REQUESTED:
        raise Conflict(_("该换班申请已处理"), code="swap_decided")
    shift = DutyShift.objects.select_for_update().get(pk=swap.shift_id)
    now = timezone.now()
    if accept:
        if shift.ends_at <= now:
            raise Conflict(_("该班次已结束"), code="shift_over")
        phone = _clean_phone(phone or actor.phone)
        if DutyShift.objects.filter(person=actor, starts_at__lt=shift.ends_at, ends_at__gt=shift.starts_at).exists():
            raise _invalid("to_user", _("您在这段时间已有值班安排"))
        shift.person, shift.phone = actor, phone
        shift.save(update_fields=["person", "phone"])
    swap.state = DutySwap.State.ACCEPTED if accept else DutySwap.State.DECLINED
    swap.decided_at = now
    swap.save(update_fields=["state", "decided_at"])
    audit_record(
        actor=actor,
        action="documents.swap_accepted" if accept else "documents.swap_declined",
        obj=shift,
        changes={"swap": swap.pk, "from_user": swap.from_user_id, "to_user": swap.to_user_id}
        | ({"phone": mask_phone(phone)} if accept else {}),
    )
    return swap
