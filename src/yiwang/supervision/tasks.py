"""Periodic jobs of supervision (registered with ``core.schedule.every``)."""

from django.utils.translation import gettext_lazy as _
from django_tasks import task

from yiwang.core.schedule import every
from yiwang.supervision import services


@every(days=1, name="supervision.publication_deadlines", description=_("检查结果20个工作日内公示:临近期限提醒"))
@task()
def publication_deadlines() -> int:
    """Warn about recorded inspections whose publication deadline is three working days away or past."""
    return services.publication_deadlines_warn()
