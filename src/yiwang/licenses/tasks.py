"""Background tasks of the licenses app (Django's task API); periodic ones are registered with ``every``."""

from django.utils.translation import gettext_lazy as _
from django_tasks import task

from yiwang.core.schedule import every
from yiwang.licenses import services


@every(days=1, name="licenses.expire", description=_("将超过有效期的证照标记为已过期"))
@task()
def licenses_expire() -> dict:
    """Mark valid licenses past their validity as expired (the same as `yiwang licenses expire`)."""
    return {"expired": services.licenses_expire_due()}
