"""Test data for life-event bundles: the cases world plus a third item (虎丘区市场监管局) and
a published bundle of three items in three departments. 个体工商户登记申请书 is asked by the
市场监管局 and 公安局 items (one upload, two cases); 户口簿 only by the 公安局 item."""

from dataclasses import dataclass

from yiwang.cases.tests.factories import World, build_world, publish_item
from yiwang.catalog.models import LifeEvent
from yiwang.catalog.services import item_publish, item_save_draft, life_event_publish, life_event_save_draft
from yiwang.catalog.tests.factories import BASE_ITEM, item_data, life_event_data
from yiwang.identity.models import Role, User
from yiwang.identity.tests.tree import make_staff

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
APPLICATION = "个体工商户登记申请书"
HOUSEHOLD = "户口簿"
FORM = {"business_name": "张三小吃店", "move_reason": "经营需要", "district": "虎丘区"}


@dataclass
class BundleWorld:
    world: World
    life_event: LifeEvent
    huqiu_reviewer: User


def build_bundle_world() -> BundleWorld:
    world = build_world()
    root = world.tree.root
    # The police item asks for its own field and material besides the shared ones.
    item_save_draft(
        actor=root,
        data=item_data(
            implementation_code="SZ-GAJ-0001",
            department="SZ-GAJ",
            name="户口迁移",
            aliases=[],
            keywords=[],
            output={},
            promised_time_limit=5,
            process=[{"name": "受理", "role": "window_clerk"}, {"name": "审核", "role": "reviewer"}],
            materials=[*BASE_ITEM["materials"], {"name": HOUSEHOLD, "requirement": "required"}],
            form_schema={
                "type": "object",
                "required": ["business_name", "move_reason"],
                "properties": {
                    "business_name": {"type": "string", "title": "个体工商户名称"},
                    "move_reason": {"type": "string", "title": "迁移原因", "maxLength": 20},
                },
            },
        ),
    )
    item_publish(actor=root, item=world.police_item)
    world.police_item.refresh_from_db()
    publish_item(
        root,
        implementation_code="SZ-HQ-SJJ-0001",
        department="SZ-HQ-SJJ",
        name="食品经营许可",
        aliases=[],
        keywords=[],
        output={},
        promised_time_limit=3,
        materials=[{"name": "食品安全管理制度", "requirement": "required"}],
        form_schema={
            "type": "object",
            "required": ["district"],
            "properties": {"district": {"type": "string", "title": "所在区县", "enum": ["虎丘区", "吴中区"]}},
        },
    )
    result = life_event_save_draft(
        actor=root,
        data=life_event_data(
            code="LE-KXCD",
            name="开小吃店一件事",
            targets=["natural_person"],
            items=["SZ-SJJ-0001", "SZ-GAJ-0001", "SZ-HQ-SJJ-0001"],
        ),
    )
    life_event = result.version.life_event
    life_event_publish(actor=root, life_event=life_event)
    life_event.refresh_from_db()
    huqiu_reviewer = make_staff("huqiu_reviewer", real_name="虎丘审核")
    world.tree.grant(huqiu_reviewer, Role.REVIEWER, world.tree.huqiu_market)
    return BundleWorld(world, life_event, huqiu_reviewer)
