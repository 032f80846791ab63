"""Demo cases of 示范市 (loaded by ``yiwang demo`` after the city and the catalog).

Through the services, as people would: an online applicant's case and a walk-in applicant's
case carried to delivery, one waiting at the window, one under review; two walk-ins
taken in at county halls in different regions (东原县 610323, 西岭县 610324) for the same
city item, each waiting in its own hall's front-office queue only (the region rule of
``cases.selectors``: ``dyx_spj_clerk`` sees the first, ``xlx_spj_clerk`` the second, the city
hall's ``scjg_clerk`` neither); and one life-event application (二手房转移登记一件事,
citizen07) split into three departments' cases, one of them accepted. Idempotent: each case
has an idempotency key, so a rerun finds it and changes nothing.
"""

from yiwang.catalog import selectors as catalog_selectors
from yiwang.core.errors import NotFound, YiwangError
from yiwang.identity.models import User

ITEM = "SFS-SCJG-0001"  # 个体工商户设立登记
LIFE_EVENT = "LE-ESFZY"  # 二手房转移登记一件事: 不动产登记中心, 税务, 水电气
# A one-page PDF standing in for the scan of each required material (acceptance needs them).
SCAN = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


class Summary(list):
    def summary(self) -> str:
        return f"办件 {len(self)} 件(新建),已有的不变"


def _form(user: User, shop: str, address: str) -> dict:
    return {
        "business_name": shop,
        "operator_name": user.real_name,
        "operator_id_number": user.id_number,
        "business_address": address,
        "business_scope": "小吃服务;预包装食品销售",
        "composition": "个人经营",
    }


def load(actor=None):
    from yiwang.cases import selectors, services
    from yiwang.cases.models import Channel

    created = Summary()
    try:
        item = catalog_selectors.item_get_published(implementation_code=ITEM)
    except NotFound:
        item = None
    users = {
        u.username: u
        for u in User.objects.filter(username__regex=r"^(citizen0[1-6]|scjg_.*|dyx_spj_clerk|xlx_spj_clerk)$")
    }
    needed = ("citizen01", "citizen02", "citizen03", "citizen04", "scjg_clerk", "scjg_reviewer1", "scjg_head")
    if item is None or any(name not in users for name in needed):
        return created
    clerk, reviewer = users["scjg_clerk"], users["scjg_reviewer1"]

    def submit(username: str, shop: str, address: str, *, window: bool = False, at=None):
        applicant = users[username]
        case, new = services.case_submit(
            actor=(at or clerk) if window else applicant,
            applicant=applicant if window else None,
            channel=Channel.WINDOW if window else Channel.ONLINE,
            item=item,
            form_data=_form(applicant, shop, address),
            idempotency_key=f"demo-{username}",
        )
        if new:
            created.append(case)
        return case if new else None

    def hand_in_materials(case, actor) -> None:
        # The required uploads (the 申请书 is written from the form: none here) and, the demo shops
        # being rented, the lease (经营场所使用证明, asked for rented premises).
        version = catalog_selectors.version_with_materials(version_id=case.item_version_id)
        rented = [m for m in version.materials.all() if m.name == "经营场所使用证明"]
        for requirement in [*selectors.case_missing_materials(case=case), *rented]:
            services.case_material_add(
                actor=actor, case_id=case.pk, requirement_id=requirement.pk, filename="scan.pdf", content=SCAN
            )

    def to_delivery(case, method: str, *, window: bool = False) -> None:
        hand_in_materials(case, clerk if window else case.applicant)
        services.case_accept(actor=clerk, case_id=case.pk)
        services.case_claim(actor=reviewer, case_id=case.pk)
        services.case_record_opinion(actor=reviewer, case_id=case.pk, opinion="材料齐全,符合法定形式,准予登记")
        services.case_decide(actor=reviewer, case_id=case.pk, decision="approve")
        services.case_deliver(actor=clerk, case_id=case.pk, method=method)

    online = submit("citizen01", "示范小吃店", "示范市民心路12号")
    if online is not None:
        to_delivery(online, "electronic")
    walk_in = submit("citizen02", "老街面馆", "示范市老街3号", window=True)
    if walk_in is not None:
        to_delivery(walk_in, "window", window=True)
    submit("citizen03", "街角便利店", "示范市新华路8号")  # waits at the window for acceptance
    in_review = submit("citizen04", "家常菜馆", "示范市和平路21号")
    if in_review is not None:
        hand_in_materials(in_review, in_review.applicant)
        services.case_accept(actor=clerk, case_id=in_review.pk)
        services.case_claim(actor=reviewer, case_id=in_review.pk)
    # Walk-ins at two county halls: each waits at the window of the hall that took it in.
    for username, hall_clerk, shop, address in (
        ("citizen05", "dyx_spj_clerk", "东原粮油店", "东原县青石镇正街5号"),
        ("citizen06", "xlx_spj_clerk", "西岭茶社", "西岭县城关镇河滨路9号"),
    ):
        if username in users and hall_clerk in users:
            submit(username, shop, address, window=True, at=users[hall_clerk])
    created.extend(_bundle())
    _smart_grants()
    return created


# What the cases app reads through the exchange for 减填 (pre-filling the applicant's own 户籍地址,
# in clear: it is his) and 秒批 (region, birth date), and for 免提交 (the electronic-license
# registry). Granted by the platform administrator, as the source departments would.
SMART_GRANTS = (
    ("population", ["name", "sex", "birth_date", "region_code", "address"], ["address"]),
    ("license", ["license_type", "status", "valid_until", "holder_name", "data"], []),
)


def _smart_grants() -> None:
    import datetime

    from django.utils import timezone

    from yiwang.exchange import gateway
    from yiwang.exchange import services as exchange
    from yiwang.exchange.models import Grant
    from yiwang.identity.models import Department

    admin = User.objects.filter(is_superuser=True).order_by("pk").first()
    consumer = Department.objects.filter(code="SFS-SPJ").first()
    if admin is None or consumer is None:
        return
    made = False
    for registry, fields, unmasked in SMART_GRANTS:
        if Grant.objects.filter(consumer_app="cases", registry=registry, revoked_at__isnull=True).exists():
            continue
        try:
            exchange.grant_for_app(
                actor=admin,
                app="cases",
                department=consumer,
                registry=registry,
                fields=fields,
                purpose="办件表单预填、免提交核验与秒批",
                legal_basis="《优化营商环境条例》第三十五条;《国务院关于加快推进政务服务标准化规范化便利化的指导意见》",
                valid_until=timezone.localdate() + datetime.timedelta(days=365),
                unmasked_fields=unmasked,
            )
        except YiwangError:  # the exchange's resource catalog not loaded (a city-only demo)
            return
        made = True
    if made:
        gateway.invalidate()


def _bundle() -> list:
    """citizen07 buys a flat: one application, three departments' cases; the window accepts one."""
    from yiwang.cases import services

    buyer = User.objects.filter(username="citizen07").first()
    clerk = User.objects.filter(username="scjg_clerk").first()
    try:
        life_event = catalog_selectors.life_event_get_published(code=LIFE_EVENT)
    except NotFound:
        return []
    if buyer is None or clerk is None:
        return []
    form = {
        "property_certificate_number": "示房权证明湖字第0012345号",
        "property_address": "示范市明湖区文昌路8号3幢1单元502室",
        "seller_name": "王建国",
        "buyer_name": buyer.real_name,
        "transfer_reason": "买卖",
        "price": 168,
        "area_m2": 89.5,
        "buyer_family_home_count": 0,
        "seller_held_over_5_years": True,
        "new_owner_name": buyer.real_name,
        "utilities": ["供水", "供电", "燃气"],
    }
    bundle, new = services.case_bundle_submit(
        actor=buyer, life_event=life_event, form_data=form, idempotency_key="demo-bundle-citizen07"
    )
    if not new:
        return []
    cases = list(bundle.cases.order_by("pk"))
    from yiwang.cases import selectors

    for requirement in selectors.case_missing_materials(case=cases[0]):  # acceptance needs them
        services.case_material_add(
            actor=buyer, case_id=cases[0].pk, requirement_id=requirement.pk, filename="scan.pdf", content=SCAN
        )
    services.case_accept(actor=clerk, case_id=cases[0].pk)  # 一窗受理: any department's case
    return cases
