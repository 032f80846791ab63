"""Postal delivery through the services: the address (checked, encrypted, masked), the registry
address through the exchange, dispatch through the simulator's real HTTP server, and the signed
tracking callbacks — duplicates, out of order, forged — up to the case delivered by post."""

import datetime
import json

import pytest
from django.db import connection
from django.test import Client

from yiwang.cases import selectors as case_selectors
from yiwang.cases.models import CaseState
from yiwang.cases.tests.factories import ID_NUMBER, PHONE
from yiwang.channels import couriers, services
from yiwang.channels.models import PostalDelivery, PostalState, TrackingEvent
from yiwang.channels.tests.conftest import SECRET, approved_case
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.models import AuditEvent

ADDRESS = "江苏省苏州市虎丘区枫桥路18号3幢201室"
CALLBACK = "/api/v1/channels/couriers/simulator/callback"


def choose_post(world, case, **extra):
    values = {"recipient_phone": PHONE, "address": ADDRESS, "region_code": "320505", "postal_code": "215000"}
    values.update(extra)
    return services.postal_request(actor=world.base.applicant, case_id=case.pk, **values)


def signed_post(client: Client, payload: dict, *, secret: str = SECRET, timestamp=None):
    body = json.dumps(payload).encode()
    headers = couriers.signed_headers(secret, body)
    if timestamp is not None:
        headers["X-Courier-Timestamp"] = str(timestamp)
        headers["X-Courier-Signature"] = couriers.sign(secret, str(timestamp), headers["X-Courier-Nonce"], body)
    return client.post(
        CALLBACK,
        data=body,
        content_type="application/json",
        **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items() if k != "Content-Type"},
    )


def event(waybill_no, status, event_id, minutes):
    at = datetime.datetime(2026, 12, 3, 8, 0, tzinfo=datetime.UTC) + datetime.timedelta(minutes=minutes)
    return {"event_id": event_id, "waybill_no": waybill_no, "status": status, "occurred_at": at.isoformat()}


def test_address_is_encrypted_at_rest_and_masked_where_shown(world):
    case = approved_case(world)
    delivery = choose_post(world, case)
    assert delivery.recipient_name == "张三" and delivery.state == PostalState.REQUESTED
    with connection.cursor() as cursor:
        cursor.execute("SELECT address, recipient_phone FROM channels_postaldelivery WHERE id = %s", [delivery.pk])
        address, phone = cursor.fetchone()
    assert address.startswith("sm4gcm1:") and "枫桥路" not in address and PHONE not in phone
    steps = [s.note for s in case_selectors.case_timeline(actor=world.base.applicant, case=case)]
    assert any("江苏省苏州市****" in note for note in steps)
    assert not any("枫桥路" in note for note in steps)
    audit = AuditEvent.objects.get(action="channels.postal_request")
    assert "枫桥路" not in json.dumps(audit.changes, ensure_ascii=False)
    assert audit.changes["recipient_phone"] == "138****5678"


def test_a_bad_address_names_every_field_and_writes_nothing(world):
    case = approved_case(world)
    with pytest.raises(ValidationFailed) as exc:
        choose_post(world, case, recipient_phone="12345", address="枫桥路", region_code="999999", postal_code="21")
    assert exc.value.code == "address_invalid"
    assert set(exc.value.fields) == {"recipient_phone", "address", "region_code", "postal_code"}
    assert not PostalDelivery.objects.exists()


def test_somebody_elses_case_looks_missing(world):
    case = approved_case(world)
    with pytest.raises(NotFound):
        services.postal_request(
            actor=world.base.other_citizen,
            case_id=case.pk,
            address=ADDRESS,
            region_code="320505",
            recipient_phone=PHONE,
        )


def test_registry_address_is_read_through_the_exchange_with_a_purpose(world):
    from yiwang.core.crypto import blind_index
    from yiwang.exchange import gateway
    from yiwang.exchange import services as exchange
    from yiwang.exchange.models import ExchangeLog
    from yiwang.registries.models import Person, RegistryField

    root = world.base.tree.root
    case = approved_case(world)
    with pytest.raises(NotFound) as exc:  # no grant yet: a clear answer, nothing written
        services.postal_request(actor=world.base.applicant, case_id=case.pk, from_registry=True)
    assert exc.value.code == "registry_address_missing"
    RegistryField.objects.filter(registry="population").update(source_department=world.base.police)
    Person.objects.create(
        id_number=ID_NUMBER,
        id_number_index=blind_index(ID_NUMBER),
        name="张三",
        sex="male",
        birth_date=datetime.date(1985, 1, 2),
        region_code="320505",
        address=ADDRESS,
        phone=PHONE,
        marital_status="married",
    )
    exchange.catalog_sync(actor=root)
    exchange.grant_for_app(
        actor=root,
        app="channels",
        department=world.base.tree.city,
        registry="population",
        fields=["address", "address_code"],
        purpose="邮寄送达地址",
        legal_basis="《行政许可法》第四十四条",
        valid_until=datetime.date.today() + datetime.timedelta(days=30),
        unmasked_fields=["address"],
    )
    gateway.invalidate()
    delivery = services.postal_request(actor=world.base.applicant, case_id=case.pk, from_registry=True)
    assert delivery.source == "registry" and delivery.address == ADDRESS and delivery.region_code == "320505"
    logged = ExchangeLog.objects.filter(purpose=services.ADDRESS_PURPOSE, outcome="ok")
    assert logged.count() == 1


def test_dispatch_tracking_and_delivery_through_the_simulator(world, simulator):
    case = approved_case(world)
    delivery = choose_post(world, case)
    with pytest.raises(Forbidden):  # the applicant does not hand results to the courier
        services.postal_dispatch(actor=world.base.applicant, delivery_id=delivery.pk)
    delivery = services.postal_dispatch(actor=world.base.clerk, delivery_id=delivery.pk)
    assert delivery.waybill_no.startswith("SIM") and delivery.state == PostalState.DISPATCHED
    assert simulator.waybills[delivery.waybill_no]["order"]["address"] == ADDRESS
    again = services.postal_dispatch(actor=world.base.clerk, delivery_id=delivery.pk)
    assert again.waybill_no == delivery.waybill_no and len(simulator.waybills) == 1
    with pytest.raises(Conflict):
        choose_post(world, case, address="江苏省苏州市吴中区东吴北路1号")

    client = Client()
    no = delivery.waybill_no
    assert signed_post(client, event(no, "picked_up", "e1", 0)).json() == {"result": "applied"}
    assert signed_post(client, event(no, "picked_up", "e1", 0)).json() == {"result": "duplicate"}
    assert signed_post(client, event(no, "out_for_delivery", "e3", 20)).json() == {"result": "applied"}
    # 运输中 arrives late, after 派送中: kept in the list, the state does not go back.
    assert signed_post(client, event(no, "in_transit", "e2", 10)).json() == {"result": "recorded"}
    delivery.refresh_from_db()
    assert delivery.state == PostalState.OUT_FOR_DELIVERY
    assert signed_post(client, event(no, "signed", "e4", 30)).json() == {"result": "applied"}
    assert signed_post(client, event(no, "returned", "e5", 40)).json() == {"result": "recorded"}

    delivery.refresh_from_db()
    case.refresh_from_db()
    assert delivery.state == PostalState.SIGNED
    assert case.state == CaseState.DELIVERED and case.delivery_method == "mail"
    assert [e.status for e in delivery.events.all()] == [
        "picked_up",
        "in_transit",
        "out_for_delivery",
        "signed",
        "returned",
    ]
    notes = [s.note for s in case_selectors.case_timeline(actor=world.base.applicant, case=case)]
    assert any(n.startswith("【已揽收】") for n in notes) and any(n.startswith("【已签收】") for n in notes)
    assert not any(n.startswith("【运输中】") for n in notes)  # the late event is not a timeline step
    assert AuditEvent.objects.filter(action="channels.tracking").count() == 5

    # The courier's own tracking query finds nothing new (the test posted its own events).
    assert services.tracking_refresh(actor=world.base.clerk, delivery_id=delivery.pk) == 0


def test_forged_stale_and_malformed_callbacks_are_refused_and_audited(world, simulator):
    case = approved_case(world)
    delivery = services.postal_dispatch(actor=world.base.clerk, delivery_id=choose_post(world, case).pk)
    client = Client()
    forged = signed_post(client, event(delivery.waybill_no, "signed", "f1", 0), secret="not-the-secret")
    assert forged.status_code == 403 and forged.json()["code"] == "callback_signature"
    stale = signed_post(client, event(delivery.waybill_no, "signed", "f2", 0), timestamp=1_600_000_000)
    assert stale.status_code == 403 and stale.json()["code"] == "callback_expired"
    unsigned = client.post(CALLBACK, data=b"{}", content_type="application/json")
    assert unsigned.status_code == 403
    unknown = signed_post(client, event("SIM000", "signed", "f3", 0))
    assert unknown.status_code == 404 and unknown.json()["code"] == "waybill_unknown"
    bad = signed_post(client, {"waybill_no": delivery.waybill_no, "status": "teleported"})
    assert bad.status_code == 422 and set(bad.json()["fields"]) >= {"status", "event_id", "occurred_at"}
    other = client.post("/api/v1/channels/couriers/nobody/callback", data=b"{}", content_type="application/json")
    assert other.status_code == 404 and other.json()["code"] == "courier_unknown"
    assert not TrackingEvent.objects.exists()
    case.refresh_from_db()
    assert case.state == CaseState.APPROVED
    refused = list(AuditEvent.objects.filter(action="channels.callback_refused").values_list("changes", flat=True))
    assert [c["code"] for c in refused] == [
        "callback_signature",
        "callback_expired",
        "callback_signature",
        "waybill_unknown",
        "callback_invalid",
    ]


def test_a_returned_item_leaves_the_case_for_the_window(world, simulator):
    case = approved_case(world)
    delivery = services.postal_dispatch(actor=world.base.clerk, delivery_id=choose_post(world, case).pk)
    update = couriers.parse_update(event(delivery.waybill_no, "returned", "r1", 5))
    services.tracking_apply(courier_code="simulator", update=update)
    delivery.refresh_from_db()
    case.refresh_from_db()
    assert delivery.state == PostalState.RETURNED and case.state == CaseState.APPROVED


def test_dispatch_before_the_decision_and_an_unreachable_courier(world, settings):
    from yiwang.cases import services as case_services
    from yiwang.cases.tests.factories import FORM

    case, _ = case_services.case_submit(actor=world.base.applicant, item=world.base.market_item, form_data=FORM)
    delivery = choose_post(world, case)
    with pytest.raises(Conflict):
        services.postal_dispatch(actor=world.base.reviewer, delivery_id=delivery.pk)
    case = approved_case(world)
    delivery = choose_post(world, case)
    settings.YIWANG_COURIERS = {
        "simulator": {
            "adapter": "yiwang.channels.couriers.SimulatorCourier",
            "url": "http://127.0.0.1:9",
            "secret": "x",
        }
    }
    with pytest.raises(couriers.CourierUnavailable):
        services.postal_dispatch(actor=world.base.clerk, delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == PostalState.REQUESTED and not delivery.waybill_no
