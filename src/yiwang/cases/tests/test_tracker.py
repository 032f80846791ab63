"""The case page's step tracker (受理 → 审查 → 决定 → 送达) with dates from the legal clock (issue #14)."""

import pytest

from yiwang.cases import services
from yiwang.cases.clock import intake_deadline
from yiwang.cases.tests.factories import FORM, attach_required, build_world
from yiwang.cases.tracker import case_tracker
from yiwang.core.calendar import working_calendar

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_tracker_follows_the_case_with_expected_then_actual_dates(client):
    world = build_world()
    case, _ = services.case_submit(actor=world.applicant, item=world.market_item, form_data=FORM)
    steps = case_tracker(case)
    assert [str(s.name) for s in steps] == ["受理", "审查", "决定", "送达"]
    assert [s.status for s in steps] == ["current", "ahead", "ahead", "ahead"]
    assert steps[0].expected and steps[0].date == intake_deadline(case, working_calendar())
    assert steps[0].date <= steps[2].date < steps[3].date

    client.force_login(world.applicant)
    html = client.get(f"/cases/{case.pk}/").content.decode()
    assert 'aria-current="step"' in html and "预计最迟" in html and "办理进度" in html

    attach_required(case)
    case = services.case_accept(actor=world.clerk, case_id=case.pk)
    steps = case_tracker(case)
    assert [s.status for s in steps] == ["done", "current", "ahead", "ahead"]
    assert not steps[0].expected and steps[2].date == case.due_date
    case = services.case_claim(actor=world.reviewer, case_id=case.pk)
    services.case_record_opinion(actor=world.reviewer, case_id=case.pk, opinion="符合条件")
    case = services.case_decide(actor=world.head, case_id=case.pk, decision="approve")
    assert [s.status for s in case_tracker(case)] == ["done", "done", "done", "current"]
    case = services.case_deliver(actor=world.clerk, case_id=case.pk, method="window")
    assert [s.status for s in case_tracker(case)] == ["done"] * 4
    assert all(not s.expected for s in case_tracker(case))


def test_workbench_finds_cases_by_number_name_and_id_and_lists_handled_ones(client):
    """Issue #14: search by case number, applicant and ID number; a list of handled cases."""
    world = build_world()
    case, _ = services.case_submit(actor=world.applicant, item=world.market_item, form_data=FORM)
    attach_required(case)
    services.case_accept(actor=world.clerk, case_id=case.pk)
    client.force_login(world.clerk)
    for query in (case.number, "张三", world.applicant.id_number):
        html = client.get("/workbench/cases/", {"q": query}).content.decode()
        assert case.number in html and 'id="results"' in html, query
    link = f'href="/workbench/cases/{case.pk}/"'
    assert link not in client.get("/workbench/cases/", {"q": "不存在的人"}).content.decode()
    wrong_id = world.other_citizen.id_number
    assert link not in client.get("/workbench/cases/", {"q": wrong_id}).content.decode()
    html = client.get("/workbench/cases/").content.decode()
    handled = html.split('id="handled"')[1]
    assert case.number in handled
    # Someone who may not see the case does not find it either (a 404-like silence).
    client.force_login(world.police_reviewer)
    assert link not in client.get("/workbench/cases/", {"q": case.number}).content.decode()


def test_clerk_is_warned_when_the_form_names_another_id_number(client):
    """Issue #14: a warning when the form's ID differs from the applicant's."""
    from yiwang.cases.tests.factories import publish_item

    world = build_world()
    item = publish_item(
        world.tree.root,
        implementation_code="SZ-SJJ-0102",
        basic_code="000101001002",
        name="个体工商户变更登记",
        form_schema={
            "type": "object",
            "properties": {
                "operator_id_number": {"type": "string", "title": "经营者身份证号", "x-applicant": "id_number"},
                "spouse_id_number": {"type": "string", "title": "配偶身份证号"},
            },
        },
    )
    other = world.other_citizen.id_number
    mine, _ = services.case_submit(
        actor=world.applicant, item=item, form_data={"operator_id_number": world.applicant.id_number}
    )
    theirs, _ = services.case_submit(
        actor=world.applicant,
        item=item,
        form_data={"operator_id_number": world.applicant.id_number},
        idempotency_key="second",
    )
    # case_submit refuses such a form today; a case from before that rule (or an import) still warns.
    from yiwang.cases.models import Case

    Case.objects.filter(pk=theirs.pk).update(form_data={"operator_id_number": other, "spouse_id_number": other})
    client.force_login(world.clerk)
    assert "data-id-mismatch" not in client.get(f"/workbench/cases/{mine.pk}/").content.decode()
    html = client.get(f"/workbench/cases/{theirs.pk}/").content.decode()
    assert "data-id-mismatch" in html and "经营者身份证号" in html.split("data-id-mismatch")[1][:200]
    assert "配偶身份证号" not in html.split("data-id-mismatch")[1][:200]


def test_department_head_sees_real_figures_and_a_to_do_list(client):
    """Issue #14: the head's page with the department's real figures and a real to-do list."""
    from yiwang.cases.selectors import department_figures

    world = build_world()
    assert department_figures(actor=world.clerk) is None  # heads only
    assert department_figures(actor=world.head).received == 0
    case, _ = services.case_submit(actor=world.applicant, item=world.market_item, form_data=FORM)
    attach_required(case)
    services.case_accept(actor=world.clerk, case_id=case.pk)
    services.case_claim(actor=world.reviewer, case_id=case.pk)
    services.case_record_opinion(actor=world.reviewer, case_id=case.pk, opinion="符合条件")
    services.case_submit(actor=world.applicant, item=world.police_item, form_data=FORM, idempotency_key="police")
    figures = department_figures(actor=world.head)
    assert figures.received == 1 and figures.open == 1  # the police case is another department's
    assert [c.pk for c in figures.to_decide] == [case.pk]
    assert figures.by_item == [(world.market_item.current_version.name, 1)]
    client.force_login(world.head)
    html = client.get("/workbench/cases/").content.decode()
    assert 'data-figure="received">1<' in html and case.number in html.split('id="figures"')[1]
    client.force_login(world.clerk)
    assert 'id="figures"' not in client.get("/workbench/cases/").content.decode()


def test_each_role_sees_only_the_actions_it_may_take(client):
    """Issue #14: the clerk sees no review buttons; the reviewer claims; the head decides."""
    world = build_world()
    case, _ = services.case_submit(actor=world.applicant, item=world.market_item, form_data=FORM)
    attach_required(case)
    case = services.case_accept(actor=world.clerk, case_id=case.pk)
    url = f"/workbench/cases/{case.pk}/"

    def buttons(user):
        client.force_login(user)
        return client.get(url).content.decode()

    clerk = buttons(world.clerk)
    assert "认领</button>" not in clerk and "作出决定</button>" not in clerk and "本环节无需您操作" in clerk
    reviewer = buttons(world.reviewer)
    assert "认领</button>" in reviewer and "作出决定</button>" not in reviewer
    assert "作出决定</button>" in buttons(world.head)
    assert services.case_review_actions(world.reviewer2, case) >= {"claim"}
    services.case_claim(actor=world.reviewer, case_id=case.pk)
    case.refresh_from_db()
    assert "opinion" not in services.case_review_actions(world.reviewer2, case)  # claimed by a colleague
    assert "opinion" in services.case_review_actions(world.reviewer, case)
