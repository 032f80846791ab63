"""Open-data reads. A 不予开放 dataset is never listed and looks exactly like a missing one;
the rows of a 有条件开放 dataset are readable only by a person whose application was approved
(or by the publisher's staff)."""

from __future__ import annotations

import contextlib
from typing import Any

from django.db import connection
from django.db.models import Avg, Count, F, Q, QuerySet
from django.utils.translation import gettext as _

from yiwang.core.crypto import blind_index
from yiwang.core.errors import Forbidden, NotFound, ValidationFailed
from yiwang.opendata.models import AccessApplication, ApiKey, Comment, Dataset, DatastoreRow, Distribution, OpenType


def datasets_listed() -> QuerySet[Dataset]:
    """Every dataset anyone may see listed: 无条件开放 and 有条件开放."""
    return Dataset.objects.exclude(open_type=OpenType.CLOSED).select_related("publisher")


def dataset_get(*, id_or_name: str) -> Dataset:
    rows = datasets_listed()
    value = str(id_or_name or "")
    try:
        import uuid

        found = rows.filter(pk=uuid.UUID(value)).first()
    except ValueError:
        found = rows.filter(name=value).first()
    if found is None:
        raise NotFound()
    return found


def distribution_get(*, id: str) -> Distribution:
    import uuid

    try:
        pk = uuid.UUID(str(id))
    except ValueError:
        raise NotFound() from None
    dist = Distribution.objects.select_related("dataset", "dataset__publisher").filter(pk=pk).first()
    if dist is None or dist.dataset.open_type == OpenType.CLOSED:
        raise NotFound()
    return dist


def user_for_key(key: str):
    """The active user holding this personal API key, or None."""
    if not key:
        return None
    row = ApiKey.objects.select_related("user").filter(digest=blind_index(key.strip()), revoked_at=None).first()
    if row is None or not row.user.is_active:
        return None
    return row.user


def may_read_rows(*, actor, dataset: Dataset) -> bool:
    if dataset.open_type == OpenType.OPEN:
        return True
    if dataset.open_type != OpenType.CONDITIONAL or not getattr(actor, "is_authenticated", False):
        return False
    from yiwang.opendata.services import may_publish

    return AccessApplication.objects.filter(
        dataset=dataset, applicant=actor, status=AccessApplication.Status.APPROVED
    ).exists() or may_publish(actor, dataset.publisher)


def require_rows(*, actor, dataset: Dataset) -> None:
    if not may_read_rows(actor=actor, dataset=dataset):
        raise Forbidden(_("该数据集为有条件开放,请先申请并获批后使用个人密钥访问"))


def preview_rows(*, distribution: Distribution, limit: int = 10) -> list[dict[str, Any]]:
    return [r.data for r in DatastoreRow.objects.filter(distribution=distribution).order_by("number")[:limit]]


CHART_MAX_SERIES = 4


def _number(value) -> int | float | None:
    """A cell as a number: numbers as they are, numeric text (CSV cells) read, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    text = str(value or "").strip().replace(",", "")
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def preview_chart(*, fields: list[dict], rows: list[dict[str, Any]]) -> dict | None:
    """A bar chart of the preview rows (issue #18: the dataset page's chart): one bar group per
    row, labelled by its text columns, one series per numeric column (at most four; a column is
    numeric when every filled cell reads as a number, CSV text included; a year column labels
    the bars instead). ``None`` when there is no numeric column or no row: no empty chart."""
    if not rows:
        return None
    names = [f["id"] for f in fields]

    def numeric(name: str) -> bool:
        values = [row.get(name) for row in rows if row.get(name) not in (None, "")]
        return bool(values) and all(_number(v) is not None for v in values)

    quantities = [n for n in names if numeric(n) and not _is_period(n, rows)][:CHART_MAX_SERIES]
    labels = [n for n in names if not numeric(n) or _is_period(n, rows)]
    if not quantities:
        return None
    categories = []
    for number, row in enumerate(rows, start=1):
        parts = [str(row.get(name)) for name in labels if row.get(name) not in (None, "")]
        categories.append(" · ".join(parts) or str(number))
    series = [{"name": name, "data": [_number(row.get(name)) for row in rows]} for name in quantities]
    return {"categories": categories, "series": series}


def _is_period(name: str, rows: list[dict[str, Any]]) -> bool:
    """A year column (年份, 年度, year) labels the bars; it is not a quantity to draw."""
    if not any(word in name.lower() for word in ("年份", "年度", "year")):
        return False
    values = [_number(row.get(name)) for row in rows if row.get(name) not in (None, "")]
    return bool(values) and all(isinstance(v, int) and 1900 <= v <= 2100 for v in values)


def _field_ids(distribution: Distribution) -> list[str]:
    return [f["id"] for f in distribution.fields]


def datastore_query(
    *,
    distribution: Distribution,
    filters: dict | None = None,
    q: str = "",
    limit: int = 100,
    offset: int = 0,
    fields: list[str] | None = None,
    sort: list[tuple[str, bool]] | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """(total, records) of a distribution's stored rows. ``filters`` match exact values (a list
    means any of), ``q`` is a substring of any value, ``sort`` is [(column or "_id", descending)].
    Unknown columns raise ``ValidationFailed`` naming them."""
    known = _field_ids(distribution)
    rows = DatastoreRow.objects.filter(distribution=distribution)
    for column, value in (filters or {}).items():
        if column not in known and column != "_id":
            raise ValidationFailed(fields={"filters": [_("未知字段:%(f)s") % {"f": column}]})
        lookup = "number" if column == "_id" else f"data__{column}"
        values = value if isinstance(value, list) else [value]
        condition = Q()
        for v in values:
            candidates = [v]
            if isinstance(v, str) and column != "_id":
                # CSV cells are text, XLSX/JSON may be numbers: "2025" also finds 2025.
                with contextlib.suppress(ValueError):
                    candidates.append(int(v))
            for candidate in candidates:
                if column != "_id" and connection.vendor == "postgresql":
                    # data @> {"column": value}: answered by the GIN index (migration 0002).
                    condition |= Q(data__contains={column: candidate})
                else:
                    condition |= Q(**{lookup: candidate})
        rows = rows.filter(condition)
    if q:
        text = Q()
        for column in known:
            text |= Q(**{f"data__{column}__icontains": q})
        rows = rows.filter(text)
    order = []
    for column, descending in sort or []:
        if column == "_id":
            expr = F("number")
        elif column in known:
            expr = F(f"data__{column}")
        else:
            raise ValidationFailed(fields={"sort": [_("未知字段:%(f)s") % {"f": column}]})
        order.append(expr.desc() if descending else expr.asc())
    order.append(F("number").asc())
    total = rows.count() if (filters or q) else distribution.row_count
    chosen = fields or known
    for column in chosen:
        if column not in known and column != "_id":
            raise ValidationFailed(fields={"fields": [_("未知字段:%(f)s") % {"f": column}]})
    if not filters and not q and not sort:
        # Rows are numbered 1..row_count with no gaps: plain paging is a range read on the
        # (distribution, number) index, as fast at offset 900,000 as at 0.
        page = rows.filter(number__gt=offset).order_by("number").values_list("number", "data")[:limit]
    else:
        page = rows.order_by(*order).values_list("number", "data")[offset : offset + limit]
    records = []
    for number, data in page:
        record = {"_id": number} if (not fields or "_id" in fields) else {}
        record.update({c: data.get(c) for c in chosen if c != "_id"})
        records.append(record)
    return total, records


def ranking(*, limit: int = 20) -> QuerySet[Dataset]:
    """The public ranking: most downloaded and called first (unused datasets are not ranked)."""
    used = datasets_listed().annotate(usage=F("download_count") + F("api_call_count")).filter(usage__gt=0)
    return used.order_by("-usage", "title")[:limit]


def comments_published(*, dataset: Dataset) -> QuerySet[Comment]:
    return Comment.objects.filter(dataset=dataset, status=Comment.Status.APPROVED).select_related("author")


def rating_of(*, dataset: Dataset) -> dict:
    return comments_published(dataset=dataset).aggregate(average=Avg("rating"), count=Count("pk"))


def applications_of(*, actor) -> QuerySet[AccessApplication]:
    if not getattr(actor, "is_authenticated", False):
        return AccessApplication.objects.none()
    return AccessApplication.objects.filter(applicant=actor).select_related("dataset")


def _publishable_departments(actor):
    from yiwang.identity.selectors import departments_for_actor
    from yiwang.opendata.services import PUBLISHER_ROLES

    condition = Q()
    for role in PUBLISHER_ROLES:
        condition |= Q(pk__in=departments_for_actor(actor=actor, role=role))
    return condition


def applications_to_decide(*, actor) -> QuerySet[AccessApplication]:
    """Pending and past applications for datasets of departments where the actor may publish."""
    if not getattr(actor, "is_authenticated", False):
        return AccessApplication.objects.none()
    rows = AccessApplication.objects.select_related("dataset", "applicant")
    if getattr(actor, "is_superuser", False):
        return rows
    from yiwang.identity.models import Department

    departments = Department.objects.filter(_publishable_departments(actor))
    return rows.filter(dataset__publisher__in=departments)


def application_get_for_decision(*, actor, id) -> AccessApplication:
    found = applications_to_decide(actor=actor).filter(pk=id).first()
    if found is None:
        raise NotFound()
    return found


def comments_to_moderate(*, actor) -> QuerySet[Comment]:
    if not getattr(actor, "is_authenticated", False):
        return Comment.objects.none()
    rows = Comment.objects.filter(status=Comment.Status.PENDING).select_related("dataset", "author")
    if getattr(actor, "is_superuser", False):
        return rows
    from yiwang.identity.models import Department

    return rows.filter(dataset__publisher__in=Department.objects.filter(_publishable_departments(actor)))


def comment_get_for_moderation(*, actor, id) -> Comment:
    found = comments_to_moderate(actor=actor).filter(pk=id).first()
    if found is None:
        raise NotFound()
    return found
