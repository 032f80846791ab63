"""`python -m bench.cases_worker '<json args>'`: set up the cases benchmark in the scratch database.

Makes a department, a published item (受理 → 审查 by a reviewer), an applicant, a window clerk
and a reviewer with bearer tokens — all through the services — then seeds ``existing`` cases
with bulk inserts (spread over states, days and two departments, applicant data encrypted as
the model does), so the lifecycle runs against a realistically full table. Prints one JSON line.
"""

import json
import sys
import time

import django

django.setup()


def setup(args: dict) -> dict:
    import datetime
    import secrets

    from django.db import connection
    from django.utils import timezone

    from yiwang.cases.models import Case, CaseState, Channel, SlaStatus
    from yiwang.catalog.services import item_publish, item_save_draft
    from yiwang.core.codes import make_id_number
    from yiwang.core.crypto import blind_index, encrypt_text
    from yiwang.identity import services as identity
    from yiwang.identity.models import Role

    def person(username: str, kind: str, **extra):
        return identity.user_create(
            actor="bench:setup",
            username=username,
            password=f"Qz7!{secrets.token_urlsafe(16)}",
            kind=kind,
            is_staff=kind == "staff",
            **extra,
        )

    root = person("bench_root", "staff", real_name="压测管理员")
    root.is_superuser = True
    root.save(update_fields=["is_superuser"])
    city = identity.department_create(
        actor=root, name="压测市人民政府", code="B", level=2, kind="government", region_code="610300"
    )
    market = identity.department_create(
        actor=root,
        name="压测市市场监督管理局",
        code="B-SCJG",
        level=2,
        kind="agency",
        region_code="610300",
        parent=city,
    )
    other = identity.department_create(
        actor=root, name="压测市公安局", code="B-GAJ", level=2, kind="agency", region_code="610300", parent=city
    )
    data = {
        "implementation_code": "B-SCJG-0001",
        "basic_code": "000121001000",
        "name": "个体工商户设立登记",
        "kind": "licensing",
        "department": "B-SCJG",
        "statutory_time_limit": 15,
        "promised_time_limit": 5,
        "handling_form": "both",
        "targets": ["natural_person"],
        "materials": [{"name": "个体工商户登记申请书"}],
        "process": [{"name": "受理", "role": "window_clerk"}, {"name": "审查", "role": "reviewer"}],
        "form_schema": {
            "type": "object",
            "required": ["business_name"],
            "properties": {"business_name": {"type": "string", "title": "个体工商户名称", "maxLength": 60}},
        },
    }
    item = item_save_draft(actor=root, data=data).version.item
    version = item_publish(actor=root, item=item)
    requirement_id = version.materials.first().pk
    applicant = person(
        "bench_applicant",
        "citizen",
        real_name="压测申请人",
        id_number=make_id_number("610302", datetime.date(1990, 1, 1), 7),
    )
    clerk = person("bench_clerk", "staff", real_name="压测窗口")
    reviewer = person("bench_reviewer", "staff", real_name="压测审核")
    identity.role_grant_create(actor=root, user=clerk, role=Role.WINDOW_CLERK, department=city)
    identity.role_grant_create(actor=root, user=reviewer, role=Role.REVIEWER, department=market)
    tokens = {
        name: identity.api_token_create(actor=user, user=user, name="bench cases")[1]
        for name, user in (("applicant", applicant), ("clerk", clerk), ("reviewer", reviewer))
    }

    # Existing cases, bulk-inserted: other applicants' cases in both departments, every state.
    existing = int(args.get("existing", 0))
    began = time.perf_counter()
    holder = person(
        "bench_holder",
        "citizen",
        real_name="存量申请人",
        id_number=make_id_number("610302", datetime.date(1980, 1, 1), 9),
    )
    id_cipher, id_index = encrypt_text(holder.id_number), blind_index(holder.id_number)
    states = [CaseState.DELIVERED] * 6 + [
        CaseState.UNDER_REVIEW,
        CaseState.ACCEPTED,
        CaseState.SUBMITTED,
        CaseState.REJECTED,
    ]
    departments = [market.pk, other.pk]
    start = timezone.now() - datetime.timedelta(days=400)
    chunk = 5000
    qn = connection.ops.quote_name
    fields = [f for f in Case._meta.concrete_fields if not f.primary_key]
    for first in range(0, existing, chunk):
        rows = []
        for i in range(first, min(first + chunk, existing)):
            submitted = start + datetime.timedelta(seconds=i * 30)
            state = states[i % len(states)]
            accepted = submitted if state != CaseState.SUBMITTED else None
            rows.append(
                Case(
                    number=f"999999{submitted:%Y%m%d}{i:06d}"[:32],
                    item_version_id=version.pk,
                    department_id=departments[i % 2],
                    state=state,
                    channel=Channel.ONLINE,
                    applicant_id=holder.pk,
                    applicant_kind="natural_person",
                    applicant_name="存量申请人",
                    applicant_id_number="",  # set below as ciphertext, not re-encrypted per row
                    applicant_id_index=id_index,
                    idempotency_key=f"seed-{i}",
                    form_data={"business_name": f"存量{i}"},
                    submitted_at=submitted,
                    accepted_at=accepted,
                    time_limit_days=5,
                    due_date=(submitted + datetime.timedelta(days=7)).date() if accepted else None,
                    sla_status=SlaStatus.DONE
                    if state in (CaseState.DELIVERED, CaseState.REJECTED)
                    else SlaStatus.NORMAL,
                    version=1,
                )
            )
        with connection.cursor() as cursor:
            columns = ", ".join(qn(f.column) for f in fields)
            marks = ", ".join(["%s"] * len(fields))
            params = []
            for row in rows:
                values = []
                for f in fields:
                    if f.name == "applicant_id_number":
                        values.append(id_cipher)
                    elif f.name in ("applicant_phone",):
                        values.append("")
                    else:
                        values.append(f.get_db_prep_save(f.pre_save(row, True), connection))
                params.append(values)
            cursor.executemany(f"INSERT INTO {qn(Case._meta.db_table)} ({columns}) VALUES ({marks})", params)  # noqa: S608
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {qn(Case._meta.db_table)}")
    seeded_seconds = time.perf_counter() - began
    return {
        "tokens": tokens,
        "item": "B-SCJG-0001",
        "requirement_id": requirement_id,
        "existing": Case.objects.count(),
        "seed_seconds": round(seeded_seconds, 2),
    }


if __name__ == "__main__":
    print(json.dumps(setup(json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}"))), flush=True)
