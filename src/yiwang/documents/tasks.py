"""Background tasks of the documents app; periodic ones are registered with ``every``."""

from django.utils.translation import gettext_lazy as _
from django_tasks import task

from yiwang.core.schedule import every
from yiwang.documents import services


@every(hours=1, name="documents.remind", description=_("提醒未签收公文的收文部门和人员(催签)"))
@task()
def documents_remind() -> dict:
    """Remind the recipients of issued documents that are still unacknowledged."""
    return {"reminded": services.receipts_remind_due()}
