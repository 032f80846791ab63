"""``case_visible_to`` (Python, used by the write services' lock) and ``visible_cases`` (SQL,
used by every read) must agree for every actor and every kind of case."""

import itertools

from yiwang.cases import selectors, services
from yiwang.cases.models import Case, CaseState
from yiwang.cases.tests.factories import FORM
from yiwang.identity import services as identity
from yiwang.identity.models import Role
from yiwang.identity.selectors import roles_for_actor


def _cases(world) -> list[Case]:
    """Cases in every state, in two departments, online and at the window."""
    made = []
    for item, applicant in ((world.market_item, world.applicant), (world.police_item, world.other_citizen)):
        for channel in ("online", "window"):
            actor = world.clerk if channel == "window" else applicant
            extra = {"applicant": applicant} if channel == "window" else {}
            case = services.case_submit(actor=actor, item=item, form_data=FORM, channel=channel, **extra)[0]
            made.append(case)
    states = [s for s in CaseState.values if s != CaseState.DRAFT]
    for state, base in zip(states, itertools.cycle(made[:]), strict=False):
        clone = Case.objects.get(pk=base.pk)
        clone.pk = None
        clone.number = f"{clone.number[:-6]}9{len(made):05d}"
        clone.idempotency_key = ""
        clone.state = state
        clone.accepted_by = world.clerk if state not in (CaseState.SUBMITTED, CaseState.REFUSED) else None
        clone.save()
        made.append(clone)
    return made


def test_python_and_sql_visibility_agree_for_every_actor_and_case(world):
    # One more shape of grant: a city-wide reviewer with descendants, and a grant in a
    # department that is then deactivated (its grants stop counting).
    identity.role_grant_create(
        actor=world.tree.root,
        user=world.auditor,
        role=Role.REVIEWER,
        department=world.tree.city,
        include_descendants=True,
    )
    cases = _cases(world)
    actors = [
        world.applicant,
        world.other_citizen,
        world.clerk,
        world.reviewer,
        world.reviewer2,
        world.head,
        world.police_reviewer,
        world.auditor,
        world.tree.root,
    ]
    compared = 0
    for actor in actors:
        grants = list(roles_for_actor(actor=actor))
        in_sql = set(selectors.visible_cases(actor=actor, grants=grants).values_list("pk", flat=True))
        for case in Case.objects.select_related("department").filter(pk__in=[c.pk for c in cases]):
            assert selectors.case_visible_to(actor=actor, case=case, grants=grants) == (case.pk in in_sql), (
                actor.username,
                case.state,
                case.department.name,
            )
            compared += 1
    assert compared == len(actors) * len(cases) >= 9 * 12
    # both sides really differ between actors (the comparison is not all-True or all-False)
    outcomes = {
        selectors.case_visible_to(actor=a, case=c, grants=list(roles_for_actor(actor=a)))
        for a in actors
        for c in Case.objects.select_related("department")
    }
    assert outcomes == {True, False}
