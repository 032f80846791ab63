"""Admin for cases: read-only. Cases change only through the services (roles, clock, audit);
the admin lets superusers and auditors look. Personal data is shown masked."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from yiwang.cases.models import Case, CaseState, CaseStep
from yiwang.core.masking import mask_id_number, mask_name


class ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class StepInline(ReadOnly, admin.TabularInline):
    model = CaseStep
    fields = ("created_at", "kind", "actor_name", "process_step_name", "outcome", "note", "public")
    readonly_fields = fields
    extra = 0


@admin.register(Case)
class CaseAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("number", "item_name", "department", "state", "sla_status", "due_date", "submitted_at")
    list_filter = ("state", "sla_status", "channel")
    search_fields = ("number",)
    list_select_related = ("item_version", "department")
    ordering = ("-submitted_at",)
    fields = (
        "number",
        "item_version",
        "department",
        "state",
        "channel",
        "applicant_masked",
        "applicant_id_masked",
        "submitted_at",
        "accepted_at",
        "deemed_accepted",
        "time_limit_days",
        "paused_days",
        "extension_days",
        "due_date",
        "sla_status",
        "decision",
        "decided_at",
        "delivered_at",
        "version",
    )
    readonly_fields = fields
    inlines = [StepInline]

    def get_queryset(self, request):
        # A draft is its applicant's alone, not even for superusers and auditors here.
        return super().get_queryset(request).exclude(state=CaseState.DRAFT)

    @admin.display(description=_("事项"))
    def item_name(self, case: Case) -> str:
        return case.item_version.name

    @admin.display(description=_("申请人"))
    def applicant_masked(self, case: Case) -> str:
        return mask_name(case.applicant_name)

    @admin.display(description=_("证件号码"))
    def applicant_id_masked(self, case: Case) -> str:
        return mask_id_number(case.applicant_id_number)
