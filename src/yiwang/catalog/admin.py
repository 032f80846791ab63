"""Admin for the catalog: read-only views of items, versions and life events.

Items are edited in the workbench (/workbench/catalog/), through the API or by import, so
every change is validated, versioned and audited by the services; the admin only looks.
Sections: items and life events (helper "cat"); search index and synonyms (helper "catdata").
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from yiwang.catalog.models import LifeEvent, MaterialRequirement, ServiceItem, ServiceItemVersion

# =============================================================================================
# Items and life events (read-only)
# =============================================================================================


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class VersionInline(admin.TabularInline):
    model = ServiceItemVersion
    fields = ("number", "name", "kind", "promised_time_limit", "published_at", "published_by")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ServiceItem)
class ServiceItemAdmin(ReadOnlyAdmin):
    list_display = ("implementation_code", "name", "department", "status", "current_version_number")
    list_filter = ("status",)
    search_fields = ("implementation_code", "versions__name")
    list_select_related = ("department", "current_version")
    inlines = [VersionInline]

    @admin.display(description=_("事项名称"))
    def name(self, obj):
        return obj.current_version.name if obj.current_version else ""

    @admin.display(description=_("当前版本"))
    def current_version_number(self, obj):
        return obj.current_version.number if obj.current_version else None


class MaterialInline(admin.TabularInline):
    model = MaterialRequirement
    fields = ("sort", "name", "requirement", "condition", "source", "license_type_code", "registry_field")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ServiceItemVersion)
class ServiceItemVersionAdmin(ReadOnlyAdmin):
    list_display = ("name", "item", "number", "kind", "published_at")
    list_filter = ("kind",)
    search_fields = ("name", "item__implementation_code")
    list_select_related = ("item",)
    inlines = [MaterialInline]


@admin.register(LifeEvent)
class LifeEventAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "department", "status")
    list_select_related = ("department", "current_version")

    @admin.display(description=_("名称"))
    def name(self, obj):
        return obj.current_version.name if obj.current_version else ""
