"""`python -m bench.payments_worker '<json args>'`: the Django side of the `payments` benchmark.

Prepares N open bills with a pending payment each (one accepted case through the real cases
services; the further bills of the same case are rows, set-up only) and N callbacks signed by a
simulator key (``paysim.Bank``: the channel's own signing is not the platform's cost). Then times
``POST /payments/callback/paysim`` through Django's test client, in-process: SM2 signature check,
nonce record, payment and bill state change, sealed receipt (SM2 by the department's seal),
audit — and a duplicate of each (the idempotent no-op). Prints one JSON line last.
"""

import json
import sys
import time

import django

django.setup()

from bench.core import latency_figures, peak_rss_mb  # noqa: E402


def timed(fn, count: int) -> dict:
    latencies = []
    began = time.perf_counter()
    for i in range(count):
        t = time.perf_counter()
        fn(i)
        latencies.append(time.perf_counter() - t)
    return {"ops": count, "seconds": time.perf_counter() - began, **latency_figures(latencies)}


def main(args: dict) -> dict:
    import datetime

    from django.conf import settings
    from django.test import Client

    from yiwang.cases.tests.factories import build_world
    from yiwang.core import gm
    from yiwang.core.codes import make_uscc
    from yiwang.identity.services import department_update
    from yiwang.payments import paysim, services
    from yiwang.payments.models import Bill, Payment
    from yiwang.payments.tests.conftest import FEE, accepted_case, add_fee

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    world = build_world()
    add_fee(world)
    department_update(actor=world.tree.root, department=world.tree.city_market, uscc=make_uscc("11320500MB0123456"))
    first = services.bill_raise(
        actor=world.reviewer,
        case_id=accepted_case(world).pk,
        fee_name=FEE["name"],
        revenue_code="103050101",
        amount=2000,
    )
    n = args["callbacks"]
    bills = [first] + [
        Bill.objects.create(
            number=f"JKBENCH{i:08d}",
            payment_code=services.payment_code_make(),
            case_id=first.case_id,
            department_id=first.department_id,
            payer_id=first.payer_id,
            payer_name=first.payer_name,
            fee_name=f"{FEE['name']}{i}",
            revenue_code="103050101",
            amount_fen=2000,
            due_date=first.due_date + datetime.timedelta(days=1),
            raised_by=world.reviewer,
        )
        for i in range(1, n)
    ]
    private, public = gm.sm2_keypair()
    settings.YIWANG_PAYMENTS = {
        "channel": "paysim",
        "paysim_url": "http://127.0.0.1:9",
        "paysim_public_key": public,
        "paysim_key_file": "",
    }
    bank = paysim.Bank(private, "http://127.0.0.1:9")
    notices = []
    for i, bill in enumerate(bills):
        payment = Payment.objects.create(number=f"PBENCH{i:08d}", bill=bill, channel="paysim", amount_fen=2000)
        order = {
            "merchant_order": payment.number,
            "order_id": f"SIM{i}",
            "txn_id": f"T{i:010d}",
            "amount_fen": 2000,
            "paid_at": "2026-01-01T00:00:00+00:00",
        }
        notices.append((bank.notice(order), bank.notice(order)))
    client = Client(HTTP_HOST="127.0.0.1")

    def post(signed):
        body, signature = signed
        response = client.post(
            "/payments/callback/paysim", data=body, content_type="application/json", HTTP_X_PAYSIM_SIGNATURE=signature
        )
        assert response.status_code == 200, response.content

    # Warm up before timing: the first request imports the URLconf (every app's API schemas), which
    # a served worker does once at boot; left in, it was most of a 100-callback run (0.012 × floor).
    warm = client.post("/payments/callback/paysim", data=b"{}", content_type="application/json")
    assert warm.status_code == 422, warm.content
    out = {
        "sm2_verify": timed(lambda i: gm.sm2_verify(public, notices[i][0][0], notices[i][0][1]), n),
        "callback": timed(lambda i: post(notices[i][0]), n),
        "duplicate": timed(lambda i: post(notices[i][1]), n),
    }
    assert Payment.objects.filter(state="paid").count() == n
    out["peak_rss_mb"] = peak_rss_mb()
    return out


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {"callbacks": 50})))
