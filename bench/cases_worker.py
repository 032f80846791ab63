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

    from yiwang.cases.models import Case, CaseState, Channel
    from yiwang.catalog.services import item_publish, item_save_draft
    from yiwang.core.codes import make_id_number
    from yiwang.core.crypto import blind_index
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
    template = Case(
        number="",
        item_version_id=version.pk,
        department_id=market.pk,
        state=CaseState.DELIVERED,
        channel=Channel.ONLINE,
        applicant_id=holder.pk,
        applicant_kind="natural_person",
        applicant_name="存量申请人",
        applicant_id_number=holder.id_number,
        applicant_id_index=blind_index(holder.id_number),
        intake_region="610300",
        idempotency_key="",
        form_data={},
        submitted_at=timezone.now(),
        time_limit_days=5,
        version=1,
    )
    _seed_cases(template, existing, departments=[market.pk, other.pk])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(Case._meta.db_table)}")
    seeded_seconds = time.perf_counter() - began
    return {
        "tokens": tokens,
        "item": "B-SCJG-0001",
        "requirement_id": requirement_id,
        "existing": Case.objects.count(),
        "seed_seconds": round(seeded_seconds, 2),
    }


def _seed_cases(template, existing: int, *, departments: list[int]) -> None:
    """``existing`` cases like ``template`` (its columns prepared once, as the model would
    store them: the applicant's ID number encrypted, JSON encoded), varying what a full
    table varies: number, department, state, dates, SLA status, form data. PostgreSQL gets
    them through COPY, SQLite through ``executemany``: a million rows in well under a minute."""
    import datetime

    from django.db import connection, transaction
    from django.utils import timezone

    from yiwang.cases.models import Case, CaseState, SlaStatus

    qn = connection.ops.quote_name
    fields = [f for f in Case._meta.concrete_fields if not f.primary_key]
    constant = {}
    for f in fields:
        value = f.get_db_prep_save(f.pre_save(template, True), connection)
        constant[f.attname] = value.dumps(value.obj) if hasattr(value, "dumps") else value  # psycopg Jsonb
    states = [CaseState.DELIVERED] * 6 + [
        CaseState.UNDER_REVIEW,
        CaseState.ACCEPTED,
        CaseState.SUBMITTED,
        CaseState.REJECTED,
    ]
    start = timezone.now() - datetime.timedelta(days=400)
    step = datetime.timedelta(seconds=max(1, 400 * 86400 // max(existing, 1)))

    def row(i: int) -> dict:
        submitted = start + step * i
        state = states[i % len(states)]
        accepted = None if state == CaseState.SUBMITTED else submitted
        return {
            **constant,
            "number": f"999999{submitted:%Y%m%d}{i:07d}",
            "department_id": departments[i % len(departments)],
            "state": state,
            "idempotency_key": f"seed-{i}",
            "form_data": f'{{"business_name": "存量{i}"}}',
            "submitted_at": submitted,
            "accepted_at": accepted,
            "due_date": (submitted + datetime.timedelta(days=7)).date() if accepted else None,
            "sla_status": SlaStatus.DONE if state in (CaseState.DELIVERED, CaseState.REJECTED) else SlaStatus.NORMAL,
            "updated_at": submitted,
        }

    names = [f.attname for f in fields]
    columns = ", ".join(qn(f.column) for f in fields)
    chunk = 50_000
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                raw = cursor.cursor  # psycopg's own cursor, for COPY
                with raw.copy(f"COPY {qn(Case._meta.db_table)} ({columns}) FROM STDIN") as copy:
                    for i in range(existing):
                        values = row(i)
                        copy.write_row([values[name] for name in names])
        else:
            marks = ", ".join(["%s"] * len(fields))
            sql = f"INSERT INTO {qn(Case._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608
            with connection.cursor() as cursor:
                for first in range(0, existing, chunk):
                    params = []
                    for i in range(first, min(first + chunk, existing)):
                        values = row(i)
                        params.append(
                            [
                                connection.ops.adapt_datetimefield_value(v)
                                if isinstance(v, datetime.datetime)
                                else v.isoformat()
                                if isinstance(v, datetime.date)
                                else v
                                for v in (values[name] for name in names)
                            ]
                        )
                    cursor.executemany(sql, params)


if __name__ == "__main__":
    print(json.dumps(setup(json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}"))), flush=True)
