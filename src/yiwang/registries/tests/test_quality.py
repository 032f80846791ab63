"""Quality rules and reports: completeness, format, allowed codes, cross-registry consistency."""

from decimal import Decimal

import pytest

from yiwang.core.crypto import blind_index
from yiwang.registries import quality, services
from yiwang.registries.models import Person, QualityReport
from yiwang.registries.tests.factories import COMPANY, PERSON_ID, PERSON_ID_2, build_world, person_row

pytestmark = pytest.mark.django_db


def test_reports_score_each_registry_and_each_source_department():
    world = build_world()
    services.grid_cells_upsert(actor=None, cells=[{"code": "320505001001001", "name": "枫桥社区第1网格"}])
    services.records_upsert(
        actor=None,
        registry="spatial",
        rows=[
            {
                "code": "320505001001000001",
                "text": "苏州市虎丘区枫桥路1号",
                "region_code": "320505001001",
                "grid_code": "320505001001001",
                "longitude": "120.56",
                "latitude": "31.30",
            }
        ],
    )
    services.records_upsert(
        actor=None,
        registry="population",
        rows=[
            person_row(region_code="320505001001", address_code="320505001001000001", marital_status="married"),
            # 户籍 in 吴中区 but the address is in 虎丘区; and no address text (completeness).
            person_row(PERSON_ID_2, region_code="320506", address_code="320505001001000001", address=""),
        ],
    )
    # A value that stopped being valid after it was stored (written around the services).
    Person.objects.filter(id_number_index=blind_index(PERSON_ID)).update(sex="unknown")
    services.records_upsert(
        actor=None, registry="economy", rows=[{"uscc": COMPANY, "year": 2025, "tax_paid": 1, "land_area_mu": 2}]
    )
    quality.quality_refresh()
    population = QualityReport.objects.get(registry="population", department__isnull=True)
    assert population.records == 2 and population.failing_records == 2
    assert population.by_rule == {"allowed_codes": 1, "completeness": 1, "cross_registry": 1}
    assert Decimal(0) < population.score < Decimal(100)
    rules = {(f["field"], f["rule"]) for f in population.failures}
    assert rules == {("sex", "allowed_codes"), ("address", "completeness"), ("address_code", "cross_registry")}
    assert all(PERSON_ID not in f["key"] for f in population.failures)  # keys masked
    # The civil-affairs bureau sources only marital status, which is fine.
    civil = QualityReport.objects.get(registry="population", department=world.civil)
    assert (civil.score, civil.failed_checks, civil.checks) == (Decimal("100.00"), 0, 1)
    police = QualityReport.objects.get(registry="population", department=world.police)
    assert police.failed_checks == 3
    economy = QualityReport.objects.get(registry="economy", department__isnull=True)
    assert economy.by_rule == {"cross_registry": 1}  # the enterprise is not in the legal-entity registry
    spatial = QualityReport.objects.get(registry="spatial", department__isnull=True)
    assert spatial.score == Decimal("100.00")
    # Refreshing replaces the reports instead of piling them up.
    quality.quality_refresh()
    assert QualityReport.objects.filter(registry="population", department__isnull=True).count() == 1


def test_the_quality_job_is_scheduled():
    from yiwang.core.schedule import autodiscover

    assert "registries.quality" in autodiscover().jobs
