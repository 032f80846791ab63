"""Django admin for core models.

Each admin class below routes every write through the audited service of its
module: the admin is one more interface onto the services, never a side door.
"""

import datetime
import json

from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from yiwang.core import schedule
from yiwang.core.calendar import holiday_delete, holiday_missing_message, holiday_set, holiday_years_missing
from yiwang.core.errors import YiwangError
from yiwang.core.models import AuditEvent, Holiday, ScheduledJob

# ---------------------------------------------------------------------------
# Holidays and make-up working days (owned by core.calendar)
# ---------------------------------------------------------------------------


class HolidayYearFilter(admin.SimpleListFilter):
    title = _("年份")
    parameter_name = "year"

    def lookups(self, request, model_admin):
        years = sorted({d.year for d in Holiday.objects.dates("date", "year")}, reverse=True)
        return [(str(y), str(y)) for y in years]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            year = int(value)
            return queryset.filter(date__gte=datetime.date(year, 1, 1), date__lte=datetime.date(year, 12, 31))
        return queryset


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "weekday", "kind", "name", "source", "note"]
    list_filter = [HolidayYearFilter, "kind", "source"]
    search_fields = ["name", "note"]
    date_hierarchy = "date"
    ordering = ["-date"]
    fields = ["date", "kind", "name", "note", "source"]
    readonly_fields = ["source"]

    @admin.display(description=_("星期"))
    def weekday(self, obj: Holiday) -> str:
        return ["一", "二", "三", "四", "五", "六", "日"][obj.date.weekday()]

    def changelist_view(self, request, extra_context=None):
        missing = holiday_years_missing()
        if missing:
            messages.warning(request, holiday_missing_message(missing))
        return super().changelist_view(request, extra_context)

    def get_readonly_fields(self, request, obj=None):
        # The date identifies the row: to move a holiday, delete it and add another.
        return ["date", "source"] if obj else ["source"]

    def save_model(self, request, obj, form, change):
        saved = holiday_set(actor=request.user, date=obj.date, kind=obj.kind, name=obj.name, note=obj.note)
        obj.pk, obj.source = saved.pk, saved.source

    def delete_model(self, request, obj):
        holiday_delete(actor=request.user, date=obj.date)

    def delete_queryset(self, request, queryset):
        dates = list(queryset.values_list("date", flat=True))
        for day in dates:
            holiday_delete(actor=request.user, date=day)
        if dates:
            messages.info(
                request, _("已删除 %(count)d 条记录,这些日期恢复为国务院通知或周末规则") % {"count": len(dates)}
            )


# ---------------------------------------------------------------------------
# Audit events (owned by core.audit): read-only, the chain is append-only
# ---------------------------------------------------------------------------


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Look at the audit chain; nobody adds, edits or deletes an event here (verify with `yiwang audit verify`)."""

    list_display = ["sequence", "created_at", "actor_repr", "action", "object_type", "object_id", "short_hash"]
    list_filter = ["object_type"]
    search_fields = ["=sequence", "action", "=object_id", "actor_repr"]
    ordering = ["-sequence"]
    show_full_result_count = False
    list_per_page = 50
    fields = [
        "sequence",
        "created_at",
        "actor",
        "actor_repr",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "changes_pretty",
        "digest",
        "prev_hash",
        "hash",
    ]
    readonly_fields = fields

    @admin.display(description=_("本条哈希"))
    def short_hash(self, obj: AuditEvent) -> str:
        return obj.hash[:12] + "…"

    @admin.display(description=_("变更内容"))
    def changes_pretty(self, obj: AuditEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.changes, ensure_ascii=False, indent=2))

    def has_view_permission(self, request, obj=None) -> bool:
        # 三员分立: the audit trail is the audit admin's alone (a grant of the ``audit_admin``
        # role); neither the superuser flag nor the model permission opens it.
        from yiwang.identity.selectors import actor_is_audit_admin

        return actor_is_audit_admin(request.user)

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# ---------------------------------------------------------------------------
# Periodic jobs (owned by core.schedule): rows come from the code's registry;
# the admin switches them on and off, changes intervals and next run times
# (audited as schedule.update) and can enqueue a run at once.
# ---------------------------------------------------------------------------


@admin.register(ScheduledJob)
class ScheduledJobAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "description",
        "enabled",
        "effective_interval",
        "next_due_at",
        "last_enqueued_at",
        "last_outcome",
        "last_summary",
        "run_count",
    ]
    list_filter = ["enabled", "last_outcome"]
    search_fields = ["name"]
    fields = [
        "name",
        "description",
        "enabled",
        "effective_interval",
        "interval_seconds",
        "next_due_at",
        "last_enqueued_at",
        "last_task_id",
        "last_outcome",
        "last_finished_at",
        "last_summary",
        "run_count",
    ]
    readonly_fields = [
        "name",
        "description",
        "effective_interval",
        "last_enqueued_at",
        "last_task_id",
        "last_outcome",
        "last_finished_at",
        "last_summary",
        "run_count",
    ]
    actions = ["run_now", "enable", "disable"]

    @admin.display(description=_("说明"))
    def description(self, obj: ScheduledJob) -> str:
        job = schedule.autodiscover().get(obj.name)
        return str(job.description) if job else _("(程序中已无此任务)")

    @admin.display(description=_("生效间隔"))
    def effective_interval(self, obj: ScheduledJob) -> str:
        job = schedule.autodiscover().get(obj.name)
        if job is None:
            return "-"
        seconds, source = schedule.interval_for(job, obj)
        sources = {"admin": _("管理员设置"), "settings": _("配置项"), "default": _("默认")}
        return f"{schedule.format_interval(seconds)} ({sources[source]})"

    def changelist_view(self, request, extra_context=None):
        schedule.jobs_sync()  # a job registered since the last worker tick is listed too
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        changed = {f: getattr(obj, f) for f in ("enabled", "interval_seconds", "next_due_at") if f in form.changed_data}
        saved = schedule.scheduled_job_update(actor=request.user, name=obj.name, **changed)
        obj.next_due_at = saved.next_due_at

    def _update_each(self, request, queryset, **values):
        for name in queryset.values_list("name", flat=True):
            schedule.scheduled_job_update(actor=request.user, name=name, **values)

    @admin.action(description=_("立即运行所选定时任务"), permissions=["change"])
    def run_now(self, request, queryset):
        for name in queryset.values_list("name", flat=True):
            try:
                run = schedule.run_now(name)
            except YiwangError as exc:
                messages.error(request, f"{name}: {exc.message}")
            else:
                messages.info(request, _("%(name)s 已加入任务队列") % {"name": run.name})

    @admin.action(description=_("启用所选定时任务"), permissions=["change"])
    def enable(self, request, queryset):
        self._update_each(request, queryset, enabled=True)

    @admin.action(description=_("停用所选定时任务"), permissions=["change"])
    def disable(self, request, queryset):
        self._update_each(request, queryset, enabled=False)
