"""Admin for messaging: templates are editable (through the audited service, syntax checked);
messages and the delivery log are read-only, for operators to see what was sent and why not."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from yiwang.messaging.models import Delivery, Message, Template


class TemplateForm(forms.ModelForm):
    class Meta:
        model = Template
        fields = ("code", "channel", "name", "kind", "subject", "body", "active")
        widgets = {"body": forms.Textarea(attrs={"rows": 8})}

    def clean(self):
        from yiwang.messaging.services import template_errors

        cleaned = super().clean()
        for field, errors in template_errors(
            subject=cleaned.get("subject") or "", body=cleaned.get("body") or ""
        ).items():
            for error in errors:
                self.add_error(field, error)
        return cleaned


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    form = TemplateForm
    list_display = ("code", "channel", "name", "kind", "subject", "active", "updated_at")
    list_filter = ("channel", "kind", "active")
    search_fields = ("code", "name", "subject")

    def save_model(self, request, obj, form, change):
        """Through the audited service. The form has already checked everything the service
        checks (template_errors in clean(), the code/channel clash by the unique constraint,
        channel and kind by their choices), so a refusal here would be a bug, not bad input."""
        from yiwang.messaging.services import template_save

        data = form.cleaned_data
        saved = template_save(
            actor=request.user,
            template=Template.objects.get(pk=obj.pk) if change else None,
            code=data["code"],
            channel=data["channel"],
            name=data["name"],
            subject=data["subject"],
            body=data["body"],
            active=data["active"],
            kind=data["kind"],
        )
        obj.pk = saved.pk

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: code sends by template code


class ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DeliveryInline(ReadOnly, admin.TabularInline):
    model = Delivery
    fields = ("attempt", "attempted_at", "outcome", "address", "provider_ref", "error")
    readonly_fields = fields
    extra = 0


@admin.register(Message)
class MessageAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("created_at", "recipient", "channel", "template_code", "subject", "state", "attempts")
    list_filter = ("channel", "state", "template_code")
    search_fields = ("subject", "ref_id", "recipient__username")
    list_select_related = ("recipient",)
    readonly_fields = (
        "recipient",
        "channel",
        "template_code",
        "subject",
        "body",
        "ref_type",
        "ref_id",
        "ref_url",
        "state",
        "dedupe_key",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
        "read_at",
    )
    fields = readonly_fields
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("attempted_at", "message", "attempt", "outcome", "address", "error_short")
    list_filter = ("outcome",)
    list_select_related = ("message",)

    @admin.display(description=_("错误信息"))
    def error_short(self, obj: Delivery) -> str:
        return (obj.error or "")[:80]
