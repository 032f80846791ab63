"""The exchange's evidence log (交换日志) in the admin site: read-only, and for the audit admin alone.

三员分立 (等保 2.0): who read whose registry data is audit material. Like the audit trail
(core/admin.py), the log and its SM2 seals open only to an ``audit_admin`` grant — not to the
superuser flag, not to a model permission. Nobody adds, edits or deletes a row here; the chain
is checked with ``yiwang exchange verify-log`` (docs/exchange.md).
"""

from django.contrib import admin

from yiwang.exchange.models import ExchangeLog, ExchangeLogSeal
from yiwang.identity.selectors import actor_is_audit_admin


class _AuditAdminOnly(admin.ModelAdmin):
    def has_view_permission(self, request, obj=None) -> bool:
        return actor_is_audit_admin(request.user)

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ExchangeLog)
class ExchangeLogAdmin(_AuditAdminOnly):
    """Every registry read and refused attempt, newest first. Subjects appear only as blind
    indexes (``subject_index``): the log says that a record was read, not whose ID number it is."""

    list_display = ["sequence", "created_at", "consumer_kind", "consumer", "department", "registry", "outcome"]
    list_filter = ["registry", "consumer_kind", "outcome"]
    search_fields = ["=sequence", "consumer", "purpose", "=subject_index"]
    ordering = ["-sequence"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    list_per_page = 50
    list_select_related = ["department"]
    fields = [
        "sequence",
        "created_at",
        "consumer_kind",
        "consumer",
        "department",
        "grant_id",
        "purpose",
        "registry",
        "fields",
        "outcome",
        "subject_index",
        "key_index",
        "prev_hash",
        "hash",
    ]
    readonly_fields = fields


@admin.register(ExchangeLogSeal)
class ExchangeLogSealAdmin(_AuditAdminOnly):
    """The SM2 seals over the chain head (``exchange.evidence.log_seal``)."""

    list_display = ["sequence", "hash", "sealed_at", "key"]
    ordering = ["-sequence"]
    list_per_page = 50
    fields = ["sequence", "hash", "sealed_at", "key", "signature"]
    readonly_fields = fields
