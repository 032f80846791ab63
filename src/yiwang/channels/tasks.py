"""Periodic job of the channels app: results of cases forwarded to us by another installation
whose call-back failed (the other side was down) are called back again."""

from django.utils.translation import gettext_lazy as _
from django_tasks import task

from yiwang.channels import services
from yiwang.core.schedule import every


@every(minutes=5, name="channels.results_notify", description=_("向转出平台回告跨省通办办理结果(重试)"))
@task()
def channels_results_notify() -> dict:
    return services.results_notify_pending()
