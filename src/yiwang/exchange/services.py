"""Exchange writes: the catalog, consuming systems, share requests and grants, data disputes,
and ``registry_read`` — the one way an app inside the platform reads a registry.

Every write is one transaction with its audit event; every change that the gateway's
per-process caches depend on (a system, a grant, a resource, a dispute) moves the shared
generation (``_touch``), so every web process reloads them on its next lookup.
"""

import datetime
import hmac
import secrets
from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.core import events
from yiwang.core.audit import audit_record
from yiwang.core.calendar import add_working_days
from yiwang.core.crypto import blind_index, hmac_sm3
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.exchange import gateway
from yiwang.exchange.models import (
    ConsumerSystem,
    DataDispute,
    DataResource,
    ExchangeState,
    Grant,
    MaskKind,
    OpenType,
    ShareRequest,
    ShareType,
)
from yiwang.identity.models import Department, Role, User
from yiwang.identity.selectors import actor_has_role, departments_for_actor

DECIDER_ROLES = (Role.DEPARTMENT_HEAD, Role.DEPARTMENT_ADMIN)
DISPUTE_ROLES = (Role.REVIEWER, Role.DEPARTMENT_HEAD, Role.DEPARTMENT_ADMIN)
MAX_PERIOD_DAYS = 3 * 366
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
EVIDENCE_TYPES = {".pdf", ".jpg", ".jpeg", ".png"}


def decision_days() -> int:
    """Working days a source department has to answer a share request (国务院《政务信息资源共享
    管理暂行办法》: 10 个工作日 for 有条件共享)."""
    return int(getattr(settings, "YIWANG_EXCHANGE_DECISION_DAYS", 10))


def dispute_days() -> int:
    return int(getattr(settings, "YIWANG_EXCHANGE_DISPUTE_DAYS", 5))


def _touch() -> None:
    """Move the shared cache generation in the caller's transaction (see ``gateway``)."""
    if not ExchangeState.objects.filter(pk=1).update(generation=F("generation") + 1):
        ExchangeState.objects.get_or_create(pk=1, defaults={"generation": 1})
    transaction.on_commit(gateway.invalidate)


def _has_any_role(actor, roles, department: Department | None) -> bool:
    return department is not None and any(actor_has_role(actor=actor, role=r, department=department) for r in roles)


def _acts_in(actor, department: Department) -> bool:
    return departments_for_actor(actor=actor).filter(pk=department.pk).exists()


# --- catalog ---------------------------------------------------------------------------------------

_MASK_BY_NAME = (
    ("id_number", MaskKind.ID_NUMBER),
    ("subject_key", MaskKind.ID_NUMBER),
    ("holder_id", MaskKind.ID_NUMBER),
    ("phone", MaskKind.PHONE),
    ("address", MaskKind.ADDRESS),
    ("name", MaskKind.NAME),
    ("legal_representative", MaskKind.NAME),
)


def default_mask_kind(field: str, personal: bool) -> str:
    if not personal:
        return MaskKind.NONE
    for part, kind in _MASK_BY_NAME:
        if part in field:
            return kind
    return MaskKind.OTHER


@transaction.atomic
def catalog_sync(*, actor=None) -> dict:
    """Bring the catalog in line with the registries' fields: new fields are added (personal ones
    有条件共享 and masked, the rest 无条件共享), labels, keys and source departments follow the
    registries, and the exchange's own settings (share type, open type, masking) are kept.
    Returns counts of what changed."""
    from yiwang.registries.selectors import registry_fields

    existing = {(r.registry, r.field): r for r in DataResource.objects.select_for_update(no_key=True)}
    created = updated = 0
    for order, info in enumerate(registry_fields()):
        row = existing.get((info.registry, info.field))
        label = str(info.label)[:100]
        if row is None:
            DataResource.objects.create(
                registry=info.registry,
                field=info.field,
                label=label,
                personal=info.personal,
                key=info.key,
                source_department_id=info.source_department_id,
                share_type=ShareType.CONDITIONAL if info.personal else ShareType.UNCONDITIONAL,
                open_type=OpenType.CLOSED if info.personal else OpenType.CONDITIONAL,
                mask_kind=default_mask_kind(info.field, info.personal),
                sort_order=order,
            )
            created += 1
            continue
        new = (label, info.personal, info.key, info.source_department_id, order)
        if (row.label, row.personal, row.key, row.source_department_id, row.sort_order) != new:
            row.label, row.personal, row.key, row.source_department_id, row.sort_order = new
            row.save()
            updated += 1
    if created or updated:
        audit_record(
            actor=actor,
            action="exchange.catalog_sync",
            object_type="exchange.dataresource",
            changes={"created": created, "updated": updated},
        )
        _touch()
    return {"created": created, "updated": updated}


@transaction.atomic
def data_resource_update(
    *, actor, resource: DataResource, share_type: str, open_type: str, mask_kind: str, not_shared_reason: str = ""
) -> DataResource:
    """Change a data item's share type, open type or masking: a city administrator, or an
    administrator of the item's source department. 不予共享 needs its legal reason."""
    if not (
        getattr(actor, "is_superuser", False)
        or departments_for_actor(actor=actor, role=Role.CITY_ADMIN).exists()
        or _has_any_role(actor, (Role.DEPARTMENT_ADMIN,), resource.source_department)
    ):
        raise Forbidden()
    errors = {}
    if share_type not in ShareType.values:
        errors["share_type"] = [_("共享类型无效")]
    if open_type not in OpenType.values:
        errors["open_type"] = [_("开放类型无效")]
    if mask_kind not in MaskKind.values:
        errors["mask_kind"] = [_("脱敏方式无效")]
    reason = (not_shared_reason or "").strip()
    if share_type == ShareType.NOT_SHARED and not reason:
        errors["not_shared_reason"] = [_("不予共享须写明法律法规或政策依据")]
    if errors:
        raise ValidationFailed(fields=errors)
    resource = DataResource.objects.select_for_update(no_key=True).get(pk=resource.pk)
    before = {"share_type": resource.share_type, "open_type": resource.open_type, "mask_kind": resource.mask_kind}
    resource.share_type, resource.open_type, resource.mask_kind = share_type, open_type, mask_kind
    resource.not_shared_reason = reason[:300]
    resource.save()
    audit_record(
        actor=actor,
        action="exchange.resource_update",
        obj=resource,
        changes={"before": before, "after": {"share_type": share_type, "open_type": open_type, "mask_kind": mask_kind}},
    )
    _touch()
    return resource


# --- consuming systems -------------------------------------------------------------------------------


def secret_digest(secret: str) -> str:
    return hmac_sm3(settings.DATA_KEY.encode(), b"exchange-client:" + secret.encode()).hex()


def secret_matches(secret: str, digest: str) -> bool:
    return hmac.compare_digest(secret_digest(secret), digest)


@transaction.atomic
def consumer_system_create(
    *, actor, department: Department, name: str, client_id: str = "", secret: str = ""
) -> tuple[ConsumerSystem, str]:
    """Register a consuming system of ``department`` (its administrator or head) and return it
    with its client secret — shown this once; only an HMAC-SM3 digest is stored.

    ``client_id`` / ``secret`` preset the credential (the demo city's published one, or a system
    moving from another gateway); the secret must then be at least 16 characters."""
    platform = actor is None or isinstance(actor, str) or actor.is_superuser
    if not platform and not _has_any_role(actor, DECIDER_ROLES, department):
        raise Forbidden()
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed(fields={"name": [_("请填写系统名称(不超过 100 个字符)")]})
    client_id = (client_id or "").strip() or "ywx_" + secrets.token_hex(8)
    if secret and len(secret) < 16:
        raise ValidationFailed(fields={"secret": [_("客户端密钥至少 16 个字符")]})
    if ConsumerSystem.objects.filter(client_id=client_id).exists():
        raise Conflict(_("客户端标识已被使用"), code="client_id_taken", fields={"client_id": [_("已被使用")]})
    secret = secret or secrets.token_urlsafe(32)
    system = ConsumerSystem.objects.create(
        name=name,
        department=department,
        client_id=client_id,
        secret_digest=secret_digest(secret),
        created_by=actor if isinstance(actor, User) else None,
    )
    audit_record(
        actor=actor, action="exchange.system_create", obj=system, changes={"department": department.pk, "name": name}
    )
    _touch()
    return system, secret


@transaction.atomic
def consumer_system_revoke(*, actor, system: ConsumerSystem) -> ConsumerSystem:
    """Stop a system's credential at once (every web process, on its next lookup)."""
    if not (actor.is_superuser or _has_any_role(actor, DECIDER_ROLES, system.department)):
        raise Forbidden()
    system = ConsumerSystem.objects.select_for_update(no_key=True).get(pk=system.pk)
    if system.revoked_at is None:
        system.revoked_at = timezone.now()
        system.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="exchange.system_revoke", obj=system)
        _touch()
    return system


FINGERPRINT_CHARS = frozenset("0123456789abcdef")


def certificate_facts(certificate: str) -> tuple[str, str, datetime.datetime | None]:
    """(SHA-256 fingerprint hex, subject, not-after) of a PEM certificate, or of a bare
    fingerprint (64 hex digits, colons allowed: then no subject or end date is known).
    Raises ``ValidationFailed`` naming ``certificate``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    text = (certificate or "").strip()
    compact = text.replace(":", "").replace(" ", "").lower()
    if len(compact) == 64 and set(compact) <= FINGERPRINT_CHARS:
        return compact, "", None
    try:
        cert = x509.load_pem_x509_certificate(text.encode())
    except ValueError:
        message = _("请粘贴 PEM 格式的客户端证书(-----BEGIN CERTIFICATE-----),或 64 位十六进制的 SHA-256 指纹")
        raise ValidationFailed(message, code="certificate_invalid", fields={"certificate": [message]}) from None
    subject = cert.subject.rfc4514_string()[:300]
    return cert.fingerprint(hashes.SHA256()).hex(), subject, cert.not_valid_after_utc


@transaction.atomic
def consumer_system_bind_certificate(*, actor, system: ConsumerSystem, certificate: str) -> ConsumerSystem:
    """Bind a system's credential to a client certificate (mutual TLS): from now on the gateway
    answers it only when a configured TLS proxy verified that certificate. An empty
    ``certificate`` removes the binding. The department's administrator or head (or a
    superuser); audited with the fingerprint and subject."""
    if not (actor.is_superuser or _has_any_role(actor, DECIDER_ROLES, system.department)):
        raise Forbidden()
    system = ConsumerSystem.objects.select_for_update(no_key=True).get(pk=system.pk)
    if system.revoked_at is not None:
        raise Conflict(_("该接入系统已停用。"), code="system_revoked")
    before = system.client_cert_sha256
    if (certificate or "").strip():
        fingerprint, subject, not_after = certificate_facts(certificate)
        if not_after is not None and not_after <= timezone.now():
            message = _("该证书已于 %(day)s 过期") % {"day": not_after.date().isoformat()}
            raise ValidationFailed(message, code="certificate_expired", fields={"certificate": [message]})
        if ConsumerSystem.objects.filter(client_cert_sha256=fingerprint).exclude(pk=system.pk).exists():
            message = _("该证书已绑定另一接入系统")
            raise Conflict(message, code="certificate_taken", fields={"certificate": [message]})
        action = "exchange.system_certificate_bind"
    elif not before:
        return system  # nothing bound, nothing to remove
    else:
        fingerprint, subject, not_after = "", "", None
        action = "exchange.system_certificate_unbind"
    system.client_cert_sha256, system.client_cert_subject, system.client_cert_not_after = (
        fingerprint,
        subject,
        not_after,
    )
    system.save(update_fields=["client_cert_sha256", "client_cert_subject", "client_cert_not_after"])
    audit_record(
        actor=actor,
        action=action,
        obj=system,
        changes={"sha256": [before, fingerprint], "subject": subject},
    )
    _touch()
    return system


# --- share requests and grants -----------------------------------------------------------------------


def _resources(registry: str) -> dict[str, DataResource]:
    rows = {r.field: r for r in DataResource.objects.filter(registry=registry).select_related("source_department")}
    if not rows:
        raise ValidationFailed(
            _("资源目录中没有基础库“%(registry)s”") % {"registry": registry},
            code="registry_unknown",
            fields={"registry": [_("未知的基础库")]},
        )
    return rows


def _check_fields(registry: str, fields: list[str], unmasked: list[str]) -> dict[str, DataResource]:
    resources = _resources(registry)
    if not fields:
        raise ValidationFailed(fields={"fields": [_("请至少选择一个数据项")]}, code="fields_missing")
    for name in fields:
        resource = resources.get(name)
        if resource is None:
            message = _("数据项“%(field)s”不在基础库“%(registry)s”的资源目录中") % {"field": name, "registry": registry}
            raise ValidationFailed(message, code="field_unknown", fields={name: [message]})
        if resource.share_type == ShareType.NOT_SHARED:
            message = _("数据项“%(field)s”(%(label)s)为不予共享,不能申请") % {"field": name, "label": resource.label}
            if resource.not_shared_reason:
                message += _("依据:%(reason)s") % {"reason": resource.not_shared_reason}
            raise ValidationFailed(message, code="field_not_shared", fields={name: [message]})
    for name in unmasked:
        if name not in fields:
            message = _("明文数据项“%(field)s”须同时在申请数据项中") % {"field": name}
            raise ValidationFailed(message, code="unmasked_not_requested", fields={name: [message]})
    return resources


def _end_of_day(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(23, 59, 59)))


@transaction.atomic
def share_request_create(
    *,
    actor,
    consumer_department: Department,
    registry: str,
    fields: list[str],
    purpose: str,
    legal_basis: str,
    valid_until: datetime.date,
    system: ConsumerSystem | None = None,
    consumer_app: str = "",
    unmasked_fields: list[str] | None = None,
) -> list[ShareRequest]:
    """Ask for named fields of one registry (共享申请). Staff act for a department they hold a role
    in; a consuming system acts for its own department (``actor`` is the system).

    The fields are split by source department: one request each, answered by that department
    within ``decision_days()`` working days. A request whose every field is 无条件共享 (and asks
    for nothing in clear) is granted at once. A 不予共享 field refuses the whole request, naming it.
    """
    if isinstance(actor, ConsumerSystem):
        if actor.revoked_at is not None or actor.department_id != consumer_department.pk:
            raise Forbidden()
        system = actor
    elif not (actor.is_superuser or _acts_in(actor, consumer_department)):
        raise Forbidden(_("您不在申请部门任职,不能代其申请。"))
    return _create_requests(
        actor=actor,
        consumer_department=consumer_department,
        registry=registry,
        fields=fields,
        purpose=purpose,
        legal_basis=legal_basis,
        valid_until=valid_until,
        system=system,
        consumer_app=consumer_app,
        unmasked_fields=unmasked_fields,
    )


def _create_requests(
    *,
    actor,
    consumer_department: Department,
    registry: str,
    fields: list[str],
    purpose: str,
    legal_basis: str,
    valid_until: datetime.date,
    system: ConsumerSystem | None,
    consumer_app: str,
    unmasked_fields: list[str] | None,
) -> list[ShareRequest]:
    if isinstance(actor, ConsumerSystem):
        audit_actor, requested_by = f"system:{actor.client_id}", None
    else:
        audit_actor, requested_by = actor, actor
    if system is not None and system.department_id != consumer_department.pk:
        raise ValidationFailed(fields={"system": [_("接入系统须属于申请部门")]}, code="system_invalid")
    fields = list(dict.fromkeys(f.strip() for f in fields or [] if f and f.strip()))
    unmasked = list(dict.fromkeys(unmasked_fields or []))
    purpose, legal_basis = (purpose or "").strip(), (legal_basis or "").strip()
    errors = {}
    if not purpose:
        errors["purpose"] = [_("请写明数据用途")]
    if not legal_basis:
        errors["legal_basis"] = [_("请写明申请依据(法律法规、政策文件或职能)")]
    today = timezone.localdate()
    if not valid_until or valid_until < today:
        errors["valid_until"] = [_("使用期限须不早于今天")]
    elif (valid_until - today).days > MAX_PERIOD_DAYS:
        errors["valid_until"] = [_("使用期限不能超过三年")]
    if errors:
        raise ValidationFailed(fields=errors)
    resources = _check_fields(registry, fields, unmasked)
    groups: dict[int | None, list[str]] = defaultdict(list)
    for name in fields:
        groups[resources[name].source_department_id].append(name)
    due = add_working_days(today, decision_days())
    made = []
    for source_id, names in groups.items():
        request = ShareRequest.objects.create(
            registry=registry,
            fields=names,
            consumer_department=consumer_department,
            system=system,
            consumer_app=(consumer_app or "")[:30],
            source_department_id=source_id,
            purpose=purpose[:300],
            legal_basis=legal_basis[:300],
            valid_until=valid_until,
            unmasked_fields=[n for n in unmasked if n in names],
            requested_by=requested_by,
            due_date=due,
        )
        audit_record(
            actor=audit_actor,
            action="exchange.request_create",
            obj=request,
            changes={"registry": registry, "fields": names, "department": consumer_department.pk, "due": due},
        )
        automatic = not request.unmasked_fields and all(
            resources[n].share_type == ShareType.UNCONDITIONAL for n in names
        )
        if automatic:
            _approve(actor="system:exchange", request=request, reason=_("无条件共享,申请即授权"))
        else:
            events.publish("exchange.request_created", request_id=request.pk)
        made.append(request)
    return made


def _approve(*, actor, request: ShareRequest, reason: str) -> Grant:
    request.status = ShareRequest.Status.APPROVED
    request.decided_by = actor if isinstance(actor, User) else None
    request.decided_at = timezone.now()
    request.decision_reason = reason[:500]
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    grant = Grant.objects.create(
        request=request,
        registry=request.registry,
        fields=request.fields,
        unmasked_fields=request.unmasked_fields,
        consumer_department_id=request.consumer_department_id,
        system_id=request.system_id,
        consumer_app=request.consumer_app,
        purpose=request.purpose,
        legal_basis=request.legal_basis,
        expires_at=_end_of_day(request.valid_until),
    )
    audit_record(
        actor=actor,
        action="exchange.request_approve",
        obj=request,
        changes={"grant": grant.pk, "fields": grant.fields, "expires_at": grant.expires_at, "reason": reason},
    )
    _touch()
    events.publish("exchange.request_decided", request_id=request.pk, status=request.status)
    return grant


def _pending_for_decision(actor, request: ShareRequest) -> ShareRequest:
    request = (
        ShareRequest.objects.select_for_update(no_key=True, of=("self",))
        .select_related("source_department")
        .get(pk=request.pk)
    )
    if not (actor.is_superuser or _has_any_role(actor, DECIDER_ROLES, request.source_department)):
        raise Forbidden(_("只有来源部门的负责人或管理员可以审核此申请。"))
    if request.status != ShareRequest.Status.PENDING:
        raise Conflict(_("该申请已处理。"), code="request_decided")
    return request


@transaction.atomic
def share_request_approve(*, actor, request: ShareRequest, reason: str = "") -> Grant:
    """The source department agrees (its head or administrator): a grant until the requested date."""
    request = _pending_for_decision(actor, request)
    return _approve(actor=actor, request=request, reason=(reason or "").strip() or _("同意"))


@transaction.atomic
def share_request_refuse(*, actor, request: ShareRequest, reason: str) -> ShareRequest:
    """The source department refuses, with its reasons (required)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": [_("拒绝须写明理由")]}, code="reason_missing")
    request = _pending_for_decision(actor, request)
    request.status = ShareRequest.Status.REFUSED
    request.decided_by, request.decided_at, request.decision_reason = actor, timezone.now(), reason[:500]
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    audit_record(actor=actor, action="exchange.request_refuse", obj=request, changes={"reason": reason})
    events.publish("exchange.request_decided", request_id=request.pk, status=request.status)
    return request


@transaction.atomic
def grant_revoke(*, actor, grant: Grant, reason: str) -> Grant:
    """Withdraw a grant at once: by the source department (head or administrator) of its fields,
    or by the consuming department giving it up. Reads fail with ``grant_revoked`` from then on."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": [_("撤销须写明理由")]}, code="reason_missing")
    rows = Grant.objects.select_for_update(no_key=True, of=("self",)).select_related(
        "request__source_department", "consumer_department"
    )
    grant = rows.get(pk=grant.pk)
    source = grant.request.source_department if grant.request_id else None
    if not (
        actor.is_superuser
        or _has_any_role(actor, DECIDER_ROLES, source)
        or _has_any_role(actor, DECIDER_ROLES, grant.consumer_department)
    ):
        raise Forbidden()
    if grant.revoked_at is not None:
        raise Conflict(_("该授权已撤销。"), code="grant_revoked")
    grant.revoked_at, grant.revoked_by, grant.revoke_reason = timezone.now(), actor, reason[:300]
    grant.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    audit_record(actor=actor, action="exchange.grant_revoke", obj=grant, changes={"reason": reason})
    _touch()
    return grant


@transaction.atomic
def grant_for_app(
    *,
    actor,
    app: str,
    department: Department,
    registry: str,
    fields: list[str],
    purpose: str,
    legal_basis: str,
    valid_until: datetime.date,
    unmasked_fields: list[str] | None = None,
) -> Grant:
    """A grant for an app inside the platform (e.g. ``cases`` pre-filling forms), for the reads
    ``registry_read`` makes on the app's behalf: asked and approved in one step by a head or
    administrator of the fields' source department (or a superuser), audited as both.
    ``unmasked_fields``: personal fields the app reads in clear (e.g. the applicant's own
    address, pre-filled into his own form)."""
    app = (app or "").strip()
    if not app:
        raise ValidationFailed(fields={"app": [_("请填写平台内应用名称")]})
    resources = _check_fields(registry, list(fields), list(unmasked_fields or []))
    for name in fields:
        source = resources[name].source_department
        if not (actor.is_superuser or _has_any_role(actor, DECIDER_ROLES, source)):
            raise Forbidden(_("只有数据项“%(field)s”的来源部门可以授权。") % {"field": name})
    requests = _create_requests(
        actor=actor,
        consumer_department=department,
        registry=registry,
        fields=list(fields),
        purpose=purpose,
        legal_basis=legal_basis,
        valid_until=valid_until,
        system=None,
        consumer_app=app,
        unmasked_fields=list(unmasked_fields or []),
    )
    grants = []
    for request in requests:
        if request.status == ShareRequest.Status.PENDING:
            grants.append(_approve(actor=actor, request=_pending_for_decision(actor, request), reason=purpose))
        else:
            grants.append(request.grant)
    return grants[0]


# --- the in-platform read ---------------------------------------------------------------------------


def registry_read(*, actor, app: str, purpose: str, registry: str, key: str, fields: list[str]) -> gateway.ReadResult:
    """Read ``fields`` of one registry record for an app inside the platform (e.g. ``cases``), on
    behalf of ``actor``: the app's own grant decides what it gets, masked as the grant says, and
    the read — or its refusal — is written to the evidence log. The only way apps read registries.
    Raises the same errors as the gateway (``grant_missing``, ``field_not_granted``, …)."""
    return gateway.read_one(
        consumer=gateway.AppConsumer(app=app, actor_repr=_actor_repr(actor)),
        purpose=purpose,
        registry=registry,
        key=key,
        fields=fields,
    )


def registry_read_many(
    *, actor, app: str, purpose: str, registry: str, keys: list[str], fields: list[str]
) -> dict[str, gateway.ReadResult]:
    """``registry_read`` for many keys (e.g. supervision's 回避 check over a draw's pool): read in
    batches of the gateway's limit, each record's read on the evidence log like any other.
    Returns {normalized key: ReadResult}; keys without a record are absent (logged as not found).
    Refusals raise as for ``registry_read``, before any record of that batch is returned."""
    consumer = gateway.AppConsumer(app=app, actor_repr=_actor_repr(actor))
    keys = list(dict.fromkeys(keys))
    found: dict[str, gateway.ReadResult] = {}
    step = gateway.batch_limit()
    for first in range(0, len(keys), step):
        result = gateway.read_many(
            consumer=consumer, purpose=purpose, registry=registry, keys=keys[first : first + step], fields=fields
        )
        found.update((record.key, record) for record in result["records"])
    return found


def _actor_repr(actor) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    return actor.get_username()


# --- data disputes -----------------------------------------------------------------------------------


def _check_evidence(evidence) -> None:
    if evidence is None:
        return
    name = (getattr(evidence, "name", "") or "").lower()
    if not any(name.endswith(ext) for ext in EVIDENCE_TYPES):
        raise ValidationFailed(fields={"evidence": [_("佐证材料须为 PDF、JPG 或 PNG 文件")]}, code="evidence_type")
    if (getattr(evidence, "size", 0) or 0) > EVIDENCE_MAX_BYTES:
        raise ValidationFailed(fields={"evidence": [_("佐证材料不能超过 10 MB")]}, code="evidence_size")


def _may_raise(actor, *, registry: str, field: str, subject_kind, subject_key) -> Department | None:
    """Who may dispute a value: the person or enterprise the record is about, or staff of a
    department holding a live grant of that field. Returns the staff's department (or None)."""
    if actor.kind == User.Kind.CITIZEN:
        if subject_kind == "person" and subject_key and actor.id_number and subject_key == actor.id_number.upper():
            return None
    elif actor.kind == User.Kind.ENTERPRISE_AGENT:
        if subject_kind == "legal_entity" and subject_key and subject_key == actor.enterprise_uscc.upper():
            return None
    else:
        now = timezone.now()
        mine = departments_for_actor(actor=actor)
        for grant in Grant.objects.filter(
            registry=registry, consumer_department__in=mine, revoked_at__isnull=True, expires_at__gt=now
        ).select_related("consumer_department"):
            if field in grant.fields:
                return grant.consumer_department
    raise NotFound(_("未找到该记录。"), code="record_not_found", fields={"key": [_("未找到该记录")]})


@transaction.atomic
def dispute_raise(
    *, actor, registry: str, key: str, field: str, reason: str, claimed_value: str = "", evidence=None
) -> DataDispute:
    """Flag a registry value as wrong (数据异议). The field shows as ``disputed`` to every reader
    until the source department decides, within ``dispute_days()`` working days. A record the
    actor may not dispute looks missing; one open dispute per field and record."""
    from yiwang.registries.selectors import record_read

    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": [_("请写明异议理由")]}, code="reason_missing")
    resources = _resources(registry)
    resource = resources.get(field)
    if resource is None:
        message = _("数据项“%(field)s”不在基础库“%(registry)s”的资源目录中") % {"field": field, "registry": registry}
        raise ValidationFailed(message, code="field_unknown", fields={"field": [message]})
    _check_evidence(evidence)
    key = (key or "").strip().upper()
    view = record_read(registry=registry, key=key, fields=[field])
    if view is None:
        raise NotFound(_("未找到该记录。"), code="record_not_found", fields={"key": [_("未找到该记录")]})
    department = _may_raise(
        actor, registry=registry, field=field, subject_kind=view.subject_kind, subject_key=view.subject_key
    )
    key = view.key
    key_index = blind_index(f"{registry}:{key}")
    if DataDispute.objects.filter(
        registry=registry, key_index=key_index, field=field, status=DataDispute.Status.OPEN
    ).exists():
        raise Conflict(_("该数据项已有待核实的异议。"), code="dispute_open", fields={"field": [_("已有待核实的异议")]})
    dispute = DataDispute(
        registry=registry,
        record_key=key,
        key_index=key_index,
        subject_index=blind_index(view.subject_key) if view.subject_key else "",
        field=field,
        claimed_value=(claimed_value or "").strip()[:500],
        reason=reason[:1000],
        raised_by=actor,
        raised_by_department=department,
        source_department=resource.source_department,
        due_date=add_working_days(timezone.localdate(), dispute_days()),
    )
    if evidence is not None:
        dispute.evidence.save(f"{secrets.token_hex(8)}{_suffix(evidence.name)}", evidence, save=False)
    dispute.save()
    audit_record(
        actor=actor,
        action="exchange.dispute_raise",
        obj=dispute,
        changes={"registry": registry, "field": field, "due": dispute.due_date, "evidence": bool(evidence)},
    )
    _touch()
    events.publish("exchange.dispute_raised", dispute_id=dispute.pk)
    return dispute


def _suffix(name: str) -> str:
    name = (name or "").lower()
    return next((ext for ext in EVIDENCE_TYPES if name.endswith(ext)), "")


def _open_for_decision(actor, dispute: DataDispute) -> DataDispute:
    dispute = (
        DataDispute.objects.select_for_update(no_key=True, of=("self",))
        .select_related("source_department")
        .get(pk=dispute.pk)
    )
    if not (actor.is_superuser or _has_any_role(actor, DISPUTE_ROLES, dispute.source_department)):
        raise NotFound(_("未找到该异议。"), code="dispute_not_found")
    if dispute.status != DataDispute.Status.OPEN:
        raise Conflict(_("该异议已处理。"), code="dispute_decided")
    return dispute


@transaction.atomic
def dispute_correct(*, actor, dispute: DataDispute, value: str | None = None, reason: str = "") -> DataDispute:
    """Uphold a dispute: the source department corrects the value in its registry (through
    ``registries.services.record_correct``, which keeps the history) and closes the dispute."""
    from yiwang.registries.services import record_correct

    dispute = _open_for_decision(actor, dispute)
    value = dispute.claimed_value if value is None or value == "" else value
    if value in (None, ""):
        raise ValidationFailed(fields={"value": [_("请填写更正后的值")]}, code="value_missing")
    reason = (reason or "").strip() or _("数据异议核实后更正")
    record_correct(
        actor=actor, registry=dispute.registry, key=dispute.record_key, field=dispute.field, value=value, reason=reason
    )
    return _close(actor, dispute, DataDispute.Status.CORRECTED, reason)


@transaction.atomic
def dispute_reject(*, actor, dispute: DataDispute, reason: str) -> DataDispute:
    """The source department finds the value right: the dispute is closed with its reasons."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": [_("不予更正须写明理由")]}, code="reason_missing")
    dispute = _open_for_decision(actor, dispute)
    return _close(actor, dispute, DataDispute.Status.REJECTED, reason)


def _close(actor, dispute: DataDispute, status: str, reason: str) -> DataDispute:
    dispute.status, dispute.decided_by, dispute.decided_at = status, actor, timezone.now()
    dispute.decision_reason = reason[:1000]
    dispute.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    audit_record(
        actor=actor, action=f"exchange.dispute_{status}", obj=dispute, changes={"status": status, "reason": reason}
    )
    _touch()
    events.publish("exchange.dispute_resolved", dispute_id=dispute.pk, status=status)
    return dispute
