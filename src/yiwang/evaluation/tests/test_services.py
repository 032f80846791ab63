"""好差评 through the services: who may rate, once, change once, 差评 → rectification → re-rate,
deadlines on the working-day clock, two-person invalidation; every step audited."""

import datetime

import pytest
from django.core import mail  # noqa: F401  (the e-mail backend is the test one)

from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.models import AuditEvent
from yiwang.evaluation import selectors, services
from yiwang.evaluation.models import Rating, RatingChannel, RatingValidity, Rectification, RectificationState
from yiwang.evaluation.tests.factories import open_case
from yiwang.messaging.models import Message


def test_applicant_rates_delivered_case_once_with_channel_and_facts(world, case):
    rating = services.rating_submit(actor=world.applicant, case_id=case.pk, level="satisfied", comment="很快")
    assert rating.channel == RatingChannel.PORTAL
    assert rating.department_id == case.department_id and rating.item_name == case.item_version.name
    assert rating.staff_id == world.head.pk  # who decided
    assert rating.window is None  # an online case
    assert not Rectification.objects.exists()
    assert AuditEvent.objects.filter(action="rating.submit", object_id=str(rating.pk)).exists()
    with pytest.raises(Conflict) as second:
        services.rating_submit(actor=world.applicant, case_id=case.pk, level="very_satisfied")
    assert second.value.code == "rating_exists" and "修改一次" in str(second.value.message)
    assert Rating.objects.count() == 1


def test_refused_case_can_be_rated_but_not_a_running_one(world, refused):
    rating = services.rating_submit(actor=world.applicant, case_id=refused.pk, level="basically_satisfied")
    assert rating.staff_id == world.clerk.pk  # who refused
    running = open_case(world)
    with pytest.raises(Conflict) as err:
        services.rating_submit(actor=world.applicant, case_id=running.pk, level="satisfied")
    assert err.value.code == "case_not_concluded"


def test_someone_elses_case_looks_missing_even_to_staff_who_see_it(world, case):
    for outsider in (world.other_citizen, world.reviewer, world.head):
        with pytest.raises(NotFound):
            services.rating_submit(actor=outsider, case_id=case.pk, level="very_dissatisfied")
    with pytest.raises(NotFound):
        services.rating_submit(actor=world.applicant, case_id=999999, level="satisfied")
    assert not Rating.objects.exists()


def test_bad_level_and_bad_text_are_refused(world, case):
    with pytest.raises(ValidationFailed) as err:
        services.rating_submit(actor=world.applicant, case_id=case.pk, level="great")
    assert "level" in err.value.fields
    with pytest.raises(ValidationFailed):
        services.rating_submit(actor=world.applicant, case_id=case.pk, level="satisfied", comment="a\x00b")


def test_change_once_within_the_configured_days(world, case, at, settings):
    settings.YIWANG_RATING_CHANGE_DAYS = 5
    at(2026, 12, 3, 10)
    rating = services.rating_submit(actor=world.applicant, case_id=case.pk, level="basically_satisfied")
    at(2026, 12, 7, 10)
    rating = services.rating_change(actor=world.applicant, rating_id=rating.pk, level="very_satisfied")
    assert rating.level == "very_satisfied" and rating.first_level == "basically_satisfied"
    with pytest.raises(Conflict) as err:
        services.rating_change(actor=world.applicant, rating_id=rating.pk, level="satisfied")
    assert err.value.code == "rating_change_closed"
    with pytest.raises(NotFound):
        services.rating_change(actor=world.other_citizen, rating_id=rating.pk, level="satisfied")


def test_change_after_the_window_is_refused(world, case, at, settings):
    settings.YIWANG_RATING_CHANGE_DAYS = 2
    at(2026, 12, 3, 10)
    rating = services.rating_submit(actor=world.applicant, case_id=case.pk, level="satisfied")
    at(2026, 12, 5, 10, 1)
    with pytest.raises(Conflict) as err:
        services.rating_change(actor=world.applicant, rating_id=rating.pk, level="dissatisfied")
    assert err.value.code == "rating_change_closed"


def test_bad_rating_runs_the_whole_rectification_and_re_rating(world, case, at):
    at(2026, 12, 3, 10)  # Thursday
    rating = services.rating_submit(actor=world.applicant, case_id=case.pk, level="very_dissatisfied", comment="慢")
    rectification = rating.rectification
    assert rectification.state == RectificationState.OPEN
    assert rectification.due_date == datetime.date(2026, 12, 24)  # 15 working days
    notified = set(
        Message.objects.filter(template_code="evaluation.rectification_opened").values_list("recipient", flat=True)
    )
    assert {world.reviewer.pk, world.reviewer2.pk, world.head.pk} <= notified
    assert world.police_reviewer.pk not in notified

    # Order is enforced; other departments cannot touch it; the applicant cannot re-rate yet.
    with pytest.raises(Conflict):
        services.rectification_contact(actor=world.reviewer, rectification_id=rectification.pk, note="电话沟通")
    with pytest.raises(NotFound):
        services.rectification_verify(actor=world.police_reviewer, rectification_id=rectification.pk, finding="x")
    with pytest.raises(Forbidden):  # an auditor sees it but does not handle it
        services.rectification_verify(actor=world.auditor, rectification_id=rectification.pk, finding="x")
    with pytest.raises(Conflict):
        services.rating_rerate(actor=world.applicant, rating_id=rating.pk, level="satisfied")
    with pytest.raises(ValidationFailed):
        services.rectification_verify(actor=world.reviewer, rectification_id=rectification.pk, finding="  ")

    services.rectification_verify(actor=world.reviewer, rectification_id=rectification.pk, finding="窗口等候过久属实")
    services.rectification_contact(actor=world.reviewer, rectification_id=rectification.pk, note="已电话致歉")
    at(2026, 12, 10, 10)
    done = services.rectification_complete(actor=world.head, rectification_id=rectification.pk, measures="增开窗口")
    assert done.state == RectificationState.RECTIFIED and not done.was_overdue
    assert Message.objects.filter(template_code="evaluation.rectified", recipient=world.applicant).exists()

    rating = services.rating_rerate(actor=world.applicant, rating_id=rating.pk, level="satisfied")
    assert rating.level == "satisfied" and rating.first_level == "very_dissatisfied"
    with pytest.raises(Conflict):
        services.rating_rerate(actor=world.applicant, rating_id=rating.pk, level="very_satisfied")
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "rating.submit",
        "rectification.open",
        "rectification.verify",
        "rectification.contact",
        "rectification.complete",
        "rating.rerate",
    } <= actions

    stats = selectors.rating_stats(actor=world.head, group="department")
    assert stats["total"]["total"] == 1 and stats["total"]["rectification_rate"] == 1.0
    assert stats["total"]["good_rate"] == 1.0  # re-rated 满意


def test_past_the_deadline_the_rectification_is_overdue_and_escalated_once(world, case, at):
    at(2026, 12, 3, 10)
    rating = services.rating_submit(actor=world.applicant, case_id=case.pk, level="dissatisfied")
    rectification = rating.rectification
    # Three working days before the due date (24 Dec): a reminder, once that day.
    result = services.rectification_sweep(today=datetime.date(2026, 12, 21))
    assert result["reminded"] == 1
    assert services.rectification_sweep(today=datetime.date(2026, 12, 21))["reminded"] == 0
    assert services.rectification_sweep(today=datetime.date(2026, 12, 24))["escalated"] == 0  # the due day itself
    result = services.rectification_sweep(today=datetime.date(2026, 12, 25))
    assert result["escalated"] == 1
    rectification.refresh_from_db()
    assert rectification.state == RectificationState.OVERDUE and rectification.was_overdue
    assert Message.objects.filter(template_code="evaluation.rectification_overdue", recipient=world.head).exists()
    assert services.rectification_sweep(today=datetime.date(2026, 12, 28))["escalated"] == 0
    assert AuditEvent.objects.filter(action="rectification.overdue").count() == 1
    # The department may still finish it; it stays counted as overdue.
    at(2026, 12, 28, 9)
    services.rectification_verify(actor=world.reviewer, rectification_id=rectification.pk, finding="属实")
    services.rectification_contact(actor=world.reviewer, rectification_id=rectification.pk, note="已致歉")
    done = services.rectification_complete(actor=world.reviewer, rectification_id=rectification.pk, measures="整改")
    assert done.state == RectificationState.RECTIFIED and done.was_overdue
    assert selectors.rating_stats(actor=world.head)["total"]["overdue"] == 1


def test_invalid_needs_a_reason_and_a_second_person(world, case):
    rating = services.rating_submit(actor=world.applicant, case_id=case.pk, level="very_dissatisfied", comment="骂人")
    with pytest.raises(ValidationFailed):
        services.rating_invalid_request(actor=world.reviewer, rating_id=rating.pk, reason="")
    with pytest.raises(NotFound):
        services.rating_invalid_request(actor=world.police_reviewer, rating_id=rating.pk, reason="恶意")
    services.rating_invalid_request(actor=world.head, rating_id=rating.pk, reason="与办件无关的辱骂")
    with pytest.raises(Forbidden) as same:
        services.rating_invalid_decide(actor=world.head, rating_id=rating.pk, approve=True)
    assert same.value.code == "second_person_required"
    with pytest.raises(Forbidden):  # a reviewer is no approver
        services.rating_invalid_decide(actor=world.reviewer, rating_id=rating.pk, approve=True)
    head2 = _second_head(world)
    rating = services.rating_invalid_decide(actor=head2, rating_id=rating.pk, approve=True)
    assert rating.validity == RatingValidity.INVALID and rating.invalid_approved_by == head2
    assert Rectification.objects.get(rating=rating).state == RectificationState.CLOSED_INVALID
    assert selectors.rating_stats(actor=world.head)["total"]["total"] == 0
    assert AuditEvent.objects.filter(action="rating.invalid_approve").exists()


def test_declined_invalidation_keeps_the_rating(world, case):
    rating = services.rating_submit(actor=world.applicant, case_id=case.pk, level="dissatisfied")
    services.rating_invalid_request(actor=world.reviewer, rating_id=rating.pk, reason="疑似恶意")
    rating = services.rating_invalid_decide(actor=world.head, rating_id=rating.pk, approve=False)
    assert rating.validity == RatingValidity.VALID
    assert Rectification.objects.get(rating=rating).state == RectificationState.OPEN


def test_qr_token_names_the_case_and_refuses_tampering(world, case, settings):
    token = services.rating_qr_token(case_id=case.pk)
    assert services.rating_qr_case_id(token=token) == case.pk
    with pytest.raises(NotFound):
        services.rating_qr_case_id(token=token[:-2] + "xx")
    settings.YIWANG_RATING_QR_DAYS = 0
    import time

    time.sleep(1.1)
    with pytest.raises(NotFound):
        services.rating_qr_case_id(token=token)


def _second_head(world):
    from yiwang.identity.models import Role
    from yiwang.identity.tests.tree import make_staff

    person = make_staff("head2", real_name="副局长钱")
    world.tree.grant(person, Role.DEPARTMENT_HEAD, world.tree.city_market)
    return person
