"""Open-data writes. Every state change is audited in its own transaction.

* ``dataset_publish_upload`` / ``dataset_publish_from_catalog``: a publisher department's staff
  publish a dataset, from parse-checked files or aggregated from the exchange's resource catalog;
  no personal field or cell is ever opened (a clear error names it).
* ``application_submit`` / ``application_decide``: 有条件开放 — an applicant states a purpose, the
  publisher decides; ``api_key_issue`` gives the applicant a personal key for the CKAN API.
* ``usage_count``: downloads and API calls per dataset (counters, not audited: they are not decisions).
* ``comment_post`` / ``comment_moderate``: ratings and comments, shown once approved.
"""

from __future__ import annotations

import datetime
import re
import secrets
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.core.audit import audit_record
from yiwang.core.crypto import blind_index
from yiwang.core.errors import Conflict, Forbidden, NotAuthenticated, ValidationFailed, YiwangError
from yiwang.core.inputs import ensure_storable
from yiwang.identity.models import Department, Role
from yiwang.identity.selectors import departments_for_actor
from yiwang.opendata import parsing
from yiwang.opendata.models import (
    AccessApplication,
    ApiKey,
    Comment,
    Dataset,
    DatastoreRow,
    Distribution,
    Frequency,
    OpenType,
    Theme,
)

PUBLISHER_ROLES = (Role.DEPARTMENT_ADMIN, Role.DEPARTMENT_HEAD, Role.CITY_ADMIN)
ROW_BATCH = 2000
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,99}$")


def may_publish(actor, department: Department) -> bool:
    """Staff of the publisher department (admin or head), or a city administrator above it."""
    if getattr(actor, "is_superuser", False):
        return True
    if not getattr(actor, "is_authenticated", False):
        return False
    return any(
        departments_for_actor(actor=actor, role=role).filter(pk=department.pk).exists() for role in PUBLISHER_ROLES
    )


def _require_publisher(actor, department: Department) -> None:
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    if not may_publish(actor, department):
        raise Forbidden(_("只有发布部门的管理员或负责人可以发布和审核开放数据"))


def _date(value, field: str, errors: dict) -> datetime.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        errors[field] = [_("日期格式应为 YYYY-MM-DD")]
        return None


def _metadata(data: dict[str, Any]) -> dict[str, Any]:
    """Checked DCAT / national metadata; raises ``ValidationFailed`` naming every bad field."""
    ensure_storable(data, field="metadata")
    errors: dict[str, list[str]] = {}
    title = str(data.get("title") or "").strip()
    if not title:
        errors["title"] = [_("请填写标题")]
    name = str(data.get("name") or "").strip().lower()
    if not name:
        name = "ds-" + secrets.token_hex(6)
    elif not _NAME.match(name):
        errors["name"] = [_("标识名只能用小写字母、数字、- 和 _,2 到 100 个字符")]
    theme = data.get("theme") or ""
    if theme not in Theme.values:
        errors["theme"] = [_("主题无效")]
    frequency = data.get("frequency") or Frequency.IRREGULAR
    if frequency not in Frequency.values:
        errors["frequency"] = [_("更新频率无效")]
    keywords = data.get("keywords") or []
    if isinstance(keywords, str):
        keywords = [k for k in re.split(r"[,,;;\s]+", keywords) if k]
    if not isinstance(keywords, list) or not all(isinstance(k, str) and 0 < len(k) <= 50 for k in keywords):
        errors["keywords"] = [_("关键词须为文字列表,每个不超过 50 字")]
        keywords = []
    start = _date(data.get("temporal_start"), "temporal_start", errors)
    end = _date(data.get("temporal_end"), "temporal_end", errors)
    if start and end and end < start:
        errors["temporal_end"] = [_("结束日期早于开始日期")]
    email = str(data.get("contact_email") or "").strip()
    if email and ("@" not in email or len(email) > 254):
        errors["contact_email"] = [_("邮箱格式不正确")]
    if errors:
        raise ValidationFailed(fields=errors)
    return {
        "name": name,
        "title": title[:200],
        "description": str(data.get("description") or "")[:20000],
        "theme": theme,
        "frequency": frequency,
        "keywords": sorted(set(keywords))[:30],
        "temporal_start": start,
        "temporal_end": end,
        "spatial": str(data.get("spatial") or "")[:100],
        "licence": str(data.get("licence") or "cc-by-4.0")[:40],
        "contact_name": str(data.get("contact_name") or "")[:50],
        "contact_email": email,
        "contact_phone": str(data.get("contact_phone") or "")[:30],
    }


def _search_text(dataset: Dataset, publisher: Department) -> str:
    return " ".join(
        [dataset.name, dataset.title, dataset.description, " ".join(dataset.keywords), publisher.name]
    ).lower()


def _create_dataset(*, actor, publisher: Department, meta: dict, open_type: str, **extra) -> Dataset:
    if open_type not in OpenType.values:
        raise ValidationFailed(fields={"open_type": [_("开放类型无效")]})
    if Dataset.objects.filter(name=meta["name"]).exists():
        raise Conflict(_("标识名“%(name)s”已被使用") % {"name": meta["name"]}, fields={"name": [_("已被使用")]})
    dataset = Dataset(publisher=publisher, open_type=open_type, created_by=_user(actor), **meta, **extra)
    dataset.search_text = _search_text(dataset, publisher)
    dataset.tag_index = "|" + "|".join(dataset.keywords) + "|"
    dataset.save()
    return dataset


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def _store(
    dataset: Dataset, *, name: str, fmt: str, header: list[str], rows: list[dict], content: bytes, position: int
):
    fields = [{"id": h, "type": _column_type(rows, h)} for h in header]
    dist = Distribution.objects.create(
        dataset=dataset,
        name=name[:200],
        format=fmt,
        fields=fields,
        row_count=len(rows),
        content=content,
        position=position,
    )
    batch = []
    for number, row in enumerate(rows, start=1):
        batch.append(DatastoreRow(distribution=dist, number=number, data=row))
        if len(batch) >= ROW_BATCH:
            DatastoreRow.objects.bulk_create(batch)
            batch = []
    if batch:
        DatastoreRow.objects.bulk_create(batch)
    return dist


def _column_type(rows: list[dict], name: str) -> str:
    values = [r.get(name) for r in rows[:200] if r.get(name) not in (None, "")]
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int"
    if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "numeric"
    return "text"


def _personal_names() -> set[str]:
    from yiwang.exchange.selectors import catalog_list

    names = set()
    for row in catalog_list().filter(personal=True):
        names.add(row.field.lower())
        names.add(row.label.lower())
    return names


@transaction.atomic
def dataset_publish_upload(
    *, actor, publisher: Department, metadata: dict, open_type: str, files: list[tuple[str, str, bytes]]
) -> Dataset:
    """Publish a dataset from uploaded files, each ``(name, format, bytes)`` with format CSV, XLSX
    or JSON. Each file is parse-checked (an error names its line and column) and refused when it
    holds personal data (a column named like a personal field, a 身份证号 or a mobile number):
    open data is aggregated or de-identified before it is uploaded."""
    _require_publisher(actor, publisher)
    meta = _metadata(metadata)
    if not files:
        raise ValidationFailed(fields={"file": [_("请至少上传一个文件")]})
    parsed = []
    personal = _personal_names()
    for index, (name, fmt, content) in enumerate(files):
        try:
            header, rows = parsing.parse(fmt, content)
        except ValidationFailed as exc:
            raise ValidationFailed(
                _("文件“%(name)s”无法解析:%(error)s") % {"name": name, "error": "; ".join(exc.fields.get("file", []))},
                code="resource_unparsable",
                fields={f"files.{index}": exc.fields.get("file") or exc.fields.get("format", [])},
            ) from None
        problems = parsing.personal_cells(header, rows, personal_names=personal)
        if problems and open_type != OpenType.CLOSED:
            raise ValidationFailed(
                _("文件“%(name)s”含有个人信息,不得开放:%(where)s") % {"name": name, "where": ";".join(problems)},
                code="personal_data_open",
                fields={f"files.{index}": problems},
            )
        parsed.append((name, fmt.upper(), header, rows, content))
    dataset = _create_dataset(actor=actor, publisher=publisher, meta=meta, open_type=open_type)
    for position, (name, fmt, header, rows, content) in enumerate(parsed):
        _store(dataset, name=name, fmt=fmt, header=header, rows=rows, content=content, position=position)
    audit_record(
        actor=actor,
        action="opendata.dataset_publish",
        obj=dataset,
        changes={"source": "upload", "open_type": open_type, "files": [p[0] for p in parsed]},
    )
    return dataset


@transaction.atomic
def dataset_publish_from_catalog(
    *, actor, publisher: Department, registry: str, group_by: list[str], metadata: dict
) -> Dataset:
    """Publish aggregated counts of a registry, grouped by data items of the exchange's resource
    catalog. Every item must be non-personal and not 不予开放 in the catalog (an item that is
    personal is refused by name: no personal field is ever opened). The dataset is 有条件开放 if
    any item is, else 无条件开放. Two distributions: CSV and the live query API, same rows."""
    from yiwang.exchange.selectors import catalog_list
    from yiwang.registries.selectors import record_counts

    _require_publisher(actor, publisher)
    meta = _metadata(metadata)
    items = {row.field: row for row in catalog_list(registry=registry)}
    if not items:
        raise ValidationFailed(fields={"registry": [_("资源目录中没有该基础库")]})
    if not group_by:
        raise ValidationFailed(fields={"group_by": [_("请选择至少一个数据项")]})
    errors = []
    for field in group_by:
        row = items.get(field)
        if row is None:
            errors.append(_("资源目录中没有数据项“%(field)s”") % {"field": field})
        elif row.personal or row.key:
            errors.append(_("“%(label)s”(%(field)s)是个人信息或主键,不得开放") % {"label": row.label, "field": field})
        elif row.open_type == OpenType.CLOSED:
            errors.append(_("“%(label)s”(%(field)s)在资源目录中为不予开放") % {"label": row.label, "field": field})
    if errors:
        raise ValidationFailed("; ".join(errors), code="personal_data_open", fields={"group_by": errors})
    open_type = (
        OpenType.CONDITIONAL if any(items[f].open_type == OpenType.CONDITIONAL for f in group_by) else OpenType.OPEN
    )
    try:
        rows = record_counts(registry=registry, group_by=group_by)
    except YiwangError as exc:
        raise ValidationFailed(str(exc.message), fields={"group_by": [str(exc.message)]}) from None
    header = [*group_by, "count"]
    dataset = _create_dataset(
        actor=actor,
        publisher=publisher,
        meta=meta,
        open_type=open_type,
        source=Dataset.Source.EXCHANGE,
        source_registry=registry,
    )
    content = _csv_bytes(header, rows)
    _store(dataset, name=f"{meta['title']}.csv", fmt="CSV", header=header, rows=rows, content=content, position=0)
    _store(dataset, name=_("实时查询接口"), fmt="API", header=header, rows=rows, content=b"", position=1)
    audit_record(
        actor=actor,
        action="opendata.dataset_publish",
        obj=dataset,
        changes={"source": "exchange", "registry": registry, "group_by": group_by, "open_type": open_type},
    )
    return dataset


def _csv_bytes(header: list[str], rows: list[dict]) -> bytes:
    import csv
    import io

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


@transaction.atomic
def dataset_withdraw(*, actor, dataset: Dataset, reason: str) -> Dataset:
    """Set a dataset to 不予开放: it disappears from every listing, API and catalogue at once."""
    _require_publisher(actor, dataset.publisher)
    ensure_storable(reason, field="reason")
    if not (reason or "").strip():
        raise ValidationFailed(fields={"reason": [_("请写明理由")]})
    dataset = Dataset.objects.select_for_update(no_key=True).get(pk=dataset.pk)
    before = dataset.open_type
    dataset.open_type = OpenType.CLOSED
    dataset.save(update_fields=["open_type", "updated_at"])
    audit_record(
        actor=actor, action="opendata.dataset_withdraw", obj=dataset, changes={"before": before, "reason": reason[:300]}
    )
    return dataset


# --- 有条件开放 ------------------------------------------------------------------------------------


@transaction.atomic
def application_submit(*, actor, dataset: Dataset, purpose: str) -> AccessApplication:
    """Apply for a 有条件开放 dataset with a purpose. One pending application per person and dataset."""
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    ensure_storable(purpose, field="purpose")
    purpose = (purpose or "").strip()
    if dataset.open_type != OpenType.CONDITIONAL:
        raise ValidationFailed(_("该数据集无需申请"), fields={"dataset": [_("只有有条件开放的数据集需要申请")]})
    if len(purpose) < 5:
        raise ValidationFailed(fields={"purpose": [_("请写明数据用途(至少 5 个字)")]})
    if AccessApplication.objects.filter(
        dataset=dataset,
        applicant=actor,
        status__in=[AccessApplication.Status.PENDING, AccessApplication.Status.APPROVED],
    ).exists():
        raise Conflict(_("您已申请过该数据集"))
    application = AccessApplication.objects.create(dataset=dataset, applicant=actor, purpose=purpose[:500])
    audit_record(actor=actor, action="opendata.application_submit", obj=application, changes={"dataset": dataset.name})
    return application


@transaction.atomic
def application_decide(*, actor, application: AccessApplication, approve: bool, reason: str = "") -> AccessApplication:
    """The publisher approves or refuses (a refusal needs its reason)."""
    _require_publisher(actor, application.dataset.publisher)
    ensure_storable(reason, field="reason")
    application = AccessApplication.objects.select_for_update(no_key=True).get(pk=application.pk)
    if application.status != AccessApplication.Status.PENDING:
        raise Conflict(_("该申请已处理"))
    if not approve and not (reason or "").strip():
        raise ValidationFailed(fields={"reason": [_("拒绝须写明理由")]})
    application.status = AccessApplication.Status.APPROVED if approve else AccessApplication.Status.REFUSED
    application.decided_by = actor
    application.decided_at = timezone.now()
    application.decision_reason = (reason or "")[:500]
    application.save()
    audit_record(
        actor=actor, action="opendata.application_decide", obj=application, changes={"status": application.status}
    )
    return application


KEY_PREFIX = "ywod_"


@transaction.atomic
def api_key_issue(*, actor) -> tuple[ApiKey, str]:
    """A new personal API key (the old ones stay valid until revoked). Returns the key row and
    the secret, shown once; only its keyed digest is stored."""
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    secret = KEY_PREFIX + secrets.token_urlsafe(24)
    key = ApiKey.objects.create(user=actor, digest=blind_index(secret), prefix=secret[:10])
    audit_record(actor=actor, action="opendata.api_key_issue", obj=key, changes={"prefix": key.prefix})
    return key, secret


@transaction.atomic
def api_key_revoke(*, actor, key: ApiKey) -> ApiKey:
    if key.user_id != getattr(actor, "pk", None):
        raise Forbidden()
    key = ApiKey.objects.select_for_update(no_key=True).get(pk=key.pk)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="opendata.api_key_revoke", obj=key, changes={"prefix": key.prefix})
    return key


def usage_count(*, dataset_id, kind: str) -> None:
    """Count one download (``kind="download"``) or API call (``"api"``): one UPDATE in its own short
    transaction. On PostgreSQL that commit does not wait for the WAL flush (``synchronous_commit
    off`` for this transaction only): a crash may lose the last few counts, never a decision, and
    an API call does not pay an fsync for its counter."""
    from django.db import connection

    column = "download_count" if kind == "download" else "api_call_count"
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        Dataset.objects.filter(pk=dataset_id).update(**{column: F(column) + 1})


# --- ratings and comments ---------------------------------------------------------------------------


@transaction.atomic
def comment_post(*, actor, dataset: Dataset, rating: int, text: str = "") -> Comment:
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    ensure_storable(text, field="text")
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        rating = 0
    if not 1 <= rating <= 5:
        raise ValidationFailed(fields={"rating": [_("评分为 1 到 5")]})
    comment = Comment.objects.create(dataset=dataset, author=actor, rating=rating, text=(text or "").strip()[:1000])
    audit_record(actor=actor, action="opendata.comment_post", obj=comment, changes={"dataset": dataset.name})
    return comment


@transaction.atomic
def comment_moderate(*, actor, comment: Comment, approve: bool) -> Comment:
    """The publisher's staff publish or reject a comment."""
    _require_publisher(actor, comment.dataset.publisher)
    comment = Comment.objects.select_for_update(no_key=True).get(pk=comment.pk)
    comment.status = Comment.Status.APPROVED if approve else Comment.Status.REJECTED
    comment.moderated_by = actor
    comment.save(update_fields=["status", "moderated_by"])
    audit_record(actor=actor, action="opendata.comment_moderate", obj=comment, changes={"status": comment.status})
    return comment
