"""The rollup: figures of the real apps land in small tables, per department, district and
city, per day and month; running it again replaces rather than adds."""

import datetime

from django.utils import timezone

from yiwang.analytics import registry, selectors, services
from yiwang.analytics.models import IndicatorValue
from yiwang.analytics.tests.factories import phone_ticket, submit_case


def _value(indicator, kind, code, period="day", dimension="", start=None):
    rows = IndicatorValue.objects.filter(
        indicator=indicator, scope_kind=kind, scope_code=code, period=period, dimension=dimension
    )
    if start is not None:
        rows = rows.filter(period_start=start)
    return sum(rows.values_list("numerator", flat=True))


def test_cases_and_tickets_roll_up_to_department_district_and_city(world):
    submit_case(world, "k1")
    submit_case(world, "k2")
    phone_ticket(world)  # 虎丘区 (320505) by its grid region
    today = timezone.localdate()
    result = services.indicator_rollup(today=today)
    assert result["day_rows"] > 0 and result["month_rows"] > 0
    assert _value("cases.submitted", "city", "320500", start=today) == 2
    assert _value("cases.submitted", "department", "SZ-SJJ", start=today) == 2
    assert _value("cases.submitted", "department", "SZ-GAJ", start=today) == 0
    assert _value("cases.submitted", "city", "320500", "month", start=today.replace(day=1)) == 2
    assert _value("cases.state", "city", "320500", dimension="submitted", start=today) == 2
    assert _value("hotline.received", "city", "320500", start=today) == 1
    assert _value("hotline.received", "district", "320505", start=today) == 1
    assert _value("hotline.received", "district", "320506", start=today) == 0

    # Idempotent: the window's rows are replaced, not added to.
    services.indicator_rollup(today=today)
    assert _value("cases.submitted", "city", "320500", start=today) == 2
    assert _value("cases.submitted", "city", "320500", "month", start=today.replace(day=1)) == 2


def test_panel_reads_rollup_rows_in_one_query(world, django_assert_num_queries):
    submit_case(world, "k1")
    services.indicator_rollup()
    city = selectors.city_structure()
    scope = selectors.Scope("city", city.code, city.name)
    with django_assert_num_queries(1):
        data = selectors.panel_data(scope=scope, panel=registry.panel("cases_volume"))
    assert data["series"][0]["data"][-1] == 1  # one case submitted today
    assert len(data["categories"]) == 30
    states = selectors.panel_data(scope=scope, panel=registry.panel("cases_states"))
    assert states["dimensions"] == ["submitted"]
    assert states["categories"] == ["已提交"]


def test_rates_are_numerator_over_denominator_summed(world):
    today = timezone.localdate()
    IndicatorValue.objects.bulk_create(
        [
            IndicatorValue(
                indicator="hotline.satisfaction_rate",
                scope_kind="city",
                scope_code="320500",
                period="month",
                period_start=today.replace(day=1),
                numerator=n,
                denominator=d,
                value=n / d,
            )
            for n, d in ((3, 4),)
        ]
    )
    ind = registry.indicator("hotline.satisfaction_rate")
    value, _start = selectors.current_value(indicator=ind, scope_kind="city", scope_code="320500", today=today)
    assert value == 0.75


def test_backfill_window_and_bad_window(world):
    import pytest

    from yiwang.core.errors import ValidationFailed

    today = timezone.localdate()
    with pytest.raises(ValidationFailed) as exc:
        services.indicator_rollup(since=today, until=today)
    assert "since" in exc.value.fields
    submit_case(world, "k1")
    services.indicator_rollup(since=today - datetime.timedelta(days=40), today=today)
    months = set(IndicatorValue.objects.filter(period="month").values_list("period_start", flat=True))
    assert today.replace(day=1) in months


def test_registry_has_the_installed_apps_panels():
    codes = [panel.code for panel in registry.panels()]
    for code in ("cases_volume", "cases_sla", "licenses", "evaluation", "hotline_volume", "credit_grades"):
        assert code in codes
    assert set(registry.collectors()) >= {"cases", "hotline", "licenses", "evaluation", "supervision", "exchange"}
