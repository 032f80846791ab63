"""Admin for identity. Sections: users and API tokens (helper "auth"); departments and role grants ("dept").

Writes go through the services so they are validated and audited like any other write.
"""

# =============================================================================================
# Users and API tokens
# =============================================================================================

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from yiwang.core.audit import audit_record
from yiwang.core.crypto import blind_index
from yiwang.core.errors import ValidationFailed
from yiwang.core.masking import mask_id_number, mask_name, mask_phone
from yiwang.identity.models import ApiToken, AssistConsent, Delegation, User
from yiwang.identity.services import api_token_revoke, user_create, user_mfa_disable, user_sign_out_everywhere


def _admin_login(request: HttpRequest, extra_context=None):
    """The admin site signs in through the same page as everyone else (lockout, MFA, audit)."""
    if request.user.is_authenticated:
        raise PermissionDenied
    target = request.GET.get("next") or reverse("admin:index")
    return redirect_to_login(target, login_url=reverse("identity:login"))


def _admin_password_change(request: HttpRequest, extra_context=None):
    """Django's own admin password form would bypass ``user_set_password`` (no audit event, API
    tokens surviving the change, the password age not reset): the admin links to ours instead."""
    return redirect("identity:password_change")


admin.site.login = _admin_login
admin.site.password_change = _admin_password_change
admin.site.password_change_done = _admin_password_change
admin.site.site_header = _("一网 · 管理后台")
admin.site.site_title = _("一网管理后台")


class UserAddForm(forms.ModelForm):
    password = forms.CharField(label=_("初始密码"), strip=False, widget=forms.PasswordInput)
    id_number_input = forms.CharField(label=_("居民身份证号码"), required=False, max_length=18)
    phone_input = forms.CharField(label=_("手机号码"), required=False, max_length=20)

    class Meta:
        model = User
        fields = ["username", "kind", "real_name", "enterprise_uscc", "enterprise_name", "is_staff"]

    def _post_clean(self):
        # Model validation (unique username etc.) is done by user_create in save_model.
        pass


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["username", "masked_name", "kind", "is_staff", "is_active", "mfa_on", "last_login"]
    list_filter = ["kind", "is_staff", "is_active", "is_superuser"]
    search_fields = ["username", "enterprise_uscc"]
    ordering = ["username"]
    readonly_fields = [
        "is_superuser",  # set only by ``yiwang createsuperuser``: in the admin it would be a way around 三员分立
        "masked_id_number",
        "masked_phone",
        "mfa_on",
        "totp_confirmed_at",
        "last_login",
        "date_joined",
    ]
    fieldsets = [
        (None, {"fields": ["username", "kind", "real_name", "masked_id_number", "masked_phone"]}),
        (_("企业"), {"fields": ["enterprise_uscc", "enterprise_name"]}),
        (_("权限"), {"fields": ["is_active", "is_staff", "is_superuser"]}),
        (_("安全"), {"fields": ["mfa_on", "totp_confirmed_at", "last_login", "date_joined"]}),
        (_("偏好"), {"fields": ["elder_mode", "language"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "fields": [
                    "username",
                    "password",
                    "kind",
                    "real_name",
                    "id_number_input",
                    "phone_input",
                    "enterprise_uscc",
                    "enterprise_name",
                    "is_staff",
                ]
            },
        )
    ]
    actions = ["reset_mfa", "sign_out_everywhere"]

    @admin.display(description=_("姓名"))
    def masked_name(self, obj: User) -> str:
        return mask_name(obj.real_name)

    @admin.display(description=_("居民身份证号码"))
    def masked_id_number(self, obj: User) -> str:
        return mask_id_number(obj.id_number)

    @admin.display(description=_("手机号码"))
    def masked_phone(self, obj: User) -> str:
        return mask_phone(obj.phone)

    @admin.display(description=_("动态口令"), boolean=True)
    def mfa_on(self, obj: User) -> bool:
        return obj.mfa_enabled

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = UserAddForm
            kwargs["fields"] = None
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_search_results(self, request, queryset, search_term):
        """Also find people by exact 身份证号 or phone, through the blind indexes."""
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = (search_term or "").strip()
        if term:
            digest = blind_index(term)
            results |= queryset.filter(id_number_index=digest) | queryset.filter(phone_index=digest)
        return results, may_have_duplicates

    def save_model(self, request, obj, form, change):
        if not change:
            data = form.cleaned_data
            try:
                created = user_create(
                    actor=request.user,
                    username=data["username"],
                    password=data["password"],
                    kind=data["kind"],
                    real_name=data.get("real_name", ""),
                    id_number=data.get("id_number_input", ""),
                    phone=data.get("phone_input", ""),
                    enterprise_uscc=data.get("enterprise_uscc", ""),
                    enterprise_name=data.get("enterprise_name", ""),
                    is_staff=data.get("is_staff", False),
                )
            except ValidationFailed as exc:
                # Shown as a message; the admin then re-displays the list without the user.
                for field, errors in exc.fields.items():
                    messages.error(request, f"{field}: {'; '.join(errors)}")
                raise
            obj.pk = created.pk
            obj.__dict__.update({k: v for k, v in created.__dict__.items() if not k.startswith("_")})
            return
        super().save_model(request, obj, form, change)
        audit_record(
            actor=request.user,
            action="user.update",
            obj=obj,
            object_repr=obj.username,
            changes={"fields": sorted(form.changed_data)},
        )

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except ValidationFailed:
            from django.shortcuts import redirect

            return redirect(request.get_full_path())

    @admin.action(description=_("重置动态口令(用户丢失手机时)"))
    def reset_mfa(self, request, queryset):
        count = 0
        for user in queryset.filter(totp_confirmed_at__isnull=False):
            user_mfa_disable(actor=request.user, user=user)
            count += 1
        self.message_user(request, _("已重置 %(n)d 个账号的动态口令,其下次登录时须重新绑定。") % {"n": count})

    @admin.action(description=_("在所有设备上退出(结束会话并吊销接口令牌)"))
    def sign_out_everywhere(self, request, queryset):
        count = 0
        for user in queryset:
            user_sign_out_everywhere(actor=request.user, user=user)
            count += 1
        self.message_user(request, _("已让 %(n)d 个账号在所有设备上退出。") % {"n": count})


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "user", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix", "user__username"]
    readonly_fields = ["user", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]
    exclude = ["key_digest"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # the secret is shown once, on the token page (accounts/tokens/)

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("吊销所选令牌"))
    def revoke(self, request, queryset):
        for token in queryset.filter(revoked_at__isnull=True):
            api_token_revoke(actor=request.user, token=token)
        self.message_user(request, _("已吊销所选令牌。"))


# =============================================================================================
# Departments and role grants
# =============================================================================================


# =============================================================================================
# 三员分立: the admin site's reach follows the three roles, not the superuser flag
# =============================================================================================

_PERMISSION_METHODS = (
    "has_view_permission",
    "has_add_permission",
    "has_change_permission",
    "has_delete_permission",
    "has_module_permission",
)


def _site_has_permission(request: HttpRequest) -> bool:
    """Past the admin site's gate: an active staff account holding the system, security or audit
    admin role by a grant of its own (the superuser flag alone no longer opens the site)."""
    from yiwang.identity.selectors import actor_admin_roles, actor_grants

    separate_admin_duties()  # a model registered after start-up gets its gate too (idempotent)
    user = request.user
    actor_grants(actor=user, remember=True)  # read once for this request's many permission checks
    if user.is_active and user.is_staff and actor_admin_roles(user):
        return True
    if user.is_authenticated:  # signed in, but no admin role: refused (our admin sign-in would 403 too)
        raise PermissionDenied
    return False


def _gated(model_admin, name: str):
    original = getattr(model_admin, name)
    opts = model_admin.model._meta

    def method(request, *args, **kwargs):
        from yiwang.identity.selectors import actor_admin_reaches, actor_grants

        actor_grants(actor=request.user, remember=True)  # request.user: a new object each request
        if not actor_admin_reaches(request.user, app_label=opts.app_label, model_name=opts.model_name):
            return False
        return original(request, *args, **kwargs)

    method.__name__ = name
    method.yiwang_separated = True
    return method


def separate_admin_duties(site=None) -> None:
    """Give every registered model's admin the gate of its role (``identity.selectors.
    admin_role_for``): the system admin the platform's configuration, the security admin
    accounts, tokens, delegations, groups and lockouts, the audit admin the audit trail and the
    evidence logs. No role reaches another's pages; the superuser flag reaches none. Called once
    the admin modules are loaded (``IdentityConfig.ready``); idempotent."""
    site = site or admin.site
    if site.has_permission is not _site_has_permission:
        site.has_permission = _site_has_permission
    for model_admin in site._registry.values():
        for name in _PERMISSION_METHODS:
            if not getattr(getattr(model_admin, name), "yiwang_separated", False):
                setattr(model_admin, name, _gated(model_admin, name))


# --- Delegations and 帮办 consents: read-only, for the security admin ----------------------------


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delegation)
class DelegationAdmin(_ReadOnly):
    """Who authorized whom, for what and when (granted and revoked only by the principal)."""

    list_display = ["pk", "principal", "agent_masked", "kind", "relation", "all_items", "valid_from", "valid_until"]
    list_filter = ["kind", "relation", "all_items"]
    fields = [
        "principal",
        "agent_masked",
        "kind",
        "relation",
        "all_items",
        "item_codes",
        "valid_from",
        "valid_until",
        "created_at",
        "revoked_at",
        "revoked_by",
    ]
    readonly_fields = fields

    @admin.display(description=_("被授权人"))
    def agent_masked(self, obj) -> str:
        return mask_name(obj.agent.real_name)


@admin.register(AssistConsent)
class AssistConsentAdmin(_ReadOnly):
    """帮办 requests and their outcome; the consent code's digest is never shown."""

    list_display = ["pk", "clerk", "citizen_masked", "requested_at", "confirmed_at", "failed_tries", "closed_at"]
    fields = [
        "clerk",
        "citizen_masked",
        "requested_at",
        "code_issued_at",
        "code_expires_at",
        "failed_tries",
        "confirmed_at",
        "act_until",
        "closed_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("申请人"))
    def citizen_masked(self, obj) -> str:
        return mask_name(obj.citizen.real_name)
