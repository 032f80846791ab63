"""Reads of key-task oversight, already scoped to the actor: the office, city leaders and the
superuser see every task; department staff see the tasks their department leads or co-handles
(identity's role grants, descendants included); everyone else sees none, and a task they may
not see is ``NotFound`` like a missing one.

The traffic light is computed in the query, never stored: ``done`` for a completed task;
``red`` when the task or one of its unfinished milestones is past its date; ``yellow`` when one
of them falls within ``YIWANG_OVERSIGHT_YELLOW_DAYS`` working days (``core.calendar``); ``green``
otherwise. The dashboards' rollup calls ``task_light_figures`` (per lead department, no actor).
"""

from __future__ import annotations

import calendar as month_calendar
import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.db.models import Case, CharField, Exists, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yiwang.core.calendar import working_calendar
from yiwang.core.errors import NotFound
from yiwang.identity.selectors import departments_for_actor
from yiwang.oversight import services
from yiwang.oversight.models import KeyTask, Milestone, ProgressReport, ReportAttachment

LIGHTS = ("green", "yellow", "red", "done")
LIGHT_LABELS = {
    "green": _("绿灯(正常推进)"),
    "yellow": _("黄灯(临近时限)"),
    "red": _("红灯(已超期)"),
    "done": _("已办结"),
}


def yellow_horizon(today: datetime.date) -> datetime.date:
    """The last date that counts as "near": ``YIWANG_OVERSIGHT_YELLOW_DAYS`` working days after today."""
    return working_calendar().add_working_days(today, services.yellow_working_days())


def with_light(query: QuerySet[KeyTask], *, today: datetime.date | None = None) -> QuerySet[KeyTask]:
    """``query`` annotated with ``light`` (green, yellow, red, done)."""
    today = today or timezone.localdate()
    horizon = yellow_horizon(today)
    unfinished = Milestone.objects.filter(task=OuterRef("pk")).exclude(status=Milestone.Status.ACCEPTED)
    return query.annotate(
        light=Case(
            When(status=KeyTask.Status.COMPLETED, then=Value("done")),
            When(Q(deadline__lt=today) | Exists(unfinished.filter(due_date__lt=today)), then=Value("red")),
            When(Q(deadline__lte=horizon) | Exists(unfinished.filter(due_date__lte=horizon)), then=Value("yellow")),
            default=Value("green"),
            output_field=CharField(),
        )
    )


def _visible_ids(actor) -> Q | None:
    """The filter of the tasks ``actor`` may see; ``None`` for everything."""
    if services.sees_all(actor):
        return None
    if not services._signed_in(actor) or getattr(actor, "kind", "") != "staff":
        return Q(pk__in=[])
    departments = [departments_for_actor(actor=actor, role=role) for role in services.DEPARTMENT_ROLES]
    mine = reduce(or_, (Q(pk__in=d.values("pk")) for d in departments))
    from yiwang.identity.models import Department

    ids = Department.objects.filter(mine).values("pk")
    return Q(lead_department__in=ids) | Q(
        pk__in=KeyTask.co_departments.through.objects.filter(department__in=ids).values("keytask_id")
    )


def visible_tasks(*, actor) -> QuerySet[KeyTask]:
    query = KeyTask.objects.all()
    scope = _visible_ids(actor)
    return query if scope is None else query.filter(scope)


def may_use_workbench(*, actor) -> bool:
    """Whether the workbench shows the oversight tile: the office, leaders, or staff with a task."""
    return services.sees_all(actor) or visible_tasks(actor=actor).exists()


def task_list(
    *,
    actor,
    light: str | None = None,
    source_kind: str | None = None,
    department=None,
    search: str = "",
    today: datetime.date | None = None,
) -> QuerySet[KeyTask]:
    """The tasks ``actor`` may see with their ``light``, nearest deadline first; filtered by
    light, source kind, lead department (id) and words of the title or number."""
    query = with_light(visible_tasks(actor=actor), today=today).select_related("lead_department")
    if light:
        query = query.filter(light=light if light in LIGHTS else "none")
    if source_kind:
        query = query.filter(source_kind=source_kind)
    if department not in (None, ""):
        query = query.filter(lead_department_id=int(department) if str(department).isdigit() else 0)
    search = (search or "").strip()[:100]
    if search:
        query = query.filter(Q(title__icontains=search) | Q(number__icontains=search))
    return query.order_by("deadline", "pk")


def task_light_counts(*, actor, today: datetime.date | None = None) -> dict[str, int]:
    """``{"green": n, "yellow": n, "red": n, "done": n}`` over the tasks ``actor`` may see."""
    counts = dict.fromkeys(LIGHTS, 0)
    for light in with_light(visible_tasks(actor=actor), today=today).values_list("light", flat=True):
        counts[light] += 1
    return counts


def task_light_figures(*, today: datetime.date | None = None) -> list[dict]:
    """Key tasks per lead department and light, over every task (no actor: a system read for
    the analytics rollup, like the other apps' ``*_figures``). One grouped query. Keys:
    ``department_id, region_code, light, count``."""
    from django.db.models import Count

    rows = (
        with_light(KeyTask.objects.all(), today=today)
        .values("lead_department_id", "lead_department__region_code", "light")
        .annotate(count=Count("id"))
        .order_by()
    )
    return [
        {
            "department_id": row["lead_department_id"],
            "region_code": (row["lead_department__region_code"] or "")[:6],
            "light": row["light"],
            "count": row["count"],
        }
        for row in rows
    ]


def task_get(*, actor, id) -> KeyTask:
    """One task the actor may see, with its light; ``NotFound`` otherwise."""
    try:
        pk = int(id)
    except (TypeError, ValueError):
        pk = 0
    task = task_list(actor=actor).filter(pk=pk).first() if 0 < pk < 2**31 else None
    if task is None:
        raise NotFound(_("未找到该督办任务。"), code="task_not_found")
    return task


def report_get(*, actor, id) -> ProgressReport:
    try:
        pk = int(id)
    except (TypeError, ValueError):
        pk = 0
    report = (
        ProgressReport.objects.filter(pk=pk, task__in=visible_tasks(actor=actor)).select_related("task").first()
        if 0 < pk < 2**31
        else None
    )
    if report is None:
        raise NotFound(_("未找到该进度报送。"), code="report_not_found")
    return report


def attachment_get(*, actor, id) -> ReportAttachment:
    try:
        pk = int(id)
    except (TypeError, ValueError):
        pk = 0
    found = (
        ReportAttachment.objects.filter(pk=pk, report__task__in=visible_tasks(actor=actor)).first()
        if 0 < pk < 2**31
        else None
    )
    if found is None:
        raise NotFound(_("未找到该附件。"), code="attachment_not_found")
    return found


def milestone_light(milestone: Milestone, *, today: datetime.date, horizon: datetime.date) -> str:
    if milestone.status == Milestone.Status.ACCEPTED:
        return "done"
    if milestone.due_date < today:
        return "red"
    if milestone.due_date <= horizon:
        return "yellow"
    return "green"


# --- the timeline (Gantt-like) -----------------------------------------------------------------


@dataclass
class Bar:
    label: str
    start: datetime.date
    end: datetime.date
    light: str
    x: float = 0
    width: float = 0
    y: int = 0
    done_x: float | None = None


@dataclass
class Timeline:
    width: int
    height: int
    bars: list[Bar]
    today_x: float | None
    ticks: list[tuple[float, str]] = field(default_factory=list)
    label_width: int = 0


def task_timeline(*, task: KeyTask, today: datetime.date | None = None) -> Timeline:
    """The task's milestones as bars on a time axis (for a server-rendered SVG): each bar runs
    from the previous milestone's date (the task's start for the first) to its own; a marker at
    the date it was done; today's line."""
    today = today or timezone.localdate()
    horizon = yellow_horizon(today)
    milestones = list(task.milestones.all())
    start = timezone.localtime(task.created_at).date()
    end = max([task.deadline, today, *(m.due_date for m in milestones)])
    start = min(start, today, *(m.due_date for m in milestones)) if milestones else min(start, today)
    span = max((end - start).days, 1)
    label_width, chart, row = 0, 560, 28
    bars: list[Bar] = []
    previous = start

    def x_of(day: datetime.date) -> float:
        return round(label_width + chart * (day - start).days / span, 1)

    for m in milestones:
        bar = Bar(m.title, previous, m.due_date, milestone_light(m, today=today, horizon=horizon))
        previous = max(previous, m.due_date)
        bars.append(bar)
    task_bar = Bar(str(_("整体任务")), start, task.deadline, getattr(task, "light", "green"))
    bars.append(task_bar)
    for i, bar in enumerate(bars):
        bar.x = x_of(bar.start)
        bar.width = max(x_of(bar.end) - bar.x, 3)
        bar.y = 24 + i * row
    for m, bar in zip(milestones, bars, strict=False):
        if m.completed_at:
            bar.done_x = x_of(min(max(timezone.localtime(m.completed_at).date(), start), end))
    ticks = []
    for k in range(5):
        day = start + datetime.timedelta(days=round(span * k / 4))
        ticks.append((x_of(day), day.strftime("%m-%d")))
    today_x = x_of(today) if start <= today <= end else None
    return Timeline(width=label_width + chart, height=24 + len(bars) * row + 8, bars=bars, today_x=today_x, ticks=ticks)


# --- the monthly ranking -----------------------------------------------------------------------


@dataclass
class RankingRow:
    department_id: int
    department: str
    tasks: int = 0
    due: int = 0
    on_time: int = 0
    lights: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LIGHTS, 0))
    scores: list[int] = field(default_factory=list)
    rank: int = 0

    @property
    def on_time_rate(self) -> float:
        return round(self.on_time / self.due, 4) if self.due else 1.0

    @property
    def average_score(self) -> float | None:
        return round(sum(self.scores) / len(self.scores), 1) if self.scores else None

    @property
    def points(self) -> float:
        """综合得分 = 按时完成率×60 + 平均评分×0.4(无评分按 80 计)− 红灯数×5."""
        average = self.average_score if self.average_score is not None else 80.0
        return round(self.on_time_rate * 60 + average * 0.4 - self.lights["red"] * 5, 1)


def _month(value: str | None, today: datetime.date) -> tuple[str, datetime.date, datetime.date]:
    try:
        year, month = (int(p) for p in (value or "").split("-"))
        first = datetime.date(year, month, 1)
    except (TypeError, ValueError):
        first = today.replace(day=1)
    last = first.replace(day=month_calendar.monthrange(first.year, first.month)[1])
    return f"{first:%Y-%m}", first, last


def department_ranking(
    *, actor, month: str | None = None, today: datetime.date | None = None
) -> tuple[str, list[RankingRow]]:
    """Lead departments ranked for a month over the tasks ``actor`` may see: milestones due in
    the month (and already due) done on time, the tasks' lights today, the office's ratings
    (tasks and milestones); best first by points."""
    today = today or timezone.localdate()
    label, first, last = _month(month, today)
    tasks = list(with_light(visible_tasks(actor=actor), today=today).select_related("lead_department"))
    rows: dict[int, RankingRow] = {}
    for task in tasks:
        dept = task.lead_department
        row = rows.setdefault(dept.pk, RankingRow(dept.pk, dept.short_name or dept.name))
        row.tasks += 1
        row.lights[task.light] += 1
        if task.score is not None:
            row.scores.append(task.score)
    milestones = Milestone.objects.filter(task__in=[t.pk for t in tasks], due_date__range=(first, min(last, today)))
    lead_of = {t.pk: t.lead_department_id for t in tasks}
    by_dept = defaultdict(list)
    for m in milestones:
        by_dept[lead_of[m.task_id]].append(m)
    for dept_id, items in by_dept.items():
        row = rows[dept_id]
        for m in items:
            row.due += 1
            if m.status == Milestone.Status.ACCEPTED and timezone.localtime(m.completed_at).date() <= m.due_date:
                row.on_time += 1
            if m.score is not None:
                row.scores.append(m.score)
    ranked = sorted(rows.values(), key=lambda r: (-r.points, -r.on_time_rate, r.lights["red"], r.department))
    for i, row in enumerate(ranked, start=1):
        row.rank = i
    return label, ranked
