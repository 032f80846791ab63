from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "yiwang.core"
    label = "core"
    verbose_name = _("平台基础")

    def ready(self) -> None:
        from django_tasks.signals import task_finished

        from yiwang.core import checks, schedule  # noqa: F401 (checks registers the system checks)

        # A periodic job's outcome is written on its row when the worker finishes the task.
        task_finished.connect(schedule.record_outcome, dispatch_uid="yiwang.core.schedule.record_outcome")
        # Every app's tasks.py registers its periodic jobs (@schedule.every) on import.
        schedule.autodiscover()
