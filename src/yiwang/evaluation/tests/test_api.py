"""The evaluation API: rate by API (channel recorded), the bad-input answers, staff scoping,
the rectification steps, the figures and the public page."""

import pytest

from yiwang.evaluation.models import Rating
from yiwang.identity.services import api_token_create

API = "/api/v1/evaluation"


def auth(user) -> dict:
    _token, raw = api_token_create(actor=user, user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def post(client, url, user, data=None, method="post"):
    return getattr(client, method)(url, data or {}, content_type="application/json", **auth(user))


def test_rate_by_api_then_second_rating_is_a_clear_409(client, world, case):
    response = post(client, f"{API}/cases/{case.pk}/rating", world.applicant, {"level": "satisfied", "comment": "好"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["channel"] == "api" and body["level_label"] == "满意" and body["change_open"] is True
    again = post(client, f"{API}/cases/{case.pk}/rating", world.applicant, {"level": "very_satisfied"})
    assert again.status_code == 409 and again.json()["code"] == "rating_exists"
    mine = client.get(f"{API}/cases/{case.pk}/rating", **auth(world.applicant))
    assert mine.status_code == 200 and mine.json()["id"] == body["id"]
    changed = post(client, f"{API}/ratings/{body['id']}", world.applicant, {"level": "very_satisfied"}, method="put")
    assert changed.status_code == 200 and changed.json()["change_open"] is False
    twice = post(client, f"{API}/ratings/{body['id']}", world.applicant, {"level": "satisfied"}, method="put")
    assert twice.status_code == 409 and twice.json()["code"] == "rating_change_closed"


@pytest.mark.parametrize("who", ["other_citizen", "reviewer", "police_reviewer"])
def test_someone_elses_case_is_404_like_a_missing_one(client, world, case, who):
    user = getattr(world, who)
    response = post(client, f"{API}/cases/{case.pk}/rating", user, {"level": "very_dissatisfied"})
    missing = post(client, f"{API}/cases/987654/rating", user, {"level": "very_dissatisfied"})
    assert response.status_code == missing.status_code == 404
    assert response.json() == missing.json()
    assert not Rating.objects.exists()


def test_invalid_level_is_422(client, world, case):
    response = post(client, f"{API}/cases/{case.pk}/rating", world.applicant, {"level": "meh"})
    assert response.status_code == 422


def test_staff_scope_and_the_rectification_steps(client, world, case):
    rated = post(client, f"{API}/cases/{case.pk}/rating", world.applicant, {"level": "dissatisfied"}).json()
    rid = rated["rectification"]["id"]
    assert rated["rectification"]["state"] == "open"
    listed = client.get(f"{API}/ratings", **auth(world.reviewer)).json()
    assert listed["count"] == 1 and listed["items"][0]["staff_id"] == world.head.pk
    assert client.get(f"{API}/ratings", **auth(world.police_reviewer)).json()["count"] == 0
    assert client.get(f"{API}/ratings/{rated['id']}", **auth(world.police_reviewer)).status_code == 404
    assert post(client, f"{API}/rectifications/{rid}/verify", world.police_reviewer, {"text": "x"}).status_code == 404
    early = post(client, f"{API}/rectifications/{rid}/complete", world.reviewer, {"text": "整改"})
    assert early.status_code == 409 and early.json()["code"] == "rectification_state"
    for step, text in (("verify", "属实"), ("contact", "电话致歉"), ("complete", "增开窗口")):
        response = post(client, f"{API}/rectifications/{rid}/{step}", world.reviewer, {"text": text})
        assert response.status_code == 200, response.json()
    assert response.json()["state"] == "rectified"
    rerated = post(client, f"{API}/ratings/{rated['id']}/rerate", world.applicant, {"level": "satisfied"})
    assert rerated.status_code == 200 and rerated.json()["level"] == "satisfied"

    stats = client.get(f"{API}/stats?group=staff", **auth(world.head)).json()
    assert stats["total"]["rectification_rate"] == 1.0 and stats["rows"][0]["name"] == "局长孙"
    assert client.get(f"{API}/stats?month=2026-13", **auth(world.head)).status_code == 422
    public = client.get(f"{API}/public/departments")
    assert public.status_code == 200 and public.json()[0]["good_rate"] == 1.0


def test_invalidation_over_http_needs_a_second_person(client, world, case):
    rated = post(client, f"{API}/cases/{case.pk}/rating", world.applicant, {"level": "very_dissatisfied"}).json()
    asked = post(client, f"{API}/ratings/{rated['id']}/invalid", world.head, {"reason": "辱骂"})
    assert asked.status_code == 200 and asked.json()["validity"] == "invalid_requested"
    same = post(client, f"{API}/ratings/{rated['id']}/invalid/decision", world.head, {"approve": True})
    assert same.status_code == 403 and same.json()["code"] == "second_person_required"


def test_metrics_are_computed_from_the_cases(client, world, case, refused):
    body = client.get(f"{API}/metrics?group=department", **auth(world.head)).json()
    row = body["rows"][0]
    assert row["cases"] == 2 and row["concluded"] == 2
    assert row["time_compression"] == 0.5  # promised 10 of statutory 20
    # The delivered case: online, collected at the window → one visit; the refused one: none.
    assert row["at_most_one_visit_rate"] == 1.0 and row["zero_visit_rate"] == 0.5
    assert row["immediate_rate"] == 1.0  # both concluded the day they were submitted
    from django.apps import apps

    if "caseautocheck" in apps.get_app_config("cases").models:  # the smart-services records exist
        assert row["auto_rate"] == 0.0 and body["auto_recorded"] is True
    else:
        assert row["auto_rate"] is None and body["auto_recorded"] is False
    assert client.get(f"{API}/metrics", **auth(world.other_citizen)).json()["rows"] == []


def test_metrics_by_month_and_item(client, world, case):
    body = client.get(f"{API}/metrics?group=month", **auth(world.head)).json()
    assert [row["cases"] for row in body["rows"]] == [1]
    assert body["rows"][0]["avg_handling_days"] == 0 and body["rows"][0]["p90_handling_days"] == 0
    by_item = client.get(f"{API}/metrics?group=item", **auth(world.head)).json()
    assert by_item["rows"][0]["key"] == world.market_item.implementation_code
    assert client.get(f"{API}/metrics?group=staff", **auth(world.head)).status_code == 422


def test_the_sweep_is_a_registered_periodic_job():
    from yiwang.core.schedule import autodiscover

    job = autodiscover().get("evaluation.rectification_sweep")
    assert job is not None and job.interval == 6 * 3600


def test_openapi_components_do_not_shadow_other_apps(client):
    """Ninja names components by class: a second ``Level`` or ``DecisionIn`` would silently
    replace another app's in the document."""
    components = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert "very_satisfied" in components["RatingLevel"]["enum"]
    assert "very_satisfied" not in str(components.get("Level", {}))
    assert "approve" in components["InvalidDecisionIn"]["properties"]
    assert (
        "approve" not in components.get("DecisionIn", {}).get("properties", {})
        or "reason" in components["DecisionIn"]["properties"]
    )
