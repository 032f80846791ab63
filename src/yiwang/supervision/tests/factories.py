"""Test world for supervision: the registries' world (苏州; the market regulator sources the 法人
and 信用 registries, the police the 人口库), 40 enterprises in the 法人库 whose legal
representatives are in the 人口库, a health commission as second department, inspectors of both
(each with a 身份证号, a household in the 人口库 and a valid 执法资格), the exchange grants of the
app ``supervision`` for the household 回避 check, an enterprise agent — all through the services."""

import datetime
import zlib
from dataclasses import dataclass

from yiwang.core.codes import make_id_number, make_uscc
from yiwang.exchange import gateway
from yiwang.exchange import services as exchange
from yiwang.identity.models import Department, Role, User
from yiwang.identity.services import department_create
from yiwang.identity.tests.tree import make_staff
from yiwang.registries import services as registry_services
from yiwang.registries.tests.factories import World, build_world, person_row
from yiwang.supervision import services
from yiwang.supervision.models import Inspector, SupervisionItem


def uscc(i: int) -> str:
    return make_uscc(f"91320505MA{i:07d}")


def rep_id(i: int) -> str:
    """The 身份证号 of entity ``i``'s legal representative."""
    return make_id_number("320505", datetime.date(1970 + i % 30, 1 + i % 12, 1 + i % 28), 100 + 2 * i + 1)


def inspector_id(prefix: str, k: int) -> str:
    return make_id_number("320506" if prefix == "mk" else "320507", datetime.date(1980, 1 + k % 12, 1 + k), 2 * k + 1)


def household(key: str) -> str:
    return f"3205{zlib.crc32(key.encode()):010d}"


VALID = {"valid_from": "2024-01-01", "valid_to": "2030-12-31"}


def grant_household_reads(root, department) -> None:
    """The grants of the app ``supervision`` for the household 回避 check (catalog synced first)."""
    exchange.catalog_sync(actor=root)
    for registry, fields in (("population", ["household_id"]), ("legal_entity", ["legal_representative_id_number"])):
        exchange.grant_for_app(
            actor=root,
            app="supervision",
            department=department,
            registry=registry,
            fields=fields,
            purpose="双随机抽查检查人员回避核查",
            legal_basis="《行政处罚法》第四十三条",
            valid_until=datetime.date.today() + datetime.timedelta(days=365),
            unmasked_fields=fields,
        )
    gateway.invalidate()


@dataclass
class SupWorld:
    base: World
    market: Department
    health: Department
    head: User
    health_head: User
    inspectors: list[Inspector]
    health_inspectors: list[Inspector]
    item: SupervisionItem
    health_item: SupervisionItem
    usccs: list[str]
    agent: User


def build(n_entities: int = 40, n_inspectors: int = 6, grants: bool = True) -> SupWorld:
    base = build_world()
    tree = base.tree
    market = base.market
    health = department_create(
        actor=tree.root,
        name="苏州市卫生健康委员会",
        code="SZ-WJW",
        level=Department.Level.CITY,
        kind=Department.Kind.AGENCY,
        region_code="320500",
        parent=tree.city,
    )
    head = make_staff("sup_head", real_name="市场局长")
    tree.grant(head, Role.DEPARTMENT_HEAD, market)
    health_head = make_staff("sup_health_head", real_name="卫健主任")
    tree.grant(health_head, Role.DEPARTMENT_HEAD, health)
    usccs = [uscc(i) for i in range(n_entities)]
    registry_services.records_upsert(
        actor="test",
        registry="legal_entity",
        rows=[
            {
                "uscc": u,
                "name": f"苏州测试{i}有限公司",
                "kind": "enterprise",
                "legal_representative": "王五",
                "legal_representative_id_number": rep_id(i),
                "industry_code": "C1311" if i % 2 else "H6210",
                "address": "苏州市虎丘区1号",
                "region_code": "320505",
                "established_on": "2015-01-01",
                "status": "active",
            }
            for i, u in enumerate(usccs)
        ],
    )

    registry_services.records_upsert(
        actor="test",
        registry="population",
        rows=[person_row(rep_id(i), household_id=household(f"rep{i}")) for i in range(n_entities)]
        + [
            person_row(inspector_id(prefix, k), household_id=household(f"{prefix}{k}"))
            for prefix, n in (("mk", n_inspectors), ("hw", max(2, n_inspectors // 2)))
            for k in range(n)
        ],
    )
    if grants:
        grant_household_reads(tree.root, market)

    def inspectors(dept, prefix, head_user, n):
        kind = "market" if prefix == "mk" else "health"
        found = []
        for k in range(n):
            user = make_staff(f"{prefix}{k}", real_name=f"{prefix}检查员{k}")
            tree.grant(user, Role.REVIEWER, dept)
            found.append(
                services.inspector_register(
                    actor=head_user,
                    user=user,
                    department=dept,
                    certificate_number=f"{prefix.upper()}{k:05d}",
                    id_number=inspector_id(prefix, k),
                    qualifications=[{"kind": kind, "certificate_number": f"Q{prefix.upper()}{k:05d}", **VALID}],
                )
            )
        return found

    item = services.item_create(
        actor=head,
        department=market,
        code="SCJG-001",
        name="企业公示信息情况检查",
        legal_basis="《企业信息公示暂行条例》第十四条",
        entity_kinds=["enterprise"],
        checklist=["年度报告公示信息", "即时公示信息"],
        qualification_kind="market",
    )
    health_item = services.item_create(
        actor=health_head,
        department=health,
        code="WJW-001",
        name="公共场所卫生监督检查",
        legal_basis="《公共场所卫生管理条例》第十条",
        entity_kinds=["enterprise"],
        checklist=["卫生许可证", "从业人员健康合格证明"],
        qualification_kind="health",
    )
    agent = User.objects.create(
        username="ent_agent", kind=User.Kind.ENTERPRISE_AGENT, enterprise_uscc=usccs[0], is_active=True
    )
    return SupWorld(
        base,
        market,
        health,
        head,
        health_head,
        inspectors(market, "mk", head, n_inspectors),
        inspectors(health, "hw", health_head, max(2, n_inspectors // 2)),
        item,
        health_item,
        usccs,
        agent,
    )


TODAY = datetime.date(2026, 12, 1)
