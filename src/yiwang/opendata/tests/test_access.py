"""有条件开放: application with purpose, the publisher's decision, a personal key; counts, ranking,
moderated comments."""

import pytest

from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.opendata import selectors, services
from yiwang.opendata.models import AccessApplication, Comment

pytestmark = pytest.mark.django_db


def test_an_approved_applicant_reads_conditional_rows_and_an_outsider_cannot_decide(world):
    dataset = world.conditional_dataset
    assert not selectors.may_read_rows(actor=world.citizen, dataset=dataset)
    with pytest.raises(ValidationFailed):
        services.application_submit(actor=world.citizen, dataset=dataset, purpose="短")
    application = services.application_submit(actor=world.citizen, dataset=dataset, purpose="人口结构研究,用于学术论文")
    with pytest.raises(Conflict):
        services.application_submit(actor=world.citizen, dataset=dataset, purpose="人口结构研究,再申请一次")
    with pytest.raises(Forbidden):
        services.application_decide(actor=world.outsider, application=application, approve=True)
    with pytest.raises(NotFound):
        selectors.application_get_for_decision(actor=world.outsider, id=application.pk)
    assert selectors.application_get_for_decision(actor=world.publisher, id=application.pk) == application
    services.application_decide(actor=world.publisher, application=application, approve=True)
    assert AccessApplication.objects.get(pk=application.pk).status == "approved"
    assert selectors.may_read_rows(actor=world.citizen, dataset=dataset)
    key, secret = services.api_key_issue(actor=world.citizen)
    assert selectors.user_for_key(secret) == world.citizen and secret not in key.digest
    services.api_key_revoke(actor=world.citizen, key=key)
    assert selectors.user_for_key(secret) is None


def test_a_refusal_needs_a_reason_and_an_open_dataset_needs_no_application(world):
    application = services.application_submit(
        actor=world.citizen, dataset=world.conditional_dataset, purpose="人口结构研究"
    )
    with pytest.raises(ValidationFailed):
        services.application_decide(actor=world.publisher, application=application, approve=False)
    services.application_decide(actor=world.publisher, application=application, approve=False, reason="用途不明确")
    assert not selectors.may_read_rows(actor=world.citizen, dataset=world.conditional_dataset)
    with pytest.raises(ValidationFailed):
        services.application_submit(actor=world.citizen, dataset=world.open_dataset, purpose="随便看看数据")


def test_usage_is_counted_and_ranked(world):
    for _ in range(3):
        services.usage_count(dataset_id=world.conditional_dataset.pk, kind="api")
    services.usage_count(dataset_id=world.open_dataset.pk, kind="download")
    ranked = list(selectors.ranking())
    assert ranked[0] == world.conditional_dataset and ranked[0].usage == 3
    assert ranked[1].download_count == 1


def test_a_comment_shows_only_once_approved(world):
    comment = services.comment_post(actor=world.citizen, dataset=world.open_dataset, rating=4, text="数据很有用")
    with pytest.raises(ValidationFailed):
        services.comment_post(actor=world.citizen, dataset=world.open_dataset, rating=9)
    assert not selectors.comments_published(dataset=world.open_dataset).exists()
    with pytest.raises(NotFound):
        selectors.comment_get_for_moderation(actor=world.outsider, id=comment.pk)
    services.comment_moderate(actor=world.publisher, comment=comment, approve=True)
    assert list(selectors.comments_published(dataset=world.open_dataset)) == [comment]
    assert selectors.rating_of(dataset=world.open_dataset) == {"average": 4.0, "count": 1}
    assert Comment.objects.get(pk=comment.pk).moderated_by == world.publisher
