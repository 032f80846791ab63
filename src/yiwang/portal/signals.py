"""Carry a choice made before signing in over to the account.

An elder who switched on 长辈模式 on the home page and then signs in should not see the
mode switch itself off because the account still says "off".
"""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from yiwang.core.middleware import ELDER_COOKIE


@receiver(user_logged_in, dispatch_uid="yiwang.portal.elder_mode_on_login")
def elder_mode_on_login(sender, request, user, **kwargs):
    if request is None or getattr(user, "elder_mode", True):
        return
    if request.COOKIES.get(ELDER_COOKIE) == "1":
        from yiwang.identity.services import user_set_preferences

        user_set_preferences(actor=user, elder_mode=True)
    request.elder_mode = bool(getattr(user, "elder_mode", False))
