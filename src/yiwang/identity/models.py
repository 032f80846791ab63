from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from yiwang.core.fields import EncryptedTextField


class User(AbstractUser):
    """A person who signs in: a citizen, an enterprise's agent, or a member of staff.

    Personal identifiers are encrypted at rest; ``*_index`` holds a keyed blind index
    (HMAC-SM3) so the platform can still find a person by exact 身份证号 or phone.
    """

    class Kind(models.TextChoices):
        CITIZEN = "citizen", _("个人用户")
        ENTERPRISE_AGENT = "enterprise_agent", _("法人用户(经办人)")
        STAFF = "staff", _("工作人员")

    class RealNameLevel(models.IntegerChoices):
        L1 = 1, _("L1 自助注册")
        L2 = 2, _("L2 人口库核验")
        L3 = 3, _("L3 窗口当面核验")

    kind = models.CharField(_("用户类型"), max_length=20, choices=Kind.choices, default=Kind.CITIZEN)
    # 实名等级: what a relying party (and a service item) may trust about who this is.
    real_name_level = models.PositiveSmallIntegerField(
        _("实名等级"), choices=RealNameLevel.choices, default=RealNameLevel.L1
    )
    real_name = models.CharField(_("姓名"), max_length=50, blank=True)
    id_number = EncryptedTextField(_("居民身份证号码"), blank=True)
    id_number_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    phone = EncryptedTextField(_("手机号码"), blank=True)
    phone_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    enterprise_uscc = models.CharField(_("统一社会信用代码"), max_length=18, blank=True, db_index=True)
    enterprise_name = models.CharField(_("企业名称"), max_length=200, blank=True)
    totp_secret = EncryptedTextField(_("动态口令密钥"), blank=True, editable=False)
    totp_confirmed_at = models.DateTimeField(_("动态口令启用时间"), null=True, blank=True, editable=False)
    totp_last_step = models.BigIntegerField(default=0, editable=False)
    elder_mode = models.BooleanField(_("长辈模式"), default=False)
    language = models.CharField(_("界面语言"), max_length=10, blank=True)
    # Raised by "sign out everywhere": part of every session's auth hash, so all sessions end.
    session_generation = models.PositiveIntegerField(_("会话代数"), default=0, editable=False)

    objects = UserManager()

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        indexes = [models.Index(fields=["kind"])]

    def __str__(self) -> str:
        return self.real_name or self.username

    def has_perm(self, perm, obj=None) -> bool:
        """Django's model permissions, plus what the admin role held by grant gives (三员分立): the
        system, security or audit admin holds the permissions of the models of their area
        (``identity.selectors.admin_role_for``). The admin site itself asks for that role first,
        so the superuser flag alone opens none of its pages (``identity.admin``)."""
        if self.is_active and perm.count(".") == 1:
            from yiwang.identity.selectors import actor_admin_reaches

            app_label, codename = perm.split(".")
            model_name = codename.split("_", 1)[1] if "_" in codename else ""
            if model_name and actor_admin_reaches(self, app_label=app_label, model_name=model_name):
                return True
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label) -> bool:
        if self.is_active:
            from yiwang.identity.selectors import actor_admin_roles

            if actor_admin_roles(self):
                return True
        return super().has_module_perms(app_label)

    @property
    def mfa_enabled(self) -> bool:
        return bool(self.totp_secret and self.totp_confirmed_at)

    def _get_session_auth_hash(self, secret=None):
        # Django keys a session to an HMAC of the password hash, so a new password ends the
        # other sessions; mixing in ``session_generation`` lets "sign out everywhere" end
        # them without one. Generation 0 hashes as Django does: existing sessions stay valid.
        if not self.session_generation:
            return super()._get_session_auth_hash(secret=secret)
        from django.utils.crypto import salted_hmac

        key_salt = "yiwang.identity.models.User.get_session_auth_hash"
        value = f"{self.password}:{self.session_generation}"
        return salted_hmac(key_salt, value, secret=secret, algorithm="sha256").hexdigest()


class Department(models.Model):
    """A government body in the tree: province → city → county → township → village.

    ``path`` is a materialized path of ids ("/1/4/17/") so descendants are one
    indexed prefix query on SQLite and PostgreSQL alike.
    """

    class Level(models.IntegerChoices):
        PROVINCE = 1, _("省级")
        CITY = 2, _("市级")
        COUNTY = 3, _("县级")
        TOWNSHIP = 4, _("乡级")
        VILLAGE = 5, _("村级")

    class Kind(models.TextChoices):
        GOVERNMENT = "government", _("人民政府")
        AGENCY = "agency", _("工作部门")
        SUBDISTRICT = "subdistrict", _("街道办事处")
        COMMUNITY = "community", _("村(居)民委员会")

    name = models.CharField(_("名称"), max_length=100)
    short_name = models.CharField(_("简称"), max_length=50, blank=True)
    code = models.CharField(_("机构编码"), max_length=32, unique=True)
    uscc = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    level = models.PositiveSmallIntegerField(_("层级"), choices=Level.choices)
    kind = models.CharField(_("机构类型"), max_length=20, choices=Kind.choices, default=Kind.AGENCY)
    region_code = models.CharField(
        _("行政区划代码"), max_length=12, help_text=_("GB/T 2260 六位代码;乡、村为十二位统计用区划代码")
    )
    parent = models.ForeignKey(
        "self", verbose_name=_("上级"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=255, db_index=True, editable=False)
    sort_order = models.PositiveIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("部门")
        verbose_name_plural = _("部门")
        ordering = ["path"]
        indexes = [models.Index(fields=["region_code"])]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    WINDOW_CLERK = "window_clerk", _("窗口受理人员")
    REVIEWER = "reviewer", _("审核人员")
    DEPARTMENT_HEAD = "department_head", _("部门负责人")
    DEPARTMENT_ADMIN = "department_admin", _("部门管理员")
    CITY_ADMIN = "city_admin", _("市级管理员")
    AUDITOR = "auditor", _("审计人员")
    # 三员分立 (等保 2.0): no account may hold two of these three.
    SYSTEM_ADMIN = "system_admin", _("系统管理员")
    SECURITY_ADMIN = "security_admin", _("安全管理员")
    AUDIT_ADMIN = "audit_admin", _("安全审计员")


# Roles whose holders must use TOTP multi-factor authentication (等保 2.0 双因素).
ADMIN_ROLES = frozenset(
    {Role.DEPARTMENT_ADMIN, Role.CITY_ADMIN, Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN}
)
# 三员分立: the three roles no single account may combine.
SEPARATED_ADMIN_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})


class RoleGrant(models.Model):
    """A role held in one department, optionally covering every department below it."""

    user = models.ForeignKey(User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(_("角色"), max_length=30, choices=Role.choices)
    department = models.ForeignKey(
        Department, verbose_name=_("部门"), on_delete=models.PROTECT, related_name="role_grants"
    )
    include_descendants = models.BooleanField(_("含下级部门"), default=False)
    granted_by = models.ForeignKey(
        User, verbose_name=_("授权人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("授权时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("角色授权")
        verbose_name_plural = _("角色授权")
        constraints = [models.UniqueConstraint(fields=["user", "role", "department"], name="identity_rolegrant_unique")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.department}"


class ApiToken(models.Model):
    """A bearer token for a machine client of the API. Only its SM3 digest is stored."""

    user = models.ForeignKey(User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("用途"), max_length=100)
    prefix = models.CharField(_("前缀"), max_length=12, db_index=True)
    key_digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    expires_at = models.DateTimeField(_("过期时间"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class ActivationCode(models.Model):
    """A one-time code with which a walk-in applicant sets the first password of the account a
    window clerk registered for them (账号激活码, printed on the 账号激活告知单).

    Only a keyed digest (HMAC-SM3, bound to the user) is stored; the code itself exists only
    on the printed notice. Issuing a new code revokes the earlier unused ones.
    """

    user = models.ForeignKey(User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="activation_codes")
    code_digest = models.CharField(max_length=64, editable=False)
    issued_by = models.ForeignKey(
        User, verbose_name=_("发放人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_at = models.DateTimeField(_("发放时间"))
    expires_at = models.DateTimeField(_("有效期至"))
    used_at = models.DateTimeField(_("激活时间"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("作废时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("账号激活码")
        verbose_name_plural = _("账号激活码")
        ordering = ["-issued_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.user} · {self.issued_at:%Y-%m-%d}"


class PasswordHistory(models.Model):
    """The hashes of a user's recent passwords (identity.passwords.PasswordHistoryValidator):
    only hashes, only the last few, so a new password cannot repeat one of them."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    password = models.CharField(max_length=255, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("历史密码")
        verbose_name_plural = _("历史密码")
        indexes = [models.Index(fields=["user", "-id"])]

    def __str__(self) -> str:
        return f"{self.user_id} · {self.created_at:%Y-%m-%d}"


# =============================================================================================
# Delegation (授权代办) and window assistance (帮办代办)
# =============================================================================================


class Delegation(models.Model):
    """An authorization to act for someone (授权代办): an enterprise's account, held by its legal
    representative (法定代表人), authorizes an agent; or a citizen authorizes a family member.

    The agent is a citizen account of their own; while the delegation is live (from
    ``valid_from`` to ``valid_until``, not revoked) and for the items it names (or all items),
    the agent applies for the principal and follows those cases, each action recorded as
    "agent for principal" (audit + the case's timeline). Outside that, the principal's objects
    are refused to the agent like to anyone (404).
    """

    class Kind(models.TextChoices):
        ENTERPRISE = "enterprise", _("企业授权经办人")
        FAMILY = "family", _("个人授权亲属")

    class Relation(models.TextChoices):
        EMPLOYEE = "employee", _("本单位员工")
        AGENCY = "agency", _("代理机构人员")
        SPOUSE = "spouse", _("配偶")
        PARENT = "parent", _("父母")
        CHILD = "child", _("子女")
        RELATIVE = "relative", _("其他近亲属")

    principal = models.ForeignKey(
        User, verbose_name=_("授权人"), on_delete=models.CASCADE, related_name="delegations_given"
    )
    agent = models.ForeignKey(
        User, verbose_name=_("被授权人"), on_delete=models.CASCADE, related_name="delegations_held"
    )
    kind = models.CharField(_("授权类型"), max_length=12, choices=Kind.choices)
    relation = models.CharField(_("与授权人关系"), max_length=12, choices=Relation.choices)
    all_items = models.BooleanField(_("全部事项"), default=False)
    item_codes = models.JSONField(_("授权事项(实施编码)"), default=list, blank=True)
    valid_from = models.DateTimeField(_("生效时间"))
    valid_until = models.DateTimeField(_("截止时间"))
    created_at = models.DateTimeField(_("授权时间"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, verbose_name=_("撤销人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("授权代办")
        verbose_name_plural = _("授权代办")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["agent", "valid_until"]), models.Index(fields=["principal", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.principal} → {self.agent}"

    def is_live(self, now) -> bool:
        return self.revoked_at is None and self.valid_from <= now < self.valid_until

    def covers(self, item_code: str) -> bool:
        return self.all_items or item_code in (self.item_codes or [])


class AssistConsent(models.Model):
    """A citizen's consent that a window clerk fills in for them on their own account (帮办).

    The clerk asks (the citizen is notified through messaging); the citizen, signed in on their
    phone, agrees and is shown a six-digit consent code once; the clerk types it in. Only a
    keyed digest of the code is kept; it expires and allows a few tries. A confirmed consent lets
    that clerk act for that citizen until ``act_until``; each case so made is marked 帮办.
    """

    citizen = models.ForeignKey(
        User, verbose_name=_("申请人"), on_delete=models.CASCADE, related_name="assist_consents"
    )
    clerk = models.ForeignKey(User, verbose_name=_("帮办人员"), on_delete=models.CASCADE, related_name="+")
    requested_at = models.DateTimeField(_("申请时间"))
    code_digest = models.CharField(max_length=64, blank=True, editable=False)
    code_issued_at = models.DateTimeField(_("同意码生成时间"), null=True, blank=True)
    code_expires_at = models.DateTimeField(_("同意码有效期至"), null=True, blank=True)
    failed_tries = models.PositiveSmallIntegerField(_("错误次数"), default=0)
    confirmed_at = models.DateTimeField(_("核验通过时间"), null=True, blank=True)
    act_until = models.DateTimeField(_("帮办有效期至"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("帮办同意")
        verbose_name_plural = _("帮办同意")
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.clerk} ⇢ {self.citizen} · {self.requested_at:%Y-%m-%d %H:%M}"
