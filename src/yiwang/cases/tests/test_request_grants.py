"""A staff page reads the staff member's role grants once per request, however many role
checks and scopes it makes (the window pages used to read a clerk's grants 4-5 times)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from yiwang.cases import services
from yiwang.cases.tests.factories import FORM, ID_NUMBER

# The read of the grants themselves (``identity.selectors.actor_grants``); the sign-in check's
# EXISTS on admin roles (two-factor rule, identity's middleware) is not a role check of the page.
GRANTS_READ = 'SELECT "identity_rolegrant"."id"'


def grant_reads(queries) -> int:
    return sum(1 for query in queries if query["sql"].startswith(GRANTS_READ))


@pytest.mark.parametrize(
    "url",
    [
        "/workbench/cases/",
        "/workbench/cases/window/",
        f"/workbench/cases/window/?id_number={ID_NUMBER}",
        "/workbench/cases/window/apply/SZ-SJJ-0001/",
    ],
)
def test_a_window_page_reads_the_clerks_grants_once(client, world, url):
    services.case_submit(actor=world.applicant, item=world.market_item, form_data=FORM)
    client.force_login(world.clerk)
    client.get(url)  # warm-up: the session's first use
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, follow=True)
    assert response.status_code == 200
    assert grant_reads(captured.captured_queries) == 1 + len(response.redirect_chain)


def test_a_case_page_of_the_workbench_reads_the_grants_once(client, world):
    case, _ = services.case_submit(actor=world.applicant, item=world.market_item, form_data=FORM)
    client.force_login(world.clerk)
    client.get(f"/workbench/cases/{case.pk}/")
    with CaptureQueriesContext(connection) as captured:
        assert client.get(f"/workbench/cases/{case.pk}/").status_code == 200
    assert grant_reads(captured.captured_queries) == 1
