"""The key tasks' lights panel (from the oversight app's ``panels`` module), who is on duty now
(政务值班, phones masked) and the scope picker that searches departments instead of listing
hundreds of them — one world per test."""

import datetime

from django.utils import timezone

from yiwang.analytics import selectors, services, views
from yiwang.analytics.tests.test_views import _sign_in
from yiwang.identity.models import Department, Role
from yiwang.identity.services import department_create


def _task(world, department, due_in, title="推进重点项目"):
    """A task due in 90 days whose one milestone is due in ``due_in`` days (past: red)."""
    from yiwang.oversight import services as oversight

    today = timezone.localdate()
    return oversight.key_task_create(
        actor=world.cases.tree.root,  # the superuser acts as the 督查室
        title=title,
        source_kind="project",
        lead_department=department,
        deadline=today + datetime.timedelta(days=90),
        milestones=[oversight.MilestoneSpec("节点", today + datetime.timedelta(days=due_in), [])],
    )


def test_key_task_lights_are_rolled_up_per_lead_department(world, client):
    tree = world.cases.tree
    _task(world, tree.city_market, 60)
    _task(world, tree.city_market, -3)  # overdue: red
    _task(world, tree.huqiu_market, 1)  # within the yellow horizon
    services.indicator_rollup()
    panel = selectors.panel_get(code="oversight_lights")
    assert panel.drill[0] == "oversight:list" and panel.chart == "pie"

    def lights(key):
        data = selectors.panel_data(scope=selectors.scope_resolve(actor=world.operator, key=key), panel=panel)
        return dict(zip(data["dimensions"], data["series"][0]["data"], strict=True))

    assert lights("city") == {"green": 1, "red": 1, "yellow": 1}
    assert lights("department:SZ-SJJ") == {"green": 1, "red": 1}
    assert lights("district:320505") == {"yellow": 1}  # the district's own department leads it
    _sign_in(client, world.head)
    data = client.get("/api/v1/analytics/panels/oversight_lights").json()
    assert data["scope"]["key"] == "department:SZ-SJJ" and sorted(data["dimensions"]) == ["green", "red"]
    assert "绿灯(正常推进)" in data["categories"]
    page = client.get("/workbench/dashboards/").content.decode()
    assert 'data-panel="oversight_lights"' in page and "/workbench/oversight/" in page


def test_on_duty_now_is_scoped_and_the_phone_masked(world, client):
    from yiwang.documents import services as documents

    tree = world.cases.tree
    tree.grant(world.reviewer, Role.REVIEWER, tree.huqiu_market)  # on duty where he works
    now = timezone.now()
    for department, person, phone in (
        (tree.city_market, world.head, "13812345678"),
        (tree.huqiu_market, world.reviewer, "13900001111"),
    ):
        documents.shift_create(
            actor="system",
            department=department,
            person=person,
            starts_at=now - datetime.timedelta(hours=1),
            ends_at=now + datetime.timedelta(hours=8),
            phone=phone,
        )
    city = selectors.duty_contacts(scope=selectors.scope_resolve(actor=world.operator, key="city"))
    assert {row["phone"] for row in city} == {"138****5678", "139****1111"}
    district = selectors.duty_contacts(scope=selectors.scope_resolve(actor=world.operator, key="district:320505"))
    assert [row["department"] for row in district] == ["虎丘区市场监督管理局"]
    _sign_in(client, world.head)
    fragment = client.get("/workbench/dashboards/duty/").content.decode()
    assert "138****5678" in fragment and "13812345678" not in fragment and "139****1111" not in fragment
    assert client.get("/workbench/dashboards/duty/?scope=city").status_code == 404
    page = client.get("/workbench/dashboards/").content.decode()
    assert 'data-duty="/workbench/dashboards/duty/?scope=department%3ASZ-SJJ"' in page
    _sign_in(client, world.reviewer)
    assert client.get("/workbench/dashboards/duty/").status_code == 404


def test_many_departments_are_searched_not_listed(world, client, settings):
    tree = world.cases.tree
    for n in range(views.SCOPE_SELECT_MAX + 5):
        department_create(
            actor=tree.root,
            name=f"苏州市第{n:03d}委办局",
            code=f"SZ-X{n:03d}",
            level=Department.Level.CITY,
            kind=Department.Kind.AGENCY,
            region_code="320500",
            parent=tree.city,
        )
    _sign_in(client, world.operator)
    page = client.get("/workbench/dashboards/?scope=city").content.decode()
    assert "苏州市第007委办局" not in page  # not in the picker
    assert 'value="district:320505"' in page and 'id="id_scope_q"' in page
    found = client.get("/workbench/dashboards/scopes/?q=第007", HTTP_HX_REQUEST="true").content.decode()
    assert "苏州市第007委办局" in found and "scope=department%3ASZ-X007" in found and "<html" not in found
    plain = client.get("/workbench/dashboards/scopes/?q=sz-x01").content.decode()  # by code, without htmx
    assert "<html" in plain and "苏州市第010委办局" in plain
    # The department chosen stays selectable on its own page.
    shown = client.get("/workbench/dashboards/?scope=department:SZ-X007").content.decode()
    assert 'value="department:SZ-X007" selected' in shown
    # A department's head has one scope: a plain select, no search; others get 404.
    _sign_in(client, world.head)
    assert 'id="id_scope_q"' not in client.get("/workbench/dashboards/").content.decode()
    assert "苏州市第007委办局" not in client.get("/workbench/dashboards/scopes/?q=第007").content.decode()
    _sign_in(client, world.reviewer)
    assert client.get("/workbench/dashboards/scopes/?q=第").status_code == 404
