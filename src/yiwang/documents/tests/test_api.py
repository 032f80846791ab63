"""The JSON API: a document goes round, is issued and acknowledged; errors are {code, message, fields}."""

import pytest

from yiwang.documents.tests.factories import ROUTE
from yiwang.identity.services import api_token_create

pytestmark = pytest.mark.django_db
API = "/api/v1/documents"


def auth(user) -> dict:
    _token, raw = api_token_create(actor=user, user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def call(client, method, url, user, data=None):
    return getattr(client, method)(url, data or {}, content_type="application/json", **auth(user))


def _pending(client, office, name):
    response = call(client, "get", f"{API}/todo", office[name])
    assert response.status_code == 200
    (item,) = response.json()
    return item["step"]["id"]


def test_a_document_goes_round_by_api(client, office):
    body = {
        "document_type": "notice",
        "department": "T-SCJG",
        "title": "关于数据共享的通知",
        "body": "请各单位按时报送。",
        "recipient_departments": ["T-GAJ"],
    }
    created = call(client, "post", f"{API}/", office["drafter"], body)
    assert created.status_code == 201, created.content
    doc_id = created.json()["id"]
    assert call(client, "get", f"{API}/{doc_id}", office["reviewer"]).status_code == 404  # a draft is the drafter's
    submitted = call(client, "post", f"{API}/{doc_id}/submit", office["drafter"])
    assert submitted.json()["state"] == "routing"
    returned = call(
        client, "post", f"{API}/steps/{_pending(client, office, 'reviewer')}/return", office["reviewer"], {"reason": ""}
    )
    assert returned.status_code == 422 and "reason" in returned.json()["fields"]
    call(
        client,
        "post",
        f"{API}/steps/{_pending(client, office, 'reviewer')}/approve",
        office["reviewer"],
        {"comment": "同意"},
    )
    for name in ("police_head", "data_head", "head", "admin"):
        step_id = _pending(client, office, name)
        response = call(client, "post", f"{API}/steps/{step_id}/approve", office[name], {})
        assert response.status_code == 200, response.content
    detail = response.json()
    assert detail["state"] == "issued" and detail["number"].startswith("测市监发") and len(detail["signature"]) == 128
    assert [r["acknowledged"] for r in detail["receipts"]] == [False]
    pdf = call(client, "get", f"{API}/{doc_id}/pdf", office["police_clerk"])
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert call(client, "post", f"{API}/{doc_id}/acknowledge", office["police_clerk"]).status_code == 200
    again = call(client, "post", f"{API}/{doc_id}/acknowledge", office["police_head"])
    assert again.status_code == 409 and again.json()["code"] == "already_acknowledged"
    receipts = call(client, "get", f"{API}/{doc_id}/receipts", office["drafter"]).json()
    assert receipts[0]["acknowledged"] and receipts[0]["recipient"] == "测试市公安局"
    assert call(client, "get", f"{API}/{doc_id}", office["data_clerk"]).status_code == 404
    assert call(client, "get", f"{API}/{doc_id}", office["citizen"]).status_code == 404


def test_step_without_holder_is_a_clear_422(client, office):
    from yiwang.identity.services import role_grant_revoke

    role_grant_revoke(actor=office.root, grant=office["police_head"].role_grants.get())
    doc_id = call(
        client,
        "post",
        f"{API}/",
        office["drafter"],
        {"document_type": "notice", "department": "T-SCJG", "title": "t", "body": "b"},
    ).json()["id"]
    response = call(client, "post", f"{API}/{doc_id}/submit", office["drafter"])
    assert response.status_code == 422
    payload = response.json()
    assert payload["code"] == "step_without_holder" and "测试市公安局" in payload["message"]
    assert call(client, "get", f"{API}/{doc_id}", office["drafter"]).json()["state"] == "draft"


def test_document_types_are_data_an_operator_edits(client, office):
    steps = [{"kind": "review", "role": "reviewer", "departments": []}, ROUTE[-1]]
    response = call(client, "post", f"{API}/types", office.root, {"code": "letter", "name": "函", "steps": steps})
    assert response.status_code == 200 and response.json()["steps"][0]["kind"] == "review"
    bad = call(client, "post", f"{API}/types", office.root, {"code": "bad", "name": "坏", "steps": steps[:1]})
    assert bad.status_code == 422 and "steps" in bad.json()["fields"]
    assert (
        call(client, "post", f"{API}/types", office["head"], {"code": "x", "name": "x", "steps": steps}).status_code
        == 403
    )
    codes = [t["code"] for t in call(client, "get", f"{API}/types", office["drafter"]).json()]
    assert codes == ["letter", "notice"]


def test_duty_by_api(client, office):
    import datetime

    from django.utils import timezone

    now = timezone.now()
    body = {
        "department": "T-SCJG",
        "person": office["reviewer"].pk,
        "starts_at": (now - datetime.timedelta(hours=1)).isoformat(),
        "ends_at": (now + datetime.timedelta(hours=8)).isoformat(),
        "phone": "13912345678",
    }
    assert call(client, "post", f"{API}/duty/shifts", office["drafter"], body).status_code == 403
    created = call(client, "post", f"{API}/duty/shifts", office["head"], body)
    assert created.status_code == 201 and created.json()["phone"] == "139****5678"
    on_duty = call(client, "get", f"{API}/duty/now?department=T-SCJG", office["police_clerk"]).json()
    assert [s["person_id"] for s in on_duty] == [office["reviewer"].pk]
    assert call(client, "get", f"{API}/duty/now", office["citizen"]).json() == []
    bad = call(
        client, "post", f"{API}/duty/shifts", office["head"], {**body, "phone": "abc", "ends_at": body["starts_at"]}
    )
    assert bad.status_code == 422 and {"phone", "ends_at"} <= set(bad.json()["fields"])
    shift_id = created.json()["id"]
    swap = call(
        client, "post", f"{API}/duty/shifts/{shift_id}/swap", office["reviewer"], {"to_user": office["drafter"].pk}
    )
    assert swap.status_code == 201
    decided = call(client, "post", f"{API}/duty/swaps/{swap.json()['id']}/decide", office["drafter"], {"accept": True})
    assert decided.status_code == 200 and decided.json()["state"] == "accepted"
    on_duty = call(client, "get", f"{API}/duty/now?department=T-SCJG", office["head"]).json()
    assert [(s["person_id"], s["phone"]) for s in on_duty] == [(office["drafter"].pk, "139****0000")]
