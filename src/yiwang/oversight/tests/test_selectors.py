import datetime

import pytest

from yiwang.core.calendar import add_working_days
from yiwang.core.errors import NotFound
from yiwang.oversight import selectors, services
from yiwang.oversight.models import KeyTask
from yiwang.oversight.tests.factories import PDF, days, make_task

pytestmark = pytest.mark.django_db


def _one(world, due_in: int, deadline_in: int = 90):
    return make_task(world, deadline_in=deadline_in, milestones=[services.MilestoneSpec("节点", days(due_in), [])])


def test_a_task_turns_yellow_then_red_on_the_working_day_calendar(world, settings):
    settings.YIWANG_OVERSIGHT_YELLOW_DAYS = 3
    task = _one(world, due_in=30)
    due = task.milestones.get().due_date

    def light(today):
        return selectors.task_list(actor=world.office, today=today).get(pk=task.pk).light

    seen = []
    for offset in range(-20, 3):
        today = due + datetime.timedelta(days=offset)
        expected = "red" if today > due else "yellow" if add_working_days(today, 3) >= due else "green"
        assert light(today) == expected, today
        seen.append(expected)
    assert seen[0] == "green" and seen[-1] == "red"
    # a weekend or holiday between today and the due date stretches the yellow window in days
    assert 3 <= seen.count("yellow") <= 12
    assert light(due) == "yellow"  # due today: near, not late
    settings.YIWANG_OVERSIGHT_YELLOW_DAYS = 0
    assert light(due - datetime.timedelta(days=1)) == "green"


def test_the_task_deadline_also_counts(world):
    task = make_task(world, deadline_in=40, milestones=[])
    deadline = task.deadline
    assert selectors.task_list(actor=world.office, today=deadline).get(pk=task.pk).light == "yellow"
    assert selectors.task_list(actor=world.office, today=deadline + datetime.timedelta(days=1)).get().light == "red"


def test_light_counts_and_filter_within_the_actor_scope(world):
    green = _one(world, due_in=40)
    yellow = _one(world, due_in=0)
    red = _one(world, due_in=-2)
    foreign = services.key_task_create(
        actor=world.office, title="水务任务", source_kind="project", lead_department=world.other, deadline=days(1)
    )
    assert selectors.task_light_counts(actor=world.office) == {"green": 1, "yellow": 2, "red": 1, "done": 0}
    assert selectors.task_light_counts(actor=world.lead_reviewer) == {"green": 1, "yellow": 1, "red": 1, "done": 0}
    assert selectors.task_light_counts(actor=world.citizen) == {"green": 0, "yellow": 0, "red": 0, "done": 0}
    assert list(selectors.task_list(actor=world.lead_reviewer, light="red")) == [red]
    assert {t.pk for t in selectors.task_list(actor=world.office, light="yellow")} == {yellow.pk, foreign.pk}
    assert list(selectors.task_list(actor=world.office, light="nonsense")) == []
    assert green in selectors.task_list(actor=world.co_reviewer)  # co-handling department


def test_who_sees_what(world):
    task = make_task(world)
    for actor in (world.office, world.leader, world.tree.root, world.lead_head, world.lead_clerk, world.co_reviewer):
        assert selectors.task_get(actor=actor, id=task.pk) == task
    for actor in (world.other_reviewer, world.loner, world.citizen, None):
        with pytest.raises(NotFound):
            selectors.task_get(actor=actor, id=task.pk)
    with pytest.raises(NotFound):
        selectors.task_get(actor=world.office, id="1; drop table")


def test_timeline_bars_follow_the_milestones(world):
    task = make_task(world)
    task = selectors.task_get(actor=world.office, id=task.pk)
    timeline = selectors.task_timeline(task=task)
    assert [b.label for b in timeline.bars] == ["完成可行性研究", "开工建设", "整体任务"]
    first, second, whole = timeline.bars
    assert first.x < second.x and second.x + second.width <= whole.x + whole.width + 0.5
    assert timeline.today_x is not None and timeline.today_x <= first.x + first.width


def test_ranking_counts_on_time_milestones_lights_and_ratings(world):
    task = _one(world, due_in=-1)  # red: its milestone was due yesterday
    other = services.key_task_create(
        actor=world.office,
        title="水务任务",
        source_kind="meeting",
        lead_department=world.other,
        deadline=days(30),
        milestones=[services.MilestoneSpec("节点", days(20), [])],
    )
    services.key_task_rate(actor=world.office, task=other, score=95)
    month = (days(-1)).strftime("%Y-%m")
    label, rows = selectors.department_ranking(actor=world.office, month=month)
    by_name = {r.department: r for r in rows}
    lead = by_name[world.lead.name]
    assert label == month and lead.lights["red"] == 1 and lead.due == 1 and lead.on_time == 0
    water = by_name[world.other.name]
    assert water.average_score == 95 and water.rank == 1
    report = services.report_submit(
        actor=world.lead_reviewer, task=task, milestone_id=task.milestones.get().pk, summary="补报", files=[]
    )
    services.report_review(actor=world.office, report=report, accept=True)
    _label, rows = selectors.department_ranking(actor=world.office, month=month)
    lead = next(r for r in rows if r.department == world.lead.name)
    assert lead.lights["done"] == 1 and lead.on_time == 0  # done, but late
    _label, mine = selectors.department_ranking(actor=world.lead_reviewer, month=month)
    assert [r.department for r in mine] == [world.lead.name]
    assert PDF  # the evidence-free milestone needs no file


def test_light_figures_per_lead_department_for_the_rollup(world):
    """The analytics rollup's read: every task (no actor), grouped by lead department and light."""
    _one(world, due_in=40)
    _one(world, due_in=-2)
    done = _one(world, due_in=30)
    KeyTask.objects.filter(pk=done.pk).update(status=KeyTask.Status.COMPLETED)
    services.key_task_create(
        actor=world.office, title="水务任务", source_kind="project", lead_department=world.other, deadline=days(90)
    )
    rows = {(r["department_id"], r["light"]): r["count"] for r in selectors.task_light_figures()}
    assert rows == {
        (world.lead.pk, "green"): 1,
        (world.lead.pk, "red"): 1,
        (world.lead.pk, "done"): 1,
        (world.other.pk, "green"): 1,
    }
    region = {r["department_id"]: r["region_code"] for r in selectors.task_light_figures()}
    assert region[world.lead.pk] == (world.lead.region_code or "")[:6]
    # The oversight app's panel module turns them into facts of ``oversight.tasks`` by light.
    from yiwang.oversight import panels

    facts = list(panels.collect(since=None, until=None, today=days(0)))
    assert {(f["department_id"], f["dimension"], f["numerator"]) for f in facts} == {
        (world.lead.pk, "green", 1),
        (world.lead.pk, "red", 1),
        (world.lead.pk, "done", 1),
        (world.other.pk, "green", 1),
    }
    assert {f["indicator"] for f in facts} == {"oversight.tasks"} and all(f["day"] == days(0) for f in facts)
