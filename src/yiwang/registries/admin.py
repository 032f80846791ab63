"""Admin for the registries' configuration: the source department of each field (一数一源),
saved through ``registry_field_source_set`` (audited); grid cells and quality reports read-only.
Records themselves are fed by their source departments (API, import, workbench), not here."""

from django.contrib import admin

from yiwang.registries.models import GridCell, QualityReport, RegistryField
from yiwang.registries.services import registry_field_source_set


@admin.register(RegistryField)
class RegistryFieldAdmin(admin.ModelAdmin):
    list_display = ("registry", "field", "source_department", "updated_at")
    list_filter = ("registry",)
    search_fields = ("field", "source_department__name")
    fields = ("registry", "field", "source_department")
    readonly_fields = ("registry", "field")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        registry_field_source_set(
            actor=request.user, registry=obj.registry, field=obj.field, department=obj.source_department
        )


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(GridCell)
class GridCellAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "region_code")
    search_fields = ("code", "name")


@admin.register(QualityReport)
class QualityReportAdmin(ReadOnlyAdmin):
    list_display = ("registry", "department", "score", "records", "failing_records", "computed_at")
    list_filter = ("registry",)
