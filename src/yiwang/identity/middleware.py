"""Session security: idle timeout and mandatory MFA for admin roles.

PLACEHOLDER being completed under issue 2 (identity helper).
"""

from django.utils.deprecation import MiddlewareMixin


class IdleTimeoutMiddleware(MiddlewareMixin):
    pass


class MfaRequiredMiddleware(MiddlewareMixin):
    pass
