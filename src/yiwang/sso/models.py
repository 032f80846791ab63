from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ClientPolicy(models.Model):
    """What the security admin decided for one relying party (an ``oauth2_provider.Application``):
    the scopes it may ask for, whether its users' ``sub`` is pairwise, and whether it may see
    phone numbers and 身份证号 in full (otherwise they are masked in userinfo)."""

    class SubjectType(models.TextChoices):
        PUBLIC = "public", _("全平台统一标识")
        PAIRWISE = "pairwise", _("按接入系统区分的标识(pairwise)")

    application = models.OneToOneField(
        "oauth2_provider.Application", on_delete=models.CASCADE, related_name="yiwang_policy"
    )
    allowed_scopes = models.CharField(_("允许的授权范围"), max_length=200, default="openid profile")
    subject_type = models.CharField(
        _("用户标识类型"), max_length=10, choices=SubjectType.choices, default=SubjectType.PUBLIC
    )
    full_phone = models.BooleanField(_("可获取完整手机号码"), default=False)
    full_id_number = models.BooleanField(_("可获取完整身份证号"), default=False)
    is_active = models.BooleanField(_("启用"), default=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("接入系统策略")
        verbose_name_plural = _("接入系统策略")

    def __str__(self) -> str:
        return str(self.application)

    @property
    def scopes(self) -> set[str]:
        return set(self.allowed_scopes.split())
