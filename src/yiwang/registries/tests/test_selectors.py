"""The exchange's raw read interface: values, subjects, errors and a flat query count."""

import datetime
from decimal import Decimal

import pytest

from yiwang.core.codes import make_id_number, make_uscc
from yiwang.core.crypto import blind_index
from yiwang.registries import selectors
from yiwang.registries.errors import InvalidKey, RegistryError, UnknownField, UnknownRegistry
from yiwang.registries.models import CreditRecord, Indicator, LegalEntity, Person, RegistryField

pytestmark = pytest.mark.django_db

ID = make_id_number("610323", datetime.date(1988, 5, 17), 31)
USCC = make_uscc("91610302MA0000001")


def _person(id_number=ID, **extra):
    values = {"name": "王小明", "sex": "male", "birth_date": datetime.date(1988, 5, 17), "phone": "13800000001"}
    values.update(extra)
    return Person.objects.create(id_number=id_number, id_number_index=blind_index(id_number), **values)


def test_registry_names_and_fields_carry_labels_keys_and_sources(django_assert_max_num_queries):
    assert selectors.REGISTRY_NAMES == ("population", "legal_entity", "license", "credit", "spatial", "economy")
    with django_assert_max_num_queries(1):
        fields = selectors.registry_fields()
    by_name = {(f.registry, f.field): f for f in fields}
    id_field = by_name[("population", "id_number")]
    assert id_field.key and id_field.personal and str(id_field.label) == "公民身份号码"
    assert by_name[("economy", "year")].key
    assert not by_name[("legal_entity", "name")].personal
    assert {f.registry for f in fields} == set(selectors.REGISTRY_NAMES)
    # The migration made a source row for every writable field; none has a department yet.
    assert RegistryField.objects.count() == len([f for f in fields if f.registry != "license"])
    assert id_field.source_department_id is None


def test_record_read_population_decrypts_the_asked_fields_in_one_query(django_assert_max_num_queries):
    _person()
    with django_assert_max_num_queries(1):
        view = selectors.record_read(registry="population", key=ID.lower(), fields=["name", "phone", "birth_date"])
    assert view.values == {"name": "王小明", "phone": "13800000001", "birth_date": datetime.date(1988, 5, 17)}
    assert (view.registry, view.key, view.subject_kind, view.subject_key) == ("population", ID, "person", ID)
    assert view.updated_at is not None
    other = make_id_number("610323", datetime.date(1990, 1, 1), 11)
    assert selectors.record_read(registry="population", key=other, fields=["name"]) is None


def test_record_read_legal_entity_economy_and_credit_subjects():
    LegalEntity.objects.create(uscc=USCC, name="示范市明德餐饮管理有限公司", kind="enterprise")
    Indicator.objects.create(uscc=USCC, year=2025, tax_paid=Decimal("12.50"), land_area_mu=Decimal("3"))
    CreditRecord.objects.create(
        record_number="XK-2025-0001",
        subject_kind="person",
        subject_key=ID,
        subject_key_index=blind_index(ID),
        subject_name="王小明",
        kind="blacklist",
    )
    entity = selectors.record_read(registry="legal_entity", key=USCC, fields=["name", "kind"])
    assert entity.values == {"name": "示范市明德餐饮管理有限公司", "kind": "enterprise"}
    assert (entity.subject_kind, entity.subject_key) == ("legal_entity", USCC)
    indicator = selectors.record_read(registry="economy", key=f"{USCC}-2025", fields=["tax_paid"])
    assert indicator.values == {"tax_paid": Decimal("12.50")}
    assert (indicator.subject_kind, indicator.subject_key, indicator.key) == ("legal_entity", USCC, f"{USCC}-2025")
    credit = selectors.record_read(registry="credit", key="XK-2025-0001", fields=["kind"])
    assert (credit.values, credit.subject_kind, credit.subject_key) == ({"kind": "blacklist"}, "person", ID)


def test_bad_registry_field_and_key_raise_errors_naming_them():
    with pytest.raises(UnknownRegistry) as exc:
        selectors.record_read(registry="people", key=ID, fields=["name"])
    assert exc.value.status == 422 and "registry" in exc.value.fields
    with pytest.raises(UnknownField) as exc:
        selectors.record_read(registry="population", key=ID, fields=["name", "salary"])
    assert "salary" in exc.value.fields
    wrong_check = ID[:17] + ("0" if ID[17] != "0" else "1")
    with pytest.raises(InvalidKey) as exc:
        selectors.record_read(registry="population", key=wrong_check, fields=["name"])
    assert "校验位" in exc.value.fields["key"][0]
    with pytest.raises(InvalidKey):
        selectors.record_read(registry="economy", key=USCC, fields=["tax_paid"])


def test_record_read_many_is_one_query_whatever_the_batch(django_assert_max_num_queries):
    ids = [make_id_number("610324", datetime.date(1970, 1, 1) + datetime.timedelta(days=i), 1) for i in range(30)]
    for i, number in enumerate(ids):
        _person(number, name=f"人{i}")
    missing = make_id_number("610324", datetime.date(2001, 1, 1), 2)
    with django_assert_max_num_queries(1):
        found = selectors.record_read_many(registry="population", keys=[*ids, missing], fields=["name"])
    assert set(found) == set(ids)
    assert found[ids[3]].values == {"name": "人3"}
    with pytest.raises(RegistryError) as exc:
        selectors.record_read_many(registry="population", keys=[ids[0], "12345"], fields=["name"])
    assert "keys.1" in exc.value.fields
    with pytest.raises(RegistryError) as exc:
        selectors.record_read_many(registry="population", keys=ids * 40, fields=["name"])
    assert exc.value.code == "registry_batch_too_large"


def test_the_license_registry_is_a_view_over_the_licenses_app(django_assert_max_num_queries):
    from yiwang.licenses.tests.factories import HOLDER_ID, build_world, issue

    lic = issue(build_world())
    with django_assert_max_num_queries(1):
        view = selectors.record_read(
            registry="license", key=lic.identifier, fields=["holder_name", "license_type", "status"]
        )
    assert view.values == {"holder_name": "张小三", "license_type": "business_license_individual", "status": "valid"}
    assert (view.subject_kind, view.subject_key) == ("person", HOLDER_ID)
    with django_assert_max_num_queries(1):
        many = selectors.record_read_many(registry="license", keys=[lic.identifier], fields=["holder_id"])
    assert many[lic.identifier].values == {"holder_id": HOLDER_ID}
