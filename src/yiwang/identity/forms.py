"""Sign-in, MFA and password forms. Thin: the checks that matter live in services."""

from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LoginForm(forms.Form):
    username = forms.CharField(
        label=_("用户名 / 身份证号 / 手机号"),
        max_length=150,
        error_messages={"required": _("请输入用户名、身份证号或手机号")},
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True, "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label=_("密码"),
        strip=False,
        max_length=256,
        error_messages={"required": _("请输入密码")},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class TotpCodeForm(forms.Form):
    code = forms.CharField(
        label=_("动态口令"),
        max_length=10,
        error_messages={"required": _("请输入身份验证器上显示的 6 位动态口令")},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9 ]*",
                "autofocus": True,
            }
        ),
    )

    def clean_code(self) -> str:
        code = "".join(ch for ch in self.cleaned_data["code"] if not ch.isspace())
        if len(code) != 6 or not code.isdigit():
            raise forms.ValidationError(_("动态口令为 6 位数字"))
        return code


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(
        label=_("原密码"),
        strip=False,
        error_messages={"required": _("请输入原密码")},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    new_password1 = forms.CharField(
        label=_("新密码"),
        strip=False,
        error_messages={"required": _("请输入新密码")},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password2 = forms.CharField(
        label=_("确认新密码"),
        strip=False,
        error_messages={"required": _("请再次输入新密码")},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("new_password1") and data.get("new_password2") and data["new_password1"] != data["new_password2"]:
            self.add_error("new_password2", _("两次输入的新密码不一致"))
        return data


class ActivationForm(forms.Form):
    """账号激活: 身份证号 + the code printed on the 账号激活告知单 + a new password."""

    id_number = forms.CharField(
        label=_("身份证号"),
        max_length=18,
        error_messages={"required": _("请填写身份证号")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )
    code = forms.CharField(
        label=_("激活码"),
        max_length=20,
        error_messages={"required": _("请填写激活码")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "characters"}),
    )
    new_password1 = forms.CharField(
        label=_("新密码"),
        strip=False,
        error_messages={"required": _("请输入新密码")},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password2 = forms.CharField(
        label=_("确认新密码"),
        strip=False,
        error_messages={"required": _("请再次输入新密码")},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("new_password1") and data.get("new_password2") and data["new_password1"] != data["new_password2"]:
            self.add_error("new_password2", _("两次输入的新密码不一致"))
        return data


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("用途"),
        max_length=100,
        error_messages={"required": _("请填写令牌用途,例如“数据交换前置机”")},
    )
    days = forms.IntegerField(
        label=_("有效期(天)"),
        required=False,
        min_value=1,
        max_value=3650,
        initial=365,
        help_text=_("留空表示长期有效(不建议)"),
        error_messages={
            "invalid": _("有效期须为整数天"),
            "min_value": _("有效期至少 1 天"),
            "max_value": _("有效期最长 3650 天"),
        },
    )

    def expires_at(self):
        days = self.cleaned_data.get("days")
        return timezone.now() + timedelta(days=days) if days else None
