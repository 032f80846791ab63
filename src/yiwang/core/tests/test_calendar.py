"""The working-day calendar: real official holidays, administrators' overrides, audit."""

import datetime
import warnings

import pytest
from django.core.management import call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from yiwang.core.calendar import (
    CalendarDataMissingWarning,
    add_working_days,
    day_info,
    holiday_delete,
    holiday_seed,
    holiday_set,
    is_working_day,
    next_working_day,
    working_calendar,
    working_days_between,
)
from yiwang.core.errors import NotFound, ValidationFailed
from yiwang.core.models import AuditEvent, Holiday

D = datetime.date
pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser(username="calendar-admin", password="a-long-password-1")


# --- real official holidays ---------------------------------------------------


def test_national_day_2025_is_off_and_make_up_weekends_are_worked():
    for day in range(1, 9):
        assert not is_working_day(D(2025, 10, day)), f"2025-10-{day:02d} should be a day off"
    assert is_working_day(D(2025, 9, 28))  # Sunday, 调休上班
    assert is_working_day(D(2025, 10, 11))  # Saturday, 调休上班
    assert is_working_day(D(2025, 10, 9))
    assert not is_working_day(D(2025, 10, 12))  # an ordinary Sunday
    assert day_info(D(2025, 10, 3)).name == "国庆节"
    assert day_info(D(2025, 10, 11)).kind == "makeup_workday"


def test_deadline_across_national_day_2025():
    # Accepted on Tue 30 Sep with a 5-working-day limit: the clock skips 1–8 Oct and
    # counts the make-up Saturday 11 Oct: 9, 10, 11, 13, 14.
    assert add_working_days(D(2025, 9, 30), 5) == D(2025, 10, 14)
    assert next_working_day(D(2025, 9, 30)) == D(2025, 10, 9)
    assert working_days_between(D(2025, 9, 30), D(2025, 10, 14)) == 5
    assert working_days_between(D(2025, 10, 14), D(2025, 9, 30)) == -5


def test_spring_festival_2026():
    for day in range(15, 24):
        assert not is_working_day(D(2026, 2, day)), f"2026-02-{day} should be a day off"
    assert is_working_day(D(2026, 2, 14))  # Saturday, 调休上班
    assert is_working_day(D(2026, 2, 28))  # Saturday, 调休上班
    assert next_working_day(D(2026, 2, 13)) == D(2026, 2, 14)
    assert next_working_day(D(2026, 2, 14)) == D(2026, 2, 24)
    # 20 working days from the Friday before the holiday: 14 Feb, 24–28 Feb (5, the
    # Saturday included), 2–6, 9–13 and 16–19 Mar.
    assert add_working_days(D(2026, 2, 13), 20) == D(2026, 3, 19)


def test_start_day_is_not_counted_and_zero_days_is_the_start():
    assert add_working_days(D(2025, 10, 13), 1) == D(2025, 10, 14)
    assert add_working_days(D(2025, 10, 4), 0) == D(2025, 10, 4)
    assert working_days_between(D(2025, 10, 13), D(2025, 10, 13)) == 0
    with pytest.raises(ValueError):
        add_working_days(D(2025, 10, 13), -1)


def test_aware_datetimes_use_the_local_date():
    # 17:00 UTC on 30 Sep is 01:00 on 1 Oct in Beijing: a holiday.
    moment = datetime.datetime(2025, 9, 30, 17, 0, tzinfo=datetime.UTC)
    assert not is_working_day(moment)


# --- far-future years ---------------------------------------------------------


def test_year_without_data_warns_and_falls_back_to_weekends():
    with pytest.warns(CalendarDataMissingWarning, match="2099"):
        assert is_working_day(D(2099, 10, 1))  # a Thursday; no notice for 2099 exists
    with pytest.warns(CalendarDataMissingWarning, match="2099"):
        assert not is_working_day(D(2099, 10, 3))  # Saturday
    with pytest.warns(CalendarDataMissingWarning, match="2099"):
        assert add_working_days(D(2099, 10, 2), 1) == D(2099, 10, 5)


def test_deadline_running_into_an_unknown_year_still_works():
    with pytest.warns(CalendarDataMissingWarning, match="2027"):
        # 31 Dec 2026 is a Thursday; 1 Jan 2027 falls back to being a working day.
        assert add_working_days(D(2026, 12, 31), 1) == D(2027, 1, 1)


def test_entering_a_year_in_the_table_silences_the_warning(admin_user):
    holiday_set(actor=admin_user, date=D(2027, 1, 1), kind="holiday", name="元旦")
    with warnings.catch_warnings():
        warnings.simplefilter("error", CalendarDataMissingWarning)
        assert not is_working_day(D(2027, 1, 1))
        assert is_working_day(D(2027, 1, 4))


# --- administrators' overrides ------------------------------------------------


def test_override_changes_the_answer_and_is_audited(admin_user):
    assert add_working_days(D(2025, 9, 30), 1) == D(2025, 10, 9)
    holiday_set(actor=admin_user, date=D(2025, 10, 8), kind="workday", name="国庆节", note="本地调整")
    assert is_working_day(D(2025, 10, 8))
    assert add_working_days(D(2025, 9, 30), 1) == D(2025, 10, 8)
    assert day_info(D(2025, 10, 8)).source == "admin"

    event = AuditEvent.objects.get(action="holiday.set")
    assert event.actor_id == admin_user.pk
    assert event.changes["kind"] == [None, "workday"]
    assert event.changes["date"] == [None, "2025-10-08"]

    holiday_delete(actor=admin_user, date=D(2025, 10, 8))
    assert not is_working_day(D(2025, 10, 8))  # back to the State Council notice
    assert AuditEvent.objects.filter(action="holiday.delete").count() == 1


def test_override_can_add_a_local_day_off(admin_user):
    assert add_working_days(D(2025, 11, 3), 2) == D(2025, 11, 5)
    holiday_set(actor=admin_user, date=D(2025, 11, 4), kind="holiday", name="台风停工")
    assert add_working_days(D(2025, 11, 3), 2) == D(2025, 11, 6)
    assert working_days_between(D(2025, 11, 3), D(2025, 11, 6)) == 2


def test_unchanged_save_is_not_audited_again(admin_user):
    holiday_set(actor=admin_user, date=D(2025, 11, 4), kind="holiday", name="台风停工")
    holiday_set(actor=admin_user, date=D(2025, 11, 4), kind="holiday", name="台风停工")
    holiday_set(actor=admin_user, date=D(2025, 11, 4), kind="holiday", name="台风停工(延长)")
    events = AuditEvent.objects.filter(action="holiday.set").order_by("sequence")
    assert [e.changes.get("name") for e in events] == [[None, "台风停工"], ["台风停工", "台风停工(延长)"]]


def test_a_change_made_elsewhere_is_seen_by_the_next_call():
    # Another process writes the row; this process must not answer from a stale cache.
    assert is_working_day(D(2025, 11, 4))
    Holiday.objects.create(date=D(2025, 11, 4), kind="holiday", name="停工", source="admin")
    assert not is_working_day(D(2025, 11, 4))
    Holiday.objects.filter(date=D(2025, 11, 4)).update(kind="workday")
    assert is_working_day(D(2025, 11, 4))


def test_bad_input_gets_a_chinese_message(admin_user):
    with pytest.raises(ValidationFailed) as info:
        holiday_set(actor=admin_user, date=D(2025, 11, 4), kind="rest")
    assert "类型" in str(info.value.message)
    with pytest.raises(NotFound):
        holiday_delete(actor=admin_user, date=D(2025, 11, 4))


# --- seeding --------------------------------------------------------------------


def test_seed_copies_the_notice_keeps_admin_rows_and_is_idempotent(admin_user):
    holiday_set(actor=admin_user, date=D(2025, 10, 8), kind="workday", name="本地")
    year_2025 = [D(2025, 1, 1) + datetime.timedelta(days=i) for i in range(365)]
    calendar = working_calendar()
    before = [calendar.is_working_day(day) for day in year_2025]

    (result,) = holiday_seed(actor="test", years=[2025])
    assert (result.created, result.updated, result.kept_admin) == (32, 0, 1)
    assert Holiday.objects.get(date=D(2025, 10, 1)).source == "seed"
    assert Holiday.objects.get(date=D(2025, 10, 8)).kind == "workday"  # the administrator's decision stands
    calendar = working_calendar()
    after = [calendar.is_working_day(day) for day in year_2025]
    assert after == before

    (again,) = holiday_seed(actor="test", years=[2025])
    assert (again.created, again.updated) == (0, 0)
    assert AuditEvent.objects.filter(action="holiday.seed").count() == 1


def test_seed_command(capsys):
    call_command("calendar", "seed", "--years", "2026")
    assert "2026: 39 created" in capsys.readouterr().out
    assert Holiday.objects.filter(date__year=2026, kind="workday").count() == 6


# --- admin ----------------------------------------------------------------------


def test_admin_saves_and_deletes_go_through_the_audited_service(client, admin_user):
    from yiwang.identity import mfa
    from yiwang.identity.tests.auth_helpers import grant_admin_role

    client.force_login(grant_admin_role(admin_user))  # 三员分立: the system admin's area
    session = client.session
    session[mfa.SESSION_VERIFIED] = True  # this session has passed TOTP (tested in identity)
    session.save()
    response = client.post(
        "/admin/core/holiday/add/",
        {"date": "2025-11-04", "kind": "holiday", "name": "台风停工", "note": "市政府通知"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    holiday = Holiday.objects.get(date=D(2025, 11, 4))
    assert holiday.source == "admin"
    assert not is_working_day(D(2025, 11, 4))
    assert AuditEvent.objects.filter(action="holiday.set", actor_id=admin_user.pk).count() == 1

    listing = client.get("/admin/core/holiday/", {"year": "2025", "q": "台风"})
    assert "台风停工" in listing.content.decode()
    assert "台风停工" not in client.get("/admin/core/holiday/", {"year": "2024"}).content.decode()

    response = client.post(f"/admin/core/holiday/{holiday.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert is_working_day(D(2025, 11, 4))
    assert AuditEvent.objects.filter(action="holiday.delete", actor_id=admin_user.pk).count() == 1


# --- speed and properties -----------------------------------------------------


def test_snapshot_reads_each_year_once(django_assert_num_queries):
    calendar = working_calendar()
    with django_assert_num_queries(2):
        assert calendar.working_days_between(D(2025, 1, 1), D(2026, 12, 31)) == 248 + 248


@settings(max_examples=60, deadline=None)
@given(
    st.dates(min_value=D(2004, 1, 1), max_value=D(2026, 9, 1)),
    st.integers(min_value=0, max_value=40),
    st.integers(min_value=0, max_value=40),
)
def test_adding_then_counting_round_trips(start, a, b):
    calendar = working_calendar()
    end = calendar.add_working_days(start, a)
    assert calendar.working_days_between(start, end) == a
    if a:
        assert calendar.is_working_day(end)
        assert calendar.working_days_between(start, end - datetime.timedelta(days=1)) == a - 1
    assert calendar.add_working_days(end, b) == calendar.add_working_days(start, a + b)
