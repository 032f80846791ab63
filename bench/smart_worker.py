"""`python -m bench.smart_worker '<json args>'`: set up the 秒批 benchmark in the scratch database.

Through the services: a department with a seal, the 居民身份证 and 就业创业证 license types, an
applicant in the population registry who holds a valid e-ID card, the exchange grants of the
cases app (population, license registry), and two published items with the same form — one
plain (no 免提交, no table) and one 秒批 (its only material the e-ID card, 免提交; a decision table
on age, the registry and the license; output the 就业创业证). Counts the statements of one
submission of each in-process. Prints one JSON line.
"""

import json
import sys

import django

django.setup()

FORM = {
    "type": "object",
    "required": ["status"],
    "properties": {"status": {"type": "string", "title": "就业失业状态", "enum": ["失业", "就业", "创业"]}},
}
TABLE = {
    "rules": [
        {"when": [{"fact": "applicant.age", "op": "<", "value": 16}], "outcome": "refuse", "reason": "未满 16 周岁"},
        {
            "when": [
                {"fact": "license.resident_id_card.valid", "op": "==", "value": True},
                {"fact": "registry.population.region_code", "op": "exists"},
                {"fact": "form.status", "op": "in", "value": ["失业", "就业", "创业"]},
            ],
            "outcome": "approve",
            "reason": "自动核发",
        },
    ],
    "default": {"outcome": "refer"},
    "examples": [
        {
            "facts": {
                "applicant.age": 30,
                "license.resident_id_card.valid": True,
                "registry.population.region_code": "610302",
                "form.status": "失业",
            },
            "expect": "approve",
        }
    ],
}


def queued(args: dict) -> dict:
    """How many tasks wait in the database queue."""
    from django_tasks_db.models import DBTaskResult

    return {"queued": DBTaskResult.objects.filter(status="READY").count()}


def setup(args: dict) -> dict:
    import datetime
    import secrets

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from yiwang.catalog.services import item_publish, item_save_draft
    from yiwang.core.codes import make_id_number, make_uscc
    from yiwang.core.crypto import blind_index
    from yiwang.exchange import gateway
    from yiwang.exchange import services as exchange
    from yiwang.identity import services as identity
    from yiwang.licenses.models import HolderKind
    from yiwang.licenses.services import license_issue, license_type_create
    from yiwang.registries.models import Person, RegistryField

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
    rsj = identity.department_create(
        actor=root,
        name="压测市人力资源和社会保障局",
        code="B-RSJ",
        level=2,
        kind="agency",
        region_code="610300",
        parent=city,
        uscc=make_uscc("11610300MB0000001"),
    )
    id_number = make_id_number("610302", datetime.date(1990, 1, 1), 7)
    applicant = person("bench_applicant", "citizen", real_name="压测申请人", id_number=id_number)
    Person.objects.create(
        id_number=id_number,
        id_number_index=blind_index(id_number),
        name="压测申请人",
        sex="male",
        birth_date=datetime.date(1990, 1, 1),
        region_code="610302",
        address="压测市人民路1号",
    )
    RegistryField.objects.filter(registry="population").update(source_department=rsj)
    exchange.catalog_sync(actor=root)
    for registry, fields in (
        ("population", ["name", "birth_date", "region_code"]),
        ("license", ["license_type", "status", "valid_until", "holder_name", "data"]),
    ):
        exchange.grant_for_app(
            actor=root,
            app="cases",
            department=rsj,
            registry=registry,
            fields=fields,
            purpose="秒批压测",
            legal_basis="压测",
            valid_until=datetime.date.today() + datetime.timedelta(days=30),
        )
    gateway.invalidate()
    schema = {"type": "object", "properties": {"status": {"type": "string"}}}
    for code, standard, name in (
        ("resident_id_card", "JMSFZ", "居民身份证"),
        ("employment_certificate", "JYCYZ", "就业创业证"),
    ):
        license_type_create(
            actor=root,
            code=code,
            standard_code=standard,
            name=name,
            department=rsj,
            holder_kind=HolderKind.PERSON,
            field_schema=schema,
            validity_years=None,
        )
    from yiwang.licenses.models import LicenseType

    license_issue(
        actor=root,
        license_type=LicenseType.objects.get(code="resident_id_card"),
        holder_kind=HolderKind.PERSON,
        holder_name="压测申请人",
        holder_id=id_number,
        data={},
        issuer_department=rsj,
    )
    base = {
        "basic_code": "000121001000",
        "kind": "public_service",
        "department": "B-RSJ",
        "statutory_time_limit": 15,
        "promised_time_limit": 5,
        "handling_form": "both",
        "targets": ["natural_person"],
        "process": [{"name": "受理", "role": "window_clerk"}, {"name": "审查", "role": "reviewer"}],
        "form_schema": FORM,
    }
    items = {
        "plain": {**base, "implementation_code": "B-RSJ-0001", "name": "就业登记(人工)", "materials": []},
        "auto": {
            **base,
            "implementation_code": "B-RSJ-0002",
            "name": "就业创业证申领",
            "materials": [{"name": "居民身份证", "source": "license", "license_type_code": "resident_id_card"}],
            "output": {"license_type_code": "employment_certificate", "description": "就业创业证"},
            "decision_table": TABLE,
        },
    }
    for data in items.values():
        item_publish(actor=root, item=item_save_draft(actor=root, data=data).version.item)
    token = identity.api_token_create(actor=applicant, user=applicant, name="bench smart")[1]
    client = Client(HTTP_HOST="127.0.0.1")
    queries, states = {}, {}
    for name, data in items.items():
        body = {"item": data["implementation_code"], "form_data": {"status": "失业"}}
        with CaptureQueriesContext(connection) as captured:
            response = client.post(
                "/api/v1/cases/",
                json.dumps(body),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {token}",
            )
        queries[name] = len(captured.captured_queries)
        states[name] = response.json().get("state")
    return {
        "token": token,
        "items": {name: data["implementation_code"] for name, data in items.items()},
        "queries": queries,
        "states": states,
    }


if __name__ == "__main__":
    arguments = json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}")
    step = queued if arguments.get("step") == "queued" else setup
    print(json.dumps(step(arguments)), flush=True)
