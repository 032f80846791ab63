"""Read-only admin for licenses and seals: changes go through the services (audited, signed)."""

from django.contrib import admin

from yiwang.core.masking import mask_id_number
from yiwang.licenses.models import (
    CertificateAuthority,
    License,
    LicenseStatusChange,
    LicenseType,
    Presentation,
    PresentationView,
    Seal,
    SealKey,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LicenseType)
class LicenseTypeAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "standard_code", "department", "holder_kind", "validity_years", "is_active")
    search_fields = ("code", "name", "standard_code")


class StatusChangeInline(admin.TabularInline):
    model = LicenseStatusChange
    extra = 0
    can_delete = False
    fields = ("created_at", "from_status", "to_status", "reason", "actor")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(License)
class LicenseAdmin(ReadOnlyAdmin):
    list_display = ("identifier", "license_type", "issuer", "holder_name", "masked_holder_id", "issue_date", "status")
    list_filter = ("status", "license_type")
    search_fields = ("identifier",)
    exclude = ("holder_id",)
    readonly_fields = ("masked_holder_id",)
    inlines = [StatusChangeInline]

    @admin.display(description="持证主体代码")
    def masked_holder_id(self, obj: License) -> str:
        return mask_id_number(obj.holder_id) if obj.holder_kind == "person" else obj.holder_id


@admin.register(Seal)
class SealAdmin(ReadOnlyAdmin):
    list_display = ("name", "department", "created_at")


@admin.register(SealKey)
class SealKeyAdmin(ReadOnlyAdmin):
    list_display = ("seal", "version", "created_at", "retired_at")
    exclude = ("sm2_private_key_encrypted", "pdf_private_key_encrypted")


@admin.register(CertificateAuthority)
class CertificateAuthorityAdmin(ReadOnlyAdmin):
    list_display = ("name", "created_at", "is_active")
    exclude = ("private_key_encrypted",)


@admin.register(Presentation)
class PresentationAdmin(ReadOnlyAdmin):
    list_display = ("code", "license", "created_by", "expires_at", "revoked_at")


@admin.register(PresentationView)
class PresentationViewAdmin(ReadOnlyAdmin):
    list_display = ("presentation", "viewer", "viewer_label", "viewed_at")
