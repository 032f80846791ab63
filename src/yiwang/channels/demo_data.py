"""Demo data of the service channels (loaded by ``yiwang demo`` after the cases).

Two regions in one installation: 东原县行政审批服务局 (610323) publishes its own
个体工商户设立登记 (``SFS-DYX-SPJ-0001``, the city item's guide and form); the 西岭县 window
(``xlx_spj_clerk``, 610324) takes in citizen08's application for it on that same form, checks
identity and materials and forwards it; 东原县's reviewer (``dyx_spj_reviewer``) signs for it and
approves it, and the result goes back to the 西岭县 window for pick-up. A second one (citizen10)
waits for 东原县 to sign for it. citizen11's application, taken in the same way, asks for the
result by post: 东原县 approves it, the 西岭县 clerk hands it to the courier and the courier
simulator — started in this process on a free port, as ``yiwang courier_simulator`` would run —
walks the waybill 揽收 → 运输中 → 派送中 → 已签收; each of its signed callbacks goes through the
platform's own callback service (signature checked by the courier adapter), so the case is
delivered by post with its tracking on the timeline. citizen04 (case under review at the
市场监管局) has chosen delivery by post; it waits (待交寄) until decided. Idempotent: a rerun
changes nothing.
"""

from yiwang.core.errors import NotFound

COUNTY_ITEM = "SFS-DYX-SPJ-0001"
CITY_ITEM = "SFS-SCJG-0001"
SCAN = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


class Summary(list):
    def summary(self) -> str:
        return f"异地代收 {sum(1 for k in self if k == 'forward')} 件、邮寄送达 {self.count('postal')} 件(新建)"


def _county_item(admin):
    """东原县's own item: the city item's guide and form, handled by the county's 审批局."""
    from yiwang.catalog import selectors as catalog
    from yiwang.catalog import services as catalog_services

    try:
        return catalog.item_get_published(implementation_code=COUNTY_ITEM)
    except NotFound:
        pass
    try:
        city = catalog.item_get_published(implementation_code=CITY_ITEM)
    except NotFound:
        return None
    data = catalog.item_version_to_data(city.current_version, item=city)
    data.update(
        implementation_code=COUNTY_ITEM,
        department="SFS-DYX-SPJ",
        name="个体工商户设立登记(东原县)",
        output=None,
        handling_place="东原县政务服务中心(全市通办:可在任一县区政务服务中心窗口异地代收)",
    )
    data.pop("decision_table", None)
    result = catalog_services.item_save_draft(actor=admin, data=data)
    catalog_services.item_publish(actor=admin, item=result.version.item)
    return catalog.item_get_published(implementation_code=COUNTY_ITEM)


def _deliver_through_simulator(*, clerk, delivery_id: int) -> None:
    """Dispatch through the courier simulator (a real HTTP server in this process, on a free
    port, with the installation's simulator secret) and walk the waybill to 已签收; every
    callback the simulator signs is handed to ``services.courier_callback`` — the webhook's own
    service, which verifies the signature — instead of an HTTP POST (no web server runs while
    the demo loads)."""
    import itertools
    import threading

    from django.test.utils import override_settings

    from yiwang.channels import couriers, services
    from yiwang.channels.simulator import ROUTE, Simulator, serve

    code = couriers.default_courier_code()
    config = dict(couriers.courier_configs()[code])

    class InProcess(Simulator):
        def post(self, event: dict) -> int:
            import json

            body = json.dumps(event, ensure_ascii=False).encode()
            services.courier_callback(courier_code=code, headers=couriers.signed_headers(self.secret, body), body=body)
            return 200

    sim = InProcess(callback_url="", secret=config["secret"], step=0)
    # Waybill numbers of their own (SIM<date>99xxxx): the courier simulator run later on this
    # installation numbers from 1, and a waybill number is unique per courier.
    sim.serial = itertools.count(990001)
    server = serve(host="127.0.0.1", port=0, sim=sim)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        config["url"] = f"http://127.0.0.1:{server.server_address[1]}"
        with override_settings(YIWANG_COURIERS={code: config}):
            delivery = services.postal_dispatch(actor=clerk, delivery_id=delivery_id)
        for status, _where, _text in ROUTE:
            sim.advance(delivery.waybill_no, status)
    finally:
        server.shutdown()
        server.server_close()


def load(actor=None):
    from yiwang.cases import selectors as case_selectors
    from yiwang.cases import services as case_services
    from yiwang.channels import selectors, services
    from yiwang.identity.models import Department, User

    created = Summary()
    names = ("sysadmin", "xlx_spj_clerk", "dyx_spj_reviewer", "citizen04", "citizen08", "citizen11", "citizen10")
    users = {u.username: u for u in User.objects.filter(username__in=names)}
    admin = User.objects.filter(is_superuser=True).order_by("pk").first()
    hall = Department.objects.filter(code="SFS-XLX-SPJ").first()
    if admin is None or hall is None or any(n not in users for n in names[1:]):
        return created
    item = _county_item(admin)
    if item is None:
        return created
    clerk, reviewer = users["xlx_spj_clerk"], users["dyx_spj_reviewer"]

    def taken_in(username: str, shop: str, address: str, return_method: str = "window"):
        applicant = users[username]
        case, new = case_services.case_submit(
            actor=clerk,
            applicant=applicant,
            channel="window",  # cases.models.Channel.WINDOW
            item=item,
            intake_department=hall,
            idempotency_key=f"demo-channels-{username}",
            form_data={
                "business_name": shop,
                "operator_name": applicant.real_name,
                "operator_id_number": applicant.id_number,
                "business_address": address,
                "business_scope": "农副产品销售",
                "composition": "个人经营",
            },
        )
        if not new:
            return None
        for requirement in case_selectors.case_missing_materials(case=case):
            case_services.case_material_add(
                actor=clerk, case_id=case.pk, requirement_id=requirement.pk, filename="scan.pdf", content=SCAN
            )
        if return_method == "post":
            services.postal_request(
                actor=clerk,
                case_id=case.pk,
                recipient_phone=applicant.phone or "13800000011",
                address=address.replace("东原县", "示范市东原县") + "(收件)",
                region_code="610323",
                postal_code="721100",
            )
        services.forward_create(
            actor=clerk,
            case_id=case.pk,
            identity_checked=True,
            materials_checked=True,
            return_method=return_method,
            note="全市通办演示",
        )
        created.append("forward")
        return case

    case = taken_in("citizen08", "青石土特产店", "东原县青石镇正街18号")
    if case is not None:
        forward = selectors.forward_for_case(case_id=case.pk)
        services.forward_receive(actor=reviewer, forward_id=forward.pk)
        case_services.case_claim(actor=reviewer, case_id=case.pk)
        case_services.case_record_opinion(actor=reviewer, case_id=case.pk, opinion="材料齐全,符合法定形式,准予登记")
        case_services.case_decide(actor=reviewer, case_id=case.pk, decision="approve")
    taken_in("citizen10", "柳河农家乐", "东原县柳河乡河湾村6号")
    citizen04 = users["citizen04"]
    waiting = case_selectors.case_list_for_applicant(actor=citizen04).filter(state="under_review").first()
    if waiting is not None and selectors.postal_for_case(actor=citizen04, case_id=waiting.pk) is None:
        services.postal_request(
            actor=citizen04,
            case_id=waiting.pk,
            recipient_phone=citizen04.phone or "13800000004",
            address="示范市明湖区和平路21号2单元302室",
            region_code="610302",
            postal_code="721000",
        )
        created.append("postal")
    # After citizen04's: the trust harness's sample postal delivery is the first one.
    by_post = taken_in("citizen11", "石门茶叶铺", "东原县石门镇茶园路9号", return_method="post")
    if by_post is not None:
        forward = selectors.forward_for_case(case_id=by_post.pk)
        services.forward_receive(actor=reviewer, forward_id=forward.pk)
        case_services.case_claim(actor=reviewer, case_id=by_post.pk)
        case_services.case_record_opinion(actor=reviewer, case_id=by_post.pk, opinion="材料齐全,准予登记")
        case_services.case_decide(actor=reviewer, case_id=by_post.pk, decision="approve")
        delivery = selectors.postal_for_case(actor=clerk, case_id=by_post.pk)
        _deliver_through_simulator(clerk=clerk, delivery_id=delivery.pk)
        created.append("postal")

    return created
