"""`python -m bench.licenses_worker '<json args>'`: the Django side of the `licenses` benchmark.

Runs against the scratch database named by DATABASE_URL and prints one JSON line last:
seconds and latencies for SM2 sign/verify alone, issuance (validation, serial, SM2 sign,
audit), the PDF render, the PAdES signature, and verification (SM2 verify of the recomputed
canonical data plus status and dates).
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
    from yiwang.core.codes import make_id_number, make_uscc
    from yiwang.identity.models import Department
    from yiwang.identity.services import department_create, user_create
    from yiwang.licenses import keys, render
    from yiwang.licenses.models import HolderKind
    from yiwang.licenses.selectors import license_verify
    from yiwang.licenses.services import license_issue, license_type_create, platform_ca, seal_ensure

    root = user_create(actor=None, username="bench_lic_root", password="Bench-Mima-2024x", kind="staff")
    root.is_superuser = True
    root.save(update_fields=["is_superuser"])
    department = department_create(
        actor=root,
        name="示范市市场监督管理局",
        code="BENCH-SJJ",
        level=Department.Level.CITY,
        kind=Department.Kind.AGENCY,
        region_code="320500",
        uscc=make_uscc("11320500MB0999999"),
    )
    license_type = license_type_create(
        actor=root,
        code="bench_business_license",
        standard_code="BENCHYYZZ",
        name="营业执照",
        department=department,
        holder_kind=HolderKind.PERSON,
        field_schema={
            "type": "object",
            "properties": {
                "business_name": {"type": "string", "title": "名称"},
                "business_scope": {"type": "string", "title": "经营范围"},
                "address": {"type": "string", "title": "经营场所"},
            },
            "required": ["business_name"],
        },
    )
    seal_ensure(department=department)
    holder = make_id_number("320505", __import__("datetime").date(1990, 1, 1), 12)
    issued = []

    def issue(i: int) -> None:
        issued.append(
            license_issue(
                actor=root,
                license_type=license_type,
                holder_kind=HolderKind.PERSON,
                holder_name="张小三",
                holder_id=holder,
                data={"business_name": f"小三面馆{i}", "business_scope": "餐饮服务", "address": "枫桥路1号"},
                issuer_department=department,
            )
        )

    sk, pk = keys.sm2_generate()
    message = b'{"identifier":"1.2.156.3005.2.X","data":{"business_name":"\xe5\xb0\x8f\xe4\xb8\x89"}}'
    signature = keys.sm2_sign(sk, message)
    n, pdfs = args["licenses"], args["pdfs"]
    out = {
        "sm2_sign": timed(lambda _i: keys.sm2_sign(sk, message), n),
        "sm2_verify": timed(lambda _i: keys.sm2_verify(pk, message, signature), n),
        "issue": timed(issue, n),
    }
    out["verify"] = timed(lambda i: license_verify(identifier=issued[i % len(issued)].identifier), n)

    from yiwang.licenses import services

    lic = issued[0]
    key = lic.seal_key
    root_pem = platform_ca().certificate_pem
    key_pem = keys.decrypt_key(key.pdf_private_key_encrypted)
    render.pdf_font()  # registered once per process, like a warm web worker
    state = {}

    def render_only(_i: int) -> None:
        state["pdf"] = render.license_pdf(
            title="营业执照",
            rows=[("名称", "小三面馆"), ("经营范围", "餐饮服务"), ("经营场所", "枫桥路1号")],
            identifier=lic.identifier,
            issuer_name=department.name,
            issue_date="2026年11月22日",
            seal_image=bytes(key.seal.image_png),
            verify_url=services.verify_url(lic),
        )

    out["pdf_render"] = timed(render_only, pdfs)
    out["pades_sign"] = timed(
        lambda _i: render.pades_sign(
            state["pdf"],
            certificate_pem=key.pdf_certificate_pem,
            private_key_pem=key_pem,
            root_pem=root_pem,
            reason="x",
        ),
        pdfs,
    )
    out["license_pdf"] = timed(lambda i: services.license_pdf(license=issued[i % len(issued)]), pdfs)
    out["pdf_bytes"] = len(services.license_pdf(license=lic))
    out["peak_rss_mb"] = peak_rss_mb()
    # what the QR code of each license points at, for the HTTP rows measured by bench/licenses.py
    out["verify_paths"] = [
        f"/verify/{lic.identifier}?s={keys.short_token(lic.signature)}" for lic in issued[: min(len(issued), 50)]
    ]
    return out


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {"licenses": 50, "pdfs": 10})))
