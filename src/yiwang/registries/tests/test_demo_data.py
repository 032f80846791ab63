"""The demo city's registries: sizes, valid codes, the demo accounts among the persons, sources set,
every district covered, idempotent; and the benchmark seeder."""

import pytest
from django.db import transaction

from yiwang.core.codes import validate_id_number, validate_uscc
from yiwang.demo.services import demo_load
from yiwang.identity.models import Department, User
from yiwang.registries import demo_data, selectors
from yiwang.registries.models import Address, CreditRecord, GridCell, Indicator, LegalEntity, Person, RegistryField


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        demo_load()
        first = demo_data.load()
        counts = {m: m.objects.count() for m in (Person, LegalEntity, Address, GridCell, Indicator, CreditRecord)}
        second = demo_data.load()
        yield first, second, counts
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_sizes_and_a_second_run_that_writes_nothing(loaded):
    first, second, counts = loaded
    assert first["人口库"] == counts[Person] >= 10_000 and counts[LegalEntity] >= 2_000
    assert counts[Indicator] > 2_000 and counts[CreditRecord] >= 20
    assert {k: v for k, v in second.items() if k != "数源部门"} == {k: 0 for k in second if k != "数源部门"}
    assert second["数源部门"] == 0
    assert {m: m.objects.count() for m in counts} == counts


@pytest.mark.django_db
def test_every_key_has_a_valid_check_digit(loaded):
    for number in Person.objects.values_list("id_number", flat=True).iterator():
        validate_id_number(number)
    for uscc in LegalEntity.objects.values_list("uscc", flat=True):
        validate_uscc(uscc)
    for rep in LegalEntity.objects.exclude(legal_representative_id_number="").values_list(
        "legal_representative_id_number", flat=True
    ):
        validate_id_number(rep)


@pytest.mark.django_db
def test_demo_accounts_and_enterprises_are_in_the_registries(loaded):
    citizen = User.objects.get(username="citizen01")
    view = selectors.record_read(registry="population", key=citizen.id_number, fields=["name", "phone"])
    assert view.values == {"name": citizen.real_name, "phone": citizen.phone}
    agent = User.objects.get(username="ent01")
    entity = selectors.record_read(registry="legal_entity", key=agent.enterprise_uscc, fields=["name"])
    assert entity.values["name"] == agent.enterprise_name
    assert selectors.record_read(registry="population", key=agent.id_number, fields=["name"]) is not None
    market = Department.objects.get(code="SFS-SCJG")
    assert selectors.record_read(registry="legal_entity", key=market.uscc, fields=["kind"]).values == {
        "kind": "public_body"
    }
    assert Indicator.objects.filter(uscc=agent.enterprise_uscc).count() == len(demo_data.YEARS)


@pytest.mark.django_db
def test_sources_districts_grids_and_credit_lists(loaded):
    sources = dict(RegistryField.objects.filter(registry="population").values_list("field", "source_department__code"))
    assert sources["id_number"] == "SFS-GAJ" and sources["marital_status"] == "SFS-MZJ"
    assert not RegistryField.objects.filter(source_department__isnull=True).exists()
    for county in ("610302", "610323", "610324"):
        assert Address.objects.filter(region_code__startswith=county).exists()
        assert GridCell.objects.filter(region_code__startswith=county).exists()
    villages = Department.objects.filter(code__startswith="SFS-", level=Department.Level.VILLAGE)
    assert set(GridCell.objects.values_list("region_code", flat=True)) == set(
        villages.values_list("region_code", flat=True)
    )
    kinds = set(CreditRecord.objects.values_list("kind", flat=True))
    assert kinds == {"license", "penalty", "blacklist", "redlist", "tax_grade", "commitment"}
    assert CreditRecord.objects.filter(kind="blacklist", subject_kind="person").count() == 2


@pytest.mark.django_db
def test_seed_persons_writes_readable_records_fast():
    demo_data.seed_persons(300, chunk=100)
    key = demo_data.bench_id_number(123)
    validate_id_number(key)
    view = selectors.record_read(registry="population", key=key, fields=["name", "phone", "birth_date"])
    assert view is not None and view.values["phone"] == "13900000123"
    assert len({demo_data.bench_id_number(i) for i in range(3000)}) == 3000
