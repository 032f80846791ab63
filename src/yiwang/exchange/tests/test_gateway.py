"""The gateway: grants decide the fields, masking, every bad input refused with a code naming
the field, refusals logged under a rate limit, queries per lookup flat, caches invalidated."""

import base64
import datetime

import pytest
from django.test import Client
from django.utils import timezone

from yiwang.core.codes import make_id_number
from yiwang.core.errors import Conflict, Forbidden, ValidationFailed
from yiwang.exchange import gateway, services
from yiwang.exchange.models import ExchangeLog, Grant, ShareRequest
from yiwang.exchange.tests.conftest import CITIZEN_ID, OTHER_ID, hrss_asks, person

UNTIL = datetime.date.today() + datetime.timedelta(days=100)


def _system(world, name="社保经办系统"):
    system, secret = services.consumer_system_create(actor=world.hrss_head, department=world.hrss, name=name)
    client = Client(HTTP_AUTHORIZATION="Basic " + base64.b64encode(f"{system.client_id}:{secret}".encode()).decode())
    return system, client


def _grant(world, fields=("name", "phone", "sex"), system=None, unmasked=()) -> Grant:
    [request] = services.share_request_create(
        actor=world.hrss_head,
        consumer_department=world.hrss,
        registry="population",
        fields=list(fields),
        purpose="参保登记核验",
        legal_basis="《社会保险法》",
        valid_until=UNTIL,
        system=system,
        unmasked_fields=list(unmasked),
    )
    if request.status == ShareRequest.Status.PENDING:
        return services.share_request_approve(actor=world.police_head, request=request)
    return request.grant


def _get(client, key=CITIZEN_ID, **params):
    params.setdefault("purpose", "参保登记")
    return client.get(f"/api/v1/exchange/gateway/population/{key}", params)


def test_unconditional_fields_are_granted_on_request_and_conditional_ones_wait(world):
    [auto] = services.share_request_create(
        actor=world.hrss_head,
        consumer_department=world.hrss,
        registry="population",
        fields=["sex", "region_code"],
        purpose="统计",
        legal_basis="职能",
        valid_until=UNTIL,
    )
    assert auto.status == ShareRequest.Status.APPROVED and auto.grant.fields == ["sex", "region_code"]
    [pending] = hrss_asks(world, ["name"])
    assert pending.status == ShareRequest.Status.PENDING
    # Ten working days to answer, on the working-day clock.
    assert pending.due_date > timezone.localdate() + datetime.timedelta(days=13)


def test_not_shared_field_cannot_be_requested_and_the_error_names_it(world):
    with pytest.raises(ValidationFailed) as exc:
        services.share_request_create(
            actor=world.hrss_head,
            consumer_department=world.hrss,
            registry="population",
            fields=["name", "household_id"],
            purpose="核验",
            legal_basis="职能",
            valid_until=UNTIL,
        )
    assert exc.value.code == "field_not_shared" and "household_id" in exc.value.fields
    assert "户口登记条例" in str(exc.value.message)
    assert not ShareRequest.objects.exists()


def test_only_the_source_department_decides(world):
    [request] = hrss_asks(world, ["name"])
    with pytest.raises(Forbidden):
        services.share_request_approve(actor=world.hrss_head, request=request)
    with pytest.raises(ValidationFailed):
        services.share_request_refuse(actor=world.police_head, request=request, reason="")
    services.share_request_refuse(actor=world.police_head, request=request, reason="用途不明确")
    with pytest.raises(Conflict):
        services.share_request_approve(actor=world.police_head, request=request)


def test_masked_unless_granted_in_clear_and_exactly_the_granted_fields(world):
    system, client = _system(world)
    _grant(world, fields=("name", "phone"), system=system, unmasked=("name",))
    body = _get(client).json()
    assert body["values"] == {"name": "张小三", "phone": "138****5678"} and body["masked"] == ["phone"]
    only = _get(client, fields="phone").json()
    assert only["values"] == {"phone": "138****5678"}


@pytest.mark.parametrize(
    ("params", "status", "code", "field"),
    [
        ({"purpose": ""}, 422, "purpose_missing", "purpose"),
        ({"fields": "birth_date"}, 403, "field_not_granted", "birth_date"),
        ({"fields": "salary"}, 422, "field_unknown", "salary"),
        ({"fields": "household_id"}, 403, "field_not_shared", "household_id"),
    ],
)
def test_refusals_name_the_field_and_are_logged(world, params, status, code, field):
    system, client = _system(world)
    _grant(world, system=system)
    response = _get(client, **params)
    assert response.status_code == status, response.content
    assert response.json()["code"] == code and field in response.json()["fields"]
    entry = ExchangeLog.objects.get()
    assert entry.outcome == code and entry.consumer == system.client_id


def test_unknown_key_invalid_key_expired_and_revoked_grants(world):
    system, client = _system(world)
    grant = _grant(world, system=system)
    missing = make_id_number("320505", datetime.date(1970, 1, 1), 99)
    response = _get(client, key=missing)
    assert response.status_code == 404 and response.json()["code"] == "record_not_found"
    bad_check = CITIZEN_ID[:17] + ("1" if CITIZEN_ID[17] != "1" else "2")
    response = _get(client, key=bad_check)
    assert response.status_code == 422 and "key" in response.json()["fields"]
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    services._touch()
    response = _get(client, fields="name")
    assert response.json()["code"] == "grant_expired" and "name" in response.json()["fields"]
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() + datetime.timedelta(days=1))
    services.grant_revoke(actor=world.police_head, grant=grant, reason="核查发现超范围使用")
    response = _get(client, fields="name")
    assert response.json()["code"] == "grant_revoked" and "name" in response.json()["fields"]
    outcomes = list(ExchangeLog.objects.order_by("sequence").values_list("outcome", flat=True))
    assert outcomes == ["record_not_found", "registry_key_invalid", "grant_expired", "grant_revoked"]


def test_batch_is_bounded_and_reports_unknown_keys(world, settings):
    settings.YIWANG_EXCHANGE_BATCH_LIMIT = 3
    system, client = _system(world)
    _grant(world, system=system)
    nobody = make_id_number("320505", datetime.date(1971, 1, 1), 98)
    response = client.post(
        "/api/v1/exchange/gateway/population/batch",
        {"purpose": "批量核验", "keys": [CITIZEN_ID, OTHER_ID, nobody], "fields": ["name"]},
        content_type="application/json",
    )
    body = response.json()
    assert response.status_code == 200 and body["not_found"] == [nobody]
    assert [r["values"]["name"] for r in body["records"]] == ["张*三", "李*"]
    assert ExchangeLog.objects.filter(outcome="ok").count() == 2
    too_many = client.post(
        "/api/v1/exchange/gateway/population/batch",
        {"purpose": "批量核验", "keys": [CITIZEN_ID, OTHER_ID, nobody, "x"], "fields": ["name"]},
        content_type="application/json",
    )
    assert too_many.status_code == 422 and too_many.json()["code"] == "batch_too_large"
    assert "keys" in too_many.json()["fields"]


def test_a_flood_of_refusals_is_rate_limited_and_stops_filling_the_log(world, settings):
    settings.YIWANG_RATE_LIMITS = {"exchange_refusal": (3, 60)}
    _system_row, client = _system(world)
    statuses = [_get(client, purpose="").status_code for _ in range(6)]
    assert statuses == [422, 422, 422, 429, 429, 429]
    assert ExchangeLog.objects.count() == 3


def test_queries_per_lookup_are_flat(world, django_assert_max_num_queries):
    system, client = _system(world)
    _grant(world, system=system)
    _get(client)  # warms the per-process cache
    consumer = gateway.SystemConsumer(gateway.current().systems[system.client_id])
    # generation + registry read + head lock + append (+ head move on SQLite): never more.
    with django_assert_max_num_queries(5):
        gateway.read_one(consumer=consumer, purpose="核验", registry="population", key=CITIZEN_ID, fields=["name"])
    for n in range(20):
        person(make_id_number("320505", datetime.date(1980, 1, 1), 200 + n))
    with django_assert_max_num_queries(5):
        gateway.read_one(consumer=consumer, purpose="核验", registry="population", key=OTHER_ID, fields=["name"])
    with django_assert_max_num_queries(5):
        _get(client)


def test_cache_follows_revocation_of_the_system_without_a_restart(world):
    system, client = _system(world)
    _grant(world, system=system)
    assert _get(client).status_code == 200
    # Another process revoked it: only the shared generation tells this one.
    from yiwang.exchange.models import ConsumerSystem, ExchangeState

    ConsumerSystem.objects.filter(pk=system.pk).update(revoked_at=timezone.now())
    assert _get(client).status_code == 200  # cache still valid: nothing told it
    ExchangeState.objects.filter(pk=1).update(generation=999)
    assert _get(client).status_code == 401


def test_in_platform_apps_read_only_with_a_grant_of_their_own_and_are_logged(world):
    with pytest.raises(gateway.GatewayRefusal) as exc:
        services.registry_read(
            actor=world.police_reviewer, app="cases", purpose="表单预填", registry="population", key=CITIZEN_ID,
            fields=["name"],
        )  # fmt: skip
    assert exc.value.code == "grant_missing" or exc.value.code == "field_not_granted"
    services.grant_for_app(
        actor=world.police_head,
        app="cases",
        department=world.city,
        registry="population",
        fields=["name", "address"],
        purpose="办件表单预填",
        legal_basis="《优化营商环境条例》",
        valid_until=UNTIL,
    )
    result = services.registry_read(
        actor=world.police_reviewer, app="cases", purpose="表单预填", registry="population", key=CITIZEN_ID,
        fields=["name", "address"],
    )  # fmt: skip
    assert result.values == {"name": "张*三", "address": "示范市高新区****"}
    last = ExchangeLog.objects.order_by("-sequence").first()
    assert (last.consumer_kind, last.consumer, last.outcome) == ("app", "cases:ex_gaj_reviewer", "ok")
    assert last.subject_index == world.citizen.id_number_index


def test_catalog_is_public_and_a_not_shared_item_needs_its_basis(world):
    rows = Client().get("/api/v1/exchange/catalog", {"registry": "population"}).json()
    by_field = {r["field"]: r for r in rows}
    assert by_field["name"]["share_type"] == "conditional" and by_field["name"]["mask_kind"] == "name"
    assert by_field["sex"]["share_type"] == "unconditional"
    assert by_field["household_id"]["share_type"] == "not_shared"
    assert by_field["name"]["source_department"] == "示范市公安局"
    from yiwang.identity.services import api_token_create

    _token, raw = api_token_create(actor=world.root, user=world.root, name="目录维护")
    response = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").put(
        "/api/v1/exchange/catalog/population/sex",
        {"share_type": "not_shared", "open_type": "closed", "mask_kind": "none"},
        content_type="application/json",
    )
    assert response.status_code == 422 and "not_shared_reason" in response.json()["fields"]
    client = Client()
    client.force_login(world.hrss_head)
    response = client.put(
        "/api/v1/exchange/catalog/population/sex",
        {"share_type": "conditional", "open_type": "closed", "mask_kind": "none"},
        content_type="application/json",
    )
    assert response.status_code == 403
    page = Client().get("/exchange/catalog/").content.decode()
    assert "户口登记条例" in page and "示范市公安局" in page
