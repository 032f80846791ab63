"""一件事一次办: one form and one set of materials split into parallel department cases.

Through the services, the API and the pages: routing and scoping per department, one stored
file per shared material, all-or-nothing on a bad field or file, idempotency, the aggregate
status and the merged timeline.
"""

import base64
from pathlib import Path

import pytest
from django.conf import settings

from yiwang.cases import selectors, services
from yiwang.cases.models import BundleStatus, Case, CaseBundle, CaseMaterial, CaseState, CaseStep, StepKind
from yiwang.cases.tests.bundles import APPLICATION, FORM, HOUSEHOLD, PDF, PNG, build_bundle_world
from yiwang.cases.tests.factories import attach_required
from yiwang.catalog import selectors as catalog_selectors
from yiwang.catalog.services import item_publish, item_save_draft
from yiwang.catalog.tests.factories import item_data
from yiwang.core import events
from yiwang.core.errors import Forbidden, NotFound, ValidationFailed
from yiwang.core.models import AuditEvent
from yiwang.identity.services import api_token_create

RECEIVED: list[tuple[str, dict]] = []


@events.subscribe("case_bundle.submitted")
@events.subscribe("case.submitted")
def _record(event: events.DomainEvent) -> None:
    RECEIVED.append((event.name, event.payload))


@pytest.fixture
def bw(db):
    return build_bundle_world()


def submit(bw, form=None, materials=None, key="k1", actor=None):
    return services.case_bundle_submit(
        actor=actor or bw.world.applicant,
        life_event=bw.life_event,
        form_data=FORM if form is None else form,
        materials={APPLICATION: ("申请书.pdf", PDF), HOUSEHOLD: ("hkb.png", PNG)} if materials is None else materials,
        idempotency_key=key,
    )


def media_files() -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def counts() -> tuple:
    return (
        CaseBundle.objects.count(),
        Case.objects.count(),
        CaseMaterial.objects.count(),
        CaseStep.objects.count(),
        len(media_files()),
    )


def by_item(bundle) -> dict[str, Case]:
    return {c.item_version.item.implementation_code: c for c in bundle.cases.all()}


def test_one_application_makes_one_case_per_department(bw, django_capture_on_commit_callbacks):
    world = bw.world
    RECEIVED.clear()
    with django_capture_on_commit_callbacks(execute=True):
        bundle, created = submit(bw)
    assert created and bundle.number.startswith("YJS320500") and len(bundle.number) == 23
    assert bundle.applicant == world.applicant and bundle.applicant_name == "张三"
    assert bundle.life_event_version == bw.life_event.current_version and bundle.form_data == FORM
    cases = by_item(bundle)
    assert set(cases) == {"SZ-SJJ-0001", "SZ-GAJ-0001", "SZ-HQ-SJJ-0001"}
    market, police, food = cases["SZ-SJJ-0001"], cases["SZ-GAJ-0001"], cases["SZ-HQ-SJJ-0001"]
    assert market.department == world.tree.city_market and police.department == world.police
    assert food.department == world.tree.huqiu_market and food.number.startswith("320505")
    assert (market.time_limit_days, police.time_limit_days, food.time_limit_days) == (10, 5, 3)
    # Each case gets the part of the form its item asks for.
    assert market.form_data == {"business_name": "张三小吃店"}
    assert police.form_data == {"business_name": "张三小吃店", "move_reason": "经营需要"}
    assert food.form_data == {"district": "虎丘区"}
    assert all(c.state == CaseState.SUBMITTED and c.bundle_id == bundle.pk for c in cases.values())

    assert RECEIVED[-1] == (
        "case_bundle.submitted",
        {"bundle_id": bundle.pk, "case_ids": sorted(c.pk for c in cases.values())},
    )
    assert sorted(p["case_id"] for name, p in RECEIVED if name == "case.submitted") == sorted(
        c.pk for c in cases.values()
    )
    audit = AuditEvent.objects.get(action="case_bundle.submit")
    assert audit.object_id == str(bundle.pk) and sorted(audit.changes["cases"]) == sorted(
        c.number for c in cases.values()
    )
    assert AuditEvent.objects.filter(action="case.submit").count() == 3

    # In parallel: each department works its own case; another department's is a 404.
    for case in cases.values():
        attach_required(case.pk)  # acceptance needs the required materials
        services.case_accept(actor=world.clerk, case_id=case.pk)
    assert [c.pk for c in selectors.case_queue(actor=world.reviewer)] == [market.pk]
    assert [c.pk for c in selectors.case_queue(actor=world.police_reviewer)] == [police.pk]
    assert [c.pk for c in selectors.case_queue(actor=bw.huqiu_reviewer)] == [food.pk]
    with pytest.raises(NotFound):
        selectors.case_get(actor=world.reviewer, case_id=police.pk)
    with pytest.raises(NotFound):
        selectors.bundle_get(actor=world.reviewer, bundle_id=bundle.pk)
    # The police sees that its case belongs to the bundle, and the others' item names and states only.
    note = selectors.case_bundle_note(case=selectors.case_get(actor=world.police_reviewer, case_id=police.pk))
    assert note.number == bundle.number and note.name == "开小吃店一件事"
    assert sorted(note.siblings) == sorted(
        [("个体工商户设立登记", "已受理", False), ("户口迁移", "已受理", True), ("食品经营许可", "已受理", False)]
    )


def test_a_shared_material_is_stored_once_and_attached_to_every_case_that_needs_it(bw):
    bundle, _ = submit(bw)
    cases = by_item(bundle)
    market = list(cases["SZ-SJJ-0001"].materials.all())
    police = list(cases["SZ-GAJ-0001"].materials.all())
    assert [m.name for m in market] == [APPLICATION]
    assert sorted(m.name for m in police) == sorted([APPLICATION, HOUSEHOLD])
    assert not cases["SZ-HQ-SJJ-0001"].materials.exists()
    shared = next(m for m in police if m.name == APPLICATION)
    assert shared.sm3 == market[0].sm3 and shared.file.name == market[0].file.name
    assert market[0].requirement.version_id == cases["SZ-SJJ-0001"].item_version_id
    assert shared.requirement.version_id == cases["SZ-GAJ-0001"].item_version_id
    assert market[0].file.read() == PDF and market[0].content_type == "application/pdf"
    assert len(media_files()) == 2  # the application form once, the household register once
    # Each case's timeline records the material it received.
    assert cases["SZ-GAJ-0001"].steps.filter(kind=StepKind.MATERIAL_ADDED).count() == 2
    # Staff of one department download it through their own case only.
    assert selectors.case_material_get(actor=bw.world.reviewer, case_id=market[0].case_id, material_id=market[0].pk)
    with pytest.raises(NotFound):
        selectors.case_material_get(actor=bw.world.reviewer, case_id=shared.case_id, material_id=shared.pk)


@pytest.mark.parametrize(
    ("form", "field", "words"),
    [
        ({"business_name": "张三小吃店", "district": "虎丘区"}, "form_data.move_reason", "迁移原因"),
        ({**FORM, "district": "姑苏区"}, "form_data.district", "所在区县"),
        ({**FORM, "move_reason": "很长" * 11}, "form_data.move_reason", "迁移原因"),
        ({**FORM, "shop_area": 20}, "form_data.shop_area", "未定义"),
    ],
)
def test_a_bad_field_is_named_and_nothing_is_created(bw, form, field, words):
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        submit(bw, form=form)
    assert field in exc.value.fields and words in " ".join(exc.value.fields[field])
    assert counts() == before


@pytest.mark.parametrize(
    ("materials", "field"),
    [
        ({APPLICATION: ("a.pdf", PDF), HOUSEHOLD: ("hkb.exe", b"MZ\x90\x00 not a document")}, f"materials.{HOUSEHOLD}"),
        ({APPLICATION: ("a.pdf", b"")}, f"materials.{APPLICATION}"),
        ({APPLICATION: ("a.pdf", PDF), "营业执照副本": ("b.pdf", PDF)}, "materials.营业执照副本"),
    ],
)
def test_a_bad_file_is_named_and_nothing_is_created(bw, materials, field):
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        submit(bw, materials=materials)
    name = field.removeprefix("materials.")
    assert field in exc.value.fields and name in str(exc.value.message)
    assert counts() == before


def test_a_member_item_the_applicant_cannot_apply_for_leaves_nothing_behind(bw):
    """Fails inside the transaction, after the bundle and the first case were written."""
    root = bw.world.tree.root
    data = item_data(
        implementation_code="SZ-HQ-SJJ-0001",
        department="SZ-HQ-SJJ",
        name="食品经营许可",
        aliases=[],
        keywords=[],
        output={},
        promised_time_limit=3,
        targets=["legal_person"],
        materials=[{"name": "食品安全管理制度", "requirement": "required"}],
        form_schema={"type": "object", "properties": {"district": {"type": "string"}}},
    )
    item = item_save_draft(actor=root, data=data).version.item
    item_publish(actor=root, item=item)
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        submit(bw)
    assert "食品经营许可" in str(exc.value.message)
    assert counts() == before


def test_files_written_before_a_late_failure_are_removed(bw, monkeypatch):
    """A failure after the files were stored (here: the audit write) rolls back and deletes them."""

    def broken_audit(entries):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(services.submission, "audit_record_many", broken_audit)
    before = counts()
    with pytest.raises(RuntimeError):
        submit(bw)
    assert counts() == before


def test_idempotent_on_the_key(bw):
    first, created = submit(bw, key="same")
    before = counts()
    again, created_again = submit(bw, key="same", materials={})
    assert created and not created_again and again.pk == first.pk
    assert counts() == before
    other, created_other = submit(bw, key="other", materials={})
    assert created_other and other.pk != first.pk and other.cases.count() == 3


def _carry(case, actor_review, actor_decide, clerk, decision="approve"):
    services.case_claim(actor=actor_review, case_id=case.pk)
    services.case_record_opinion(actor=actor_review, case_id=case.pk, opinion="符合条件")
    services.case_decide(actor=actor_decide, case_id=case.pk, decision=decision, reasons="不符合条件")
    services.case_deliver(actor=clerk, case_id=case.pk, method="electronic")


def status_of(world, bundle):
    return selectors.bundle_status(bundle=selectors.bundle_get(actor=world.applicant, bundle_id=bundle.pk))


def test_aggregate_status_and_merged_timeline(bw):
    world = bw.world
    bundle, _ = submit(bw)
    cases = by_item(bundle)
    market, police, food = cases["SZ-SJJ-0001"], cases["SZ-GAJ-0001"], cases["SZ-HQ-SJJ-0001"]
    assert status_of(world, bundle).status == BundleStatus.IN_PROGRESS
    for case in cases.values():
        attach_required(case.pk)  # acceptance needs the required materials
        services.case_accept(actor=world.clerk, case_id=case.pk)
    _carry(market, world.reviewer, world.head, world.clerk)
    services.case_claim(actor=world.police_reviewer, case_id=police.pk)
    progress = status_of(world, bundle)
    assert (progress.status, progress.label, progress.delivered, progress.total) == (
        BundleStatus.PARTLY_DECIDED,
        "部分办结",
        1,
        3,
    )

    services.case_record_opinion(actor=world.police_reviewer, case_id=police.pk, opinion="同意")
    services.case_decide(actor=world.police_reviewer, case_id=police.pk, decision="approve")
    services.case_deliver(actor=world.clerk, case_id=police.pk, method="window")
    services.case_claim(actor=bw.huqiu_reviewer, case_id=food.pk)
    services.case_record_opinion(actor=bw.huqiu_reviewer, case_id=food.pk, opinion="同意")
    services.case_decide(actor=bw.huqiu_reviewer, case_id=food.pk, decision="approve")
    assert status_of(world, bundle).status == BundleStatus.PARTLY_DECIDED
    services.case_deliver(actor=world.clerk, case_id=food.pk, method="window")
    assert status_of(world, bundle).status == BundleStatus.ALL_DELIVERED

    steps = list(selectors.bundle_timeline(bundle=bundle))
    assert all(s.public for s in steps) and StepKind.OPINION not in {s.kind for s in steps}
    assert {s.case_id for s in steps} == {market.pk, police.pk, food.pk}
    assert [(s.created_at, s.pk) for s in steps] == sorted((s.created_at, s.pk) for s in steps)
    assert sum(1 for s in steps if s.kind == StepKind.DELIVERED) == 3


def test_a_rejected_or_refused_case_marks_the_bundle(bw):
    world = bw.world
    bundle, _ = submit(bw)
    cases = by_item(bundle)
    services.case_refuse(actor=world.clerk, case_id=cases["SZ-HQ-SJJ-0001"].pk, reason="不属于受理范围")
    assert status_of(world, bundle).status == BundleStatus.SOME_REFUSED
    second, _ = submit(bw, key="k2", materials={})
    market = by_item(second)["SZ-SJJ-0001"]
    attach_required(market.pk)  # acceptance needs the required materials
    services.case_accept(actor=world.clerk, case_id=market.pk)
    _carry(market, world.reviewer, world.head, world.clerk, decision="reject")
    progress = status_of(world, second)
    assert progress.status == BundleStatus.SOME_REFUSED and progress.label == "部分事项未获准"
    for case in by_item(second).values():
        if case.state != CaseState.DELIVERED:
            services.case_withdraw(actor=world.applicant, case_id=case.pk)
    assert status_of(world, second).status == BundleStatus.SOME_REFUSED


# --- API ---------------------------------------------------------------------------------------

API = "/api/v1/cases/bundles"


def auth(user) -> dict:
    _token, raw = api_token_create(actor=user, user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


def test_api_submit_follow_and_scope(client, bw):
    world = bw.world
    body = {
        "life_event": "LE-KXCD",
        "form_data": FORM,
        "materials": [{"name": APPLICATION, "filename": "a.pdf", "content_base64": b64(PDF)}],
    }
    headers = {**auth(world.applicant), "HTTP_IDEMPOTENCY_KEY": "api-1"}
    response = client.post(f"{API}/", body, content_type="application/json", **headers)
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["status"] == "in_progress" and data["life_event_code"] == "LE-KXCD" and len(data["cases"]) == 3
    assert {c["department_name"] for c in data["cases"]} == {
        "苏州市市场监督管理局",
        "苏州市公安局",
        "虎丘区市场监督管理局",
    }
    assert [s["kind"] for s in data["timeline"]].count("submitted") == 3
    again = client.post(f"{API}/", body, content_type="application/json", **headers)
    assert again.status_code == 200 and again.json()["id"] == data["id"]
    assert CaseBundle.objects.count() == 1

    own = client.get(f"{API}/{data['id']}", **auth(world.applicant))
    assert own.status_code == 200 and own.json()["form_data"] == FORM
    listed = client.get(f"{API}/", **auth(world.applicant)).json()
    assert listed["count"] == 1 and listed["items"][0]["number"] == data["number"]
    assert client.get(f"{API}/", **auth(world.other_citizen)).json()["count"] == 0
    for stranger in (world.other_citizen, world.police_reviewer):
        missing = client.get(f"{API}/{data['id']}", **auth(stranger))
        assert missing.status_code == 404 and missing.json()["code"] == "bundle_not_found"

    police_case = next(c for c in data["cases"] if c["item_code"] == "SZ-GAJ-0001")
    market_case = next(c for c in data["cases"] if c["item_code"] == "SZ-SJJ-0001")
    attach_required(police_case["id"])  # acceptance needs the required materials
    services.case_accept(actor=world.clerk, case_id=police_case["id"])
    seen = client.get(f"/api/v1/cases/{police_case['id']}", **auth(world.police_reviewer))
    assert seen.status_code == 200
    note = seen.json()["bundle"]
    assert note["number"] == data["number"] and len(note["cases"]) == 3
    assert set(note["cases"][0]) == {"item_name", "state_label", "this_case"}
    assert client.get(f"/api/v1/cases/{market_case['id']}", **auth(world.police_reviewer)).status_code == 404


def test_api_bad_input_creates_nothing(client, bw):
    world = bw.world
    bad_file = {
        "life_event": "LE-KXCD",
        "form_data": FORM,
        "materials": [{"name": HOUSEHOLD, "content_base64": b64(b"GIF89a not allowed")}],
    }
    response = client.post(f"{API}/", bad_file, content_type="application/json", **auth(world.applicant))
    assert response.status_code == 422 and f"materials.{HOUSEHOLD}" in response.json()["fields"]
    bad_field = {"life_event": "LE-KXCD", "form_data": {"business_name": "x"}}
    response = client.post(f"{API}/", bad_field, content_type="application/json", **auth(world.applicant))
    assert response.status_code == 422 and "form_data.move_reason" in response.json()["fields"]
    unknown = client.post(
        f"{API}/",
        {"life_event": "LE-NONE", "form_data": FORM},
        content_type="application/json",
        **auth(world.applicant),
    )
    assert unknown.status_code == 404
    twice = {
        "life_event": "LE-KXCD",
        "form_data": FORM,
        "materials": [
            {"name": HOUSEHOLD, "content_base64": b64(PDF)},
            {"name": HOUSEHOLD, "content_base64": b64(PDF + b" ")},
        ],
    }
    response = client.post(f"{API}/", twice, content_type="application/json", **auth(world.applicant))
    assert response.status_code == 422 and response.json()["code"] == "material_duplicate"
    not_base64 = {
        "life_event": "LE-KXCD",
        "form_data": FORM,
        "materials": [{"name": HOUSEHOLD, "content_base64": "%%"}],
    }
    response = client.post(f"{API}/", not_base64, content_type="application/json", **auth(world.applicant))
    assert response.status_code == 422 and response.json()["code"] == "material_encoding"
    assert CaseBundle.objects.count() == 0 and Case.objects.count() == 0 and not media_files()


# --- pages -------------------------------------------------------------------------------------


def test_portal_apply_follow_and_workbench_note(client, bw):
    from django.core.files.uploadedfile import SimpleUploadedFile

    world = bw.world
    guide_page = client.get("/services/life-events/LE-KXCD/")
    assert guide_page.status_code == 200 and "/cases/bundles/apply/LE-KXCD/" in guide_page.content.decode()
    client.force_login(world.applicant)
    page = client.get("/cases/bundles/apply/LE-KXCD/")
    html = page.content.decode()
    assert page.status_code == 200 and html.count('name="f_business_name"') == 1
    assert 'name="f_move_reason"' in html and 'name="f_district"' in html and html.count(APPLICATION) == 1
    guide = catalog_selectors.life_event_guide(version=bw.life_event.current_version)
    materials = [m["name"] for m in guide["materials"]]
    index = materials.index(APPLICATION)

    post = {
        "idempotency_key": "page-1",
        "f_business_name": "张三小吃店",
        "f_move_reason": "经营需要",
        "f_district": "虎丘区",
    }
    bad = client.post(
        "/cases/bundles/apply/LE-KXCD/",
        {**post, f"material_{index}": SimpleUploadedFile("a.pdf", b"not a pdf")},
    )
    assert bad.status_code == 422 and APPLICATION in bad.content.decode() and CaseBundle.objects.count() == 0
    missing = client.post("/cases/bundles/apply/LE-KXCD/", {**post, "f_move_reason": ""})
    assert missing.status_code == 422 and "请填写「迁移原因」" in missing.content.decode()

    done = client.post("/cases/bundles/apply/LE-KXCD/", {**post, f"material_{index}": SimpleUploadedFile("a.pdf", PDF)})
    bundle = CaseBundle.objects.get()
    assert done.status_code == 302 and done["Location"] == f"/cases/bundles/{bundle.pk}/"
    assert CaseMaterial.objects.filter(name=APPLICATION).count() == 2 and len(media_files()) == 1

    detail = client.get(f"/cases/bundles/{bundle.pk}/").content.decode()
    assert bundle.number in detail and "办理中" in detail and "户口迁移" in detail and "苏州市公安局" in detail
    mine = client.get("/cases/").content.decode()
    assert bundle.number in mine and "开小吃店一件事" in mine and "食品经营许可" in mine

    client.force_login(world.other_citizen)
    assert client.get(f"/cases/bundles/{bundle.pk}/").status_code == 404

    police = by_item(bundle)["SZ-GAJ-0001"]
    market = by_item(bundle)["SZ-SJJ-0001"]
    attach_required(police.pk)  # acceptance needs the required materials
    services.case_accept(actor=world.clerk, case_id=police.pk)
    client.force_login(world.police_reviewer)
    page = client.get(f"/workbench/cases/{police.pk}/").content.decode()
    assert bundle.number in page and "个体工商户设立登记" in page and f"/cases/bundles/{bundle.pk}/" not in page
    assert client.get(f"/workbench/cases/{market.pk}/").status_code == 404


def test_window_clerk_submits_a_bundle_for_a_walk_in_applicant(bw):
    world = bw.world
    bundle, created = services.case_bundle_submit(
        actor=world.clerk,
        applicant=world.other_citizen,
        channel="window",
        life_event=bw.life_event,
        form_data=FORM,
        idempotency_key="window-1",
    )
    assert created and bundle.applicant == world.other_citizen and bundle.received_by == world.clerk
    assert {(c.channel, c.received_by_id) for c in bundle.cases.all()} == {("window", world.clerk.pk)}
    assert selectors.bundle_get(actor=world.clerk, bundle_id=bundle.pk) == bundle
    assert selectors.bundle_get(actor=world.other_citizen, bundle_id=bundle.pk) == bundle
    with pytest.raises(NotFound):
        selectors.bundle_get(actor=world.applicant, bundle_id=bundle.pk)
    with pytest.raises(Forbidden):
        services.case_bundle_submit(
            actor=world.reviewer,
            applicant=world.other_citizen,
            channel="window",
            life_event=bw.life_event,
            form_data=FORM,
        )


def _life_event_of(bw, size: int):
    """A published bundle of ``size`` items in three departments, each asking the shared
    application form and a material of its own."""
    from yiwang.cases.tests.factories import publish_item
    from yiwang.catalog.services import life_event_publish, life_event_save_draft
    from yiwang.catalog.tests.factories import life_event_data

    root = bw.world.tree.root
    departments = ["SZ-SJJ", "SZ-GAJ", "SZ-HQ-SJJ"]
    codes = []
    for index in range(size):
        code = f"{departments[index % 3]}-{size}{index:02d}"
        publish_item(
            root,
            implementation_code=code,
            department=departments[index % 3],
            name=f"测试事项{size}-{index}",
            aliases=[],
            keywords=[],
            output={},
            materials=[
                {"name": APPLICATION, "requirement": "required"},
                {"name": f"专项材料{index}", "requirement": "required"},
            ],
            form_schema={"type": "object", "properties": {"business_name": {"type": "string", "title": "名称"}}},
        )
        codes.append(code)
    result = life_event_save_draft(
        actor=root,
        data=life_event_data(code=f"LE-Q{size}", name=f"测试一件事{size}", targets=["natural_person"], items=codes),
    )
    life_event = result.version.life_event
    life_event_publish(actor=root, life_event=life_event)
    life_event.refresh_from_db()
    return life_event


@pytest.mark.parametrize("channel", ["online", "window"])
def test_a_bundle_costs_the_same_statements_for_2_or_6_items(bw, channel, django_assert_max_num_queries):
    """One transaction whose statements do not grow with the items: numbers, cases, files,
    steps and audit events are each written at once."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    small, large = _life_event_of(bw, 2), _life_event_of(bw, 6)
    window = {"channel": "window", "applicant": bw.world.applicant} if channel == "window" else {}
    actor = bw.world.clerk if window else bw.world.applicant

    def apply(life_event, key):
        files = {APPLICATION: ("a.pdf", PDF + key.encode())}
        files.update({f"专项材料{i}": (f"{i}.png", PNG + key.encode() + bytes([i])) for i in range(6)})
        guide = catalog_selectors.life_event_guide(version=life_event.current_version)
        files = {name: upload for name, upload in files.items() if name in {m["name"] for m in guide["materials"]}}
        return services.case_bundle_submit(
            actor=actor, life_event=life_event, form_data={"business_name": "张三小吃店"}, materials=files,
            idempotency_key=key, **window,
        )  # fmt: skip

    with CaptureQueriesContext(connection) as two:
        bundle, created = apply(small, "two")
    assert created and bundle.cases.count() == 2
    with django_assert_max_num_queries(len(two.captured_queries)):
        bundle, created = apply(large, "six")
    assert created and bundle.cases.count() == 6
    assert CaseMaterial.objects.filter(case__bundle=bundle).count() == 12
    assert len(two.captured_queries) <= 20, [q["sql"][:80] for q in two.captured_queries]
