"""Admin for key-task oversight: who is in the oversight office (督查室) or a city leader
(``Member``: added and removed through the audited services), and the tasks with their
milestones, reports and history, read-only — tasks change only on the workbench, through the
services (roles, the calendar, the audit chain)."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from yiwang.oversight import services
from yiwang.oversight.models import KeyTask, Member, Milestone, ProgressReport, TaskEvent


class ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MemberForm(forms.ModelForm):
    class Meta:
        model = Member
        fields = ("user", "role")

    def clean_user(self):
        """The service's rule, said next to the field rather than as an error page."""
        user = self.cleaned_data["user"]
        if getattr(user, "kind", "") != "staff":
            raise forms.ValidationError(_("只有工作人员可以成为督查人员"))
        return user


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    """The 督查室 and the city leaders: a table of its own, not identity role grants, because
    the office oversees every department without holding a role in each (as the hotline
    centre's ``hotline.Member``). Add and remove only; a changed role is a new row."""

    form = MemberForm
    list_display = ("user", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__username", "user__real_name")
    raw_id_fields = ("user",)
    list_select_related = ("user",)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)  # the list, not an edit

    def save_model(self, request, obj, form, change):
        saved = services.member_set(actor=request.user, user=obj.user, role=obj.role)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        services.member_remove(actor=request.user, member=obj)

    def delete_queryset(self, request, queryset):
        for member in queryset:
            services.member_remove(actor=request.user, member=member)


class MilestoneInline(ReadOnly, admin.TabularInline):
    model = Milestone
    fields = ("title", "due_date", "status", "evidence")
    readonly_fields = fields
    extra = 0


class ReportInline(ReadOnly, admin.TabularInline):
    model = ProgressReport
    fields = ("submitted_at", "department", "milestone", "status", "reviewed_at")
    readonly_fields = fields
    extra = 0


class EventInline(ReadOnly, admin.TabularInline):
    model = TaskEvent
    fields = ("created_at", "kind", "actor", "note")
    readonly_fields = fields
    extra = 0


@admin.register(KeyTask)
class KeyTaskAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("number", "title", "source_kind", "lead_department", "deadline", "status", "urge_count")
    list_filter = ("status", "source_kind")
    search_fields = ("number", "title")
    list_select_related = ("lead_department",)
    readonly_fields = (
        "number",
        "title",
        "source_kind",
        "source_ref",
        "source_text",
        "lead_department",
        "deadline",
        "status",
        "score",
        "score_note",
        "urge_count",
        "created_at",
        "completed_at",
    )
    fields = readonly_fields
    inlines = [MilestoneInline, ReportInline, EventInline]
