"""``yiwang calendar``: seed and inspect the working-day calendar.

yiwang calendar seed [--years 2025 2026]   copy chinesecalendar into the Holiday table
yiwang calendar show 2026                  list the year's days off and make-up workdays
yiwang calendar add 2025-09-30 5           the 5th working day after 30 Sep 2025
"""

import datetime
import warnings

from django.core.management.base import BaseCommand, CommandError

from yiwang.core.calendar import (
    CalendarDataMissingWarning,
    holiday_seed,
    package_years,
    working_calendar,
)


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"not a date (YYYY-MM-DD): {value}") from None


class Command(BaseCommand):
    help = "Seed and inspect the working-day calendar (holidays and make-up workdays)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        seed = sub.add_parser("seed", help="copy chinesecalendar's holidays into the Holiday table (source=seed)")
        seed.add_argument("--years", type=int, nargs="+", help="years to seed (default: every year the package has)")
        show = sub.add_parser("show", help="list a year's days off and make-up workdays")
        show.add_argument("year", type=int)
        add = sub.add_parser("add", help="the n-th working day after a date (the date itself is not counted)")
        add.add_argument("start", type=_date)
        add.add_argument("n", type=int)

    def handle(self, *args, action, **options):
        getattr(self, f"handle_{action}")(**options)

    def handle_seed(self, *, years=None, **options):
        covered = package_years()
        outside = sorted(y for y in years or [] if y not in covered)
        if outside:
            self.stderr.write(
                f"chinesecalendar has no data for {', '.join(map(str, outside))} "
                f"(covers {covered.start}–{covered.stop - 1}); enter those years in the admin."
            )
        for result in holiday_seed(actor="command:calendar_seed", years=years):
            self.stdout.write(
                f"{result.year}: {result.created} created, {result.updated} updated, "
                f"{result.kept_admin} kept (administrator's rows)"
            )

    def handle_show(self, *, year, **options):
        calendar = working_calendar()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CalendarDataMissingWarning)
            day = datetime.date(year, 1, 1)
            working = 0
            while day.year == year:
                info = calendar.day_info(day)
                working += info.is_working
                if info.kind in ("holiday", "makeup_workday"):
                    label = "休" if info.kind == "holiday" else "班"
                    self.stdout.write(
                        f"{day.isoformat()} {'一二三四五六日'[day.weekday()]} {label} {info.name} [{info.source}]"
                    )
                day += datetime.timedelta(days=1)
        for warning in caught:
            self.stderr.write(str(warning.message))
        self.stdout.write(f"{year}: {working} working days")

    def handle_add(self, *, start, n, **options):
        if n < 0:
            raise CommandError("n must be >= 0")
        self.stdout.write(working_calendar().add_working_days(start, n).isoformat())
