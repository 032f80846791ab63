"""Issue #14 findings in the cases app: the 申请书 is a PDF generated from the form (not an
upload), 网上申请自动受理 is honoured where the item promises it, and files chosen before a form
error are kept so the applicant does not choose them again."""

import pytest

from yiwang.cases import services
from yiwang.cases.models import Case, CaseMaterial, CaseState, CaseStep, Channel, StepKind
from yiwang.cases.notices import available_notices, notice_pdf
from yiwang.cases.services import MaterialUpload
from yiwang.cases.tests.factories import FORM, PDF, attach_required, publish_item
from yiwang.cases.tests.test_api import API, auth
from yiwang.cases.tests.test_notices import text_of
from yiwang.cases.tests.test_views import client_for, idempotency_key, pdf, requirement_ids
from yiwang.core.errors import NotFound
from yiwang.core.models import AuditEvent


def test_the_application_form_is_a_pdf_with_the_applicants_data(client, world):
    case = attach_required(services.case_submit(actor=world.applicant, item=world.market_item, form_data=FORM)[0])
    assert available_notices(case, supplement=None)[0] == "application"
    text = text_of(notice_pdf(case, "application"))
    assert "申请书" in text and case.number in text
    assert "张三" in text and "张三小吃店" in text and "个体工商户名称" in text  # the form, with its labels
    assert "签名" in text and "承诺" in text and "SM3" in text
    assert "scan.pdf" not in text and "个体工商户登记申请书" in text  # the materials handed in, by name
    # The applicant (API and page) and the department's staff download it; another citizen cannot.
    response = client.get(f"{API}/{case.pk}/notices/application", **auth(world.applicant))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert client.get(f"{API}/{case.pk}/notices/application", **auth(world.other_citizen)).status_code == 404
    assert client_for(world.clerk).get(f"/cases/{case.pk}/notices/application.pdf").content.startswith(b"%PDF")
    page = client_for(world.applicant).get(f"/cases/{case.pk}/").content.decode()
    assert f"/cases/{case.pk}/notices/application.pdf" in page


def test_a_draft_has_no_application_form_yet(world):
    draft = services.case_draft_save(actor=world.applicant, item=world.market_item, form_data=FORM)
    with pytest.raises(NotFound):
        notice_pdf(draft, "application")


def _auto_item(world, **overrides):
    return publish_item(
        world.tree.root,
        implementation_code="SZ-SJJ-AUTO",
        name="网上自动受理的事项",
        auto_accept=True,
        promised_time_limit=5,
        statutory_time_limit=10,
        **overrides,
    )


def _required_uploads(item) -> list[MaterialUpload]:
    ids = requirement_ids(item)
    return [MaterialUpload(requirement_id=ids["个体工商户登记申请书"], filename="scan.pdf", content=PDF)]


def test_an_online_application_with_every_material_is_accepted_at_once(world):
    item = _auto_item(world)
    case, _created = services.case_submit(
        actor=world.applicant, item=item, form_data=FORM, materials=_required_uploads(item), idempotency_key="a1"
    )
    case = Case.objects.get(pk=case.pk)
    assert case.state == CaseState.ACCEPTED and case.accepted_at is not None and case.due_date is not None
    assert case.accepted_by is None and not case.deemed_accepted
    step = CaseStep.objects.get(case=case, kind=StepKind.ACCEPTED)
    assert "自动受理" in step.note
    event = AuditEvent.objects.get(action="case.auto_accept", object_id=str(case.pk))
    assert event.changes["state"] == [CaseState.SUBMITTED, CaseState.ACCEPTED]
    assert "acceptance" in available_notices(case, supplement=None)


def test_automatic_acceptance_waits_for_missing_materials_and_skips_the_window(world):
    item = _auto_item(world)
    incomplete, _ = services.case_submit(actor=world.applicant, item=item, form_data=FORM, idempotency_key="b1")
    assert Case.objects.get(pk=incomplete.pk).state == CaseState.SUBMITTED  # a clerk asks for it once
    assert not AuditEvent.objects.filter(action="case.auto_accept").exists()
    # An item without the promise is accepted by a clerk, as before.
    plain, _ = services.case_submit(
        actor=world.applicant,
        item=world.market_item,
        form_data=FORM,
        materials=_required_uploads(world.market_item),
        idempotency_key="b2",
    )
    assert Case.objects.get(pk=plain.pk).state == CaseState.SUBMITTED
    assert Case.objects.get(pk=plain.pk).channel == Channel.ONLINE


def test_the_guide_says_so_and_a_window_item_cannot_promise_it(world):
    from yiwang.catalog.content import check_item
    from yiwang.catalog.tests.factories import item_data

    item = _auto_item(world)
    page = client_for(world.applicant).get(f"/services/items/{item.implementation_code}/").content.decode()
    assert 'id="auto-accept"' in page and "网上申请自动受理" in page
    _clean, problems = check_item(item_data(auto_accept=True, handling_form="window"))
    assert [str(p) for p in problems] == ["「网上申请自动受理」窗口办理的事项没有网上申请，不能设为网上申请自动受理"]


def test_files_chosen_before_a_form_error_are_kept(world):
    applicant = client_for(world.applicant)
    url = f"/cases/apply/{world.market_item.implementation_code}/"
    page = applicant.get(url)
    ids = requirement_ids(world.market_item)
    response = applicant.post(
        url,
        {
            "idempotency_key": idempotency_key(page),
            "f_business_name": "",  # required: the form comes back with an error
            f"material_{ids['个体工商户登记申请书']}": pdf("申请书扫描件.pdf"),
        },
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "已上传：申请书扫描件.pdf" in html and "无需重新选择" in html
    draft = Case.objects.get(applicant=world.applicant, state=CaseState.DRAFT)
    assert CaseMaterial.objects.filter(case=draft).count() == 1
    assert f'action="/cases/drafts/{draft.pk}/"' in html or f"/cases/drafts/{draft.pk}/" in html
    # The applicant corrects the form and submits without choosing the file again.
    key = idempotency_key(response)
    done = applicant.post(
        f"/cases/drafts/{draft.pk}/",
        {"idempotency_key": key, "version": draft.version, "f_business_name": "张三小吃店"},
    )
    assert done.status_code == 302, done.content.decode()[:2000]
    case = Case.objects.get(pk=draft.pk)
    assert case.state == CaseState.SUBMITTED and case.materials.count() == 1
