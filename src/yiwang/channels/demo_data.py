"""Demo data of the service channels (loaded by ``yiwang demo`` after the cases).

Two regions in one installation: 东原县行政审批服务局 (610323) publishes its own
个体工商户设立登记 (``SFS-DYX-SPJ-0001``, the city item's guide and form); the 西岭县 window
(``xlx_spj_clerk``, 610324) takes in citizen08's application for it on that same form, checks
identity and materials and forwards it; 东原县's reviewer (``dyx_spj_reviewer``) signs for it and
approves it, and the result goes back to the 西岭县 window for pick-up. A second one (citizen10)
waits for 东原县 to sign for it. citizen04 (case under review at the 市场监管局) has chosen
delivery by post; the clerk dispatches it once decided, with the courier simulator running
(``yiwang courier_simulator``, docs/channels.md). Idempotent: a rerun changes nothing.
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


def load(actor=None):
    from yiwang.cases import selectors as case_selectors
    from yiwang.cases import services as case_services
    from yiwang.channels import selectors, services
    from yiwang.identity.models import Department, User

    created = Summary()
    names = ("sysadmin", "xlx_spj_clerk", "dyx_spj_reviewer", "citizen04", "citizen08", "citizen10")
    users = {u.username: u for u in User.objects.filter(username__in=names)}
    admin = User.objects.filter(is_superuser=True).order_by("pk").first()
    hall = Department.objects.filter(code="SFS-XLX-SPJ").first()
    if admin is None or hall is None or any(n not in users for n in names[1:]):
        return created
    item = _county_item(admin)
    if item is None:
        return created
    clerk, reviewer = users["xlx_spj_clerk"], users["dyx_spj_reviewer"]

    def taken_in(username: str, shop: str, address: str):
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
        services.forward_create(
            actor=clerk, case_id=case.pk, identity_checked=True, materials_checked=True, note="全市通办演示"
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
    return created
