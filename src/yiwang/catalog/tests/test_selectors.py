"""The reads other apps make of the catalog (cases submits against them): items by id in any
status, a version's material list, and the materials an applicant must upload himself."""

import pytest

from yiwang.catalog import selectors, services
from yiwang.catalog.tests.factories import build_world, item_data
from yiwang.core.errors import NotFound

pytestmark = pytest.mark.django_db

MATERIALS = [
    {"name": "个体工商户登记申请书", "requirement": "required", "copies": 1, "format": "both"},
    {"name": "经营者身份证明", "source": "license", "license_type_code": "resident_id_card"},
    {"name": "经营场所使用证明", "requirement": "conditional", "condition": "经营场所为租赁房屋的"},
    {"name": "经营者住所信息", "source": "registry", "registry_field": "person.address"},
    {"name": "从业人员健康证明", "requirement": "required"},
]


@pytest.fixture
def world():
    return build_world()


def _publish(world, **overrides):
    saved = services.item_save_draft(actor=world.market_admin, data=item_data(**overrides))
    return services.item_publish(actor=world.market_admin, item=saved.version.item)


def test_requirements_of_version_are_that_versions_list_in_order(world):
    v1 = _publish(world, materials=MATERIALS)
    v2 = _publish(world, materials=MATERIALS[:2])
    assert [m.name for m in selectors.requirements_of_version(version_id=v1.pk)] == [m["name"] for m in MATERIALS]
    assert [m.pk for m in selectors.requirements_of_version(version_id=v2.pk)] == [
        m.pk for m in v2.materials.order_by("sort", "id")
    ]
    assert selectors.requirements_of_version(version_id=v2.pk + 1000).count() == 0


def test_required_applicant_materials_leave_out_conditional_and_government_held_ones(world):
    version = _publish(world, materials=MATERIALS)
    required = selectors.required_applicant_materials(version_id=version.pk)
    assert [m.name for m in required] == ["个体工商户登记申请书", "从业人员健康证明"]
    # A queryset the caller may narrow in the same query (cases leaves out the uploaded ones).
    assert [m.name for m in required.exclude(name="个体工商户登记申请书")] == ["从业人员健康证明"]


def test_item_get_finds_a_retired_item_that_item_get_published_hides(world):
    version = _publish(world)
    item = version.item
    assert selectors.item_get_published(implementation_code=item.implementation_code) == item
    services.item_retire(actor=world.market_admin, item=item, reason="合并办理")
    with pytest.raises(NotFound):
        selectors.item_get_published(implementation_code=item.implementation_code)
    found = selectors.item_get(item_id=item.pk)
    assert found.status == selectors.Status.RETIRED
    assert found.current_version == version and found.department.code == "SZ-SJJ"
    with pytest.raises(NotFound):
        selectors.item_get(item_id=item.pk + 1000)
