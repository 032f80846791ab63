import pytest

from yiwang.catalog import selectors, services
from yiwang.catalog.models import ServiceItemVersion, Status
from yiwang.catalog.tests.factories import build_world, item_data, life_event_data
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def test_create_publish_edit_makes_a_new_version_and_keeps_the_old_one(world):
    result = services.item_save_draft(actor=world.market_admin, data=item_data())
    assert result.outcome == "created"
    item = result.version.item
    assert item.status == Status.DRAFT
    # A draft is invisible to the public.
    with pytest.raises(NotFound):
        selectors.item_get_published(implementation_code="SZ-SJJ-0001")

    v1 = services.item_publish(actor=world.market_admin, item=item)
    assert v1.number == 1 and v1.published_at is not None
    public = selectors.item_get_published(implementation_code="SZ-SJJ-0001")
    assert public.current_version == v1

    changed = services.item_save_draft(actor=world.market_admin, data=item_data(promised_time_limit=3))
    assert changed.outcome == "updated" and changed.version.number == 2
    # The public still sees version 1 until the draft is published.
    assert selectors.item_get_published(implementation_code="SZ-SJJ-0001").current_version.promised_time_limit == 1

    v2 = services.item_publish(actor=world.market_admin, item=item)
    assert v2.number == 2
    v1.refresh_from_db()
    assert v1.promised_time_limit == 1  # a case submitted under v1 still reads v1
    assert [m.name for m in v1.materials.all()] == ["个体工商户登记申请书", "经营者身份证明", "经营场所使用证明"]
    assert selectors.item_get_published(implementation_code="SZ-SJJ-0001").current_version.promised_time_limit == 3
    actions = list(
        AuditEvent.objects.filter(object_type="catalog.serviceitem", object_id=str(item.pk)).values_list(
            "action", flat=True
        )
    )
    assert actions == [
        "catalog.item_save_draft",
        "catalog.item_publish",
        "catalog.item_save_draft",
        "catalog.item_publish",
    ]


def test_saving_the_same_content_again_changes_nothing(world):
    services.item_save_draft(actor=world.market_admin, data=item_data())
    item = selectors.item_get_for_admin(actor=world.market_admin, implementation_code="SZ-SJJ-0001")
    services.item_publish(actor=world.market_admin, item=item)
    again = services.item_save_draft(actor=world.market_admin, data=item_data())
    assert again.outcome == "unchanged"
    assert ServiceItemVersion.objects.filter(item=item).count() == 1
    with pytest.raises(Conflict):
        services.item_publish(actor=world.market_admin, item=item)


def test_invalid_item_lists_every_problem_in_chinese(world):
    data = item_data(
        promised_time_limit=20,
        onsite_visits=2,
        kind="permit",
        targets=[],
        form_schema={"type": "object", "properties": {"x": {"type": "strnig"}}},
    )
    data["materials"][2]["condition"] = ""
    with pytest.raises(ValidationFailed) as exc:
        services.item_save_draft(actor=world.market_admin, data=data)
    fields = exc.value.as_dict()["fields"]
    assert fields["promised_time_limit"] == ["「承诺办结时限」必须是不大于法定办结时限（15 个工作日）的整数"]
    assert "必须现场办理的原因" in fields["onsite_visits_reason"][0]
    assert "行政许可" in fields["kind"][0]
    assert "自然人" in fields["targets"][0]
    assert "JSON Schema" in fields["form_schema"][0]
    assert "提交情形" in fields["materials.2.condition"][0]
    assert not ServiceItemVersion.objects.exists()


def test_unknown_department_is_named(world):
    with pytest.raises(ValidationFailed) as exc:
        services.item_save_draft(actor=world.city_admin, data=item_data(department="NOPE"))
    assert exc.value.as_dict()["fields"]["department"] == ["「实施主体编码」部门编码「NOPE」不存在或已停用"]


def test_only_admins_of_the_implementing_department_or_city_admins_may_write(world):
    with pytest.raises(Forbidden):
        services.item_save_draft(actor=world.huqiu_admin, data=item_data())
    with pytest.raises(Forbidden):
        services.item_save_draft(actor=world.clerk, data=item_data())
    services.item_save_draft(actor=world.city_admin, data=item_data())
    item = selectors.item_get_for_admin(actor=world.market_admin, implementation_code="SZ-SJJ-0001")
    # Another department's admin cannot see it, update it or publish it.
    with pytest.raises(NotFound):
        selectors.item_get_for_admin(actor=world.huqiu_admin, implementation_code="SZ-SJJ-0001")
    with pytest.raises(NotFound):
        services.item_save_draft(actor=world.huqiu_admin, data=item_data(name="改名"), must_exist=True)
    with pytest.raises(Forbidden):
        services.item_publish(actor=world.huqiu_admin, item=item)
    assert list(selectors.item_list_for_admin(actor=world.huqiu_admin)) == []
    assert list(selectors.item_list_for_admin(actor=world.city_admin)) == [item]


def test_department_cannot_change_through_an_update(world):
    services.item_save_draft(actor=world.city_admin, data=item_data())
    with pytest.raises(ValidationFailed) as exc:
        services.item_save_draft(actor=world.city_admin, data=item_data(department="SZ-HQ-SJJ"))
    assert "实施主体不能变更" in exc.value.as_dict()["fields"]["department"][0]


def test_retire_hides_the_item_and_republish_restores_it(world):
    item = services.item_save_draft(actor=world.market_admin, data=item_data()).version.item
    services.item_publish(actor=world.market_admin, item=item)
    services.item_retire(actor=world.market_admin, item=item, reason="职能调整")
    with pytest.raises(NotFound):
        selectors.item_get_published(implementation_code="SZ-SJJ-0001")
    assert list(selectors.item_list_published()) == []
    services.item_publish(actor=world.market_admin, item=item)
    assert selectors.item_get_published(implementation_code="SZ-SJJ-0001").status == Status.PUBLISHED


def _two_published_items(world):
    first = services.item_save_draft(actor=world.market_admin, data=item_data()).version.item
    second_data = item_data(
        implementation_code="SZ-SJJ-0002",
        name="公章刻制备案",
        targets=["legal_person"],
        materials=[
            {"name": "经营者身份证明", "source": "license", "license_type_code": "resident_id_card"},
            {"name": "经营场所使用证明", "requirement": "required"},
            {"name": "印章样式", "requirement": "required"},
        ],
        form_schema={
            "type": "object",
            "required": ["seal_count"],
            "properties": {
                "business_name": {"type": "string", "title": "个体工商户名称"},
                "seal_count": {"type": "integer", "minimum": 1},
            },
        },
        promised_time_limit=5,
    )
    second = services.item_save_draft(actor=world.market_admin, data=second_data).version.item
    return first, second


def test_life_event_merges_form_and_asks_shared_materials_once(world, django_assert_max_num_queries):
    first, second = _two_published_items(world)
    bundle = services.life_event_save_draft(actor=world.market_admin, data=life_event_data()).version.life_event
    with pytest.raises(Conflict) as exc:
        services.life_event_publish(actor=world.market_admin, life_event=bundle)
    assert "SZ-SJJ-0001" in str(exc.value.message)
    services.item_publish(actor=world.market_admin, item=first)
    services.item_publish(actor=world.market_admin, item=second)
    version = services.life_event_publish(actor=world.market_admin, life_event=bundle)

    with django_assert_max_num_queries(2):  # the member items, then their materials: not per item
        guide = selectors.life_event_guide(version=version)
        assert [v.item.department.code for v in guide["items"]] and guide["departments"]
    names = [m["name"] for m in guide["materials"]]
    assert names == ["个体工商户登记申请书", "经营者身份证明", "经营场所使用证明", "印章样式"]
    shared = guide["materials"][2]
    # Conditional in one item, required in the other: asked once, as required.
    assert shared["requirement"] == "required" and shared["items"] == ["SZ-SJJ-0001", "SZ-SJJ-0002"]
    assert set(guide["form_schema"]["properties"]) == {"business_name", "seal_count"}
    assert guide["form_schema"]["required"] == ["business_name", "seal_count"]
    assert guide["promised_time_limit"] == 5
    assert [le.code for le in selectors.life_event_list_published()] == ["LE-KBQY"]

    # An item in a published bundle cannot be retired out from under it.
    with pytest.raises(Conflict) as exc:
        services.item_retire(actor=world.market_admin, item=first)
    assert "开办企业一件事" in str(exc.value.message)


def test_life_event_needs_existing_items(world):
    with pytest.raises(ValidationFailed) as exc:
        services.life_event_save_draft(actor=world.market_admin, data=life_event_data(items=["SZ-SJJ-0001", "X-9"]))
    assert "SZ-SJJ-0001、X-9" in exc.value.as_dict()["fields"]["items"][0]


def test_merged_form_combines_conflicting_property_definitions():
    merged = selectors.merge_form_schemas(
        [
            {"type": "object", "properties": {"phone": {"type": "string"}}},
            {"type": "object", "properties": {"phone": {"type": "string", "pattern": "^1"}}},
        ]
    )
    assert merged["properties"]["phone"] == {"allOf": [{"type": "string"}, {"type": "string", "pattern": "^1"}]}
