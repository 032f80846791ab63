"""The demo city's policy reaches its eligible enterprises; a rerun adds nothing."""

import pytest

from yiwang.demo.services import demo_load
from yiwang.exchange import demo_data as exchange_demo
from yiwang.identity.models import User
from yiwang.messaging.models import Message
from yiwang.policies import demo_data, selectors
from yiwang.policies.models import Award
from yiwang.registries import demo_data as registries_demo


@pytest.mark.slow
@pytest.mark.django_db
def test_the_demo_policy_reaches_its_eligible_enterprises_and_the_calculator_agrees():
    demo_load()
    registries_demo.load(None)
    exchange_demo.load(None)
    summary = demo_data.load(None)
    assert summary["惠企政策推送"] >= 1 and summary["免申即享待审核名单"] >= 1
    awards = Award.objects.count()
    assert demo_data.load(None) == {} and Award.objects.count() == awards
    # Publication judges every enterprise of the registry; the ones with an account are told.
    with_agents = set(User.objects.exclude(enterprise_uscc="").values_list("enterprise_uscc", flat=True))
    award = Award.objects.filter(uscc__in=with_agents).order_by("uscc").first()
    agent = User.objects.filter(enterprise_uscc=award.uscc).first()
    assert Message.objects.filter(recipient=agent, subject__contains=award.benefit.name).exists()
    lines, total = selectors.calculator(actor=agent)
    assert total >= award.amount and any(line.eligible and line.benefit == award.benefit for line in lines)
