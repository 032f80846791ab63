"""The JSON API's bad input: amounts must be integer fen, errors are {code, message, fields}."""

import pytest
from django.test import Client

from yiwang.payments.models import Bill
from yiwang.payments.tests.conftest import FEE, accepted_case

pytestmark = pytest.mark.django_db


def test_api_refuses_non_integer_amounts_and_raises_with_fen(world):
    case = accepted_case(world)
    client = Client()
    client.force_login(world.reviewer)
    url = f"/api/v1/payments/cases/{case.pk}/bills"
    for amount in (20.5, "2000", 20.0, -1, 0, True):
        response = client.post(
            url,
            {"fee_name": FEE["name"], "revenue_code": "103050101", "amount_fen": amount},
            content_type="application/json",
        )
        assert response.status_code == 422, (amount, response.content)
        body = response.json()
        assert body["code"] in ("bad_amount", "invalid") and "amount_fen" in body["fields"]
    assert not Bill.objects.exists()
    response = client.post(
        url, {"fee_name": FEE["name"], "revenue_code": "103050101", "amount_fen": 2000}, content_type="application/json"
    )
    assert response.status_code == 201 and response.json()["amount_fen"] == 2000
    payer = Client()
    payer.force_login(world.applicant)
    listed = payer.get("/api/v1/payments/bills").json()
    assert [b["amount_fen"] for b in listed] == [2000] and listed[0]["payer_name"] == world.applicant.real_name
    other = Client()
    other.force_login(world.other_citizen)
    assert other.get("/api/v1/payments/bills").json() == []
    assert other.get(f"/api/v1/payments/bills/{listed[0]['id']}").status_code == 404
