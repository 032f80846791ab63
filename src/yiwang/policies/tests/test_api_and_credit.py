"""The policies JSON API (/api/v1/policies/) over the pages' selectors and services, and a credit
grade change (supervision's recomputation) re-running the credit-dependent benefits for that
enterprise only."""

import datetime

import pytest

from yiwang.core.models import AuditEvent
from yiwang.identity.services import api_token_create
from yiwang.policies import services
from yiwang.policies.models import Award, Benefit, Objection
from yiwang.policies.tests.test_policies import BIG, SHOP, SMALL, world  # noqa: F401 - the fixture
from yiwang.policies.tests.test_rules_instant_objections import MU_TABLE, _publish, economy  # noqa: F401

pytestmark = pytest.mark.django_db
API = "/api/v1/policies"


def bearer(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(actor=user, user=user, name='t')[1]}"}


def test_the_library_is_public_and_a_draft_is_missing(economy, client):  # noqa: F811
    benefit = _publish(economy)
    draft = services.policy_create(
        actor=economy["head"],
        department=economy["reform"],
        title="草稿政策",
        benefits=[{"name": "草稿待遇", "kind": "award", "amount": "1", "rules": MU_TABLE}],
    )
    listed = client.get(f"{API}/policies").json()
    assert [p["id"] for p in listed] == [benefit.policy_id]
    line = listed[0]["benefits"][0]
    assert line["mode"] == "no_application" and line["conditions"]["rules"][0]["outcome"] == "refuse"
    detail = client.get(f"{API}/policies/{benefit.policy_id}").json()
    assert detail["benefits"][0]["conditions"]["default"]["reason"] == "亩均税收不足"
    assert client.get(f"{API}/policies/{draft.pk}").status_code == 404


def test_the_calculator_and_instant_application_by_api(economy, client):  # noqa: F811
    benefit = _publish(economy, mode="instant")
    big, shop, head = economy["agents"][BIG], economy["agents"][SHOP], economy["head"]
    mine = client.get(f"{API}/eligibility", **bearer(big)).json()
    assert mine["lines"][0]["eligible"] is True and float(mine["total"]) == 100000
    assert client.get(f"{API}/eligibility", **bearer(head)).status_code == 404  # staff have no enterprise
    assert client.get(f"{API}/eligibility").status_code == 401

    url = f"{API}/benefits/{benefit.pk}/apply"
    applied = client.post(url, **bearer(big))
    assert applied.status_code == 201 and applied.json()["outcome"] == "approve"
    assert applied.json()["award"]["status"] == "reviewed" and applied.json()["award"]["applied"] is True
    assert client.post(url, **bearer(big)).json()["code"] == "already_applied"
    refused = client.post(url, **bearer(shop))
    assert refused.status_code == 200 and refused.json()["outcome"] == "refuse"
    assert refused.json()["award"] is None and refused.json()["reasons"][0] == "列入严重失信主体名单,不予享受"
    assert client.post(url, **bearer(head)).status_code == 403
    assert client.post(f"{API}/benefits/{benefit.pk + 999}/apply", **bearer(big)).status_code == 404
    assert [a["uscc"] for a in client.get(f"{API}/awards", **bearer(big)).json()] == [BIG]
    assert client.get(f"{API}/awards", **bearer(shop)).json() == []


def test_objections_by_api_answered_only_by_the_issuing_department(economy, client):  # noqa: F811
    benefit = _publish(economy)
    small, head, outsider = economy["agents"][SMALL], economy["head"], economy["outsider"]
    url = f"{API}/benefits/{benefit.pk}/objections"
    empty = client.post(url, {"text": "  "}, content_type="application/json", **bearer(small))
    assert empty.status_code == 422 and "text" in empty.json()["fields"]
    raised = client.post(url, {"text": "用地面积有误"}, content_type="application/json", **bearer(small))
    assert raised.status_code == 201 and raised.json()["status"] == "open"
    assert any("亩均税收" in r for r in raised.json()["reasons_seen"])
    objection_id = raised.json()["id"]
    assert [o["id"] for o in client.get(f"{API}/objections/mine", **bearer(small)).json()] == [objection_id]
    assert client.post(url, {"text": "x"}, content_type="application/json", **bearer(head)).status_code == 403

    # Another department's staff: the objection is not theirs (empty list, 404).
    assert client.get(f"{API}/objections", **bearer(outsider)).json() == []
    decide = f"{API}/objections/{objection_id}/decide"
    body = {"upheld": True, "answer": "经核实用地面积为 10 亩"}
    assert client.post(decide, body, content_type="application/json", **bearer(outsider)).status_code == 404
    assert client.post(decide, body, content_type="application/json", **bearer(small)).status_code == 404
    assert [o["id"] for o in client.get(f"{API}/objections", **bearer(head)).json()] == [objection_id]
    blank = client.post(decide, {"upheld": True, "answer": ""}, content_type="application/json", **bearer(head))
    assert blank.status_code == 422 and "answer" in blank.json()["fields"]
    answered = client.post(decide, body, content_type="application/json", **bearer(head))
    assert answered.status_code == 200 and answered.json()["status"] == "upheld"
    assert Award.objects.get(benefit=benefit, uscc=SMALL).status == Award.Status.REVIEWED
    assert client.post(decide, body, content_type="application/json", **bearer(head)).status_code == 409
    assert Objection.objects.get().answer == "经核实用地面积为 10 亩"


def _blacklist(uscc: str) -> None:
    from yiwang.registries.services import records_upsert

    today = datetime.date.today()
    records_upsert(
        actor="test:credit-import",
        registry="credit",
        rows=[
            {
                "record_number": f"BL-{uscc[-6:]}",
                "subject_kind": "legal_entity",
                "subject_key": uscc,
                "subject_name": "示范市精密制造有限公司",
                "kind": "blacklist",
                "content": "列入严重失信主体名单",
                "authority": "示范市市场监督管理局",
                "decided_on": today,
                "valid_from": today,
                "valid_to": None,
            }
        ],
    )


def test_a_credit_grade_change_reruns_the_credit_benefits_for_that_enterprise_only(
    economy,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    from yiwang.supervision import services as supervision

    credit_benefit = _publish(economy)  # 失信 excluded: uses credit.dishonest
    plain = services.policy_create(
        actor=economy["head"],
        department=economy["reform"],
        title="老字号企业奖励",
        benefits=[
            {
                "name": "老字号奖励",
                "kind": "award",
                "amount": "1000",
                "rules": [{"fact": "years_in_business", "op": "ge", "value": 5}],
                "examples": [{"name": "老店", "facts": {"years_in_business": 8}, "expect": "approve"}],
            }
        ],
    )
    services.policy_publish(actor=economy["head"], policy=plain)
    plain_benefit = Benefit.objects.get(policy=plain)
    assert Award.objects.get(benefit=credit_benefit, uscc=BIG).status == Award.Status.ELIGIBLE
    # Grade everyone once (first grades are changes too), then only BIG turns 失信.
    with django_capture_on_commit_callbacks(execute=True):
        supervision.grades_recompute(actor="test", usccs=[BIG, SMALL])
    with django_capture_on_commit_callbacks(execute=True):
        _blacklist(BIG)
        supervision.grades_recompute(actor="test", usccs=[BIG, SMALL])
    award = Award.objects.get(benefit=credit_benefit, uscc=BIG)
    assert award.status == Award.Status.EXCLUDED and award.reasons[0] == "列入严重失信主体名单,不予享受"
    # The benefit without credit facts was not run again: BIG stays on its list.
    assert Award.objects.get(benefit=plain_benefit, uscc=BIG).status == Award.Status.ELIGIBLE
    reruns = list(AuditEvent.objects.filter(action="policies.eligibility_rerun").order_by("sequence"))
    assert reruns[-1].changes["source"] == "credit" and reruns[-1].changes["usccs"] == 1
    assert reruns[-1].changes["lapsed"] == 1 and reruns[-1].changes["evaluated"] == 1
    # A recomputation that changes nothing publishes nothing and re-runs nothing.
    with django_capture_on_commit_callbacks(execute=True):
        supervision.grades_recompute(actor="test", usccs=[BIG, SMALL])
    assert AuditEvent.objects.filter(action="policies.eligibility_rerun").count() == len(reruns)
