"""Scopes, pages, the JSON endpoints, the Excel export and 三色预警 — one world per test."""

import io

import pytest
from openpyxl import load_workbook

from yiwang.analytics import selectors, services
from yiwang.analytics.models import Alert, Threshold
from yiwang.analytics.tests.factories import phone_ticket, submit_case
from yiwang.core.errors import NotFound, ValidationFailed
from yiwang.identity import mfa
from yiwang.messaging.models import Message


def _sign_in(client, user):
    client.force_login(user)
    session = client.session
    session[mfa.SESSION_VERIFIED] = True  # as after a TOTP check (tested in identity)
    session.save()


def test_scope_follows_the_role_grants(world):
    keys = [s.key for s in selectors.dashboard_scopes(actor=world.operator)]
    assert keys[0] == "city" and "district:320505" in keys and "department:SZ-SJJ" in keys
    district = [s.key for s in selectors.dashboard_scopes(actor=world.district_head)]
    assert district[0] == "district:320505"
    assert "department:SZ-HQ-SJJ" in district and "city" not in district and "department:SZ-SJJ" not in district
    assert [s.key for s in selectors.dashboard_scopes(actor=world.head)] == ["department:SZ-SJJ"]
    assert selectors.dashboard_scopes(actor=world.reviewer) == []
    assert selectors.dashboard_scopes(actor=world.cases.applicant) == []
    with pytest.raises(NotFound):
        selectors.scope_resolve(actor=world.head, key="city")
    with pytest.raises(NotFound):
        selectors.scope_resolve(actor=world.district_head, key="district:320506")


def test_pages_scoped_and_forbidden_looks_missing(world, client):
    submit_case(world, "k1")
    phone_ticket(world)
    services.indicator_rollup()
    client.force_login(world.head)
    page = client.get("/workbench/dashboards/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "苏州市市场监督管理局" in html and 'data-panel="cases_volume"' in html
    assert "echarts.min.js" in html and "<script>" not in html  # no inline script (CSP)
    assert client.get("/workbench/dashboards/?scope=city").status_code == 404
    assert client.get("/workbench/dashboards/screen/").status_code == 200
    data = client.get("/api/v1/analytics/panels/cases_volume").json()
    assert data["scope"]["key"] == "department:SZ-SJJ" and data["series"][0]["data"][-1] == 1
    assert client.get("/api/v1/analytics/panels/cases_volume?scope=city").status_code == 404
    assert client.get("/api/v1/analytics/panels/nope").json()["code"] == "not_found"

    client.force_login(world.reviewer)
    assert client.get("/workbench/dashboards/").status_code == 404
    assert client.get("/workbench/dashboards/screen/").status_code == 404
    assert client.get("/api/v1/analytics/panels/cases_volume").status_code == 404

    client.force_login(world.district_head)
    tickets = client.get("/api/v1/analytics/panels/hotline_volume").json()
    assert tickets["series"][0]["data"][-1] == 1  # the ticket is in 虎丘区
    mapped = client.get("/api/v1/analytics/panels/district_map?indicator=hotline.received").json()
    by_code = {row["code"]: row for row in mapped["districts"]}
    assert by_code["320505"]["value"] == 1 and by_code["320505"]["visible"]
    assert by_code["320506"]["value"] is None and not by_code["320506"]["visible"]


def test_excel_export_of_a_panel(world, client):
    submit_case(world, "k1")
    services.indicator_rollup()
    _sign_in(client, world.operator)
    response = client.get("/workbench/dashboards/panels/cases_volume.xlsx?scope=city")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][1] == "办件量" and rows[-1][1] == 1
    mapped = client.get("/workbench/dashboards/panels/district_map.xlsx?scope=city&indicator=cases.submitted")
    assert load_workbook(io.BytesIO(mapped.content)).active.cell(2, 3).value == "办件量"


def test_threshold_bad_input_names_the_fields_and_saves_nothing(world, client):
    with pytest.raises(ValidationFailed) as exc:
        services.threshold_save(
            actor=world.operator, indicator="cases.submitted", scope="city", direction="above", yellow="abc", red=5
        )
    assert "yellow" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        services.threshold_save(
            actor=world.operator, indicator="cases.submitted", scope="city", direction="above", yellow=9, red=5
        )
    assert "yellow" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        services.threshold_save(
            actor=world.operator,
            indicator="hotline.satisfaction_rate",
            scope="city",
            direction="below",
            yellow=80,
            red=90,
        )
    assert "yellow" in exc.value.fields
    with pytest.raises(NotFound):  # only the city's operator sets thresholds
        services.threshold_save(
            actor=world.head,
            indicator="cases.submitted",
            scope="department:SZ-SJJ",
            direction="above",
            yellow=1,
            red=2,
        )
    _sign_in(client, world.operator)
    page = client.post(
        "/workbench/dashboards/thresholds/",
        {"indicator": "cases.submitted", "scope": "city", "direction": "above", "yellow": "一", "red": ""},
    )
    assert page.status_code == 422
    html = page.content.decode()
    assert "请输入数字" in html and "请填写数值" in html
    assert Threshold.objects.count() == 0
    api = client.post(
        "/api/v1/analytics/thresholds",
        {"indicator": "cases.submitted", "scope": "city", "direction": "above", "yellow": "x", "red": 1},
        content_type="application/json",
    )
    assert api.status_code == 422 and "yellow" in api.json()["fields"]


def test_crossing_a_threshold_alerts_the_owner_once(world, client):
    submit_case(world, "k1")
    submit_case(world, "k2")
    services.indicator_rollup()
    _sign_in(client, world.operator)
    response = client.post(
        "/workbench/dashboards/thresholds/",
        {"indicator": "cases.submitted", "scope": "city", "direction": "above", "yellow": "1", "red": "2"},
    )
    assert response.status_code == 302
    threshold = Threshold.objects.get()
    assert threshold.level == "red" and threshold.last_value == 2
    assert Alert.objects.filter(threshold=threshold, level="red").count() == 1
    assert Message.objects.filter(recipient=world.operator, template_code="analytics.threshold_crossed").exists()
    services.indicator_rollup()  # checks again: same period, same level → no second alert
    assert Alert.objects.count() == 1
    page = client.get("/workbench/dashboards/").content.decode()
    assert "an-light-red" in page
