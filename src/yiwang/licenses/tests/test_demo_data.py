"""The demo city's license types fit the demo catalog: every type an item outputs and we define
carries only fields of that item's form (so approval copies them), and its department has a seal."""

import pytest
from django.db import transaction

from yiwang.catalog import demo_data as catalog_demo
from yiwang.demo.services import demo_load
from yiwang.licenses import demo_data
from yiwang.licenses.models import LicenseType, Seal


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        demo_load()
        catalog_demo.load()
        first = demo_data.load()
        second = demo_data.load()
        yield first, second
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_types_match_the_catalog_forms_and_have_seals(loaded):
    first, second = loaded
    assert len(first) == len(demo_data.TYPES) and len(second) == 0  # idempotent
    items = catalog_demo.document()["items"]
    forms = {}
    for item in items:
        code = (item.get("output") or {}).get("license_type_code")
        if code:
            forms.setdefault(code, set()).update(((item.get("form_schema") or {}).get("properties") or {}).keys())
    for lt in LicenseType.objects.select_related("department"):
        assert lt.code in forms, f"{lt.code} is output by no demo item"
        assert Seal.objects.filter(department=lt.department).exists()
    individual = LicenseType.objects.get(code="business_license_individual")
    assert set(individual.field_schema["properties"]) <= forms["business_license_individual"]
    assert individual.department.code == "SFS-SCJG"
