"""好差评 and service-metric reads, scoped to the actor. A rating the actor may not see is
``NotFound`` exactly like a missing one.

Who sees what:
* the rater sees his own ratings (never the staff fields of the invalidation);
* reviewers, department heads, auditors and city admins see the ratings and rectifications
  of their departments (or below, with descendants), as in ``cases.selectors``;
* everybody sees the public figures by department (valid ratings only, no names).

The figures (``rating_stats``, ``service_metrics``) are the reusable reads for the
dashboards: plain dicts, one row per group, no personal data.
"""

import datetime
import math
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.cases import selectors as cases_selectors
from yiwang.catalog import selectors as catalog_selectors
from yiwang.core.calendar import working_calendar
from yiwang.core.errors import NotFound, ValidationFailed
from yiwang.evaluation.models import (
    BAD_LEVELS,
    GOOD_LEVELS,
    OPEN_RECTIFICATION_STATES,
    Rating,
    RatingValidity,
    Rectification,
    RectificationState,
)
from yiwang.identity.models import Department, Role
from yiwang.identity.selectors import actor_grants

STAFF_ROLES = (Role.REVIEWER, Role.DEPARTMENT_HEAD, Role.AUDITOR, Role.CITY_ADMIN)
GROUPS = ("item", "department", "window", "staff")


def _signed_in(actor) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and getattr(actor, "is_active", False)


def _department_scope(actor, prefix: str = "department") -> Q | None:
    """Q over ``<prefix>`` for the departments where the actor holds a staff role; None for a
    superuser (everything); an empty Q-match when he holds none."""
    if actor.is_superuser:
        return None
    scope = Q(pk__in=[])
    for grant in actor_grants(actor=actor):
        if grant.role not in STAFF_ROLES:
            continue
        if grant.include_descendants:
            scope |= Q(**{f"{prefix}__path__startswith": grant.department.path, f"{prefix}__is_active": True})
        else:
            scope |= Q(**{f"{prefix}_id": grant.department_id})
    return scope


def is_evaluation_staff(*, actor) -> bool:
    if not _signed_in(actor):
        return False
    return actor.is_superuser or any(g.role in STAFF_ROLES for g in actor_grants(actor=actor))


def ratings_visible(*, actor) -> QuerySet[Rating]:
    """Ratings of the actor's departments (staff)."""
    if not _signed_in(actor):
        return Rating.objects.none()
    scope = _department_scope(actor)
    ratings = Rating.objects.all() if scope is None else Rating.objects.filter(scope)
    return ratings.select_related("department", "window", "staff", "rectification")


def rating_list(*, actor, validity: str | None = None, bad_only: bool = False) -> QuerySet[Rating]:
    ratings = ratings_visible(actor=actor)
    if validity:
        ratings = ratings.filter(validity=validity)
    if bad_only:
        ratings = ratings.filter(rectification__isnull=False)
    return ratings.order_by("-rated_at", "-pk")


def rating_get(*, actor, rating_id) -> Rating:
    """A rating for staff of its department (or its rater); else ``NotFound``."""
    try:
        pk = int(rating_id)
    except (TypeError, ValueError):
        raise NotFound(_("未找到该评价。"), code="rating_not_found") from None
    if not _signed_in(actor):
        raise NotFound(_("未找到该评价。"), code="rating_not_found")
    rating = ratings_visible(actor=actor).filter(pk=pk).first()
    if rating is None:
        rating = Rating.objects.select_related("department").filter(pk=pk, rater=actor).first()
    if rating is None:
        raise NotFound(_("未找到该评价。"), code="rating_not_found")
    return rating


def rating_for_case(*, actor, case_id) -> tuple[dict, Rating | None]:
    """(the case's rating facts, the actor's rating of it or None). ``NotFound`` unless the
    actor is the case's applicant."""
    facts = cases_selectors.case_rating_facts(actor=actor, case_id=case_id)
    rating = Rating.objects.select_related("rectification").filter(case_id=facts["case_id"], rater=actor).first()
    return facts, rating


def rating_list_for_applicant(*, actor) -> QuerySet[Rating]:
    if not _signed_in(actor):
        return Rating.objects.none()
    return Rating.objects.filter(rater=actor).select_related("rectification").order_by("-rated_at", "-pk")


def rating_change_open(*, rating: Rating, now=None) -> bool:
    from django.conf import settings

    now = now or timezone.now()
    return (
        rating.changed_at is None
        and rating.validity == RatingValidity.VALID
        and now <= rating.rated_at + datetime.timedelta(days=int(settings.YIWANG_RATING_CHANGE_DAYS))
    )


def rating_rerate_open(*, rating: Rating) -> bool:
    rectification = getattr(rating, "rectification", None) if hasattr(rating, "rectification") else None
    return (
        rectification is not None and rectification.state == RectificationState.RECTIFIED and rating.rerated_at is None
    )


def rectification_list(*, actor, open_only: bool = False) -> QuerySet[Rectification]:
    if not _signed_in(actor):
        return Rectification.objects.none()
    scope = _department_scope(actor)
    rows = Rectification.objects.all() if scope is None else Rectification.objects.filter(scope)
    if open_only:
        rows = rows.filter(state__in=OPEN_RECTIFICATION_STATES)
    return rows.select_related("rating", "department").order_by("due_date", "pk")


# --- the figures --------------------------------------------------------------------------------


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _month_bounds(month: str | None) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    """ "2026-12" → [1 Dec, 1 Jan) in the platform's time zone; None/"" → no bounds."""
    if not month:
        return None, None
    try:
        year, number = (int(part) for part in month.split("-"))
        start = datetime.date(year, number, 1)
    except (ValueError, TypeError):
        message = _("月份格式为 YYYY-MM")
        raise ValidationFailed(message, code="invalid_month", fields={"month": [message]}) from None
    end = datetime.date(year + (number == 12), number % 12 + 1, 1)
    tz = timezone.get_current_timezone()
    return (
        datetime.datetime.combine(start, datetime.time.min, tzinfo=tz),
        datetime.datetime.combine(end, datetime.time.min, tzinfo=tz),
    )


def _group_key(group: str) -> tuple[str, str]:
    if group not in GROUPS:
        message = _("分组只能是 item、department、window 或 staff")
        raise ValidationFailed(message, code="invalid_group", fields={"group": [message]})
    return {
        "item": ("item_code", "item_name"),
        "department": ("department_id", "department__name"),
        "window": ("window_id", "window__name"),
        "staff": ("staff_id", "staff__real_name"),
    }[group]


def _stats_rows(ratings: QuerySet[Rating], group: str) -> list[dict]:
    key, label = _group_key(group)
    valid = ratings.exclude(validity=RatingValidity.INVALID)
    counted = valid.values(key, label).annotate(
        total=Count("pk"),
        good=Count("pk", filter=Q(level__in=GOOD_LEVELS)),
        bad=Count("pk", filter=Q(level__in=BAD_LEVELS)),
        rectifications=Count("rectification", filter=~Q(rectification__state=RectificationState.CLOSED_INVALID)),
        rectified=Count("rectification", filter=Q(rectification__state=RectificationState.RECTIFIED)),
        overdue=Count("rectification", filter=Q(rectification__was_overdue=True)),
    )
    rows = []
    for row in counted.order_by(key):
        name = row[label]
        if group == "window" and row[key] is None:
            name = _("网上申报(无窗口)")
        elif group == "staff" and row[key] is None:
            name = _("未记录")
        rows.append(
            {
                "key": row[key],
                "name": name or "",
                "total": row["total"],
                "good": row["good"],
                "bad": row["bad"],
                "good_rate": _ratio(row["good"], row["total"]),
                "rectifications": row["rectifications"],
                "rectified": row["rectified"],
                "rectification_rate": _ratio(row["rectified"], row["rectifications"]),
                "overdue": row["overdue"],
            }
        )
    return rows


def rating_stats(*, actor, group: str = "department", month: str | None = None) -> dict:
    """好评率 and 差评整改率 per item, department, window (intake hall) or staff, over the actor's
    departments, optionally for one month (by rating time). Invalid (malicious) ratings are left
    out; a rating whose invalidation is only requested still counts.

    ``{"group", "month", "rows": [{key, name, total, good, bad, good_rate, rectifications,
    rectified, rectification_rate, overdue}], "total": {...the same over every row}}``; rates
    are fractions (0..1) or None when there is nothing to divide.
    """
    since, until = _month_bounds(month)
    ratings = ratings_visible(actor=actor)
    if since is not None:
        ratings = ratings.filter(rated_at__gte=since, rated_at__lt=until)
    rows = _stats_rows(ratings, group)
    return {"group": group, "month": month or "", "rows": rows, "total": _sum_rows(rows)}


def _sum_rows(rows: list[dict]) -> dict:
    total = {name: sum(row[name] for row in rows) for name in ("total", "good", "bad", "rectifications", "rectified")}
    total["overdue"] = sum(row["overdue"] for row in rows)
    total["good_rate"] = _ratio(total["good"], total["total"])
    total["rectification_rate"] = _ratio(total["rectified"], total["rectifications"])
    return total


def public_department_stats(*, month: str | None = None) -> list[dict]:
    """The public figures (好差评公开): per department, valid ratings only, no names of people."""
    since, until = _month_bounds(month)
    ratings = Rating.objects.filter(department__is_active=True)
    if since is not None:
        ratings = ratings.filter(rated_at__gte=since, rated_at__lt=until)
    return _stats_rows(ratings, "department")


# --- service metrics computed from the cases ------------------------------------------------------

DECIDED = ("approved", "rejected", "delivered")


@dataclass
class _Acc:
    cases: int = 0
    concluded: int = 0
    immediate: int = 0
    online: int = 0
    online_end_to_end: int = 0
    visits_known: int = 0
    at_most_one_visit: int = 0
    zero_visits: int = 0
    visits_total: int = 0
    compression_sum: float = 0.0
    compression_n: int = 0
    handling: list = None
    materials_total: int = 0
    materials_held: int = 0
    materials_exempt: int = 0
    exempt_known: bool = False
    auto: int = 0
    auto_known: bool = False

    def __post_init__(self):
        self.handling = []


def window_visits(row: dict) -> int:
    """The window visits a case took, as far as the case records them: the walk-in submission,
    a supplement answered by staff (at a window), a decision collected at the window. Visits
    the platform does not see (a consultation before applying, fetching a paper form) are not
    counted: a lower bound (docs/evaluation.md)."""
    visits = 1 if row["channel"] == "window" else 0
    visits += 1 if row["supplement_by_staff"] else 0
    visits += 1 if row["delivery_method"] == "window" else 0
    return visits


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def metrics_scope_department_ids(*, actor) -> list[int] | None:
    """Departments whose metrics the actor may see (None: all, for a superuser)."""
    if not _signed_in(actor):
        return []
    if actor.is_superuser:
        return None
    q = Q(pk__in=[])
    for grant in actor_grants(actor=actor):
        if grant.role not in STAFF_ROLES:
            continue
        if grant.include_descendants:
            q |= Q(path__startswith=grant.department.path, is_active=True)
        else:
            q |= Q(pk=grant.department_id)
    return list(Department.objects.filter(q).values_list("pk", flat=True))


def service_metrics(*, actor, group: str = "department", month: str | None = None) -> dict:
    """The service figures the seeds name, per item or department (or ``month`` over the
    twelve months of a year: group ``month`` with ``month="2026"``), computed from the cases
    submitted in the period — never typed in:

    * ``immediate_rate`` 即办件比例: concluded cases decided (or refused) on the day submitted;
    * ``online_rate`` 网上申报率, ``online_end_to_end_rate`` 全程网办率: submitted online and
      never at a window (no window supplement, not collected at a window);
    * ``at_most_one_visit_rate`` 最多跑一次 / ``zero_visit_rate`` 零跑腿, ``avg_visits``: from
      ``window_visits`` (a lower bound, see there);
    * ``time_compression`` 承诺时限压缩比: 1 − promised/statutory limit of the item version,
      averaged over the cases (items with a statutory limit of 0 are left out);
    * ``avg_handling_days`` / ``p90_handling_days``: working days from submission to decision
      (or to refusal);
    * ``material_reduction`` 材料减免比例: materials the government holds (license or registry
      source; plus 免提交 snapshots where the cases app records them) over all listed materials;
    * ``auto_rate`` 秒批 share: None when the cases app does not record automatic decisions;
    * ``good_rate`` 好评率 from the ratings of those cases' departments in the same period.
    """
    if group not in ("item", "department", "month"):
        message = _("分组只能是 item、department 或 month")
        raise ValidationFailed(message, code="invalid_group", fields={"group": [message]})
    if group == "month":
        year = (month or str(timezone.localdate().year))[:4]
        if not year.isdigit():
            raise ValidationFailed(_("年份格式为 YYYY"), code="invalid_month", fields={"month": [_("年份格式为 YYYY")]})
        since, _end = _month_bounds(f"{year}-01")
        until, _end = _month_bounds(f"{int(year) + 1}-01")
    else:
        since, until = _month_bounds(month)
    department_ids = metrics_scope_department_ids(actor=actor)
    rows = cases_selectors.case_metric_rows(department_ids=department_ids, since=since, until=until)
    materials = {}
    for version_id in {row["item_version_id"] for row in rows}:
        listed = list(catalog_selectors.requirements_of_version(version_id=version_id).values_list("source", flat=True))
        materials[version_id] = (len(listed), sum(1 for source in listed if source != "applicant"))
    names = dict(Department.objects.filter(pk__in={row["department_id"] for row in rows}).values_list("pk", "name"))
    calendar = working_calendar()
    groups: dict = defaultdict(_Acc)
    labels: dict = {}
    for row in rows:
        if group == "item":
            key = row["item_code"]
            labels[key] = row["item_name"]
        elif group == "department":
            key = row["department_id"]
            labels[key] = names.get(key, "")
        else:
            key = timezone.localtime(row["submitted_at"]).strftime("%Y-%m")
            labels[key] = key
        acc = groups[key]
        acc.cases += 1
        decided_at = row["decided_at"]
        concluded = decided_at is not None or row["state"] == "refused"
        if concluded:
            acc.concluded += 1
            end = decided_at or row.get("refused_at")
            if end is not None:
                acc.handling.append(calendar.working_days_between(row["submitted_at"], end))
            if end is not None and timezone.localdate(end) == timezone.localdate(row["submitted_at"]):
                acc.immediate += 1
        visits = window_visits(row)
        acc.online += row["channel"] == "online"
        if concluded:
            acc.visits_known += 1
            acc.visits_total += visits
            acc.at_most_one_visit += visits <= 1
            acc.zero_visits += visits == 0
            acc.online_end_to_end += visits == 0
        statutory, promised = row["statutory_time_limit"], row["promised_time_limit"]
        if statutory:
            acc.compression_sum += max(0.0, 1 - promised / statutory)
            acc.compression_n += 1
        total, held = materials.get(row["item_version_id"], (0, 0))
        exempt = row.get("materials_exempt")
        if exempt is not None:
            acc.exempt_known = True
            held = max(held, min(total, exempt))
        acc.materials_total += total
        acc.materials_held += held
        if row.get("auto_decided") is not None:
            acc.auto_known = True
            acc.auto += bool(row["auto_decided"])
    good = _good_rates(actor=actor, group=group, since=since, until=until)
    out = []
    for key in sorted(groups, key=lambda k: (str(labels.get(k, "")), str(k))):
        acc = groups[key]
        out.append(
            {
                "key": key,
                "name": labels.get(key, ""),
                "cases": acc.cases,
                "concluded": acc.concluded,
                "immediate_rate": _ratio(acc.immediate, acc.concluded),
                "online_rate": _ratio(acc.online, acc.cases),
                "online_end_to_end_rate": _ratio(acc.online_end_to_end, acc.visits_known),
                "at_most_one_visit_rate": _ratio(acc.at_most_one_visit, acc.visits_known),
                "zero_visit_rate": _ratio(acc.zero_visits, acc.visits_known),
                "avg_visits": round(acc.visits_total / acc.visits_known, 2) if acc.visits_known else None,
                "time_compression": round(acc.compression_sum / acc.compression_n, 4) if acc.compression_n else None,
                "avg_handling_days": round(sum(acc.handling) / len(acc.handling), 2) if acc.handling else None,
                "p90_handling_days": _p90(acc.handling),
                "material_reduction": _ratio(acc.materials_held, acc.materials_total),
                "auto_rate": _ratio(acc.auto, acc.concluded) if acc.auto_known else None,
                "good_rate": good.get(key),
            }
        )
    return {
        "group": group,
        "month": month or "",
        "rows": out,
        "auto_recorded": any(a.auto_known for a in groups.values()),
    }


def _good_rates(*, actor, group: str, since, until) -> dict:
    ratings = ratings_visible(actor=actor).exclude(validity=RatingValidity.INVALID)
    if since is not None:
        ratings = ratings.filter(rated_at__gte=since, rated_at__lt=until)
    if group == "month":
        result = defaultdict(lambda: [0, 0])
        for rated_at, level in ratings.values_list("rated_at", "level"):
            entry = result[timezone.localtime(rated_at).strftime("%Y-%m")]
            entry[0] += level in GOOD_LEVELS
            entry[1] += 1
        return {key: _ratio(good, total) for key, (good, total) in result.items()}
    key = "item_code" if group == "item" else "department_id"
    counted = ratings.values(key).annotate(total=Count("pk"), good=Count("pk", filter=Q(level__in=GOOD_LEVELS)))
    return {row[key]: _ratio(row["good"], row["total"]) for row in counted}


# --- Figures for the dashboards' rollups (analytics) --------------------------------------------


def rating_daily_figures(*, since, until) -> list[dict]:
    """Valid ratings (好差评) per department and local rating day in ``[since, until)``: one
    grouped query for the analytics rollup. Keys: ``department_id, region_code, day, rated, good``."""
    from django.db.models.functions import TruncDate

    rows = (
        Rating.objects.filter(rated_at__gte=since, rated_at__lt=until)
        .exclude(validity=RatingValidity.INVALID)
        .annotate(day=TruncDate("rated_at"))
        .values("department_id", "department__region_code", "day")
        .annotate(rated=Count("id"), good=Count("id", filter=Q(level__in=GOOD_LEVELS)))
        .order_by()
    )
    return [
        {
            "department_id": row["department_id"],
            "region_code": row["department__region_code"] or "",
            "day": row["day"],
            "rated": row["rated"],
            "good": row["good"],
        }
        for row in rows
    ]
