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
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import password_validation
from django.contrib.auth.hashers import identify_hasher
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import CharField, F, Max, Q, Value
from django.db.models.functions import Concat, Length, Substr
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yiwang.core import db, events
from yiwang.core.audit import audit_record
from yiwang.core.codes import region_prefix, validate_id_number, validate_region_code, validate_uscc
from yiwang.core.crypto import blind_index, sm3_hex
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.masking import mask_id_number, mask_phone
from yiwang.identity.models import (
    SEPARATED_ADMIN_ROLES,
    ActivationCode,
    ApiToken,
    Department,
    Role,
    RoleGrant,
    User,
)
from yiwang.identity.selectors import actor_has_role, ancestor_paths, grants_cache_invalidate

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
    password: str = "",
    kind: str,
    real_name: str = "",
    id_number: str = "",
    phone: str = "",
    enterprise_uscc: str = "",
    enterprise_name: str = "",
    is_staff: bool = False,
    password_hash: str = "",
) -> User:
    """Create an account. Guarantees: the password meets the policy and is stored with argon2;
    the 身份证号 passes its check digit and is unique; 身份证号 and phone are encrypted with
    blind indexes; the audit event names the fields set, never their values.

    ``password_hash`` instead of ``password`` takes an already hashed password (accounts
    migrated from another system, or the published demo credentials hashed once): it must be
    a hash of one of the configured hashers; the policy cannot be checked on it, so the
    caller vouches for it and the audit event says the password came as a hash.

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
    if password_hash:
        if password:
            fields["password"] = [str(_("密码与密码哈希只能提供其一"))]
        else:
            try:
                hasher = identify_hasher(password_hash)
            except ValueError:
                fields["password"] = [str(_("无法识别的密码哈希"))]
            else:
                if hasher.algorithm == "hmac_sm3_client_secret":  # yiwang.sso.hashers: never a password's
                    fields["password"] = [str(_("无法识别的密码哈希"))]
    else:
        errors = password_errors(password, user)
        if errors:
            fields["password"] = errors
    if fields:
        raise ValidationFailed(fields=fields)

    if password_hash:
        user.password = password_hash
    else:
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
                "password_from_hash": bool(password_hash),
            },
        )
    return user


def user_set_password(*, actor, user: User, new_password: str, old_password: str | None = None) -> None:
    """Change a password. When ``old_password`` is given (self-service) it must match.

    Guarantees: policy checked, hashed with the first of ``PASSWORD_HASHERS`` (argon2, or
    PBKDF2-HMAC-SM3 where the operator chose it), audit event ``user.password_change``; every
    live API token of the user is revoked in the same transaction (a token must not outlive
    the password it was issued under), and the other sessions end (Django's session hash).
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
        revoked = _revoke_all_tokens(user)
        audit_record(
            actor=actor,
            action="user.password_change",
            obj=user,
            object_repr=user.username,
            changes={"self_service": old_password is not None, "tokens_revoked": revoked},
        )


def _revoke_all_tokens(user: User) -> int:
    """Revoke every live API token of ``user`` (the caller audits); returns how many."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


def user_sign_out_everywhere(*, actor, user: User) -> dict[str, int]:
    """End every session of ``user`` (all browsers, this one included) and revoke all their
    API tokens, in one transaction, audited as ``user.sign_out_everywhere``. A user does this
    for themself; a superuser for anyone (a lost phone, a leaked token)."""
    if _is_person(actor) and actor.pk != user.pk and not actor.is_superuser:
        raise NotFound()
    with transaction.atomic():
        # An UPDATE of a non-key column: PostgreSQL takes FOR NO KEY UPDATE, which does not
        # block foreign-key checks of concurrent writes that reference this user.
        User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
        user.session_generation = User.objects.values_list("session_generation", flat=True).get(pk=user.pk)
        revoked = _revoke_all_tokens(user)
        audit_record(
            actor=actor,
            action="user.sign_out_everywhere",
            obj=user,
            object_repr=user.username,
            changes={"tokens_revoked": revoked, "session_generation": user.session_generation},
        )
    return {"tokens_revoked": revoked}


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


def user_deactivate_dormant(*, actor, days: int, staff_only: bool = True, dry_run: bool = False) -> list[User]:
    """Deactivate accounts not signed in for ``days`` days (never signed in: created that long ago).

    等保 访问控制 c): remove or disable superfluous and expired accounts. Superusers are never
    touched (lock-out of the last administrator). Each deactivation is audited as
    ``user.deactivate`` with the reason; returns the accounts (to be) deactivated.
    """
    if days < 1:
        raise ValidationFailed(fields={"days": [str(_("天数须为正整数"))]})
    cutoff = timezone.now() - timedelta(days=days)
    candidates = User.objects.filter(is_active=True, is_superuser=False).filter(
        Q(last_login__lt=cutoff) | Q(last_login__isnull=True, date_joined__lt=cutoff)
    )
    if staff_only:
        candidates = candidates.filter(Q(is_staff=True) | Q(kind=User.Kind.STAFF))
    users = list(candidates.order_by("pk"))
    if dry_run:
        return users
    for user in users:
        with transaction.atomic():
            User.objects.filter(pk=user.pk).update(is_active=False)
            user.is_active = False
            audit_record(
                actor=actor,
                action="user.deactivate",
                obj=user,
                object_repr=user.username,
                changes={"reason": "dormant", "days": days, "last_login": user.last_login},
            )
    return users


def api_token_authenticate(raw: str) -> ApiToken | None:
    """The live token for a presented secret, or None (unknown, malformed, revoked, expired, user inactive)."""
    parts = (raw or "").strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        return None
    # Every API request makes this lookup: one statement by the unique digest with the user
    # joined, its SQL built once per process (``core.db.get_one``) rather than compiled by
    # the ORM each time (which cost more than running it).
    token = db.get_one(ApiToken, by="key_digest", value=_token_digest(raw.strip()), related="user")
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
# Walk-in account activation (账号激活码)
# =============================================================================================

# No 0/O, 1/I/L: the code is read off paper and typed by hand.
ACTIVATION_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
ACTIVATION_CODE_LENGTH = 12


def _normalize_activation_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").upper()


def _activation_digest(user: User, code: str) -> str:
    # Keyed (DATA_KEY) and bound to the user: a digest reveals nothing and fits no other account.
    return blind_index(f"activation:{user.pk}:{_normalize_activation_code(code)}")


def format_activation_code(code: str) -> str:
    """``ABCD-EFGH-JKMN``: groups of four, as printed on the notice."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def activation_code_issue(*, actor, user: User) -> tuple[ActivationCode, str]:
    """Issue a one-time activation code for a walk-in applicant's account; returns (row, code).

    Guarantees: only a window clerk (a ``window_clerk`` grant in an active department) or a
    superuser may issue; only for an active citizen or enterprise-agent account that has never
    signed in and was never activated (a code cannot take over an account in use: that is
    what ``user_activation_pending`` checks); every earlier unused code of the account is
    revoked in the same transaction (a re-issue invalidates the lost code); the code is random
    (``secrets``, 12 characters of 31: about 59 bits), only its keyed digest is stored, it
    expires after ``settings.YIWANG_ACTIVATION_CODE_DAYS`` days. Audited as
    ``user.activation_code_issue`` (``reissue`` true when an earlier code was revoked);
    publishes ``identity.activation_code_issued``.
    """
    from django.conf import settings

    from yiwang.identity.selectors import departments_for_actor, user_activation_pending

    _require_signed_in(actor)
    if not (actor.is_superuser or departments_for_actor(actor=actor, role=Role.WINDOW_CLERK).exists()):
        raise Forbidden(_("只有窗口受理人员可以发放账号激活码。"), code="not_window_clerk")
    with transaction.atomic():
        user = User.objects.select_for_update(no_key=True).filter(pk=user.pk).first()
        if user is None or not user_activation_pending(user=user):
            raise Conflict(
                _("该账号已激活或已登录使用,不能发放激活码。"),
                code="activation_not_pending",
            )
        now = timezone.now()
        revoked = ActivationCode.objects.filter(user=user, used_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=now
        )
        code = "".join(secrets.choice(ACTIVATION_ALPHABET) for _i in range(ACTIVATION_CODE_LENGTH))
        days = int(getattr(settings, "YIWANG_ACTIVATION_CODE_DAYS", 30) or 30)
        row = ActivationCode.objects.create(
            user=user,
            code_digest=_activation_digest(user, code),
            issued_by=actor,
            issued_at=now,
            expires_at=now + timedelta(days=days),
        )
        audit_record(
            actor=actor,
            action="user.activation_code_issue",
            obj=user,
            object_repr=user.username,
            changes={"activation_code": row.pk, "expires_at": row.expires_at.isoformat(), "reissue": bool(revoked)},
        )
        events.publish("identity.activation_code_issued", user_id=user.pk, activation_code_id=row.pk)
    return row, code


def user_activate(*, id_number: str, code: str, new_password: str) -> User:
    """The citizen activates the account a window registered: 身份证号 + activation code + a new
    password (the password policy applies).

    Guarantees: an unknown 身份证号 and a wrong code get the same error (``activation_invalid``
    on ``code``), so the page reveals nothing about who has an account; a code that matched
    but was used, revoked by a re-issue or expired says so; a weak password is
    ``weak_password`` on ``new_password1`` and consumes nothing. On success, in one
    transaction with the account row locked, the password is set and the code consumed (it
    cannot be used twice, even concurrently). Audited as ``user.activate`` by the user;
    publishes ``identity.user_activated``. Callers rate-limit failed attempts
    (``core.ratelimit``)."""
    from yiwang.identity.selectors import user_activation_pending, user_get_by_id_number

    id_number = normalize_id_number(id_number)
    raw = _normalize_activation_code(code)
    fields: dict[str, list[str]] = {}
    if not id_number:
        fields["id_number"] = [str(_("请填写身份证号"))]
    if not raw:
        fields["code"] = [str(_("请填写激活码"))]
    if not new_password:
        fields["new_password1"] = [str(_("请设置新密码"))]
    if fields:
        raise ValidationFailed(fields=fields, code="required")
    invalid = _("身份证号或激活码不正确。")
    user = user_get_by_id_number(id_number=id_number)
    if user is None or not user.is_active or user.kind == User.Kind.STAFF or user.is_staff:
        raise ValidationFailed(invalid, code="activation_invalid", fields={"code": [str(invalid)]})
    with transaction.atomic():
        user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
        digest = _activation_digest(user, raw)
        # The digest is a keyed HMAC of the code: an equality lookup reveals nothing by timing.
        row = ActivationCode.objects.filter(user=user, code_digest=digest).order_by("-issued_at", "-pk").first()
        if row is None:
            raise ValidationFailed(invalid, code="activation_invalid", fields={"code": [str(invalid)]})
        if row.used_at is not None:
            message = _("该激活码已使用,请直接登录。")
            raise ValidationFailed(message, code="activation_used", fields={"code": [str(message)]})
        if row.revoked_at is not None:
            message = _("该激活码已作废(已补发新的激活码),请使用最新的激活告知单。")
            raise ValidationFailed(message, code="activation_revoked", fields={"code": [str(message)]})
        now = timezone.now()
        if row.expires_at <= now:
            message = _("该激活码已过期,请携带身份证到政务服务大厅窗口重新领取。")
            raise ValidationFailed(message, code="activation_expired", fields={"code": [str(message)]})
        if not user_activation_pending(user=user):
            # The account has been used since the code was issued (signed in, or activated with
            # another code): an old paper code must not take it over.
            raise ValidationFailed(invalid, code="activation_invalid", fields={"code": [str(invalid)]})
        errors = password_errors(new_password, user)
        if errors:
            raise ValidationFailed(code="weak_password", fields={"new_password1": errors})
        user.set_password(new_password)
        user.save(update_fields=["password"])
        row.used_at = now
        row.save(update_fields=["used_at"])
        audit_record(
            actor=user,
            action="user.activate",
            obj=user,
            object_repr=user.username,
            changes={"activation_code": row.pk},
        )
        events.publish("identity.user_activated", user_id=user.pk)
    return user


# =============================================================================================
# Departments and role grants
# =============================================================================================


_UNSET: Any = object()


def _is_superuser(actor) -> bool:
    return bool(getattr(actor, "is_superuser", False)) and getattr(actor, "is_active", False)


def _require_signed_in(actor) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise Forbidden()


def _may_manage_structure(actor, department: Department | None) -> bool:
    """Superusers anywhere; city admins below (or at) a department their grant covers.
    Only a superuser creates or moves a department at the top of the tree."""
    if _is_superuser(actor):
        return True
    if department is None:
        return False
    return actor_has_role(actor=actor, role=Role.CITY_ADMIN, department=department)


def _check_level(fields: dict, *, level: int, kind: str, parent: Department | None) -> None:
    if parent is None:
        return
    if level < parent.level or (level == parent.level and kind != Department.Kind.AGENCY):
        fields.setdefault("level", []).append(
            str(
                _("层级须低于上级部门“%(parent)s”(%(parent_level)s);与上级同级的只能是其工作部门")
                % {"parent": parent.name, "parent_level": parent.get_level_display()}
            )
        )


def _check_region(fields: dict, *, region_code: str, parent: Department | None) -> str:
    try:
        region_code = validate_region_code(region_code)
    except ValidationError as exc:
        fields.setdefault("region_code", []).extend(str(m) for m in exc.messages)
        return region_code
    if parent is not None and not region_code.startswith(region_prefix(parent.region_code)):
        fields.setdefault("region_code", []).append(
            str(
                _("行政区划代码 %(code)s 不在上级部门“%(parent)s”的区划 %(parent_code)s 之内")
                % {"code": region_code, "parent": parent.name, "parent_code": parent.region_code}
            )
        )
    return region_code


def _department_fields(
    fields: dict,
    *,
    name: str,
    short_name: str,
    code: str,
    kind: str,
    uscc: str,
    level: int,
    exclude_pk: int | None = None,
) -> tuple[str, str, str, str]:
    name, short_name, code, uscc = (v.strip() if isinstance(v, str) else v for v in (name, short_name, code, uscc))
    if not name:
        fields["name"] = [str(_("请填写部门名称"))]
    elif len(name) > 100:
        fields["name"] = [str(_("部门名称不能超过 100 个字符"))]
    if len(short_name or "") > 50:
        fields["short_name"] = [str(_("简称不能超过 50 个字符"))]
    if not code:
        fields["code"] = [str(_("请填写机构编码"))]
    elif len(code) > 32:
        fields["code"] = [str(_("机构编码不能超过 32 个字符"))]
    elif Department.objects.filter(code=code).exclude(pk=exclude_pk).exists():
        fields["code"] = [str(_("机构编码 %(code)s 已被其他部门使用") % {"code": code})]
    if level not in Department.Level.values:
        fields["level"] = [str(_("层级无效"))]
    if kind not in Department.Kind.values:
        fields["kind"] = [str(_("机构类型无效"))]
    if uscc:
        try:
            uscc = validate_uscc(uscc)
        except ValidationError as exc:
            fields["uscc"] = [str(m) for m in exc.messages]
    return name, short_name or "", code, uscc or ""


def _department_changes(department: Department) -> dict:
    return {
        "name": department.name,
        "short_name": department.short_name,
        "code": department.code,
        "uscc": department.uscc,
        "level": department.level,
        "kind": department.kind,
        "region_code": department.region_code,
        "parent": department.parent_id,
        "path": department.path,
        "sort_order": department.sort_order,
        "is_active": department.is_active,
    }


@transaction.atomic
def department_create(
    *,
    actor,
    name: str,
    code: str,
    level: int,
    kind: str,
    region_code: str,
    parent: Department | None = None,
    short_name: str = "",
    uscc: str = "",
    sort_order: int = 0,
) -> Department:
    """Add a department to the tree.

    Guarantees: the actor is a superuser, or a city admin covering ``parent``; the parent
    is active; ``code`` is unique; the region code is a valid GB/T 2260 code inside the
    parent's region; the level is below the parent's (an agency may share its
    government's level); ``path`` is the parent's path plus the new id. Audited as
    ``department.create``; publishes ``identity.department_created``.
    """
    _require_signed_in(actor)
    if not _may_manage_structure(actor, parent):
        raise Forbidden(_("您没有在此处新建部门的权限。"))
    fields: dict[str, list[str]] = {}
    if parent is not None:
        parent = Department.objects.select_for_update(no_key=True).get(pk=parent.pk)
        if not parent.is_active:
            fields["parent"] = [str(_("上级部门“%(name)s”已停用") % {"name": parent.name})]
    name, short_name, code, uscc = _department_fields(
        fields, name=name, short_name=short_name, code=code, kind=kind, uscc=uscc, level=level
    )
    region_code = _check_region(fields, region_code=region_code, parent=parent)
    if "level" not in fields:
        _check_level(fields, level=level, kind=kind, parent=parent)
    if sort_order is None or sort_order < 0:
        fields["sort_order"] = [str(_("排序号不能为负数"))]
    if fields:
        raise ValidationFailed(fields=fields)
    department = Department.objects.create(
        name=name,
        short_name=short_name,
        code=code,
        uscc=uscc,
        level=level,
        kind=kind,
        region_code=region_code,
        parent=parent,
        sort_order=sort_order,
        path="",
    )
    department.path = f"{parent.path if parent else '/'}{department.pk}/"
    department.save(update_fields=["path"])
    audit_record(actor=actor, action="department.create", obj=department, changes=_department_changes(department))
    events.publish("identity.department_created", department_id=department.pk)
    return department


@transaction.atomic
def department_update(
    *,
    actor,
    department: Department,
    name: str = _UNSET,
    short_name: str = _UNSET,
    code: str = _UNSET,
    uscc: str = _UNSET,
    level: int = _UNSET,
    kind: str = _UNSET,
    region_code: str = _UNSET,
    sort_order: int = _UNSET,
) -> Department:
    """Change a department's own attributes (not its place in the tree: ``department_move``).

    Only the arguments passed change. Same rules as ``department_create``; a new level or
    region code must also stay consistent with the department's children. Audited as
    ``department.update`` with the old and new value of each changed field.
    """
    _require_signed_in(actor)
    # Not select_related("parent"): PostgreSQL cannot lock the nullable side of an outer join.
    department = Department.objects.select_for_update(no_key=True).get(pk=department.pk)
    if not _may_manage_structure(actor, department):
        raise Forbidden(_("您没有修改此部门的权限。"))
    new = {
        "name": department.name if name is _UNSET else name,
        "short_name": department.short_name if short_name is _UNSET else short_name,
        "code": department.code if code is _UNSET else code,
        "uscc": department.uscc if uscc is _UNSET else uscc,
        "level": department.level if level is _UNSET else level,
        "kind": department.kind if kind is _UNSET else kind,
        "region_code": department.region_code if region_code is _UNSET else region_code,
        "sort_order": department.sort_order if sort_order is _UNSET else sort_order,
    }
    fields: dict[str, list[str]] = {}
    new["name"], new["short_name"], new["code"], new["uscc"] = _department_fields(
        fields,
        name=new["name"],
        short_name=new["short_name"],
        code=new["code"],
        kind=new["kind"],
        uscc=new["uscc"],
        level=new["level"],
        exclude_pk=department.pk,
    )
    parent = department.parent
    if region_code is not _UNSET:
        new["region_code"] = _check_region(fields, region_code=new["region_code"], parent=parent)
    if "level" not in fields:
        _check_level(fields, level=new["level"], kind=new["kind"], parent=parent)
    children = list(department.children.all())
    if "level" not in fields and any(
        child.level < new["level"] or (child.level == new["level"] and child.kind != Department.Kind.AGENCY)
        for child in children
    ):
        fields.setdefault("level", []).append(str(_("新的层级不能低于或等于下级部门的层级")))
    if "region_code" not in fields and region_code is not _UNSET:
        prefix = region_prefix(new["region_code"])
        outside = [child.name for child in children if not child.region_code.startswith(prefix)]
        if outside:
            fields["region_code"] = [str(_("下级部门“%(name)s”的区划不在新的区划之内") % {"name": outside[0]})]
    if new["sort_order"] is None or new["sort_order"] < 0:
        fields["sort_order"] = [str(_("排序号不能为负数"))]
    if fields:
        raise ValidationFailed(fields=fields)
    changes = {
        key: {"old": getattr(department, key), "new": value}
        for key, value in new.items()
        if getattr(department, key) != value
    }
    if not changes:
        return department
    for key, value in new.items():
        setattr(department, key, value)
    department.save(update_fields=list(changes))
    audit_record(actor=actor, action="department.update", obj=department, changes=changes)
    transaction.on_commit(grants_cache_invalidate)  # cached grants carry their departments
    return department


@transaction.atomic
def department_move(*, actor, department: Department, parent: Department | None) -> Department:
    """Put a department (with everything below it) under a new parent.

    Guarantees: the actor may manage structure both where the department is and where it
    goes; the new parent is active and not the department itself or one of its
    descendants (no cycles); levels and region codes stay consistent; the materialized
    ``path`` of the whole subtree is rewritten in one UPDATE. Audited as ``department.move``.
    """
    _require_signed_in(actor)
    department = Department.objects.select_for_update(no_key=True).get(pk=department.pk)
    if parent is not None:
        parent = Department.objects.select_for_update(no_key=True).get(pk=parent.pk)
    if not _may_manage_structure(actor, department) or not _may_manage_structure(actor, parent):
        raise Forbidden(_("您没有移动此部门的权限。"))
    if (parent.pk if parent else None) == department.parent_id:
        return department
    fields: dict[str, list[str]] = {}
    if parent is not None:
        if parent.path.startswith(department.path):
            fields["parent"] = [str(_("不能把部门移到它自己或它的下级部门之下"))]
        elif not parent.is_active:
            fields["parent"] = [str(_("上级部门“%(name)s”已停用") % {"name": parent.name})]
        else:
            _check_level(fields, level=department.level, kind=department.kind, parent=parent)
            if not department.region_code.startswith(region_prefix(parent.region_code)):
                fields["parent"] = [
                    str(
                        _("部门的行政区划代码 %(code)s 不在“%(parent)s”的区划 %(parent_code)s 之内")
                        % {"code": department.region_code, "parent": parent.name, "parent_code": parent.region_code}
                    )
                ]
    old_path = department.path
    new_path = f"{parent.path if parent else '/'}{department.pk}/"
    subtree = Department.objects.filter(path__startswith=old_path)
    # Lock the subtree first: a child being created concurrently below it (which locks its
    # parent) commits before the UPDATE below starts, so the UPDATE sees and moves it too.
    list(subtree.select_for_update(no_key=True).values_list("pk", flat=True))
    longest = subtree.aggregate(n=Max(Length("path")))["n"] or len(old_path)
    if not fields and longest - len(old_path) + len(new_path) > Department._meta.get_field("path").max_length:
        fields["parent"] = [str(_("部门树层次过深,无法移动到此处"))]
    if fields:
        raise ValidationFailed(fields=fields)
    old_parent_id = department.parent_id
    subtree.update(path=Concat(Value(new_path), Substr("path", len(old_path) + 1), output_field=CharField()))
    department.parent = parent
    department.path = new_path
    department.save(update_fields=["parent"])
    audit_record(
        actor=actor,
        action="department.move",
        obj=department,
        changes={
            "parent": {"old": old_parent_id, "new": department.parent_id},
            "path": {"old": old_path, "new": new_path},
        },
    )
    events.publish("identity.department_moved", department_id=department.pk)
    transaction.on_commit(grants_cache_invalidate)
    return department


@transaction.atomic
def department_deactivate(*, actor, department: Department) -> Department:
    """Stop using a department. Its role grants stop counting at once (selectors ignore grants
    in inactive departments) but are kept for the record.

    Refused (``ValidationFailed``) while it still has active departments below it: deactivate
    those first, so no part of the tree is silently orphaned. Idempotent. Audited as
    ``department.deactivate``.
    """
    _require_signed_in(actor)
    department = Department.objects.select_for_update(no_key=True).get(pk=department.pk)
    if not _may_manage_structure(actor, department):
        raise Forbidden(_("您没有停用此部门的权限。"))
    if not department.is_active:
        return department
    active_below = Department.objects.filter(path__startswith=department.path, is_active=True).exclude(pk=department.pk)
    if active_below.exists():
        raise ValidationFailed(
            _("请先停用下级部门。"),
            fields={"department": [str(_("“%(name)s”还有启用中的下级部门") % {"name": department.name})]},
        )
    department.is_active = False
    department.save(update_fields=["is_active"])
    audit_record(actor=actor, action="department.deactivate", obj=department, changes={"is_active": False})
    events.publish("identity.department_deactivated", department_id=department.pk)
    transaction.on_commit(grants_cache_invalidate)
    return department


def _may_grant(actor, *, role: str, department: Department, include_descendants: bool) -> bool:
    """Superusers anywhere. City admins any role within their scope; department admins any role
    but ``city_admin`` within theirs. A grant covering descendants needs a granter whose own
    grant covers the whole subtree."""
    if _is_superuser(actor):
        return True
    granter_roles = [Role.CITY_ADMIN] if role == Role.CITY_ADMIN else [Role.CITY_ADMIN, Role.DEPARTMENT_ADMIN]
    above = Q(include_descendants=True, department__path__in=ancestor_paths(department.path))
    covers = above if include_descendants else (Q(department=department) | above)
    return (
        RoleGrant.objects.filter(user=actor, role__in=granter_roles, department__is_active=True).filter(covers).exists()
    )


@transaction.atomic
def role_grant_create(
    *, actor, user: User, role: str, department: Department, include_descendants: bool = False
) -> RoleGrant:
    """Give ``user`` a role in ``department`` (and below it when ``include_descendants``).

    Guarantees: the granter may grant this role here (see ``_may_grant``) and is not
    granting to themself (superusers excepted); the grantee is an active staff account;
    the department is active; one grant per user, role and department (``Conflict``
    otherwise). Audited as ``role_grant.create``; publishes ``identity.role_granted``.
    """
    _require_signed_in(actor)
    fields: dict[str, list[str]] = {}
    if role not in Role.values:
        fields["role"] = [str(_("角色无效"))]
    if not department.is_active:
        fields["department"] = [str(_("部门“%(name)s”已停用") % {"name": department.name})]
    if user.kind != User.Kind.STAFF or not user.is_active:
        fields["user"] = [str(_("只能向在职的工作人员账号授予角色"))]
    if fields:
        raise ValidationFailed(fields=fields)
    if not _may_grant(actor, role=role, department=department, include_descendants=include_descendants):
        raise Forbidden(_("您没有在此部门授予该角色的权限。"))
    if user.pk == actor.pk and not _is_superuser(actor):
        raise Forbidden(_("不能给自己授予角色。"))
    if RoleGrant.objects.filter(user=user, role=role, department=department).exists():
        raise Conflict(_("该用户在此部门已有此角色。"), code="role_grant_exists")
    if role in SEPARATED_ADMIN_ROLES:
        # 三员分立: lock the grantee so two concurrent grants cannot both pass the check.
        User.objects.select_for_update(no_key=True).filter(pk=user.pk).first()
        held = set(
            RoleGrant.objects.filter(user=user, role__in=list(SEPARATED_ADMIN_ROLES - {role})).values_list(
                "role", flat=True
            )
        )
        if held:
            raise Conflict(
                _("三员分立:系统管理员、安全管理员、安全审计员不得由同一账号兼任(该账号已是%(held)s)。")
                % {"held": "、".join(str(Role(r).label) for r in sorted(held))},
                code="separation_of_duties",
            )
    grant = RoleGrant.objects.create(
        user=user, role=role, department=department, include_descendants=include_descendants, granted_by=actor
    )
    audit_record(
        actor=actor,
        action="role_grant.create",
        obj=grant,
        changes={
            "user": user.username,
            "role": role,
            "department": department.pk,
            "include_descendants": include_descendants,
        },
    )
    events.publish("identity.role_granted", grant_id=grant.pk, user_id=user.pk, role=role, department_id=department.pk)
    transaction.on_commit(grants_cache_invalidate)
    return grant


@transaction.atomic
def role_grant_revoke(*, actor, grant: RoleGrant) -> None:
    """Take a role grant away. The same people who may create this grant may revoke it.
    Audited as ``role_grant.revoke`` (who held which role where); publishes ``identity.role_revoked``."""
    _require_signed_in(actor)
    grant = RoleGrant.objects.select_for_update(no_key=True).get(pk=grant.pk)
    if not _may_grant(
        actor, role=grant.role, department=grant.department, include_descendants=grant.include_descendants
    ):
        raise Forbidden(_("您没有撤销此角色授权的权限。"))
    changes = {
        "user": grant.user.username,
        "role": grant.role,
        "department": grant.department_id,
        "include_descendants": grant.include_descendants,
    }
    audit_record(actor=actor, action="role_grant.revoke", obj=grant, changes=changes)
    grant_id, user_id = grant.pk, grant.user_id
    grant.delete()
    events.publish("identity.role_revoked", grant_id=grant_id, user_id=user_id, role=changes["role"])
    transaction.on_commit(grants_cache_invalidate)


# =============================================================================================
# Real-name levels (实名等级)
# =============================================================================================

REAL_NAME_METHODS = ("registry_match", "in_person")


def user_real_name_level_raise(*, actor, user: User, level: int, method: str) -> User:
    """Raise an applicant's 实名等级 after a window clerk checked them: ``in_person`` (the
    person and their 身份证 at the window) gives L3; ``registry_match`` (name + 身份证号 matched
    against the 人口 registry by the clerk) gives L2. Only a window clerk may do it, never for
    their own account; a level is never lowered here. Audited as ``user.real_name_level``.
    """
    _require_signed_in(actor)
    if not actor_has_role(actor, role=Role.WINDOW_CLERK) or actor.pk == user.pk:
        raise Forbidden(_("只有窗口受理人员可以核验实名等级。"))
    fields: dict[str, list[str]] = {}
    if method not in REAL_NAME_METHODS:
        fields["method"] = [str(_("核验方式无效"))]
    elif level not in User.RealNameLevel.values or (method == "registry_match" and level > 2):
        fields["level"] = [str(_("该核验方式不能给出此实名等级"))]
    if user.kind == User.Kind.STAFF:
        fields["user"] = [str(_("工作人员账号没有实名等级"))]
    if fields:
        raise ValidationFailed(fields=fields)
    with transaction.atomic():
        locked = User.objects.select_for_update(no_key=True).get(pk=user.pk)
        if locked.real_name_level >= level:
            raise Conflict(_("该账号的实名等级已不低于 L%(level)d。") % {"level": level}, code="level_not_raised")
        before = locked.real_name_level
        locked.real_name_level = level
        locked.save(update_fields=["real_name_level"])
        audit_record(
            actor=actor,
            action="user.real_name_level",
            obj=locked,
            object_repr=locked.username,
            changes={"from": f"L{before}", "to": f"L{level}", "method": method},
        )
    user.real_name_level = level
    return user


# The in-platform app name of identity's reads of the 人口 registry (its grant, its evidence log).
REAL_NAME_APP = "identity"
REAL_NAME_PURPOSE = "实名核验:账户姓名与居民身份证号比对人口基础库,提升实名等级至 L2"


def user_real_name_verify(*, actor) -> User:
    """L2 on one's own account: the account's name and 身份证号 matched against the 人口 registry,
    read through the exchange (identity's own grant; the read is on the evidence log, and so on the
    citizen's "who used my data" page). A match raises the account to L2, audited as
    ``user.real_name_level`` with method ``registry_self``; a mismatch or a missing record is a
    clear error and counts against ``real_name_verify_user`` (5 failures an hour), so the check
    cannot be used to probe the registry. The registry's value is never shown to the caller.
    """
    from yiwang.core import ratelimit
    from yiwang.core.errors import YiwangError
    from yiwang.exchange import services as exchange

    _require_signed_in(actor)
    if actor.kind == User.Kind.STAFF:
        raise ValidationFailed(fields={"user": [str(_("工作人员账号没有实名等级"))]})
    if actor.real_name_level >= User.RealNameLevel.L2:
        raise Conflict(_("您的实名等级已不低于 L2。"), code="level_not_raised")
    if not (actor.real_name or "").strip() or not actor.id_number:
        raise ValidationFailed(
            _("账户缺少姓名或居民身份证号,无法核验;请到政务服务窗口当面核验。"),
            code="identity_incomplete",
            fields={"id_number": [str(_("账户未登记居民身份证号"))]},
        )
    mismatch = ValidationFailed(
        _("账户的姓名、居民身份证号与人口基础库记录不一致,未能核验。请核对后到政务服务窗口当面核验。"),
        code="real_name_mismatch",
        fields={"real_name": [str(_("与人口基础库记录不一致"))]},
    )
    with ratelimit.failure_limit("real_name_verify_user", str(actor.pk), failures=(ValidationFailed,)):
        try:
            result = exchange.registry_read(
                actor=actor,
                app=REAL_NAME_APP,
                purpose=REAL_NAME_PURPOSE,
                registry="population",
                key=actor.id_number,
                fields=["name"],
            )
        except NotFound:
            raise mismatch from None
        except YiwangError as exc:
            raise Conflict(
                _("人口基础库核验暂不可用(%(code)s),请稍后再试或到政务服务窗口当面核验。") % {"code": exc.code},
                code="registry_unavailable",
            ) from exc
        if "name" in result.masked or result.values.get("name") != actor.real_name.strip():
            raise mismatch
    with transaction.atomic():
        locked = User.objects.select_for_update(no_key=True).get(pk=actor.pk)
        before = locked.real_name_level
        if before >= User.RealNameLevel.L2:
            raise Conflict(_("您的实名等级已不低于 L2。"), code="level_not_raised")
        locked.real_name_level = User.RealNameLevel.L2
        locked.save(update_fields=["real_name_level"])
        audit_record(
            actor=actor,
            action="user.real_name_level",
            obj=locked,
            object_repr=locked.username,
            changes={"from": f"L{before}", "to": "L2", "method": "registry_self", "grant": result.grant_id},
        )
    actor.real_name_level = User.RealNameLevel.L2
    return actor


# =============================================================================================
# Delegation (授权代办) and window assistance (帮办代办)
# =============================================================================================

# The longest one delegation may run; a longer need is a new delegation (re-confirmed).
DELEGATION_MAX_DAYS = 366
ENTERPRISE_RELATIONS = ("employee", "agency")
FAMILY_RELATIONS = ("spouse", "parent", "child", "relative")


def _delegation_kind_of(principal) -> str:
    """Who may authorize: an enterprise account (held by its legal representative) or a citizen."""
    from yiwang.identity.models import Delegation

    if principal.kind == User.Kind.ENTERPRISE_AGENT:
        return Delegation.Kind.ENTERPRISE
    if principal.kind == User.Kind.CITIZEN:
        return Delegation.Kind.FAMILY
    raise Forbidden(_("工作人员账号不能授权他人代办。"), code="delegation_not_allowed")


ENTERPRISE_CHECK_PURPOSE = "授权代办:核验企业在法人库中的登记状态,及授权人是否为登记的法定代表人"
ENTERPRISE_CHECK_FIELDS = ["status", "legal_representative", "legal_representative_id_number"]


def _enterprise_principal_problems(actor) -> dict[str, list[str]]:
    """The 法人库 check of an enterprise account giving a delegation: its 统一社会信用代码 is on the
    legal-entity registry with status active, and the account holder is the registered legal
    representative (the name; the 身份证号 too when the registry has it and the grant gives it in
    clear). Read through the exchange as the app ``identity`` (on the evidence log). Returns the
    field problems (empty: the check passed); a registry that cannot be read is ``Conflict``."""
    from yiwang.core.errors import YiwangError
    from yiwang.exchange import services as exchange
    from yiwang.registries.schema import ENTITY_STATUS

    uscc = (actor.enterprise_uscc or "").strip()
    if not uscc:
        return {"enterprise_uscc": [str(_("企业账户未登记统一社会信用代码"))]}
    try:
        result = exchange.registry_read(
            actor=actor,
            app=REAL_NAME_APP,
            purpose=ENTERPRISE_CHECK_PURPOSE,
            registry="legal_entity",
            key=uscc,
            fields=ENTERPRISE_CHECK_FIELDS,
        )
    except NotFound:
        return {"enterprise_uscc": [str(_("法人库中未找到该统一社会信用代码"))]}
    except YiwangError as exc:
        raise Conflict(
            _("法人库核验暂不可用(%(code)s),暂不能授权代办;请稍后再试或到政务服务窗口办理。") % {"code": exc.code},
            code="registry_unavailable",
        ) from exc
    values = result.values
    status = values.get("status")
    if status != "active":
        label = dict(ENTITY_STATUS).get(status, status or "-")
        return {
            "enterprise_uscc": [str(_("该企业在法人库中的登记状态为「%(status)s」,不能授权代办") % {"status": label})]
        }
    rep_name = values.get("legal_representative")
    rep_id = values.get("legal_representative_id_number")
    not_rep = {"legal_representative": [str(_("您不是该企业登记的法定代表人"))]}
    if "legal_representative" in result.masked or (rep_name or "").strip() != (actor.real_name or "").strip():
        return not_rep
    comparable = rep_id and "legal_representative_id_number" not in result.masked
    if comparable and normalize_id_number(rep_id) != normalize_id_number(actor.id_number or ""):
        return not_rep
    return {}


def delegation_create(
    *,
    actor,
    agent_id_number: str,
    agent_name: str,
    relation: str,
    item_codes: list[str] | tuple[str, ...] = (),
    all_items: bool = False,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
):
    """The signed-in enterprise account (its legal representative) or citizen authorizes an agent.

    Guarantees: the agent is an active citizen account whose name and 身份证号 both match what
    the principal typed (no account is named by a partial match), not the principal; the
    relation fits the kind (员工/代理机构 for an enterprise, 配偶/父母/子女/近亲属 for a citizen); an
    enterprise's 统一社会信用代码 is on the 法人库 with status active and the account's holder is its
    registered legal representative (``_enterprise_principal_problems``: field ``enterprise_uscc``
    or ``legal_representative``; ``Conflict`` when the registry cannot be read); the
    items are published items (implementation codes) unless ``all_items``; the period starts now
    or later and lasts at most ``DELEGATION_MAX_DAYS``. Audited as ``delegation.create``; the
    agent is told through messaging (``identity.delegation_given``, in-app and SMS).
    ``ValidationFailed`` names the field.
    """
    from yiwang.catalog import selectors as catalog_selectors
    from yiwang.identity.models import Delegation

    _require_signed_in(actor)
    kind = _delegation_kind_of(actor)
    now = timezone.now()
    valid_from = valid_from or now
    fields: dict[str, list[str]] = {}
    id_number = normalize_id_number(agent_id_number)
    name = (agent_name or "").strip()
    agent = None
    if not id_number:
        fields["agent_id_number"] = [str(_("请填写被授权人的居民身份证号码"))]
    if not name:
        fields["agent_name"] = [str(_("请填写被授权人的姓名"))]
    if id_number and name:
        agent = User.objects.filter(id_number_index=blind_index(id_number), is_active=True).first()
        if agent is None or agent.kind != User.Kind.CITIZEN or agent.real_name.strip() != name:
            fields["agent_id_number"] = [str(_("未找到姓名与身份证号一致的个人用户,请被授权人先注册一网账号"))]
            agent = None
        elif agent.pk == actor.pk:
            fields["agent_id_number"] = [str(_("不能授权给自己"))]
            agent = None
    allowed = ENTERPRISE_RELATIONS if kind == Delegation.Kind.ENTERPRISE else FAMILY_RELATIONS
    if relation not in allowed:
        fields["relation"] = [str(_("与授权人的关系无效"))]
    codes = sorted({(code or "").strip() for code in item_codes if (code or "").strip()})
    if not all_items:
        if not codes:
            fields["item_codes"] = [str(_("请选择授权办理的事项,或授权全部事项"))]
        for code in codes:
            try:
                catalog_selectors.item_get_published(implementation_code=code)
            except NotFound:
                fields.setdefault("item_codes", []).append(str(_("事项 %(code)s 不存在或未发布") % {"code": code}))
    else:
        codes = []
    if kind == Delegation.Kind.ENTERPRISE:  # the account's holder is the registered 法定代表人 (法人库)
        fields.update(_enterprise_principal_problems(actor))
    if valid_from < now - timedelta(minutes=5):
        fields["valid_from"] = [str(_("生效时间不能早于现在"))]
    if valid_until is None:
        fields["valid_until"] = [str(_("请填写授权截止时间"))]
    elif valid_until <= valid_from:
        fields["valid_until"] = [str(_("截止时间须晚于生效时间"))]
    elif valid_until - valid_from > timedelta(days=DELEGATION_MAX_DAYS):
        fields["valid_until"] = [str(_("一次授权最长 %(days)d 天") % {"days": DELEGATION_MAX_DAYS})]
    if fields:
        raise ValidationFailed(fields=fields)
    with transaction.atomic():
        delegation = Delegation.objects.create(
            principal=actor,
            agent=agent,
            kind=kind,
            relation=relation,
            all_items=all_items,
            item_codes=codes,
            valid_from=valid_from,
            valid_until=valid_until,
        )
        audit_record(
            actor=actor,
            action="delegation.create",
            obj=delegation,
            changes={
                "kind": kind,
                "principal": actor.pk,
                "agent": agent.pk,
                "relation": relation,
                "all_items": all_items,
                "item_codes": codes,
                "valid_from": valid_from,
                "valid_until": valid_until,
            },
        )
    _delegation_notify(actor, delegation, "identity.delegation_given")
    return delegation


def _delegation_notify(actor, delegation, template_code: str) -> None:
    """Tell the agent (in-app and SMS, messaging's templates ``identity.delegation_given`` /
    ``identity.delegation_revoked``; nothing when the operator removed them). The principal is
    named as the agent sees it elsewhere: an enterprise by its name, a citizen masked."""
    from yiwang.messaging.models import Template

    if not Template.objects.filter(code=template_code, active=True).exists():
        return
    from django.urls import reverse

    from yiwang.core.masking import mask_name
    from yiwang.messaging import services as messaging

    principal = delegation.principal
    principal_name = principal.enterprise_name or mask_name(principal.real_name or principal.username)
    items = str(_("全部事项")) if delegation.all_items else "、".join(delegation.item_codes or [])
    messaging.message_send(
        actor=actor,
        recipient=delegation.agent,
        template_code=template_code,
        context={
            "principal_name": principal_name,
            "items": items,
            "valid_until": timezone.localtime(delegation.valid_until).strftime("%Y-%m-%d"),
            "delegation_id": delegation.pk,
        },
        ref=messaging.Ref("delegation", delegation.pk, reverse("identity:delegations")),
        dedupe_key=f"{template_code}:{delegation.pk}",
    )


def delegation_revoke(*, actor, delegation):
    """The principal ends a delegation at any time (the agent may renounce it too); idempotent.
    Anyone else: ``NotFound``. From then on every action of the agent for the principal is
    refused. Audited as ``delegation.revoke``; when the principal revokes, the agent is told
    (``identity.delegation_revoked``, in-app and SMS)."""
    from yiwang.identity.models import Delegation

    _require_signed_in(actor)
    if actor.pk not in (delegation.principal_id, delegation.agent_id):
        raise NotFound(_("未找到该授权。"), code="delegation_not_found")
    with transaction.atomic():
        locked = Delegation.objects.select_for_update(no_key=True).get(pk=delegation.pk)
        if locked.revoked_at is not None:
            return locked
        locked.revoked_at = timezone.now()
        locked.revoked_by = actor
        locked.save(update_fields=["revoked_at", "revoked_by"])
        audit_record(
            actor=actor,
            action="delegation.revoke",
            obj=locked,
            changes={"by": "principal" if actor.pk == locked.principal_id else "agent"},
        )
    if actor.pk == locked.principal_id:  # ended before its term by the principal: the agent is told
        _delegation_notify(actor, locked, "identity.delegation_revoked")
    return locked


# --- 帮办: a window clerk fills in for a citizen on the citizen's own account ------------------

ASSIST_CODE_MINUTES = 10  # how long a consent code may be typed in
ASSIST_CODE_TRIES = 5  # wrong codes before the consent is void
ASSIST_ACT_MINUTES = 60  # how long a confirmed consent lets the clerk act


def _assist_digest(consent, code: str) -> str:
    # Keyed (DATA_KEY) and bound to this consent: the digest reveals nothing, fits no other request.
    return blind_index(f"assist:{consent.pk}:{consent.citizen_id}:{(code or '').strip()}")


def assist_request(*, actor, id_number: str, name: str):
    """A window clerk asks a citizen (by 身份证号 and name, both matching an active citizen
    account) for consent to fill in for them. The citizen is notified (messaging, when a
    template ``identity.assist_request`` exists; the message carries no code) and sees the
    request on their phone. Earlier open requests of this clerk for this citizen are closed.
    Audited as ``assist.request``."""
    from yiwang.identity.models import AssistConsent

    _require_signed_in(actor)
    if not _clerk_by_grant(actor):  # a window grant of their own: the superuser flag does not fill in
        raise Forbidden(_("只有窗口受理人员可以帮办。"), code="not_window_clerk")
    value = normalize_id_number(id_number)
    citizen = User.objects.filter(id_number_index=blind_index(value), is_active=True).first() if value else None
    if citizen is None or citizen.kind != User.Kind.CITIZEN or citizen.real_name.strip() != (name or "").strip():
        raise ValidationFailed(
            fields={"id_number": [str(_("未找到姓名与身份证号一致的个人用户;未注册的申请人请走窗口申报"))]}
        )
    if citizen.pk == actor.pk:
        raise ValidationFailed(fields={"id_number": [str(_("不能为自己帮办"))]})
    now = timezone.now()
    with transaction.atomic():
        AssistConsent.objects.filter(citizen=citizen, clerk=actor, closed_at__isnull=True).update(closed_at=now)
        consent = AssistConsent.objects.create(citizen=citizen, clerk=actor, requested_at=now)
        audit_record(actor=actor, action="assist.request", obj=consent, changes={"citizen": citizen.pk})
    _assist_notify(actor, consent)
    return consent


def _clerk_by_grant(actor) -> bool:
    from yiwang.identity.selectors import actor_grants

    return any(grant.role == Role.WINDOW_CLERK for grant in actor_grants(actor=actor))


def _assist_notify(actor, consent) -> None:
    from yiwang.messaging.models import Template

    if not Template.objects.filter(code="identity.assist_request", active=True).exists():
        return
    from yiwang.messaging import services as messaging

    messaging.message_send(
        actor=actor,
        recipient=consent.citizen,
        template_code="identity.assist_request",
        context={"clerk_name": consent.clerk.real_name or consent.clerk.username},
        dedupe_key=f"assist:{consent.pk}",
    )


def assist_code_issue(*, actor, consent) -> str:
    """The citizen agrees on their phone: a six-digit consent code is drawn, shown once (the
    return value) and kept only as a keyed digest; it expires after ``ASSIST_CODE_MINUTES``.
    Only the citizen of the request; a closed or confirmed request is 404. Audited as ``assist.consent``."""
    from yiwang.identity.models import AssistConsent

    _require_signed_in(actor)
    now = timezone.now()
    with transaction.atomic():
        locked = AssistConsent.objects.select_for_update(no_key=True).filter(pk=consent.pk).first()
        if locked is None or locked.citizen_id != actor.pk or locked.closed_at or locked.confirmed_at:
            raise NotFound(_("未找到该帮办申请。"), code="assist_not_found")
        code = f"{secrets.randbelow(10**6):06d}"
        locked.code_digest = _assist_digest(locked, code)
        locked.code_issued_at = now
        locked.code_expires_at = now + timedelta(minutes=ASSIST_CODE_MINUTES)
        locked.failed_tries = 0
        locked.save(update_fields=["code_digest", "code_issued_at", "code_expires_at", "failed_tries"])
        audit_record(actor=actor, action="assist.consent", obj=locked, changes={"clerk": locked.clerk_id})
    return code


def assist_decline(*, actor, consent) -> None:
    """The citizen refuses (or withdraws) consent: the request is closed. Audited as ``assist.decline``."""
    from yiwang.identity.models import AssistConsent

    _require_signed_in(actor)
    with transaction.atomic():
        locked = AssistConsent.objects.select_for_update(no_key=True).filter(pk=consent.pk).first()
        if locked is None or locked.citizen_id != actor.pk:
            raise NotFound(_("未找到该帮办申请。"), code="assist_not_found")
        if locked.closed_at is None:
            locked.closed_at = timezone.now()
            locked.save(update_fields=["closed_at"])
            audit_record(actor=actor, action="assist.decline", obj=locked, changes={"clerk": locked.clerk_id})


def assist_verify(*, actor, consent, code: str):
    """The clerk types the citizen's consent code. Right: the consent is confirmed and lets this
    clerk act for the citizen for ``ASSIST_ACT_MINUTES``. Wrong: counted; after
    ``ASSIST_CODE_TRIES`` wrong codes, or once the code expired, the request is void (ask
    again). Another clerk's request is 404. Audited as ``assist.verify`` (success and failure)."""
    from yiwang.identity.models import AssistConsent

    _require_signed_in(actor)
    now = timezone.now()
    with transaction.atomic():
        locked = AssistConsent.objects.select_for_update(no_key=True).filter(pk=consent.pk).first()
        if locked is None or locked.clerk_id != actor.pk:
            raise NotFound(_("未找到该帮办申请。"), code="assist_not_found")
        if locked.confirmed_at is not None:
            return locked
        if locked.closed_at is not None:
            raise Conflict(_("该帮办申请已结束,请重新发起。"), code="assist_closed")
        if not locked.code_digest:
            raise ValidationFailed(fields={"code": [str(_("申请人尚未在手机上同意并获取同意码"))]})
        if locked.code_expires_at <= now:
            locked.closed_at = now
            locked.save(update_fields=["closed_at"])
            audit_record(actor=actor, action="assist.verify", obj=locked, changes={"ok": False, "reason": "expired"})
            failure = ValidationFailed(fields={"code": [str(_("同意码已过期,请重新发起帮办申请"))]})
        elif not secrets.compare_digest(locked.code_digest, _assist_digest(locked, code)):
            locked.failed_tries += 1
            update = ["failed_tries"]
            if locked.failed_tries >= ASSIST_CODE_TRIES:
                locked.closed_at = now
                update.append("closed_at")
            locked.save(update_fields=update)
            audit_record(
                actor=actor, action="assist.verify", obj=locked, changes={"ok": False, "tries": locked.failed_tries}
            )
            left = ASSIST_CODE_TRIES - locked.failed_tries
            message = (
                _("同意码不正确,还可尝试 %(n)d 次") % {"n": left}
                if left > 0
                else _("同意码错误次数过多,本次申请已作废,请重新发起")
            )
            failure = ValidationFailed(fields={"code": [str(message)]})
        else:
            locked.confirmed_at = now
            locked.act_until = now + timedelta(minutes=ASSIST_ACT_MINUTES)
            locked.code_digest = ""  # spent: the code cannot be used again
            locked.save(update_fields=["confirmed_at", "act_until", "code_digest"])
            audit_record(actor=actor, action="assist.verify", obj=locked, changes={"ok": True})
            return locked
    raise failure  # after the commit: the count of wrong tries is kept
