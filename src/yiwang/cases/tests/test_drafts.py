"""Drafts (草稿): saved by the applicant without validation, a number or a clock, seen by nobody
else, submitted later through the same checks as a direct submission, moved to the new guide
version when the item changed meanwhile. Services, selectors, the sweep, the API and the pages."""

import datetime
import re

import pytest
from django.core.files.storage import default_storage
from django.test import Client

from yiwang.cases import selectors, services
from yiwang.cases.models import Case, CaseMaterial, CaseState, CaseStep, SlaStatus, StepKind
from yiwang.cases.tests.factories import FORM, ID_NUMBER, PDF, attach_required, publish_item
from yiwang.core import events
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.models import AuditEvent

API = "/api/v1/cases"
SUBMITTED: list[dict] = []


@events.subscribe("case.submitted")
def _record(event: events.DomainEvent) -> None:
    SUBMITTED.append(event.payload)


def new_draft(world, form_data=None, actor=None):
    return services.case_draft_save(
        actor=actor or world.applicant, item=world.market_item, form_data={} if form_data is None else form_data
    )


def upload_application(world, draft):
    requirement = draft.item_version.materials.get(name="个体工商户登记申请书")
    return services.case_material_add(
        actor=world.applicant, case_id=draft.pk, requirement_id=requirement.pk, filename="申请书.pdf", content=PDF
    )


def publish_new_guide(world, **overrides):
    """A second published version of 个体工商户设立登记 (the item of ``world.market_item``)."""
    publish_item(
        world.tree.root,
        promised_time_limit=8,
        statutory_time_limit=20,
        process=[
            {"name": "受理", "role": "window_clerk"},
            {"name": "审查", "role": "reviewer"},
            {"name": "决定", "role": "department_head"},
        ],
        **overrides,
    )
    world.market_item.refresh_from_db()
    return world.market_item.current_version


# --- services ------------------------------------------------------------------------------------


def test_a_draft_has_no_number_no_clock_and_no_validation(world):
    draft = new_draft(world, {"business_name": 5, "anything": ["typed", "half"]})
    assert draft.state == CaseState.DRAFT and draft.number is None and draft.submitted_at is None
    assert draft.sla_status == SlaStatus.NONE and draft.due_date is None and draft.accepted_at is None
    assert draft.item_version_id == world.market_item.current_version_id
    again = services.case_draft_save(
        actor=world.applicant, draft_id=draft.pk, form_data={"business_name": "张三"}, expected_version=draft.version
    )
    assert again.pk == draft.pk and again.form_data == {"business_name": "张三"} and again.version == draft.version + 1
    with pytest.raises(Conflict) as exc:  # edited elsewhere meanwhile
        services.case_draft_save(actor=world.applicant, draft_id=draft.pk, form_data={}, expected_version=draft.version)
    assert exc.value.code == "draft_changed"
    audit = AuditEvent.objects.filter(object_id=str(draft.pk), object_type="cases.case")
    actions = list(audit.values_list("action", flat=True))
    assert actions == ["case.draft_create", "case.draft_save"]
    assert not CaseStep.objects.filter(case=draft).exists()


def test_draft_shape_and_size_are_checked(world, monkeypatch):
    with pytest.raises(ValidationFailed) as exc:
        new_draft(world, ["not", "an", "object"])
    assert "form_data" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        new_draft(world, {"notes": "长" * 30000})  # 90,000 bytes of UTF-8
    assert exc.value.code == "draft_too_large" and "64 KB" in exc.value.fields["form_data"]
    monkeypatch.setattr(services.drafts, "MAX_DRAFTS_PER_APPLICANT", 2)
    new_draft(world)
    new_draft(world)
    with pytest.raises(ValidationFailed) as exc:
        new_draft(world)
    assert exc.value.code == "drafts_limit"
    with pytest.raises(Forbidden):
        services.case_draft_save(actor=None, item=world.market_item, form_data={})
    assert Case.objects.count() == 2


def test_only_its_applicant_sees_a_draft_nowhere_in_queues_counts_sweep_or_progress(world):
    draft = new_draft(world, FORM)
    upload_application(world, draft)
    assert [d.pk for d in selectors.case_draft_list(actor=world.applicant)] == [draft.pk]
    assert selectors.case_draft_get(actor=world.applicant, draft_id=draft.pk) == draft
    assert not selectors.case_list_for_applicant(actor=world.applicant).exists()  # my cases: submitted ones
    superuser = world.tree.root
    staff = (world.clerk, world.reviewer, world.head, world.auditor, world.police_reviewer, superuser)
    for someone in (*staff, world.other_citizen):
        assert not selectors.visible_cases(actor=someone).filter(pk=draft.pk).exists(), someone
        assert not selectors.case_draft_list(actor=someone).exists()
        with pytest.raises(NotFound):
            selectors.case_draft_get(actor=someone, draft_id=draft.pk)
        with pytest.raises(NotFound):
            selectors.case_get(actor=someone, case_id=draft.pk)
        assert not selectors.case_queue(actor=someone).exists()
        assert not selectors.case_intake_queue(actor=someone, stage="intake").exists()
        assert not selectors.case_intake_queue(actor=someone, stage="delivery").exists()
        assert not selectors.case_is_staff_view(actor=someone, case=draft)
        with pytest.raises(NotFound):  # no staff action reaches it, whatever the version
            services.case_accept(actor=someone, case_id=draft.pk, expected_version=draft.version - 1)
        with pytest.raises(NotFound):
            services.case_draft_submit(actor=someone, draft_id=draft.pk)
        with pytest.raises(NotFound):
            services.case_draft_delete(actor=someone, draft_id=draft.pk)
    with pytest.raises(NotFound):
        selectors.case_public_progress(number="", last4=ID_NUMBER[-4:])
    # The sweep, even years later, neither deems it accepted nor gives it an SLA status.
    assert services.case_sweep(today=datetime.date(2030, 1, 1)) == {"deemed_accepted": 0, "sla_changed": 0}
    draft.refresh_from_db()
    assert draft.state == CaseState.DRAFT and draft.sla_status == SlaStatus.NONE


def test_submitting_a_draft_validates_numbers_and_starts_the_normal_flow(world, django_capture_on_commit_callbacks):
    SUBMITTED.clear()
    draft = new_draft(world, {})
    material = upload_application(world, draft)
    with pytest.raises(ValidationFailed) as exc:
        services.case_draft_submit(actor=world.applicant, draft_id=draft.pk, idempotency_key="d-1")
    assert exc.value.fields == {"form_data.business_name": ["请填写「个体工商户名称」"]}
    draft.refresh_from_db()
    assert draft.state == CaseState.DRAFT and draft.number is None
    services.case_draft_save(actor=world.applicant, draft_id=draft.pk, form_data=FORM)
    with django_capture_on_commit_callbacks(execute=True):
        case, created = services.case_draft_submit(actor=world.applicant, draft_id=draft.pk, idempotency_key="d-1")
    assert created and case.pk == draft.pk and case.state == CaseState.SUBMITTED
    assert re.fullmatch(r"320500\d{8}000001", case.number) and case.submitted_at is not None
    assert case.applicant_name == "张三" and case.applicant_id_number == ID_NUMBER
    assert case.idempotency_key == "d-1" and [{"case_id": case.pk}] == SUBMITTED
    assert list(case.materials.all()) == [material]  # the draft's file comes along
    kinds = list(case.steps.values_list("kind", flat=True))
    assert kinds == [StepKind.MATERIAL_ADDED, StepKind.SUBMITTED, StepKind.EVIDENCE_VERIFIED]
    # Submitting again (a double click, a retry) returns the case; a key of another case is refused.
    again, created = services.case_draft_submit(actor=world.applicant, draft_id=draft.pk, idempotency_key="d-1")
    assert not created and again.pk == case.pk
    assert services.case_draft_submit(actor=world.applicant, draft_id=draft.pk)[1] is False
    other = new_draft(world, FORM)
    with pytest.raises(Conflict) as exc:
        services.case_draft_submit(actor=world.applicant, draft_id=other.pk, idempotency_key="d-1")
    assert exc.value.code == "idempotency_key_reused" and case.number in str(exc.value.message)
    # Now it is an ordinary case: the window sees it and, the 申请书 being there, accepts it.
    assert case.pk in [c.pk for c in selectors.case_intake_queue(actor=world.clerk)]
    assert services.case_accept(actor=world.clerk, case_id=case.pk).state == CaseState.ACCEPTED
    with pytest.raises(NotFound):  # and it is no draft any more
        services.case_draft_delete(actor=world.applicant, draft_id=case.pk)


def test_a_changed_guide_moves_the_draft_to_the_new_version_with_its_data(world):
    draft = new_draft(world, {"business_name": "张三小吃店", "old_field": "x"})
    material = upload_application(world, draft)
    old_version = draft.item_version
    new_version = publish_new_guide(
        world,
        materials=[
            {"name": "个体工商户登记申请书", "requirement": "required"},
            {"name": "经营场所使用证明", "requirement": "required"},
        ],
        form_schema={
            "type": "object",
            "required": ["business_name", "phone"],
            "additionalProperties": False,
            "properties": {
                "business_name": {"type": "string", "title": "个体工商户名称"},
                "phone": {"type": "string", "title": "联系电话"},
            },
        },
    )
    assert new_version.pk != old_version.pk
    assert selectors.case_draft_get(actor=world.applicant, draft_id=draft.pk).item_version_id == old_version.pk
    with pytest.raises(Conflict) as exc:
        services.case_draft_submit(actor=world.applicant, draft_id=draft.pk, idempotency_key="g-1")
    assert exc.value.code == "guide_changed"
    assert "办事指南已更新" in str(exc.value.message) and "第 1 版 → 第 2 版" in str(exc.value.message)
    assert exc.value.fields == {"form_data.phone": ["请填写「联系电话」"]}  # the new schema's verdict
    draft.refresh_from_db()  # the move is kept although the submission was refused
    assert draft.state == CaseState.DRAFT and draft.number is None
    assert draft.item_version_id == new_version.pk and draft.time_limit_days == 8
    assert draft.form_data == {"business_name": "张三小吃店"}  # a field the new form forbids is dropped
    material.refresh_from_db()
    assert material.requirement.version_id == new_version.pk and material.requirement.name == "个体工商户登记申请书"
    services.case_draft_save(
        actor=world.applicant, draft_id=draft.pk, form_data={"business_name": "张三小吃店", "phone": "13800001111"}
    )
    case, created = services.case_draft_submit(actor=world.applicant, draft_id=draft.pk, idempotency_key="g-1")
    assert created and case.item_version_id == new_version.pk and case.state == CaseState.SUBMITTED
    # The new guide's second required material is missing: acceptance names it.
    with pytest.raises(ValidationFailed) as exc:
        services.case_accept(actor=world.clerk, case_id=case.pk)
    assert "经营场所使用证明" in str(exc.value.message) and "个体工商户登记申请书" not in str(exc.value.message)


def test_deleting_a_draft_removes_it_and_its_files(world, django_capture_on_commit_callbacks):
    draft = new_draft(world, FORM)
    name = upload_application(world, draft).file.name
    assert default_storage.exists(name)
    with pytest.raises(NotFound):
        services.case_draft_delete(actor=world.other_citizen, draft_id=draft.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.case_draft_delete(actor=world.applicant, draft_id=draft.pk)
    assert not Case.objects.filter(pk=draft.pk).exists() and not CaseMaterial.objects.exists()
    assert not default_storage.exists(name)
    assert AuditEvent.objects.filter(action="case.draft_delete", object_id=str(draft.pk)).exists()
    with pytest.raises(NotFound):
        services.case_draft_delete(actor=world.applicant, draft_id=draft.pk)


# --- API -----------------------------------------------------------------------------------------


def auth(user) -> dict:
    from yiwang.identity.services import api_token_create

    return {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(actor=user, user=user, name='t')[1]}"}


def test_drafts_over_the_api(client, world):
    me, stranger = auth(world.applicant), auth(world.other_citizen)
    created = client.post(
        f"{API}/drafts", {"item": "SZ-SJJ-0001", "form_data": {}}, content_type="application/json", **me
    )
    assert created.status_code == 201, created.json()
    draft = created.json()
    assert draft["item_code"] == "SZ-SJJ-0001" and draft["item_version"] == 1 and not draft["guide_changed"]
    pk = draft["id"]
    assert client.get(f"{API}/drafts", **me).json()["count"] == 1
    assert client.get(f"{API}/drafts", **stranger).json()["count"] == 0
    assert client.get(f"{API}/drafts/{pk}", **stranger).status_code == 404
    assert client.get(f"{API}/{pk}", **me).status_code == 404  # a draft is not a case yet
    assert client.get(f"{API}/mine", **me).json()["count"] == 0
    stale = client.put(
        f"{API}/drafts/{pk}",
        {"form_data": FORM, "version": draft["version"] - 1},
        content_type="application/json",
        **me,
    )
    assert stale.status_code == 409 and stale.json()["code"] == "draft_changed"
    updated = client.put(
        f"{API}/drafts/{pk}", {"form_data": FORM, "version": draft["version"]}, content_type="application/json", **me
    )
    assert updated.status_code == 200 and updated.json()["form_data"] == FORM
    requirement = world.market_item.current_version.materials.get(name="个体工商户登记申请书")
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = client.post(
        f"{API}/{pk}/materials",
        {"file": SimpleUploadedFile("a.pdf", PDF, "application/pdf"), "requirement_id": requirement.pk},
        **me,
    )
    assert upload.status_code == 201
    assert client.get(f"{API}/drafts/{pk}", **me).json()["materials"][0]["requirement_id"] == requirement.pk
    assert client.post(f"{API}/drafts/{pk}/submit", {}, content_type="application/json", **stranger).status_code == 404

    submitted = client.post(
        f"{API}/drafts/{pk}/submit", {}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="api-1", **me
    )
    assert submitted.status_code == 201, submitted.json()
    body = submitted.json()
    assert body["state"] == "submitted" and len(body["number"]) == 20 and body["id"] == pk
    again = client.post(
        f"{API}/drafts/{pk}/submit", {}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="api-1", **me
    )
    assert again.status_code == 200 and again.json()["number"] == body["number"]
    assert client.get(f"{API}/drafts", **me).json()["count"] == 0
    accepted = client.post(f"{API}/{pk}/accept", {}, content_type="application/json", **auth(world.clerk))
    assert accepted.status_code == 200 and accepted.json()["state"] == "accepted"

    other = client.post(f"{API}/drafts", {"item": "SZ-SJJ-0001"}, content_type="application/json", **me).json()
    publish_new_guide(world)
    assert client.get(f"{API}/drafts/{other['id']}", **me).json()["guide_changed"] is True
    changed = client.post(f"{API}/drafts/{other['id']}/submit", {}, content_type="application/json", **me)
    assert changed.status_code == 409 and changed.json()["code"] == "guide_changed"
    assert changed.json()["fields"] == {"form_data.business_name": ["请填写「个体工商户名称」"]}
    assert client.get(f"{API}/drafts/{other['id']}", **me).json()["item_version"] == 2
    assert client.delete(f"{API}/drafts/{other['id']}", **stranger).status_code == 404
    assert client.delete(f"{API}/drafts/{other['id']}", **me).status_code == 204
    assert client.delete(f"{API}/drafts/{pk}", **me).status_code == 404  # a submitted case is no draft
    bad = client.post(f"{API}/drafts", {"item": "NOPE"}, content_type="application/json", **me)
    assert bad.status_code == 404


# --- pages ---------------------------------------------------------------------------------------


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_save_a_draft_continue_it_later_and_submit_by_pages(world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    applicant = client_for(world.applicant)
    url = f"/cases/apply/{world.market_item.implementation_code}/"
    page = applicant.get(url).content.decode()
    assert "保存草稿" in page
    requirement = world.market_item.current_version.materials.get(name="个体工商户登记申请书")
    response = applicant.post(
        url,
        {
            "idempotency_key": "p-1",
            "action": "draft",
            "f_business_name": "半成品小店",
            f"material_{requirement.pk}": SimpleUploadedFile("申请书.pdf", PDF, "application/pdf"),
        },
    )
    draft = Case.objects.get(applicant=world.applicant)
    assert response.status_code == 302 and response.url == f"/cases/drafts/{draft.pk}/"
    assert draft.state == CaseState.DRAFT and draft.materials.count() == 1
    mine = applicant.get("/cases/").content.decode()
    assert "草稿" in mine and f"/cases/drafts/{draft.pk}/" in mine and "删除草稿" in mine
    assert client_for(world.other_citizen).get(f"/cases/drafts/{draft.pk}/").status_code == 404
    assert applicant.get(f"/cases/{draft.pk}/").url == f"/cases/drafts/{draft.pk}/"
    assert client_for(world.other_citizen).get(f"/cases/{draft.pk}/").status_code == 404
    assert client_for(world.clerk).get(f"/workbench/cases/{draft.pk}/").status_code == 404
    assert "半成品小店" not in client_for(world.clerk).get("/workbench/cases/").content.decode()

    page = applicant.get(f"/cases/drafts/{draft.pk}/").content.decode()
    assert 'value="半成品小店"' in page and "已上传：申请书.pdf" in page
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page).group(1)
    draft.refresh_from_db()
    # Submitting an emptied form keeps the draft and names the field.
    other_file = SimpleUploadedFile("说明.pdf", PDF, "application/pdf")
    bad = applicant.post(
        f"/cases/drafts/{draft.pk}/",
        {"idempotency_key": key, "version": draft.version, "f_business_name": "", "material_other": other_file},
    )
    html = bad.content.decode()
    assert bad.status_code == 422 and "请填写「个体工商户名称」" in html
    assert "已上传的其他材料" in html and "请重新选择文件" not in html  # the draft kept the file
    draft.refresh_from_db()
    assert draft.state == CaseState.DRAFT and draft.materials.count() == 2
    page_version = re.search(r'name="version" value="(\d+)"', html).group(1)
    assert int(page_version) == draft.version  # the page can be sent again as it stands
    response = applicant.post(
        f"/cases/drafts/{draft.pk}/", {"idempotency_key": key, "version": page_version, "f_business_name": "成品小店"}
    )
    case = Case.objects.get(pk=draft.pk)
    assert response.status_code == 302 and response.url == f"/cases/{case.pk}/"
    assert case.state == CaseState.SUBMITTED and case.form_data == {"business_name": "成品小店"}
    # The back button and a second click land on the case, never a second one.
    again = applicant.post(f"/cases/drafts/{draft.pk}/", {"idempotency_key": key, "f_business_name": "成品小店"})
    assert again.status_code == 302 and again.url == f"/cases/{case.pk}/"
    assert Case.objects.count() == 1
    attach_required(case)
    assert services.case_accept(actor=world.clerk, case_id=case.pk).state == CaseState.ACCEPTED


def test_a_changed_guide_is_explained_on_the_draft_page_and_a_draft_can_be_deleted(world):
    applicant = client_for(world.applicant)
    draft = new_draft(world, {"business_name": "老店"})
    publish_new_guide(
        world,
        form_schema={
            "type": "object",
            "required": ["business_name", "phone"],
            "properties": {
                "business_name": {"type": "string", "title": "个体工商户名称"},
                "phone": {"type": "string", "title": "联系电话"},
            },
        },
    )
    page = applicant.get(f"/cases/drafts/{draft.pk}/").content.decode()
    assert "办事指南已更新" in page and "联系电话" not in page  # still the draft's own version
    response = applicant.post(
        f"/cases/drafts/{draft.pk}/", {"idempotency_key": "x1", "version": draft.version, "f_business_name": "老店"}
    )
    html = response.content.decode()
    assert response.status_code == 409 and "第 1 版 → 第 2 版" in html
    assert "联系电话" in html and "请填写「联系电话」" in html and 'value="老店"' in html  # the new form, data kept
    draft.refresh_from_db()
    assert draft.state == CaseState.DRAFT and draft.item_version_id == world.market_item.current_version_id
    assert applicant.post(f"/cases/drafts/{draft.pk}/delete/").status_code == 302
    assert not Case.objects.exists()
    assert client_for(world.other_citizen).post(f"/cases/drafts/{draft.pk}/delete/").status_code == 404
