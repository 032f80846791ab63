"""Password policy (等保 2.0: 口令复杂度)."""

import string

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class CharacterClassValidator:
    """Require characters from at least ``min_classes`` of: lower, upper, digits, symbols."""

    def __init__(self, min_classes: int = 3):
        self.min_classes = min_classes

    @staticmethod
    def classes_in(password: str) -> int:
        return sum(
            [
                any(c.islower() for c in password),
                any(c.isupper() for c in password),
                any(c.isdigit() for c in password),
                any(c in string.punctuation or not c.isalnum() for c in password),
            ]
        )

    def validate(self, password: str, user=None) -> None:
        if self.classes_in(password) < self.min_classes:
            raise ValidationError(
                _("密码须至少包含小写字母、大写字母、数字、符号中的 %(n)d 类。") % {"n": self.min_classes},
                code="password_too_simple",
            )

    def get_help_text(self) -> str:
        return _("密码须至少包含小写字母、大写字母、数字、符号中的 %(n)d 类。") % {"n": self.min_classes}


class PasswordHistoryValidator:
    """No reuse of the last ``count`` passwords (等保 2.0: 口令不得重复使用). Each password set
    is remembered by its hash (``PasswordHistory``, written by ``password_changed`` when the
    user is saved with a new password); only the newest ``count`` hashes are kept."""

    def __init__(self, count: int = 5):
        self.count = count

    def _recent(self, user) -> list[str]:
        from yiwang.identity.models import PasswordHistory

        if user is None or not getattr(user, "pk", None):
            return []
        return list(
            PasswordHistory.objects.filter(user_id=user.pk)
            .order_by("-pk")
            .values_list("password", flat=True)[: self.count]
        )

    def validate(self, password: str, user=None) -> None:
        from django.contrib.auth.hashers import check_password

        hashes = self._recent(user)
        current = getattr(user, "password", "") if user is not None and getattr(user, "pk", None) else ""
        if current and current not in hashes:
            hashes.append(current)
        if any(check_password(password, encoded) for encoded in hashes if encoded):
            raise ValidationError(_("不能使用最近 %(n)d 次用过的密码。") % {"n": self.count}, code="password_reused")

    def password_changed(self, password: str, user=None) -> None:
        from yiwang.identity.models import PasswordHistory

        if user is None or not getattr(user, "pk", None) or not user.password:
            return
        PasswordHistory.objects.create(user_id=user.pk, password=user.password)
        keep = list(
            PasswordHistory.objects.filter(user_id=user.pk).order_by("-pk").values_list("pk", flat=True)[: self.count]
        )
        PasswordHistory.objects.filter(user_id=user.pk).exclude(pk__in=keep).delete()

    def get_help_text(self) -> str:
        return _("不能使用最近 %(n)d 次用过的密码。") % {"n": self.count}
