"""Admin for the catalog: read-only views of items, versions and life events.

Items are edited in the workbench (/workbench/catalog/), through the API or by import, so
every change is validated, versioned and audited by the services; the admin only looks.
Sections: items and life events (helper "cat"); search index and synonyms (helper "catdata").
"""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from yiwang.catalog.models import (
    LifeEvent,
    MaterialRequirement,
    SearchEntry,
    SearchSynonym,
    ServiceItem,
    ServiceItemVersion,
)

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


# =============================================================================================
# Search synonyms (editable) and the search index (read-only) — helper "catdata"
# =============================================================================================


class SearchSynonymForm(forms.ModelForm):
    expansions_text = forms.CharField(
        label=_("对应规范用语"),
        help_text=_("多个用逗号或顿号分隔,例如:餐饮、食品经营"),
        max_length=500,
    )

    class Meta:
        model = SearchSynonym
        fields = ("term", "is_active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["expansions_text"].initial = "、".join(self.instance.expansions or [])

    def clean(self):
        cleaned = super().clean()
        from yiwang.catalog import search

        # The model's own check (SearchSynonym.clean) runs after this: give it the parsed list.
        self.instance.expansions = search._clean_expansions(cleaned.get("expansions_text") or "")
        return cleaned

    def add_error(self, field, error):
        # The model names its error "expansions", a field this form shows as "expansions_text":
        # without this, an empty or bad value is a ValueError (500) instead of a message.
        if field is None and "expansions" in getattr(error, "error_dict", {}):
            error.error_dict.setdefault("expansions_text", []).extend(error.error_dict.pop("expansions"))
        super().add_error(field, error)


@admin.register(SearchSynonym)
class SearchSynonymAdmin(admin.ModelAdmin):
    """Admins edit what citizens type → the official words; saved through the audited service."""

    form = SearchSynonymForm
    list_display = ("term", "expansions_display", "is_active", "updated_at")
    list_filter = ("is_active",)
    search_fields = ("term",)

    @admin.display(description=_("对应规范用语"))
    def expansions_display(self, obj):
        return "、".join(obj.expansions or [])

    def save_model(self, request, obj, form, change):
        from yiwang.catalog import search
        from yiwang.core.errors import ValidationFailed

        try:
            saved = search.synonym_save(
                actor=request.user,
                term=form.cleaned_data["term"],
                expansions=form.cleaned_data["expansions_text"],
                is_active=form.cleaned_data["is_active"],
                synonym=SearchSynonym.objects.get(pk=obj.pk) if change else None,
            )
        except ValidationFailed as exc:
            messages.error(request, ";".join(m for msgs in (exc.fields or {}).values() for m in msgs))
            return
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        from yiwang.catalog import search

        search.synonym_delete(actor=request.user, synonym=obj)

    def delete_queryset(self, request, queryset):
        from yiwang.catalog import search

        for synonym in queryset:
            search.synonym_delete(actor=request.user, synonym=synonym)


@admin.register(SearchEntry)
class SearchEntryAdmin(ReadOnlyAdmin):
    """The search index, for looking: it is rebuilt from the published catalog."""

    list_display = ("name", "kind", "code", "item_kind", "department_name", "indexed_at")
    list_filter = ("kind", "item_kind")
    search_fields = ("name", "code")
