"""Identity services: every write to users, tokens, departments and role grants.

Sections: users and API tokens (helper "auth"), departments and role grants (helper "dept").
Each service is keyword-only, runs in one transaction and writes an audit event; personal
data never enters the audit ``changes`` in clear.
"""

# =============================================================================================
# Users, passwords, MFA and API tokens
# =============================================================================================

import re
import secrets
from datetime import datetime

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yiwang.core.audit import audit_record
from yiwang.core.codes import validate_id_number, validate_uscc
from yiwang.core.crypto import blind_index, sm3_hex
from yiwang.core.errors import Forbidden, NotFound, ValidationFailed
from yiwang.core.masking import mask_id_number, mask_phone
from yiwang.identity.models import ApiToken, User

_USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@+-]{3,150}$")
_PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
TOKEN_PREFIX = "yw"  # noqa: S105 - a label, not a secret


def normalize_id_number(value: str) -> str:
    return (value or "").strip().upper()


def normalize_phone(value: str) -> str:
    value = re.sub(r"[\s-]", "", value or "")
    if value.startswith("+86"):
        value = value[3:]
    return value


def _check_code(validator, value: str) -> tuple[str, list[str]]:
    """(normalized value, errors) from a ``core.codes`` validator (returns a value or an info object)."""
    try:
        result = validator(value)
    except ValidationError as exc:
        return value, [str(m) for m in exc.messages]
    return getattr(result, "number", result), []


def password_errors(password: str, user: User | None = None) -> list[str]:
    """The password policy's complaints (length, character classes, common, similar to the user)."""
    try:
        password_validation.validate_password(password, user=user)
    except ValidationError as exc:
        return [str(m) for m in exc.messages]
    return []


def user_create(
    *,
    actor,
    username: str,
    password: str,
    kind: str,
    real_name: str = "",
    id_number: str = "",
    phone: str = "",
    enterprise_uscc: str = "",
    enterprise_name: str = "",
    is_staff: bool = False,
) -> User:
    """Create an account. Guarantees: the password meets the policy and is stored with argon2;
    the 身份证号 passes its check digit and is unique; 身份证号 and phone are encrypted with
    blind indexes; the audit event names the fields set, never their values.

    Raises ``ValidationFailed`` with per-field Chinese messages.
    """
    username = (username or "").strip()
    id_number = normalize_id_number(id_number)
    phone = normalize_phone(phone)
    enterprise_uscc = (enterprise_uscc or "").strip().upper()
    fields: dict[str, list[str]] = {}

    if not _USERNAME_RE.match(username):
        fields["username"] = [str(_("用户名须为 3 至 150 位字母、数字或 _ . @ + - 符号"))]
    elif User.objects.filter(username__iexact=username).exists():
        fields["username"] = [str(_("该用户名已被使用"))]
    if kind not in User.Kind.values:
        fields["kind"] = [str(_("用户类型无效"))]
    if id_number:
        id_number, errors = _check_code(validate_id_number, id_number)
        if errors:
            fields["id_number"] = errors
        elif User.objects.filter(id_number_index=blind_index(id_number)).exists():
            fields["id_number"] = [str(_("该身份证号已注册"))]
    elif kind == User.Kind.CITIZEN:
        fields["id_number"] = [str(_("个人用户须填写身份证号"))]
    if phone:
        if not _PHONE_RE.match(phone):
            fields["phone"] = [str(_("请输入正确的 11 位手机号码"))]
        elif User.objects.filter(phone_index=blind_index(phone)).exists():
            fields["phone"] = [str(_("该手机号码已被其他账号使用"))]
    if enterprise_uscc:
        enterprise_uscc, errors = _check_code(validate_uscc, enterprise_uscc)
        if errors:
            fields["enterprise_uscc"] = errors
    elif kind == User.Kind.ENTERPRISE_AGENT:
        fields["enterprise_uscc"] = [str(_("法人用户须填写统一社会信用代码"))]

    user = User(
        username=username,
        kind=kind,
        real_name=(real_name or "").strip(),
        id_number=id_number,
        id_number_index=blind_index(id_number) if id_number else "",
        phone=phone,
        phone_index=blind_index(phone) if phone else "",
        enterprise_uscc=enterprise_uscc,
        enterprise_name=(enterprise_name or "").strip(),
        is_staff=is_staff,
    )
    errors = password_errors(password, user)
    if errors:
        fields["password"] = errors
    if fields:
        raise ValidationFailed(fields=fields)

    user.set_password(password)
    with transaction.atomic():
        user.save()
        audit_record(
            actor=actor,
            action="user.create",
            obj=user,
            object_repr=user.username,
            changes={
                "kind": kind,
                "is_staff": is_staff,
                "id_number": mask_id_number(id_number),
                "phone": mask_phone(phone),
                "enterprise_uscc": enterprise_uscc,
            },
        )
    return user


def user_set_password(*, actor, user: User, new_password: str, old_password: str | None = None) -> None:
    """Change a password. When ``old_password`` is given (self-service) it must match.

    Guarantees: policy checked, hashed with argon2, audit event ``user.password_change``.
    """
    fields: dict[str, list[str]] = {}
    if old_password is not None and not user.check_password(old_password):
        fields["old_password"] = [str(_("原密码不正确"))]
    if old_password is not None and old_password == new_password:
        fields["new_password1"] = [str(_("新密码不能与原密码相同"))]
    errors = password_errors(new_password, user)
    if errors:
        fields.setdefault("new_password1", []).extend(errors)
    if fields:
        raise ValidationFailed(fields=fields)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        audit_record(
            actor=actor,
            action="user.password_change",
            obj=user,
            object_repr=user.username,
            changes={"self_service": old_password is not None},
        )


def user_mfa_enrol(*, actor, user: User, secret: str, step: int) -> None:
    """Turn on TOTP for ``user`` with a secret the user has just proved by a code at ``step``."""
    with transaction.atomic():
        user.totp_secret = secret
        user.totp_confirmed_at = timezone.now()
        user.totp_last_step = step
        user.save(update_fields=["totp_secret", "totp_confirmed_at", "totp_last_step"])
        audit_record(actor=actor, action="user.mfa_enrol", obj=user, object_repr=user.username)


def user_mfa_disable(*, actor, user: User) -> None:
    """Turn off TOTP. Callers decide whether the user may (admins may not turn it off for themselves)."""
    with transaction.atomic():
        user.totp_secret = ""
        user.totp_confirmed_at = None
        user.totp_last_step = 0
        user.save(update_fields=["totp_secret", "totp_confirmed_at", "totp_last_step"])
        audit_record(actor=actor, action="user.mfa_disable", obj=user, object_repr=user.username)


def _is_person(actor) -> bool:
    """A signed-in user, as opposed to the platform (None) or a named system actor (a string)."""
    return actor is not None and not isinstance(actor, str)


def _token_digest(raw: str) -> str:
    return sm3_hex("yiwang-api-token:" + raw)


def api_token_create(*, actor, user: User, name: str, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """Issue a bearer token ``yw_<prefix>_<secret>``; the secret is returned once and only its
    SM3 digest is stored. A user issues tokens for themself; a superuser may issue for anyone."""
    if _is_person(actor) and actor.pk != user.pk and not actor.is_superuser:
        raise Forbidden()
    name = (name or "").strip()
    fields: dict[str, list[str]] = {}
    if not name:
        fields["name"] = [str(_("请填写令牌用途"))]
    elif len(name) > 100:
        fields["name"] = [str(_("用途不能超过 100 个字符"))]
    if expires_at is not None and expires_at <= timezone.now():
        fields["expires_at"] = [str(_("过期时间须晚于当前时间"))]
    if not user.is_active:
        fields["user"] = [str(_("该账号已停用"))]
    if fields:
        raise ValidationFailed(fields=fields)
    prefix = secrets.token_hex(4)
    raw = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, prefix=prefix, key_digest=_token_digest(raw), expires_at=expires_at
        )
        audit_record(
            actor=actor,
            action="api_token.create",
            obj=token,
            changes={"user": user.username, "prefix": prefix, "expires_at": expires_at},
        )
    return token, raw


def api_token_revoke(*, actor, token: ApiToken) -> ApiToken:
    """Revoke a token (idempotent). Only its owner or a superuser may; others see ``NotFound``."""
    if _is_person(actor) and actor.pk != token.user_id and not actor.is_superuser:
        raise NotFound()
    if token.revoked_at is not None:
        return token
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="api_token.revoke", obj=token, changes={"prefix": token.prefix})
    return token


def api_token_authenticate(raw: str) -> ApiToken | None:
    """The live token for a presented secret, or None (unknown, malformed, revoked, expired, user inactive)."""
    parts = (raw or "").strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        return None
    token = ApiToken.objects.select_related("user").filter(key_digest=_token_digest(raw.strip())).first()
    if token is None or token.prefix != parts[1]:
        return None
    now = timezone.now()
    if token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now):
        return None
    if not token.user.is_active:
        return None
    # At most one write a minute per token, not one per request.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() >= 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


# =============================================================================================
# Display preferences: elder mode and language (helper "ui")
# =============================================================================================


def user_set_preferences(
    *, actor, user: User | None = None, elder_mode: bool | None = None, language: str | None = None
) -> User:
    """Save how a user wants pages shown: elder mode (长辈模式) and interface language.

    ``user`` defaults to ``actor`` (self-service); only a superuser may set another user's
    preferences, others see ``NotFound``. ``None`` leaves a preference unchanged; ``language``
    must be one of ``settings.LANGUAGES`` or "" (follow the browser). Writes nothing and no
    audit event when nothing changes; otherwise one ``user.preferences`` event.
    """
    from django.conf import settings

    target = user if user is not None else actor
    if not _is_person(target):
        raise NotFound()
    if _is_person(actor) and actor.pk != target.pk and not actor.is_superuser:
        raise NotFound()
    changes: dict = {}
    if elder_mode is not None and bool(elder_mode) != target.elder_mode:
        changes["elder_mode"] = bool(elder_mode)
    if language is not None:
        language = language.strip().lower()
        if language and language not in {code for code, _name in settings.LANGUAGES}:
            raise ValidationFailed(fields={"language": [str(_("不支持该界面语言"))]})
        if language != target.language:
            changes["language"] = language
    if not changes:
        return target
    with transaction.atomic():
        for name, value in changes.items():
            setattr(target, name, value)
        target.save(update_fields=list(changes))
        audit_record(actor=actor, action="user.preferences", obj=target, object_repr=target.username, changes=changes)
    return target


# =============================================================================================
# Departments and role grants
# =============================================================================================
