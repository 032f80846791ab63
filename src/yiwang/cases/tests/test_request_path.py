"""The request path: statements per request (so an N+1 or a lost cache is a failing test, not
a slow page) and the role-grant cache (never one user's or department's grants for another,
changes visible on the next request). See docs/operations.md, "The request path"."""

import pytest
from django.core.cache import caches
from django.test import Client

from yiwang.cases import services
from yiwang.cases.tests.factories import FORM, attach_required
from yiwang.identity.models import Role
from yiwang.identity.services import api_token_create, department_deactivate, role_grant_create, role_grant_revoke

QUEUE = "/api/v1/cases/queue"


@pytest.fixture
def grants_cached(settings):
    """The role grants kept across requests, as on a site with a shared cache."""
    settings.YIWANG_GRANTS_CACHE_SECONDS = 300
    caches[settings.YIWANG_GRANTS_CACHE].clear()
    yield
    caches[settings.YIWANG_GRANTS_CACHE].clear()


def bearer(user) -> dict:
    _token, raw = api_token_create(actor=user, user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def accepted(world, item=None):
    """A case of ``item`` (市场监管局's by default), submitted and accepted: in its department's queue."""
    case, _created = services.case_submit(actor=world.applicant, item=item or world.market_item, form_data=FORM)
    case = attach_required(case)
    return services.case_accept(actor=world.clerk, case_id=case.pk, expected_version=case.version)


def warm(client: Client, path: str, headers: dict) -> None:
    # The first use of a token stamps last_used_at (at most once a minute): not every request's cost.
    assert client.get(path, **headers).status_code == 200


# --- statements per request --------------------------------------------------------------------


def test_me_is_one_statement(world, django_assert_num_queries):
    client, headers = Client(), bearer(world.applicant)
    warm(client, "/api/v1/me", headers)
    with django_assert_num_queries(1):  # the token with its user, nothing else
        response = client.get("/api/v1/me", **headers)
    assert response.json()["username"] == world.applicant.username


def test_a_list_does_not_grow_with_its_rows(world, django_assert_num_queries):
    client, headers = Client(), bearer(world.reviewer)
    accepted(world)
    warm(client, QUEUE, headers)
    # token, grants, the page (counted with it)
    with django_assert_num_queries(3):
        one = client.get(QUEUE, **headers).json()
    for _ in range(3):
        accepted(world)
    with django_assert_num_queries(3):
        four = client.get(QUEUE, **headers).json()
    assert (one["count"], four["count"]) == (1, 4)


def test_cached_grants_save_a_statement_per_request(world, grants_cached, django_assert_num_queries):
    client, headers = Client(), bearer(world.reviewer)
    accepted(world)
    warm(client, QUEUE, headers)
    with django_assert_num_queries(2):  # token, the page: the grants come from the cache
        assert client.get(QUEUE, **headers).json()["count"] == 1


def test_a_page_has_a_statement_budget(world, django_assert_num_queries):
    client = Client()
    client.force_login(world.applicant)
    case = accepted(world)
    assert client.get("/cases/").status_code == 200
    # session, user, whether MFA applies, the applicant's cases, drafts and bundles, unread messages
    with django_assert_num_queries(7):
        response = client.get("/cases/")
    assert response.status_code == 200 and case.number in response.text


def test_an_audited_draft_update_writes_only_what_changed(world, django_assert_max_num_queries):
    client, headers = Client(), bearer(world.applicant)
    created = client.post(
        "/api/v1/cases/drafts",
        {"item": world.market_item.implementation_code, "form_data": FORM},
        content_type="application/json",
        **headers,
    )
    draft = created.json()
    # token; (savepoint) the draft locked, UPDATE of what changed, the audit chain's head read,
    # its event inserted and the head moved, (release); the answer's materials
    # (PostgreSQL reads the chain's head with one statement fewer than SQLite's savepoints)
    with django_assert_max_num_queries(9) as captured:
        response = client.put(
            f"/api/v1/cases/drafts/{draft['id']}",
            {"form_data": {"business_name": "改名"}, "version": draft["version"]},
            content_type="application/json",
            **headers,
        )
    assert response.status_code == 200 and response.json()["version"] == draft["version"] + 1
    statements = [q["sql"] for q in captured.captured_queries]
    update = next(sql for sql in statements if sql.startswith('UPDATE "cases_case"'))
    assert '"form_data" =' in update and '"version" =' in update, update
    assert '"state"' not in update and '"applicant_id"' not in update and '"number"' not in update, update
    assert not any('FROM "cases_case"' in sql and "ORDER BY" in sql for sql in statements)


# --- no cache serves one user's or one department's data to another -------------------------------


def test_switching_users_on_one_client_never_shows_another_users_data(world, grants_cached):
    """One client (one worker, one process-wide cache) alternates between two reviewers of
    different departments, a citizen and signed-in sessions: each sees only their own."""
    market_case = accepted(world)
    police_case = accepted(world, item=world.police_item)
    client = Client()
    market, police, citizen = bearer(world.reviewer), bearer(world.police_reviewer), bearer(world.applicant)
    for _round in range(2):
        assert [c["id"] for c in client.get(QUEUE, **market).json()["items"]] == [market_case.pk]
        assert [c["id"] for c in client.get(QUEUE, **police).json()["items"]] == [police_case.pk]
        assert client.get("/api/v1/me", **citizen).json()["username"] == world.applicant.username
        assert client.get("/api/v1/me", **police).json()["username"] == world.police_reviewer.username
        assert client.get(QUEUE, **citizen).json()["count"] == 0
    client.force_login(world.reviewer)
    assert [c["id"] for c in client.get(QUEUE).json()["items"]] == [market_case.pk]
    client.logout()
    client.force_login(world.police_reviewer)
    assert [c["id"] for c in client.get(QUEUE).json()["items"]] == [police_case.pk]


def test_a_grant_or_a_revocation_counts_on_the_next_request(world, grants_cached, django_capture_on_commit_callbacks):
    police_case = accepted(world, item=world.police_item)
    client, headers = Client(), bearer(world.reviewer)
    assert client.get(QUEUE, **headers).json()["count"] == 0  # cached: 市场监管局 only
    with django_capture_on_commit_callbacks(execute=True):  # the invalidation runs on commit
        grant = role_grant_create(
            actor=world.tree.root, user=world.reviewer, role=Role.REVIEWER, department=world.police
        )
    assert [c["id"] for c in client.get(QUEUE, **headers).json()["items"]] == [police_case.pk]
    with django_capture_on_commit_callbacks(execute=True):
        role_grant_revoke(actor=world.tree.root, grant=grant)
    assert client.get(QUEUE, **headers).json()["count"] == 0


def test_a_deactivated_department_stops_counting_on_the_next_request(
    world, grants_cached, django_capture_on_commit_callbacks
):
    market_case = accepted(world)
    client, headers = Client(), bearer(world.reviewer)
    assert [c["id"] for c in client.get(QUEUE, **headers).json()["items"]] == [market_case.pk]
    with django_capture_on_commit_callbacks(execute=True):
        department_deactivate(actor=world.tree.root, department=world.tree.city_market)
    assert client.get(QUEUE, **headers).json()["count"] == 0


def test_without_a_shared_cache_grants_are_read_per_request(world, settings, django_assert_num_queries):
    settings.YIWANG_GRANTS_CACHE_SECONDS = 0  # the default with a per-process cache
    client, headers = Client(), bearer(world.reviewer)
    warm(client, QUEUE, headers)
    with django_assert_num_queries(3):  # token, grants, count (no page: the queue is empty)
        assert client.get(QUEUE, **headers).json()["count"] == 0
