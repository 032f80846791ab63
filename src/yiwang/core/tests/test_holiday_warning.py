"""A missing holiday table for this or (from November) the coming year: a system check warning,
and a warning for those who keep the table, on the workbench home and the holiday admin."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from yiwang.core.calendar import check_holiday_tables, holiday_set, holiday_years_missing, package_years
from yiwang.identity.mfa import SESSION_VERIFIED
from yiwang.identity.models import Department, Role, User
from yiwang.identity.services import role_grant_create
from yiwang.identity.tests.auth_helpers import make_admin, make_staff

pytestmark = pytest.mark.django_db

# The first year the installed chinesecalendar does not cover (2027 with the release of late 2025).
UNCOVERED = package_years().stop


@pytest.fixture
def late_in_the_last_covered_year(monkeypatch):
    today = datetime.date(UNCOVERED - 1, 12, 2)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: today)
    return today


def test_the_coming_year_is_missing_from_november_on():
    assert holiday_years_missing(datetime.date(UNCOVERED - 1, 12, 2)) == [UNCOVERED]
    assert holiday_years_missing(datetime.date(UNCOVERED - 1, 11, 1)) == [UNCOVERED]
    assert holiday_years_missing(datetime.date(UNCOVERED - 1, 10, 31)) == []  # not expected yet
    assert holiday_years_missing(datetime.date(UNCOVERED, 3, 1)) == [UNCOVERED]  # overdue
    assert holiday_years_missing(datetime.date(UNCOVERED, 12, 1)) == [UNCOVERED, UNCOVERED + 1]


def test_one_entered_row_makes_the_year_known():
    holiday_set(actor=None, date=datetime.date(UNCOVERED, 1, 1), kind="holiday", name="元旦")
    assert holiday_years_missing(datetime.date(UNCOVERED - 1, 12, 2)) == []


def test_the_system_check_warns_until_the_year_is_entered(late_in_the_last_covered_year):
    (warning,) = check_holiday_tables()
    assert warning.id == "yiwang.W002" and str(UNCOVERED) in warning.msg and "weekends only" in warning.msg
    holiday_set(actor=None, date=datetime.date(UNCOVERED, 1, 1), kind="holiday", name="元旦")
    assert check_holiday_tables() == []


def _verified_login(client, user):
    client.force_login(user)
    session = client.session
    session[SESSION_VERIFIED] = True  # administrators pass MFA; that flow is identity's to test
    session.save()


def test_the_workbench_warns_those_who_keep_the_calendar(client, late_in_the_last_covered_year):
    city_admin = make_admin("cityadmin")
    root = User.objects.get(username="root")
    clerk = make_staff("clerk")
    role_grant_create(actor=root, user=clerk, role=Role.WINDOW_CLERK, department=Department.objects.get(code="city"))

    system_admin = make_staff("sysadmin")  # 三员分立: the system admin keeps the table in the admin
    role_grant_create(
        actor=root, user=system_admin, role=Role.SYSTEM_ADMIN, department=Department.objects.get(code="city")
    )
    notice = f"{UNCOVERED} 年的法定节假日和调休安排尚未录入"

    _verified_login(client, system_admin)
    html = client.get(reverse("workbench:home")).content.decode()
    assert notice in html and reverse("admin:core_holiday_changelist") in html
    admin_page = client.get(reverse("admin:core_holiday_changelist")).content.decode()
    assert notice in admin_page
    _verified_login(client, city_admin)  # warned, but the table is not theirs to open: no dead link
    html = client.get(reverse("workbench:home")).content.decode()
    assert notice in html and reverse("admin:core_holiday_changelist") not in html
    client.force_login(clerk)
    assert notice not in client.get(reverse("workbench:home")).content.decode()

    holiday_set(actor=root, date=datetime.date(UNCOVERED, 1, 1), kind="holiday", name="元旦")
    _verified_login(client, system_admin)
    assert notice not in client.get(reverse("workbench:home")).content.decode()
