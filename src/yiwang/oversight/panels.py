"""The key tasks' lights on the dashboards (analytics registry, see docs/dashboards.md): one
snapshot indicator ``oversight.tasks`` by light (green/yellow/red/done), kept per lead
department by the rollup, so a department sees its own tasks, a district those its
departments lead, the city all of them. Read through ``selectors.task_light_figures``."""

from django.utils.translation import gettext_lazy as _

INDICATORS = [
    {
        "code": "oversight.tasks",
        "label": _("重点任务红黄绿灯"),
        "unit": _("项"),
        "rate": False,
        "snapshot": True,
        "lower_is_better": False,
    },
]

PANELS = [
    {
        "code": "oversight_lights",
        "title": _("重点任务红黄绿灯"),
        "indicators": ["oversight.tasks"],
        "chart": "pie",
        "period": "snapshot",
        "drill": ("oversight:list", (), {}),
        "by_dimension": True,
        "order": 70,
        "dimension_labels": {
            "green": _("绿灯(正常推进)"),
            "yellow": _("黄灯(临近时限)"),
            "red": _("红灯(已超期)"),
            "done": _("已办结"),
        },
    },
]


def collect(*, since, until, today):
    """One fact per lead department and light, as of ``today``."""
    from yiwang.oversight import selectors

    for row in selectors.task_light_figures(today=today):
        yield {
            "indicator": "oversight.tasks",
            "dimension": row["light"],
            "department_id": row["department_id"],
            "region_code": row["region_code"],
            "day": today,
            "numerator": row["count"],
            "denominator": None,
        }
