"""The demo city's exchange: the published credential reads a masked record over HTTP, the grants
between demo departments exist, citizen01 finds the demo read in 数据使用记录; a rerun adds nothing."""

import base64

import pytest
from django.test import Client

from yiwang.demo.services import demo_load
from yiwang.exchange import demo_data
from yiwang.exchange.models import ConsumerSystem, Grant, ShareRequest
from yiwang.identity.models import User
from yiwang.registries import demo_data as registries_demo


@pytest.mark.slow
@pytest.mark.django_db
def test_demo_exchange_is_usable_with_the_printed_credential():
    demo_load()
    registries_demo.load(None)
    summary = demo_data.load(None)
    assert demo_data.DEMO_CLIENT_SECRET in summary.summary()
    assert ConsumerSystem.objects.filter(client_id=demo_data.DEMO_CLIENT_ID).count() == 1
    assert set(Grant.objects.values_list("consumer_app", flat=True)) == {"", "cases", "supervision", "identity"}
    assert ShareRequest.objects.filter(status=ShareRequest.Status.PENDING).count() == 1
    grants, requests = Grant.objects.count(), ShareRequest.objects.count()
    demo_data.load(None)
    assert (Grant.objects.count(), ShareRequest.objects.count()) == (grants, requests)

    citizen = User.objects.get(username="citizen01")
    auth = base64.b64encode(f"{demo_data.DEMO_CLIENT_ID}:{demo_data.DEMO_CLIENT_SECRET}".encode()).decode()
    response = Client(HTTP_AUTHORIZATION=f"Basic {auth}").get(
        f"/api/v1/exchange/gateway/population/{citizen.id_number}", {"purpose": "参保登记核验", "fields": "name,sex"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["masked"] == ["name"] and body["values"]["name"].startswith(citizen.real_name[0])
    client = Client()
    client.force_login(citizen)
    usage = client.get("/api/v1/exchange/usage").json()
    assert len(usage) == 2 and usage[-1]["purpose"] == demo_data.DEMO_PURPOSE

    # The identity grant makes the one-click 实名核验 work for a demo citizen: L1 → L2.
    from yiwang.identity.services import user_real_name_verify

    assert user_real_name_verify(actor=citizen).real_name_level == 2
    assert len(client.get("/api/v1/exchange/usage").json()) == 3
