"""The workbench home: staff see their roles and departments; nobody else sees a workbench."""

import datetime

import pytest
from django.urls import reverse

from yiwang.core.codes import make_id_number
from yiwang.identity.mfa import SESSION_VERIFIED
from yiwang.identity.models import Department, Role, User
from yiwang.identity.services import department_create, role_grant_create, user_create

pytestmark = pytest.mark.django_db

PASSWORD = "Qiang-Mima-2026"
L, K = Department.Level, Department.Kind


@pytest.fixture
def city():
    """A superuser builds a small tree: a city government, one agency, one county."""
    root = user_create(actor=None, username="root", password=PASSWORD, kind=User.Kind.STAFF, is_staff=True)
    root.is_superuser = True
    root.save(update_fields=["is_superuser"])
    gov = department_create(
        actor=root, name="苏州市人民政府", code="SZ", level=L.CITY, kind=K.GOVERNMENT, region_code="320500"
    )
    market = department_create(
        actor=root,
        name="苏州市市场监督管理局",
        code="SZ-SJJ",
        level=L.CITY,
        kind=K.AGENCY,
        region_code="320500",
        parent=gov,
    )
    county = department_create(
        actor=root,
        name="虎丘区人民政府",
        code="HQ",
        level=L.COUNTY,
        kind=K.GOVERNMENT,
        region_code="320505",
        parent=gov,
    )
    return root, gov, market, county


def test_staff_see_their_roles_and_departments(client, city):
    root, _gov, market, county = city
    clerk = user_create(actor=None, username="clerk", password=PASSWORD, kind=User.Kind.STAFF, real_name="李窗口")
    role_grant_create(actor=root, user=clerk, role=Role.WINDOW_CLERK, department=market)
    role_grant_create(actor=root, user=clerk, role=Role.REVIEWER, department=county, include_descendants=True)
    client.force_login(clerk)
    response = client.get(reverse("workbench:home"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "窗口受理人员" in html and "审核人员" in html
    assert "苏州市市场监督管理局" in html and "虎丘区人民政府" in html
    assert "含下级部门" in html
    assert 'href="/workbench/licenses/"' in html  # licenses of their departments
    assert 'href="/workbench/catalog/"' not in html  # not an admin
    assert "苏州市人民政府</strong>" not in html  # not granted there


def test_department_admins_find_the_catalog_tools(client, city):
    root, _gov, market, _county = city
    admin = user_create(actor=None, username="deptadmin", password=PASSWORD, kind=User.Kind.STAFF)
    role_grant_create(actor=root, user=admin, role=Role.DEPARTMENT_ADMIN, department=market)
    client.force_login(admin)
    session = client.session
    session[SESSION_VERIFIED] = True  # admins must pass MFA; that flow is tested by identity
    session.save()
    html = client.get(reverse("workbench:home")).content.decode()
    assert 'href="/workbench/catalog/"' in html
    clerk = user_create(actor=None, username="clerk2", password=PASSWORD, kind=User.Kind.STAFF)
    role_grant_create(actor=root, user=clerk, role=Role.WINDOW_CLERK, department=market)
    client.force_login(clerk)
    assert 'href="/workbench/catalog/"' not in client.get(reverse("workbench:home")).content.decode()


def test_staff_without_grants_are_told_whom_to_ask(client, city):
    newcomer = user_create(actor=None, username="newcomer", password=PASSWORD, kind=User.Kind.STAFF)
    client.force_login(newcomer)
    assert "请联系本部门管理员授权" in client.get(reverse("workbench:home")).content.decode()


def test_citizens_find_no_workbench(client):
    citizen = user_create(
        actor=None,
        username="citizen",
        password=PASSWORD,
        kind=User.Kind.CITIZEN,
        id_number=make_id_number("320505", datetime.date(1980, 1, 2), 11),
    )
    client.force_login(citizen)
    assert client.get(reverse("workbench:home")).status_code == 404
    assert "工作台" not in client.get("/").content.decode()  # not offered in the navigation either


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("workbench:home"))
    assert response.status_code == 302
