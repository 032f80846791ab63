import pytest

from yiwang.core import schedule
from yiwang.messaging.models import Message
from yiwang.oversight import services
from yiwang.oversight.models import TaskEvent
from yiwang.oversight.tests.factories import days, make_task

pytestmark = pytest.mark.django_db


def test_the_job_is_registered():
    assert schedule.autodiscover().get("oversight.sweep") is not None


def test_sweep_reminds_near_deadlines_and_escalates_red_tasks_once(world):
    near = make_task(world, milestones=[services.MilestoneSpec("明天到期", days(1), [])])
    late = make_task(world, milestones=[services.MilestoneSpec("已经超期", days(-3), [])])
    calm = make_task(world, milestones=[services.MilestoneSpec("还早", days(45), [])])
    result = services.oversight_sweep()
    assert result == {"reminded": 1, "escalated": 1}
    assert near.events.filter(kind=TaskEvent.Kind.REMINDED).count() == 1
    assert late.events.filter(kind=TaskEvent.Kind.ESCALATED).count() == 1
    assert not calm.events.filter(kind__in=["reminded", "escalated"]).exists()
    reminder = Message.objects.filter(
        template_code="oversight.reminder", recipient=world.lead_reviewer, channel="in_app"
    )
    assert reminder.count() == 1 and "明天到期" in reminder.get().body
    escalated = Message.objects.filter(template_code="oversight.escalated", channel="in_app")
    assert set(escalated.values_list("recipient__username", flat=True)) == {"lead_head", "leader"}
    assert services.oversight_sweep() == {"reminded": 0, "escalated": 0}  # once per milestone


def test_the_scheduled_task_runs_the_sweep(world):
    make_task(world, milestones=[services.MilestoneSpec("已经超期", days(-1), [])])
    from yiwang.oversight.tasks import oversight_sweep

    assert oversight_sweep.func() == {"reminded": 0, "escalated": 1}
