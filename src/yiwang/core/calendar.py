"""The working-day calendar (工作日历) used for every statutory and promised time limit.

A day is a working day unless it is a weekend or an official holiday, and a weekend
day can be a make-up working day (调休上班). Three layers decide, the later winning:

1. weekends (Saturday, Sunday) are days off;
2. the State Council's yearly notice as shipped in the ``chinesecalendar`` package
   (2004 up to the package's last year);
3. rows of the ``Holiday`` table (``yiwang calendar seed`` copies layer 2 into it with
   ``source=seed``; administrators add or change rows with ``source=admin``). A row
   with ``kind=holiday`` makes the day a day off, ``kind=workday`` a working day.

A year that neither ``chinesecalendar`` nor the table knows falls back to weekends
only and emits a :class:`CalendarDataMissingWarning` naming the year (and a log
warning, once per process): deadlines keep working, but an operator should enter that
year's holidays as soon as the notice is published (usually in November).

Counting convention (民法典第二百零一条: 开始的当日不计入,自下一日开始计算): the day
a period starts is never counted. ``add_working_days(start, n)`` is the n-th working
day *after* ``start``; ``working_days_between(start, end)`` counts working days ``d``
with ``start < d <= end``; so ``working_days_between(s, add_working_days(s, n)) == n``.
Because a deadline computed this way always lands on a working day, the rule that a
period ending on a holiday moves to the next working day (第二百零三条) holds by
construction.

Caching: the ``chinesecalendar`` part is immutable and cached per year for the life of
the process. ``Holiday`` rows are read fresh for each calendar object — one small
indexed query per year touched — so an edit made by any process is seen by the next
call in every other process. For a loop over many dates, take one snapshot with
:func:`working_calendar` and call its methods: no further queries after each year's
first touch.
"""

from __future__ import annotations

import datetime
import logging
import warnings
from dataclasses import dataclass
from functools import cache

from django.core import checks
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yiwang.core.audit import audit_record
from yiwang.core.errors import NotFound, ValidationFailed
from yiwang.core.models import Holiday

logger = logging.getLogger(__name__)

__all__ = [
    "CalendarDataMissingWarning",
    "DayInfo",
    "WorkingCalendar",
    "add_working_days",
    "day_info",
    "holiday_delete",
    "holiday_seed",
    "holiday_set",
    "holiday_years_missing",
    "is_working_day",
    "next_working_day",
    "package_years",
    "working_calendar",
    "working_days_between",
]

# Longest run of consecutive days off we accept before assuming the data is broken
# (the longest real one is 9 days, e.g. 春节 2026). Guards add_working_days from
# looping forever if an administrator marks a whole year as holidays.
_MAX_DAYS_OFF_IN_A_ROW = 366


class CalendarDataMissingWarning(UserWarning):
    """No holiday data for a year: weekends only are used."""


# ---------------------------------------------------------------------------
# Layer 2: chinesecalendar, immutable, cached per process
# ---------------------------------------------------------------------------


@cache
def _package_tables() -> tuple[dict[datetime.date, str], dict[datetime.date, str], range]:
    from chinese_calendar.constants import Holiday as PackageHoliday
    from chinese_calendar.constants import holidays, workdays

    chinese = {h.value: h.chinese for h in PackageHoliday}
    days_off = {d: chinese.get(name, name) for d, name in holidays.items()}
    make_up = {d: chinese.get(name, name) for d, name in workdays.items()}
    years = range(min(holidays).year, max(holidays).year + 1)
    return days_off, make_up, years


def package_years() -> range:
    """The years the installed ``chinesecalendar`` package covers."""
    return _package_tables()[2]


@cache
def _package_year(year: int) -> dict[datetime.date, tuple[str, str]] | None:
    """``date -> (kind, name)`` for one year from chinesecalendar, or None if not covered."""
    days_off, make_up, years = _package_tables()
    if year not in years:
        return None
    table = {d: (Holiday.Kind.HOLIDAY.value, name) for d, name in days_off.items() if d.year == year}
    table.update({d: (Holiday.Kind.WORKDAY.value, name) for d, name in make_up.items() if d.year == year})
    return table


_logged_missing_years: set[int] = set()


def _warn_missing(year: int) -> None:
    message = (
        f"No holiday data for {year}: neither chinesecalendar nor the Holiday table covers it; "
        f"using weekends only. Enter {year}'s official holidays in the admin (节假日与调休)."
    )
    warnings.warn(message, CalendarDataMissingWarning, stacklevel=4)
    if year not in _logged_missing_years:
        _logged_missing_years.add(year)
        logger.warning(message)


# ---------------------------------------------------------------------------
# Reading: a snapshot of layers 1–3
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DayInfo:
    date: datetime.date
    is_working: bool
    # "workday" (ordinary weekday), "weekend", "holiday" (official day off) or
    # "makeup_workday" (a weekend day that is worked, 调休上班).
    kind: str
    name: str  # e.g. "国庆节"; empty for ordinary days
    # "package" (chinesecalendar), "seed" / "admin" (Holiday table), "rule" (plain weekday or
    # weekend in a year we have data for) or "fallback" (no data for the year: weekends only).
    source: str


class WorkingCalendar:
    """A consistent view of the calendar; loads each year once, on first use.

    Not shared between requests: build one per request, task or batch.
    """

    def __init__(self) -> None:
        self._years: dict[int, tuple[dict[datetime.date, tuple[str, str, str]], bool]] = {}

    def _year(self, year: int) -> tuple[dict[datetime.date, tuple[str, str, str]], bool]:
        loaded = self._years.get(year)
        if loaded is None:
            package = _package_year(year)
            table = {d: (kind, name, "package") for d, (kind, name) in (package or {}).items()}
            rows = Holiday.objects.filter(
                date__gte=datetime.date(year, 1, 1), date__lte=datetime.date(year, 12, 31)
            ).values_list("date", "kind", "name", "source")
            has_rows = False
            for day, kind, name, source in rows:
                has_rows = True
                table[day] = (kind, name, source)
            known = package is not None or has_rows
            if not known:
                _warn_missing(year)
            loaded = self._years[year] = (table, known)
        return loaded

    def day_info(self, day: datetime.date) -> DayInfo:
        day = _as_date(day)
        table, known = self._year(day.year)
        weekend = day.weekday() >= 5
        entry = table.get(day)
        if entry is not None:
            kind, name, source = entry
            if kind == Holiday.Kind.HOLIDAY:
                return DayInfo(day, False, "holiday", name, source)
            return DayInfo(day, True, "makeup_workday" if weekend else "workday", name, source)
        source = "rule" if known else "fallback"
        if weekend:
            return DayInfo(day, False, "weekend", "", source)
        return DayInfo(day, True, "workday", "", source)

    def is_working_day(self, day: datetime.date) -> bool:
        return self.day_info(day).is_working

    def next_working_day(self, day: datetime.date) -> datetime.date:
        """The first working day strictly after ``day``."""
        return self.add_working_days(day, 1)

    def add_working_days(self, start: datetime.date, n: int) -> datetime.date:
        """The n-th working day after ``start`` (``start`` itself is not counted); n=0 gives ``start``."""
        start = _as_date(start)
        if n < 0:
            raise ValueError("n must be >= 0")
        day, counted, off_in_a_row = start, 0, 0
        one = datetime.timedelta(days=1)
        while counted < n:
            day += one
            if self.is_working_day(day):
                counted += 1
                off_in_a_row = 0
            else:
                off_in_a_row += 1
                if off_in_a_row > _MAX_DAYS_OFF_IN_A_ROW:
                    raise ValueError(f"no working day for a year after {day - off_in_a_row * one}; check holidays")
        return day

    def working_days_between(self, start: datetime.date, end: datetime.date) -> int:
        """Working days ``d`` with ``start < d <= end``; negative if ``end`` is before ``start``."""
        start, end = _as_date(start), _as_date(end)
        if end < start:
            return -self.working_days_between(end, start)
        one = datetime.timedelta(days=1)
        count, day = 0, start + one
        while day <= end:
            count += self.is_working_day(day)
            day += one
        return count


def _as_date(value) -> datetime.date:
    if isinstance(value, datetime.datetime):
        # Deadlines are calendar days in the platform's time zone, not UTC.
        from django.utils import timezone

        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if not isinstance(value, datetime.date):
        raise TypeError(f"expected a date, got {type(value).__name__}")
    return value


def working_calendar() -> WorkingCalendar:
    """A fresh snapshot for computing many dates at once."""
    return WorkingCalendar()


def day_info(day: datetime.date) -> DayInfo:
    return WorkingCalendar().day_info(day)


def is_working_day(day: datetime.date) -> bool:
    return WorkingCalendar().is_working_day(day)


def next_working_day(day: datetime.date) -> datetime.date:
    """The first working day strictly after ``day``."""
    return WorkingCalendar().next_working_day(day)


def add_working_days(start: datetime.date, n: int) -> datetime.date:
    """The n-th working day after ``start``; the start day is not counted (民法典第二百零一条)."""
    return WorkingCalendar().add_working_days(start, n)


def working_days_between(start: datetime.date, end: datetime.date) -> int:
    """Working days ``d`` with ``start < d <= end`` (negative when ``end < start``)."""
    return WorkingCalendar().working_days_between(start, end)


# ---------------------------------------------------------------------------
# Writing: audited services for the Holiday table
# ---------------------------------------------------------------------------


def _holiday_changes(before: Holiday | None, after: Holiday | None) -> dict:
    changes: dict = {}
    for field in ("date", "kind", "name", "source", "note"):
        old = getattr(before, field) if before else None
        new = getattr(after, field) if after else None
        if old != new:
            changes[field] = [None if old is None else str(old), None if new is None else str(new)]
    return changes


@transaction.atomic
def holiday_set(
    *, actor, date: datetime.date, kind: str, name: str = "", note: str = "", source: str = Holiday.Source.ADMIN
) -> Holiday:
    """Make ``date`` a day off (``kind="holiday"``) or a working day (``kind="workday"``).

    Creates or replaces the row for that date; an unchanged row is left alone and not
    audited. Every change is audited as ``holiday.set`` with before/after values.
    Takes effect for every process on its next calendar call.
    """
    if kind not in Holiday.Kind.values:
        raise ValidationFailed(
            _("类型只能是“法定节假日(休)”或“调休上班日”"), code="holiday_kind", fields={"kind": _("类型无效")}
        )
    if not isinstance(date, datetime.date) or isinstance(date, datetime.datetime):
        raise ValidationFailed(_("请填写有效的日期"), code="holiday_date", fields={"date": _("日期无效")})
    name, note = (name or "").strip(), (note or "").strip()
    if len(name) > 50 or len(note) > 200:
        raise ValidationFailed(
            _("名称最多50个字,备注最多200个字"), code="holiday_too_long", fields={"name": _("内容过长")}
        )
    before = Holiday.objects.select_for_update(no_key=True).filter(date=date).first()
    if before and (before.kind, before.name, before.note, before.source) == (kind, name, note, source):
        return before
    snapshot = (
        Holiday(date=before.date, kind=before.kind, name=before.name, source=before.source, note=before.note)
        if before
        else None
    )
    holiday = before or Holiday(date=date)
    holiday.kind, holiday.name, holiday.note, holiday.source = kind, name, note, source
    holiday.save()
    audit_record(
        actor=actor,
        action="holiday.set",
        obj=holiday,
        changes=_holiday_changes(snapshot, holiday),
    )
    return holiday


@transaction.atomic
def holiday_delete(*, actor, date: datetime.date) -> None:
    """Remove the row for ``date``: the day falls back to chinesecalendar or the weekend rule.

    Audited as ``holiday.delete``. Raises ``NotFound`` if there is no row.
    """
    holiday = Holiday.objects.select_for_update(no_key=True).filter(date=date).first()
    if holiday is None:
        raise NotFound(_("该日期没有节假日或调休记录"), code="holiday_not_found")
    object_id, object_repr = str(holiday.pk), str(holiday)
    changes = _holiday_changes(holiday, None)
    holiday.delete()
    audit_record(
        actor=actor,
        action="holiday.delete",
        object_type=Holiday._meta.label_lower,
        object_id=object_id,
        object_repr=object_repr,
        changes=changes,
    )


@dataclass(frozen=True)
class SeedResult:
    year: int
    created: int
    updated: int
    kept_admin: int  # dates an administrator already decided; never overwritten


@transaction.atomic
def holiday_seed(*, actor, years: list[int] | None = None) -> list[SeedResult]:
    """Copy chinesecalendar's holidays and make-up workdays into the table (``source=seed``).

    Idempotent. Rows entered by administrators (``source=admin``) are kept as they are.
    Years outside the package's range are skipped. One ``holiday.seed`` audit event
    per year that changed, with the counts.
    """
    covered = package_years()
    wanted = sorted(set(years) if years else set(covered))
    results = []
    for year in wanted:
        package = _package_year(year)
        if package is None:
            continue
        existing = {
            h.date: h
            for h in Holiday.objects.select_for_update(no_key=True).filter(
                date__gte=datetime.date(year, 1, 1), date__lte=datetime.date(year, 12, 31)
            )
        }
        created, updated, kept = [], 0, 0
        for day, (kind, name) in sorted(package.items()):
            row = existing.get(day)
            if row is None:
                created.append(Holiday(date=day, kind=kind, name=name, source=Holiday.Source.SEED))
            elif row.source == Holiday.Source.ADMIN:
                kept += 1
            elif (row.kind, row.name) != (kind, name):
                row.kind, row.name = kind, name
                row.save(update_fields=["kind", "name"])
                updated += 1
        Holiday.objects.bulk_create(created)
        result = SeedResult(year, len(created), updated, kept)
        results.append(result)
        if created or updated:
            audit_record(
                actor=actor,
                action="holiday.seed",
                object_type=Holiday._meta.label_lower,
                object_id=str(year),
                object_repr=f"{year}年节假日与调休",
                changes={"year": year, "created": len(created), "updated": updated, "kept_admin": kept},
            )
    return results


# ---------------------------------------------------------------------------
# The coming year's table: warn administrators before deadlines fall back to weekends only
# ---------------------------------------------------------------------------

# The State Council publishes next year's arrangement late in the year (for 2026: November
# 2025); from this month on, a missing next year is worth an administrator's attention.
NEXT_YEAR_EXPECTED_FROM_MONTH = 11


def holiday_year_known(year: int) -> bool:
    """Whether chinesecalendar or the Holiday table covers ``year`` (as the calendar decides)."""
    if _package_year(year) is not None:
        return True
    return Holiday.objects.filter(date__gte=datetime.date(year, 1, 1), date__lte=datetime.date(year, 12, 31)).exists()


def holiday_years_missing(today: datetime.date | None = None) -> list[int]:
    """This year, and from November the next, when no holiday table covers them."""
    today = today or timezone.localdate()
    years = [today.year]
    if today.month >= NEXT_YEAR_EXPECTED_FROM_MONTH:
        years.append(today.year + 1)
    return [year for year in years if not holiday_year_known(year)]


def holiday_missing_message(years: list[int]) -> str:
    return _(
        "%(years)s 年的法定节假日和调休安排尚未录入:这些年份的时限只按周末计算。"
        "请在国务院办公厅通知发布后,在管理后台「节假日与调休」中录入。"
    ) % {"years": "、".join(str(year) for year in years)}


@checks.register()
def check_holiday_tables(app_configs=None, **kwargs) -> list:
    """``yiwang check`` (and every command that runs the checks): the coming year's table."""
    try:
        missing = holiday_years_missing()
    except DatabaseError:  # not migrated yet: nothing to say about its rows
        return []
    if not missing:
        return []
    return [
        checks.Warning(
            f"No holiday table for {', '.join(map(str, missing))}: time limits in "
            f"{'that year' if len(missing) == 1 else 'those years'} count weekends only",
            hint="Enter the State Council's arrangement in the admin (节假日与调休) once it is "
            "published; the installed chinesecalendar covers "
            f"{package_years().start}–{package_years().stop - 1}.",
            id="yiwang.W002",
        )
    ]
