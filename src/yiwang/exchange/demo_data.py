"""The exchange in the demo city 示范市 (loaded by ``yiwang demo`` after the registries).

* the resource catalog from the registries' fields; 户号 (``population.household_id``) 有条件共享
  (granted by the 公安局 only for a stated legal purpose, here supervision's 回避 check);
* a consuming system of the 人社局, 社保经办系统, with a published demo credential (printed by
  ``yiwang demo``), granted 姓名/性别/出生日期/联系电话 of the population registry by the 公安局;
* app grants: ``cases`` (审批局) reads legal entities from the 市场监管局, ``supervision``
  (市场监管局) reads credit records from the 大数据局, and for the draw's household 回避 check
  the 户号 (公安局) and legal representatives' 身份证号 (市场监管局), in clear;
* one pending request (民政局 asks the 公安局 for 户籍地址), to answer on the workbench;
* one read of citizen01's record by the 社保经办系统, so 数据使用记录 is not empty.

Idempotent: what exists is left alone. Writes through the exchange's services only.
"""

import datetime

from django.utils import timezone

from yiwang.exchange import gateway, services
from yiwang.exchange.models import ConsumerSystem, DataResource, Grant, ShareRequest, ShareType
from yiwang.identity.models import Department, User

DEMO_CLIENT_ID = "ywx_demo_rsj_sbjb"
DEMO_CLIENT_SECRET = "Demo-Exchange-2026-rsj"  # noqa: S105 - published on purpose: demo only
DEMO_PURPOSE = "社会保险参保登记核验"


class Summary(dict):
    def summary(self) -> str:
        parts = [f"{label} {n}" for label, n in self.items()]
        return (
            ";".join(parts)
            + f"。演示接入系统(社保经办系统):client_id={DEMO_CLIENT_ID} client_secret={DEMO_CLIENT_SECRET}"
            + "(网关用法见 docs/exchange.md)"
        )


def _user(username: str) -> User | None:
    return User.objects.filter(username=username, is_active=True).first()


def _dept(code: str) -> Department | None:
    return Department.objects.filter(code=code, is_active=True).first()


def load(actor=None) -> Summary:
    summary = Summary()
    counts = services.catalog_sync(actor=actor or "system:demo")
    summary["资源目录新增数据项"] = counts["created"]
    household = DataResource.objects.filter(registry="population", field="household_id").first()
    if household is not None and household.share_type == ShareType.NOT_SHARED:
        # Demo databases of before 2026-12-03 had it 不予共享; the draw's 回避 check needs it.
        root = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
        if root is not None:
            services.data_resource_update(
                actor=root,
                resource=household,
                share_type=ShareType.CONDITIONAL,
                open_type=household.open_type,
                mask_kind=household.mask_kind,
            )
    rsj, gaj_head = _dept("SFS-RSJ"), _user("gaj_head")
    if rsj is None or gaj_head is None:  # city-less database
        return summary
    until = timezone.localdate() + datetime.timedelta(days=365)
    made = 0
    system = ConsumerSystem.objects.filter(client_id=DEMO_CLIENT_ID).first()
    if system is None:
        system, _secret = services.consumer_system_create(
            actor=actor or "system:demo",
            department=rsj,
            name="社保经办系统",
            client_id=DEMO_CLIENT_ID,
            secret=DEMO_CLIENT_SECRET,
        )
        rsj_head = _user("rsj_head")
        for request in services.share_request_create(
            actor=rsj_head or system,
            consumer_department=rsj,
            registry="population",
            fields=["name", "sex", "birth_date", "phone"],
            purpose=DEMO_PURPOSE,
            legal_basis="《中华人民共和国社会保险法》第五十八条",
            valid_until=until,
            system=system,
        ):
            if request.status == ShareRequest.Status.PENDING:
                services.share_request_approve(actor=gaj_head, request=request, reason="符合社会保险法规定")
            made += 1
    for app, dept_code, source_head, registry, fields, purpose, basis, unmasked in (
        (
            "cases",
            "SFS-SPJ",
            "scjg_head",
            "legal_entity",
            ["name", "kind", "legal_representative", "address", "status"],
            "办件表单预填与免提交核验",
            "《优化营商环境条例》第三十五条",
            [],
        ),
        (
            "supervision",
            "SFS-SCJG",
            "sjj_head",
            "credit",
            ["subject_kind", "subject_name", "kind", "content", "authority", "valid_to"],
            "信用分级分类监管",
            "《社会信用体系建设规划纲要》",
            [],
        ),
        (
            "supervision",
            "SFS-SCJG",
            "gaj_head",
            "population",
            ["household_id"],
            "双随机抽查检查人员回避核查:是否与被检查主体的法定代表人同户",
            "《中华人民共和国行政处罚法》第四十三条;《市场监管领域全面推行部门联合“双随机、一公开”监管的意见》",
            ["household_id"],
        ),
        (
            "supervision",
            "SFS-SCJG",
            "scjg_head",
            "legal_entity",
            ["legal_representative_id_number"],
            "双随机抽查检查人员回避核查:被检查主体的法定代表人",
            "《中华人民共和国行政处罚法》第四十三条",
            ["legal_representative_id_number"],
        ),
        (
            # 实名核验 (L2): the account's name compared with the record of its 身份证号; the
            # name is read in clear to compare and never shown (identity.services.user_real_name_verify).
            "identity",
            "SFS-SJJ",
            "gaj_head",
            "population",
            ["name"],
            "实名核验:账户姓名与居民身份证号比对,提升实名等级至 L2",
            "《网络安全法》第二十四条;《政务服务平台身份认证规范》",
            ["name"],
        ),
        (
            # 授权代办: an enterprise account gives a delegation only if its USCC is on the 法人库,
            # active, and the holder is the registered 法定代表人 (identity.services.delegation_create).
            "identity",
            "SFS-SCJG",
            "scjg_head",
            "legal_entity",
            ["status", "legal_representative", "legal_representative_id_number"],
            "授权代办:核验企业登记状态及授权人是否为登记的法定代表人",
            "《优化营商环境条例》第三十七条;《政务服务平台身份认证规范》",
            ["legal_representative", "legal_representative_id_number"],
        ),
    ):
        department, head = _dept(dept_code), _user(source_head)
        if department is None or head is None:
            continue
        if Grant.objects.filter(consumer_app=app, registry=registry, revoked_at__isnull=True).exists():
            continue
        services.grant_for_app(
            actor=head,
            app=app,
            department=department,
            registry=registry,
            fields=fields,
            purpose=purpose,
            legal_basis=basis,
            valid_until=until,
            unmasked_fields=unmasked,
        )
        made += 1
    mzj, mzj_head = _dept("SFS-MZJ"), _user("mzj_head")
    if mzj is not None and mzj_head is not None and not ShareRequest.objects.filter(consumer_department=mzj).exists():
        services.share_request_create(
            actor=mzj_head,
            consumer_department=mzj,
            registry="population",
            fields=["address"],
            purpose="最低生活保障家庭经济状况核对",
            legal_basis="《社会救助暂行办法》第十一条",
            valid_until=until,
        )
        made += 1
    summary["共享申请与授权"] = made
    citizen = _user("citizen01")
    if made and citizen is not None and citizen.id_number:
        gateway.invalidate()
        consumer = gateway.SystemConsumer(gateway.current().systems[DEMO_CLIENT_ID])
        gateway.read_one(
            consumer=consumer, purpose=DEMO_PURPOSE, registry="population", key=citizen.id_number, fields=["name"]
        )
    return summary
