"""Demo payments of 示范市 (loaded by ``yiwang demo`` after the cases): citizen01 applies at the
公安局 window for 居民身份证换领 twice; the 工本费 bill (20.00 元) of the first is paid through the
payment simulator — started in this process on a free port, paid at its cashier over HTTP and
confirmed by querying it, as the platform does when a callback is lost — and has its sealed
e-receipt; the second bill stays unpaid (the case's clock paused). Idempotent: the cases have
idempotency keys and a rerun finds the bills."""

import threading
import urllib.request

from yiwang.catalog import selectors as catalog_selectors
from yiwang.core.errors import NotFound
from yiwang.identity.models import User

ITEM = "SFS-GAJ-0001"  # 居民身份证换领 (fee: 居民身份证工本费, 每证 20 元)
REVENUE_CODE = "103040101"  # 证照工本费 (demo code)
SCAN = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


class Summary(list):
    def summary(self) -> str:
        return f"缴款通知书 {len(self)} 张(新建;1 张已缴费并开具电子票据)" if self else "缴款通知书已有,不变"


def _pay_through_simulator(bill, payer) -> None:
    from django.conf import settings

    from yiwang.payments import channels, paysim, services

    server, _bank = paysim.make_server(host="127.0.0.1", port=0, key_file=settings.VAR_DIR / "paysim-demo.key")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        channel = channels.SimulatorChannel(
            url=url, public_key=paysim.load_key(settings.VAR_DIR / "paysim-demo.key")[1]
        )
        payment = services.bill_pay_start(actor=payer, bill_id=bill.pk, channel=channel)
        request = urllib.request.Request(payment.cashier_url + "/pay", data=b"notify=0", method="POST")  # noqa: S310
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            opener.open(request, timeout=10).close()
        except urllib.error.HTTPError as exc:  # the 303 back to the platform
            if exc.code != 303:
                raise
        services.payment_query(actor=services.SYSTEM_ACTOR, payment_id=payment.pk, channel=channel)
    finally:
        server.shutdown()
        server.server_close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def load(actor=None):
    from yiwang.cases import selectors as case_selectors
    from yiwang.cases import services as case_services
    from yiwang.payments import services
    from yiwang.payments.models import Bill

    created = Summary()
    try:
        item = catalog_selectors.item_get_published(implementation_code=ITEM)
    except NotFound:
        return created
    users = {u.username: u for u in User.objects.filter(username__in=["citizen01", "gaj_clerk", "gaj_reviewer1"])}
    if len(users) < 3:
        return created
    citizen, clerk, reviewer = users["citizen01"], users["gaj_clerk"], users["gaj_reviewer1"]
    for key, pay in (("demo-pay-citizen01-paid", True), ("demo-pay-citizen01-open", False)):
        case, new = case_services.case_submit(
            actor=clerk,
            applicant=citizen,
            channel="window",  # cases.models.Channel.WINDOW
            item=item,
            form_data={
                "name": citizen.real_name,
                "id_number": citizen.id_number,
                "reason": "有效期满",
                "delivery": "窗口领取",
            },
            idempotency_key=key,
        )
        if not new:
            continue
        for requirement in case_selectors.case_missing_materials(case=case):
            case_services.case_material_add(
                actor=clerk, case_id=case.pk, requirement_id=requirement.pk, filename="scan.pdf", content=SCAN
            )
        case_services.case_accept(actor=clerk, case_id=case.pk)
        case = case_selectors.case_get(actor=reviewer, case_id=case.pk)
        fee = case.item_version.fees[0]["name"]
        bill = services.bill_raise(
            actor=reviewer, case_id=case.pk, fee_name=fee, revenue_code=REVENUE_CODE, amount=2000
        )
        created.append(bill)
        if pay:
            _pay_through_simulator(bill, citizen)
            assert Bill.objects.get(pk=bill.pk).state == "paid"
    return created
