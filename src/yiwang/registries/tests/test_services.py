"""Writes: 一数一源, history, audit, events, all-or-nothing batches, corrections."""

import datetime

import pytest

from yiwang.core.audit import verify_chain
from yiwang.core.codes import make_id_number
from yiwang.core.errors import NotFound, ValidationFailed
from yiwang.core.masking import mask_id_number
from yiwang.core.models import AuditEvent
from yiwang.registries import selectors, services
from yiwang.registries.errors import NotSourceDepartment, ReadOnlyRegistry, RegistryError, RowsInvalid
from yiwang.registries.models import Person, RecordChange
from yiwang.registries.tests.factories import COMPANY, PERSON_ID, PERSON_ID_2, build_world, person_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


@pytest.fixture
def published(monkeypatch):
    sent = []
    monkeypatch.setattr(services.events, "publish", lambda name, **payload: sent.append((name, payload)))
    return sent


def test_source_department_creates_records_with_history_audit_and_events(world, published):
    result = services.records_upsert(
        actor=world.police_clerk, registry="population", rows=[person_row(), person_row(PERSON_ID_2, name="李四")]
    )
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    person = Person.objects.get(name="张小三")
    assert person.id_number == PERSON_ID and person.birth_date == datetime.date(1990, 3, 7)
    # Encrypted at rest: neither the ID number nor the phone is in the row in clear.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, phone FROM registries_person WHERE id = %s", [person.pk])
        stored = cursor.fetchone()
    assert PERSON_ID not in stored[0] and "13812345678" not in stored[1]
    history = RecordChange.objects.filter(record_id=person.pk, registry="population").get()
    assert (history.action, history.actor, history.source_department) == ("create", world.police_clerk, world.police)
    audit = AuditEvent.objects.filter(action="registries.records_upsert").get()
    assert audit.changes["created"] == 2 and PERSON_ID not in str(audit.changes)
    # The payload is stored in the task outbox: the 身份证号 is masked, the record named by id.
    assert [(n, p.get("key")) for n, p in published] == [
        ("registries.record_changed", mask_id_number(PERSON_ID)),
        ("registries.record_changed", mask_id_number(PERSON_ID_2)),
        ("registries.records_changed", None),  # and the batch once, by record ids
    ]
    batch = published[-1][1]
    assert batch["record_ids"] == [p["record_id"] for _n, p in published[:2]] and batch["registry"] == "population"
    assert PERSON_ID not in str(published) and PERSON_ID_2 not in str(published)
    assert "name" in published[0][1]["fields"] and published[0][1]["registry"] == "population"
    view = selectors.record_read_by_id(registry="population", record_id=published[0][1]["record_id"], fields=["name"])
    assert view.key == PERSON_ID and view.values["name"]
    assert verify_chain() is None


def test_an_update_keeps_the_old_value_encrypted_when_personal(world, published):
    services.records_upsert(actor=world.police_clerk, registry="population", rows=[person_row()])
    published.clear()
    result = services.records_upsert(
        actor=world.police_clerk,
        registry="population",
        rows=[person_row(phone="13900000000", region_code="320506")],
    )
    assert (result.updated, result.fields) == (1, ["region_code", "phone"])
    changes = {c.field: c for c in RecordChange.objects.filter(action="update")}
    assert changes["phone"].old_value == "13812345678" and changes["phone"].new_value == "13900000000"
    assert changes["phone"].old_plain == "" and changes["phone"].old_secret == "13812345678"
    assert (changes["region_code"].old_plain, changes["region_code"].new_plain) == ("320505", "320506")
    assert published[0][1]["fields"] == ["region_code", "phone"]
    # Sending the same record again changes nothing: no history, no event.
    again = services.records_upsert(
        actor=world.police_clerk, registry="population", rows=[person_row(phone="13900000000", region_code="320506")]
    )
    assert (again.updated, again.unchanged) == (0, 1)
    assert RecordChange.objects.count() == 3


def test_a_department_cannot_write_another_departments_field(world):
    services.records_upsert(actor=world.police_clerk, registry="population", rows=[person_row()])
    with pytest.raises(RowsInvalid) as exc:
        services.records_upsert(
            actor=world.police_clerk, registry="population", rows=[person_row(marital_status="married")]
        )
    message = exc.value.fields["records.0.marital_status"][0]
    assert "婚姻状况" in message and "苏州市民政局" in message
    # The civil-affairs bureau may set it, resending the police's fields unchanged …
    services.records_upsert(actor=world.civil_clerk, registry="population", rows=[person_row(marital_status="已婚")])
    assert Person.objects.get().marital_status == "married"
    # … but may not change them, nor create a person (the key's source is the police).
    with pytest.raises(RowsInvalid) as exc:
        services.records_upsert(
            actor=world.civil_clerk,
            registry="population",
            rows=[person_row(name="张三丰"), {"id_number": PERSON_ID_2, "marital_status": "unmarried"}],
        )
    assert set(exc.value.fields) == {"records.0.name", "records.1.id_number"}
    # Auditors and staff of no source department write nothing.
    with pytest.raises(RowsInvalid):
        services.records_upsert(actor=world.auditor, registry="population", rows=[person_row(name="王五")])
    assert Person.objects.get().name == "张小三"


def test_text_that_cannot_be_stored_fails_the_batch_naming_row_and_field(world):
    """NUL (PostgreSQL refuses it in text) or a lone surrogate (not encodable) in any text field:
    the whole batch is refused before a row is written, the row and field named."""
    rows = [
        person_row(),
        person_row(PERSON_ID_2, address="苏州市\x00姑苏区"),
        person_row(make_id_number("320505", datetime.date(1972, 1, 1), 25), name="张\ud800"),
    ]
    with pytest.raises(RowsInvalid) as exc:
        services.records_upsert(actor=world.police_clerk, registry="population", rows=rows)
    assert "空字符" in exc.value.fields["records.1.address"][0]
    assert "代理项" in exc.value.fields["records.2.name"][0]
    assert not Person.objects.exists() and not RecordChange.objects.exists()


def test_a_bad_batch_names_every_bad_row_and_writes_nothing(world):
    bad_check = PERSON_ID_2[:17] + ("0" if PERSON_ID_2[17] != "0" else "1")
    rows = [
        person_row(),
        person_row(bad_check),
        person_row(make_id_number("320505", datetime.date(1970, 1, 1), 21), birth_date="1970-01-02", salary=1),
        person_row(PERSON_ID, name="重复"),
        person_row(make_id_number("320505", datetime.date(1971, 1, 1), 23), region_code="999999", phone="12"),
    ]
    with pytest.raises(RowsInvalid) as exc:
        services.records_upsert(actor=world.police_clerk, registry="population", rows=rows)
    fields = exc.value.fields
    assert "校验位" in fields["records.1.id_number"][0]
    assert "出生日期" in fields["records.2.birth_date"][0]
    assert fields["records.2.salary"] == ["未知字段"]
    assert "重复" in fields["records.3.id_number"][0]
    assert "records.4.region_code" in fields and "records.4.phone" in fields
    assert "records.0.id_number" not in fields
    assert exc.value.status == 422 and "4 行有误" in str(exc.value.message)
    assert Person.objects.count() == 0 and RecordChange.objects.count() == 0


def test_batch_limits_and_read_only_registry(world):
    with pytest.raises(RegistryError) as exc:
        services.records_upsert(actor=world.police_clerk, registry="population", rows=[{}] * 10_001)
    assert exc.value.code == "registry_batch_too_large" and "records" in exc.value.fields
    with pytest.raises(RegistryError) as exc:
        services.records_upsert(actor=world.police_clerk, registry="population", rows=[])
    assert exc.value.code == "registry_batch_empty"
    with pytest.raises(ReadOnlyRegistry):
        services.records_upsert(actor=world.police_clerk, registry="license", rows=[{"identifier": "x"}])


def test_other_registries_validate_their_codes(world):
    with pytest.raises(RowsInvalid) as exc:
        services.records_upsert(
            actor=world.market_clerk,
            registry="legal_entity",
            rows=[
                {"uscc": COMPANY, "name": "苏州小三面馆", "kind": "个体工商户", "industry_code": "H62"},
                {"uscc": COMPANY[:-1] + "0", "name": "错码"},
                {"uscc": "91320505MA1X2Y3Z4A", "industry_code": "I99", "status": "bankrupt"},
            ],
        )
    fields = exc.value.fields
    assert "records.0.uscc" not in fields
    assert "校验位" in fields["records.1.uscc"][0] or "records.1.uscc" in fields
    assert "records.2.industry_code" in fields and "records.2.status" in fields
    result = services.records_upsert(
        actor=world.market_clerk,
        registry="economy",
        rows=[{"uscc": COMPANY, "year": 2025, "tax_paid": "12.5", "land_area_mu": 3, "employees": "40"}],
    )
    assert result.created == 1
    view = selectors.record_read(registry="economy", key=f"{COMPANY}-2025", fields=["tax_paid", "employees"])
    assert str(view.values["tax_paid"]) == "12.50" and view.values["employees"] == 40
    with pytest.raises(RowsInvalid) as exc:
        services.records_upsert(
            actor=world.market_clerk,
            registry="credit",
            rows=[{"record_number": "CF-1", "subject_kind": "person", "subject_key": COMPANY, "kind": "penalty"}],
        )
    assert "records.0.subject_key" in exc.value.fields


def test_only_missing_leaves_existing_records_alone(world):
    services.records_upsert(actor=None, registry="population", rows=[person_row(name="改过的名字")])
    result = services.records_upsert(
        actor="system:demo", registry="population", rows=[person_row(), person_row(PERSON_ID_2)], only_missing=True
    )
    assert (result.created, result.skipped) == (1, 1)
    assert Person.objects.filter(name="改过的名字").exists()


def test_record_correct_by_the_source_department_only(world, published):
    services.records_upsert(actor=world.police_clerk, registry="population", rows=[person_row()])
    published.clear()
    with pytest.raises(NotSourceDepartment) as exc:
        services.record_correct(
            actor=world.civil_clerk, registry="population", key=PERSON_ID, field="name", value="张晓三", reason="异议"
        )
    assert exc.value.status == 403 and "name" in exc.value.fields and "苏州市公安局" in str(exc.value.message)
    with pytest.raises(ValidationFailed) as exc:
        services.record_correct(
            actor=world.police_clerk, registry="population", key=PERSON_ID, field="name", value="张晓三", reason=" "
        )
    assert "reason" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        services.record_correct(
            actor=world.police_clerk, registry="population", key=PERSON_ID, field="id_number", value="x", reason="r"
        )
    with pytest.raises(NotFound):
        services.record_correct(
            actor=world.police_clerk, registry="population", key=PERSON_ID_2, field="name", value="x", reason="r"
        )
    view = services.record_correct(
        actor=world.police_clerk,
        registry="population",
        key=PERSON_ID.lower(),
        field="name",
        value="张晓三",
        reason="数据异议 2026-001 核实属实",
    )
    assert (view.values, view.subject_key) == ({"name": "张晓三"}, PERSON_ID)
    change = RecordChange.objects.get(action="correct")
    assert (change.field, change.old_value, change.new_value, change.channel) == (
        "name",
        "张小三",
        "张晓三",
        "correction",
    )
    assert change.reason.startswith("数据异议")
    audit = AuditEvent.objects.get(action="registries.record_correct")
    assert audit.changes["old"] == "张*三" and audit.changes["new"] == "张*三" and PERSON_ID not in str(audit.changes)
    assert published == [
        (
            "registries.record_changed",
            {
                "registry": "population",
                "record_id": change.record_id,
                "key": mask_id_number(PERSON_ID),
                "fields": ["name"],
                "action": "correct",
                "batch": change.batch,
            },
        ),
        (
            "registries.records_changed",
            {"registry": "population", "batch": change.batch, "record_ids": [change.record_id], "fields": ["name"]},
        ),
    ]


def test_field_sources_are_set_by_city_admins_only(world):
    from yiwang.core.errors import Forbidden

    with pytest.raises(Forbidden):
        services.registry_field_source_set(
            actor=world.police_clerk, registry="population", field="phone", department=world.police
        )
    services.registry_field_source_set(
        actor=world.tree.root, registry="population", field="phone", department=world.civil
    )
    info = {(f.registry, f.field): f for f in selectors.registry_fields()}
    assert info[("population", "phone")].source_department_id == world.civil.pk
    assert AuditEvent.objects.filter(action="registries.field_source_set").exists()


def test_credit_records_check_their_subject_by_kind(world):
    row = {
        "record_number": "CF-2026-001",
        "subject_kind": "legal_entity",
        "subject_key": COMPANY,
        "subject_name": "苏州小三面馆",
        "kind": "行政处罚",
        "content": "罚款2000元",
        "authority": "苏州市市场监督管理局",
        "decided_on": "2026-01-05",
        "valid_from": "2026-01-05",
        "valid_to": "2025-01-05",
    }
    with pytest.raises(RowsInvalid) as exc:
        services.records_upsert(actor=world.market_clerk, registry="credit", rows=[row])
    assert list(exc.value.fields) == ["records.0.valid_to"]
    services.records_upsert(actor=world.market_clerk, registry="credit", rows=[{**row, "valid_to": "2029-01-05"}])
    # An update that names only the subject code: a USCC is accepted without repeating the kind.
    services.records_upsert(
        actor=world.market_clerk, registry="credit", rows=[{"record_number": "CF-2026-001", "subject_key": COMPANY}]
    )
    view = selectors.record_read(registry="credit", key="CF-2026-001", fields=["kind", "valid_to"])
    assert (view.subject_kind, view.subject_key, view.values["kind"]) == ("legal_entity", COMPANY, "penalty")
    with pytest.raises(RowsInvalid) as exc:
        services.records_upsert(
            actor=world.market_clerk,
            registry="credit",
            rows=[{"record_number": "CF-2026-002", "kind": "blacklist", "content": "x"}],
        )
    assert {"records.0.subject_kind", "records.0.subject_key"} <= set(exc.value.fields)
