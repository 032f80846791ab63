"""Issue 10's "Done means", walked end to end through the pages, the API and the command:
a department requests fields, the source approves, the consuming system reads a masked record
over HTTP with its real credential, the citizen sees that read in 数据使用记录, a dispute is
raised and resolved, the evidence log verifies and a tampered copy fails."""

import base64
import datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from yiwang.exchange.models import DataDispute, ExchangeLog, ShareRequest
from yiwang.exchange.tests.conftest import CITIZEN_ID
from yiwang.registries.models import Person


def _login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_done_means(world, capsys):
    # 1. The 人社局 registers its system (the secret is shown once) and asks for fields.
    hrss = _login(world.hrss_head)
    response = hrss.post(
        "/api/v1/exchange/systems",
        {"department": world.hrss.pk, "name": "社保经办系统"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    credential = response.json()
    until = (datetime.date.today() + datetime.timedelta(days=200)).isoformat()
    response = hrss.post(
        reverse("exchange_workbench:request_new") + "?registry=population",
        {
            "registry": "population",
            "fields": ["name", "phone", "sex"],
            "department": world.hrss.pk,
            "system": credential["id"],
            "purpose": "社会保险参保登记核验",
            "legal_basis": "《社会保险法》第五十八条",
            "valid_until": until,
            "submit": "1",
        },
    )
    assert response.status_code == 302
    request = ShareRequest.objects.get()
    assert request.status == ShareRequest.Status.PENDING and request.source_department == world.police

    # Before approval the system gets nothing, and the refusal is on the record.
    gateway = Client(HTTP_AUTHORIZATION=_basic(credential["client_id"], credential["client_secret"]))
    url = f"/api/v1/exchange/gateway/population/{CITIZEN_ID}"
    refused = gateway.get(url, {"purpose": "参保登记", "fields": "name,phone"})
    assert refused.status_code == 403 and refused.json()["code"] == "field_not_granted"
    assert "name" in refused.json()["fields"]

    # 2. The 公安局's head approves on the workbench.
    police = _login(world.police_head)
    page = police.get(reverse("exchange_workbench:request", args=[request.pk]))
    assert "社会保险参保登记核验" in page.content.decode()
    response = police.post(reverse("exchange_workbench:request", args=[request.pk]), {"action": "approve"})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == ShareRequest.Status.APPROVED

    # 3. The consuming system reads the record over HTTP: exactly the fields, personal ones masked.
    response = gateway.get(url, {"purpose": "参保登记", "fields": "name,phone"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["values"] == {"name": "张*三", "phone": "138****5678"}
    assert body["masked"] == ["name", "phone"] and body["disputed"] == []
    # A wrong secret is 401, as is none.
    assert Client(HTTP_AUTHORIZATION=_basic(credential["client_id"], "wrong")).get(url).status_code == 401

    # 4. The citizen sees that read in 数据使用记录 (page and API), with department and purpose.
    citizen = _login(world.citizen)
    page = citizen.get(reverse("exchange_portal:usage")).content.decode()
    assert "示范市人力资源和社会保障局" in page and "参保登记" in page and "姓名" in page
    usage = citizen.get("/api/v1/exchange/usage").json()
    assert len(usage) == 1 and usage[0]["fields"] == ["name", "phone"]
    assert usage[0]["department"] == "示范市人力资源和社会保障局"
    # The other person's page shows nothing of it.
    assert _login(world.agent).get("/api/v1/exchange/usage").json() == []

    # 5. The citizen disputes the phone number; every reader sees it marked.
    response = citizen.post(
        reverse("exchange_portal:usage"),
        {"item": "population:phone", "key": CITIZEN_ID, "claimed_value": "13912345678", "reason": "已更换手机号"},
    )
    assert response.status_code == 302
    dispute = DataDispute.objects.get()
    assert dispute.status == DataDispute.Status.OPEN and dispute.source_department == world.police
    assert gateway.get(url, {"purpose": "参保登记", "fields": "name,phone"}).json()["disputed"] == ["phone"]

    # The source department verifies and corrects it through the registry's own write path.
    response = _login(world.police_reviewer).post(
        reverse("exchange_workbench:dispute", args=[dispute.pk]), {"action": "correct", "reason": "核实户籍档案"}
    )
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert dispute.status == DataDispute.Status.CORRECTED
    assert Person.objects.get(id_number_index=world.citizen.id_number_index).phone == "13912345678"
    body = gateway.get(url, {"purpose": "参保登记", "fields": "name,phone"}).json()
    assert body["disputed"] == [] and body["values"]["phone"] == "139****5678"

    # 6. The evidence log verifies (seal included); a tampered copy fails, naming the entry.
    call_command("exchange", "seal")
    call_command("exchange", "verify-log")
    assert "交换日志完好" in capsys.readouterr().out
    entry = ExchangeLog.objects.filter(outcome="ok").order_by("sequence").first()
    ExchangeLog.objects.filter(pk=entry.pk).update(purpose="随便看看")
    with pytest.raises(CommandError) as exc:
        call_command("exchange", "verify-log")
    assert exc.value.returncode == 1
    err = capsys.readouterr().err
    assert f"序号 {entry.sequence}" in err and "[edited]" in err
