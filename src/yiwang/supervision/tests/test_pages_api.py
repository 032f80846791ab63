"""Public pages and API of 一公开, the inspector's workbench and the grade page's scope."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from yiwang.supervision import services
from yiwang.supervision.models import DrawPlan
from yiwang.supervision.tests.factories import build

pytestmark = pytest.mark.django_db
ALL = {"A": 10000, "B": 10000, "C": 10000, "D": 10000}


def _drawn(w, **extra):
    plan, seed = services.plan_publish(
        actor=w.head, code="2026Q4", title="季度抽查", lead_department=w.market, items=[w.item], ratios_bp=ALL, **extra
    )
    return services.plan_draw(actor=w.head, plan_id=plan.pk, seed=seed)


def test_public_pages_show_the_plan_its_files_and_the_platforms_recomputation(client):
    w = build(n_entities=6, n_inspectors=4)
    plan = _drawn(w)
    page = client.get("/supervision/")
    assert (
        page.status_code == 200
        and "企业公示信息情况检查" in page.content.decode()
        and "2026Q4" in page.content.decode()
    )
    page = client.get("/supervision/plans/2026Q4/").content.decode()
    assert plan.commitment in page and plan.seed in page and "一致:共 6 户" in page
    assert client.get("/supervision/plans/2026Q4/plan.json").content == plan.plan_document.encode()
    assert client.get("/supervision/plans/nope/").status_code == 404
    ok = client.post(
        "/supervision/verify/",
        {
            "plan": SimpleUploadedFile("plan.json", plan.plan_document.encode()),
            "result": SimpleUploadedFile("result.json", plan.result_document.encode()),
        },
    )
    assert "一致:共 6 户" in ok.content.decode()
    forged = json.loads(plan.result_document)
    forged["selected"].reverse()
    bad = client.post(
        "/supervision/verify/",
        {
            "plan": SimpleUploadedFile("plan.json", plan.plan_document.encode()),
            "result": SimpleUploadedFile("result.json", json.dumps(forged).encode()),
        },
    )
    assert "不一致" in bad.content.decode()


def test_api_plan_publish_then_draw_and_public_files(client):
    w = build(n_entities=6, n_inspectors=4)
    client.force_login(w.head)
    made = client.post(
        "/api/v1/supervision/plans",
        {"code": "API-1", "title": "接口计划", "lead_department": "SZ-SJJ", "items": ["SCJG-001"], "ratios_bp": ALL},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    seed = made.json()["seed"]
    wrong = client.post("/api/v1/supervision/plans/API-1/draw", {"seed": "ab" * 32}, content_type="application/json")
    assert wrong.status_code == 422 and wrong.json()["code"] == "supervision_seed_mismatch"
    drawn = client.post("/api/v1/supervision/plans/API-1/draw", {"seed": seed}, content_type="application/json")
    assert drawn.status_code == 200 and drawn.json()["status"] == "drawn"
    client.logout()
    result = client.get("/api/v1/supervision/plans/API-1/result.json").json()
    assert result["seed"] == seed and len(result["selected"]) == 6
    too_much = {**ALL, "B": 10001}
    client.force_login(w.head)
    bad = client.post(
        "/api/v1/supervision/plans",
        {"code": "API-2", "title": "x", "lead_department": "SZ-SJJ", "items": ["SCJG-001"], "ratios_bp": too_much},
        content_type="application/json",
    )
    assert bad.status_code == 422 and "ratios_bp.B" in bad.json()["fields"]
    assert DrawPlan.objects.count() == 1


def test_the_workbench_task_records_and_publishes_on_a_phone_form(client):
    w = build(n_entities=2, n_inspectors=2)
    plan = _drawn(w)
    task = plan.inspections.first()
    member = task.inspectors.first()
    client.force_login(member.user)
    assert task.entity_name in client.get("/workbench/supervision/").content.decode()
    url = f"/workbench/supervision/inspections/{task.pk}/"
    response = client.post(url, {"action": "record", "result": "passed", "ok_0": "1", "ok_1": "1", "findings": ""})
    assert response.status_code == 302
    client.post(url, {"action": "publish"})
    task.refresh_from_db()
    assert task.status == "published" and task.credit_record_number
    assert task.entity_name in client.get("/supervision/results/").content.decode()
    api = client.get("/api/v1/supervision/results").json()
    assert api[0]["entity_uscc"] == task.entity_uscc and api[0]["result"] == "passed"


def test_a_task_of_another_team_and_another_entitys_grade_are_404(client):
    w = build(n_entities=2, n_inspectors=4)
    plan = _drawn(w)
    services.grades_recompute(actor="test")
    task = plan.inspections.first()
    outsider = next(i for i in w.inspectors if i not in task.inspectors.all())
    client.force_login(outsider.user)
    assert client.get(f"/workbench/supervision/inspections/{task.pk}/").status_code == 404
    assert client.get(f"/api/v1/supervision/inspections/{task.pk}").status_code == 404
    assert client.get("/api/v1/supervision/inspections/987654").status_code == 404
    client.logout()
    client.force_login(w.agent)
    own = client.get(f"/supervision/grades/{w.usccs[0]}/")
    assert own.status_code == 200 and "每一分的来由" in own.content.decode()
    assert client.get(f"/supervision/grades/{w.usccs[1]}/").status_code == 404
    assert client.get(f"/api/v1/supervision/grades/{w.usccs[1]}").status_code == 404
    assert client.get(f"/api/v1/supervision/grades/{w.usccs[0]}").json()["grade"] == "B"


def test_a_head_publishes_a_plan_on_the_page_sees_the_seed_once_and_draws_with_it(client):
    w = build(n_entities=6, n_inspectors=4)
    client.force_login(w.head)
    page = client.post(
        "/supervision/plans/new/",
        {
            "code": "PAGE-1",
            "title": "页面计划",
            "lead_department": str(w.market.pk),
            "items": [str(w.item.pk)],
            **{f"ratio_{g}": "10000" for g in "ABCD"},
        },
    )
    plan = DrawPlan.objects.get(code="PAGE-1")
    seed = page.context["made"][1]
    assert seed in page.content.decode() and plan.commitment != seed and seed not in plan.plan_document
    assert seed not in client.get("/supervision/plans/PAGE-1/").content.decode()
    wrong = client.post("/supervision/plans/PAGE-1/draw/", {"seed": "00" * 32})
    assert wrong.status_code == 422 and "不符" in wrong.content.decode()
    client.post("/supervision/plans/PAGE-1/draw/", {"seed": seed, "public_entropy": "123"})
    plan.refresh_from_db()
    assert plan.status == DrawPlan.Status.DRAWN and plan.seed == seed
    client.force_login(w.health_head)
    assert client.post("/supervision/plans/PAGE-1/draw/", {"seed": seed}).status_code == 404
    client.force_login(w.inspectors[0].user)
    assert client.get("/supervision/plans/new/").status_code == 404
