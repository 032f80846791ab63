"""The draw end to end on the database: plan, commitment, draw, outside verification with the
published files, avoidance, redraw; then inspections, publication, credit records and grades."""

import datetime
import json
import subprocess
import sys

import pytest

from yiwang.core.audit import verify_chain
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.models import AuditEvent
from yiwang.registries import selectors as registries
from yiwang.supervision import drawing, selectors, services
from yiwang.supervision.models import CreditGrade, DrawPlan, Inspection
from yiwang.supervision.tests.factories import build
from yiwang.supervision.tests.test_drawing import SCRIPT

pytestmark = pytest.mark.django_db


def _publish(w, **extra):
    args = {
        "actor": w.head,
        "code": "2026Q4-SCJG",
        "title": "2026年第四季度企业公示信息抽查",
        "lead_department": w.market,
        "items": [w.item],
        "ratios_bp": {"A": 1000, "B": 2500, "C": 5000, "D": 10000},
    }
    args.update(extra)
    return services.plan_publish(**args)


def test_plan_publishes_commitment_not_seed_and_the_draw_verifies_with_the_script_alone(tmp_path):
    w = build()
    plan, seed = _publish(w)
    assert plan.commitment == drawing.commitment_of(seed)
    assert seed not in plan.plan_document and not plan.seed
    assert w.usccs[0] not in plan.plan_document  # salted: the pool does not tell grades
    document = json.loads(plan.plan_document)
    assert sum(len(v) for v in document["entities"].values()) == 40
    plan = services.plan_draw(actor=w.head, plan_id=plan.pk, seed=seed, public_entropy="3D:271")
    assert plan.status == DrawPlan.Status.DRAWN
    tasks = list(plan.inspections.prefetch_related("inspectors"))
    assert len(tasks) == 10  # everyone ungraded counts as B: ⌈40 · 25 %⌉
    assert all(t.inspectors.count() == 2 for t in tasks)
    (tmp_path / "plan.json").write_text(plan.plan_document, encoding="utf-8")
    (tmp_path / "result.json").write_text(plan.result_document, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, SCRIPT, tmp_path / "plan.json", tmp_path / "result.json"], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout
    assert "10 entities and 20 inspector places" in run.stdout
    events = AuditEvent.objects.filter(action__startswith="supervision.plan_").values_list("action", flat=True)
    assert list(events) == ["supervision.plan_publish", "supervision.plan_draw"]
    assert verify_chain() is None


def test_a_wrong_seed_is_refused_and_a_plan_is_drawn_only_once():
    w = build()
    plan, seed = _publish(w)
    with pytest.raises(ValidationFailed) as exc:
        services.plan_draw(actor=w.head, plan_id=plan.pk, seed="00" * 32)
    assert exc.value.code == "supervision_seed_mismatch"
    assert not Inspection.objects.exists()
    services.plan_draw(actor=w.head, plan_id=plan.pk, seed=seed)
    with pytest.raises(Conflict):
        services.plan_draw(actor=w.head, plan_id=plan.pk, seed=seed)


def test_bad_plans_are_refused_before_anything_is_published():
    w = build()
    with pytest.raises(ValidationFailed) as exc:
        _publish(w, ratios_bp={"A": 1000, "B": 12000, "C": 5000, "D": 10000})
    assert "ratios_bp.B" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        _publish(w, region_prefixes=["110101"])  # nobody registered in Beijing's 东城区
    assert exc.value.code == "supervision_empty_entity_pool"
    with pytest.raises(ValidationFailed) as exc:
        _publish(w, team={"SZ-SJJ": 7})
    assert exc.value.code == "supervision_inspector_pool_too_small"
    assert not DrawPlan.objects.exists()
    with pytest.raises(Forbidden):
        _publish(w, actor=w.health_head)


def test_avoidance_conflicts_and_last_inspectors_are_never_drawn_for_that_entity():
    w = build(n_entities=8, n_inspectors=4)
    target = w.usccs[3]
    for inspector in w.inspectors[:2]:
        services.conflict_add(actor=inspector.user, inspector=inspector, entity_uscc=target, kind="stated")
    plan, seed = _publish(w, ratios_bp={"A": 10000, "B": 10000, "C": 10000, "D": 10000})
    services.plan_draw(actor=w.head, plan_id=plan.pk, seed=seed)
    task = Inspection.objects.get(plan=plan, entity_uscc=target)
    assert set(task.inspectors.all()) == set(w.inspectors[2:])
    # Next time the two who inspected it last are avoided too: only the conflicted remain → refused.
    with pytest.raises(ValidationFailed) as exc:
        _publish(w, code="2027Q1-SCJG", ratios_bp={"A": 10000, "B": 10000, "C": 10000, "D": 10000})
    assert exc.value.code == "supervision_inspector_pool_too_small_after_avoidance"


def test_a_former_employer_long_ago_is_no_conflict():
    w = build(n_entities=4, n_inspectors=2)
    services.conflict_add(
        actor=w.head,
        inspector=w.inspectors[0],
        entity_uscc=w.usccs[0],
        kind="former_employer",
        ended_on=datetime.date(2015, 1, 1),
    )
    plan, _seed = _publish(w, ratios_bp={"A": 10000, "B": 10000, "C": 10000, "D": 10000})
    assert json.loads(plan.plan_document)["conflicts"] == []


def test_joint_draw_sends_one_inspector_of_each_department_per_entity():
    w = build()
    plan, seed = _publish(w, departments=[w.health], items=[w.item, w.health_item])
    services.plan_draw(actor=w.head, plan_id=plan.pk, seed=seed)
    for task in plan.inspections.all():
        depts = sorted(i.department.code for i in task.inspectors.all())
        assert depts == ["SZ-SJJ", "SZ-WJW"]


def test_a_redraw_is_a_new_audited_plan_with_a_reason_and_the_old_stays_published():
    w = build()
    plan, seed = _publish(w)
    services.plan_draw(actor=w.head, plan_id=plan.pk, seed=seed)
    with pytest.raises(ValidationFailed):
        _publish(w, code="2026Q4-SCJG-R1", supersedes=plan)
    again, _seed2 = _publish(
        w, code="2026Q4-SCJG-R1", supersedes=plan, redraw_reason="检查人员名录有误,两名已调离人员在册"
    )
    plan.refresh_from_db()
    assert plan.status == DrawPlan.Status.SUPERSEDED and plan.result_document
    assert {p.code for p in selectors.plan_list()} == {"2026Q4-SCJG", "2026Q4-SCJG-R1"}
    event = AuditEvent.objects.get(action="supervision.plan_redraw")
    assert event.changes["reason"].startswith("检查人员名录有误") and event.changes["supersedes"] == "2026Q4-SCJG"
    assert json.loads(again.plan_document)["supersedes"] == "2026Q4-SCJG"
    with pytest.raises(Conflict):
        _publish(w, code="2026Q4-SCJG-R2", supersedes=plan, redraw_reason="再抽一次")


def _drawn(w):
    plan, seed = _publish(w, ratios_bp={"A": 10000, "B": 10000, "C": 10000, "D": 10000})
    return services.plan_draw(actor=w.head, plan_id=plan.pk, seed=seed)


def test_an_inspection_is_recorded_by_its_team_published_and_becomes_a_credit_record_that_changes_the_grade():
    w = build(n_entities=6, n_inspectors=4)
    plan = _drawn(w)
    task = plan.inspections.get(entity_uscc=w.usccs[0])
    member = task.inspectors.first()
    outsider = next(i for i in w.inspectors if i not in task.inspectors.all())
    with pytest.raises(NotFound):
        services.inspection_record(actor=outsider.user, inspection_id=task.pk, result="passed")
    with pytest.raises(ValidationFailed) as exc:
        services.inspection_record(actor=member.user, inspection_id=task.pk, result="case")
    assert "findings" in exc.value.fields
    task = services.inspection_record(
        actor=member.user,
        inspection_id=task.pk,
        result="case",
        findings="未按期公示年度报告,且提交虚假材料",
        checklist=[{"item": "年度报告公示信息", "ok": False}],
        inspected_on=datetime.date(2026, 11, 30),
    )
    assert task.publish_by == datetime.date(2026, 12, 28)  # 20 working days later
    services.inspection_publish(actor=member.user, inspection_id=task.pk)
    record = registries.credit_records_of_entities(usccs=[w.usccs[0]])[w.usccs[0]]
    assert record[0]["kind"] == "inspection" and record[0]["content"].endswith("立案查处")
    grade = CreditGrade.objects.get(uscc=w.usccs[0])
    assert (grade.grade, grade.score) == ("C", 60)  # base 80, 立案查处 −20
    assert grade.explanation[-1]["points"] == -20
    assert [r.entity_uscc for r in selectors.results_published()] == [w.usccs[0]]
    with pytest.raises(Conflict):
        services.inspection_record(actor=member.user, inspection_id=task.pk, result="passed")


def test_the_deadline_job_warns_once_before_the_twenty_working_days_run_out():
    w = build(n_entities=2, n_inspectors=2)
    plan = _drawn(w)
    task = plan.inspections.first()
    member = task.inspectors.first()
    services.inspection_record(
        actor=member.user, inspection_id=task.pk, result="passed", inspected_on=datetime.date(2026, 11, 2)
    )
    assert services.publication_deadlines_warn(today=datetime.date(2026, 11, 10)) == 0
    assert services.publication_deadlines_warn(today=datetime.date(2026, 11, 27)) == 1
    assert services.publication_deadlines_warn(today=datetime.date(2026, 11, 28)) == 0
    assert AuditEvent.objects.filter(action="supervision.publication_deadline_warning").count() == 1


def test_the_deadline_job_is_scheduled_daily_and_runs_the_warning():
    from yiwang.core.schedule import autodiscover
    from yiwang.supervision.tasks import publication_deadlines

    job = autodiscover().get("supervision.publication_deadlines")
    assert job is not None and job.interval == 86400
    w = build(n_entities=2, n_inspectors=2)
    plan = _drawn(w)
    task = plan.inspections.first()
    services.inspection_record(
        actor=task.inspectors.first().user,
        inspection_id=task.pk,
        result="passed",
        inspected_on=datetime.date.today() - datetime.timedelta(days=40),
    )
    result = publication_deadlines.enqueue()
    assert result.return_value == 1
